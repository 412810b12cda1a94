#include "sim/event/flow_network.hpp"

#include <algorithm>
#include <cmath>
#include <span>
#include <stdexcept>

namespace moesim::sim::event {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Weighted progressive filling (Bertsekas & Gallager Sec. 6.5.2, with weights): every
// unfrozen entity runs at the common level x; link l saturates at x = rem_l / weight_l,
// rem_l its capacity less what frozen entities use, weight_l the unfrozen coefficients'
// sum. The lowest such level (or the lowest cap) freezes the entities there. `path_of(f)`
// gives entity f's links, `coef_of(f, i)` the coefficient of its i-th link. `top` is the
// highest finite rate of entities solved outside this call (for the fallback at the end).
template <class PathOf, class CoefOf>
void fill(const std::vector<double>& capacity, std::size_t n, PathOf&& path_of, CoefOf&& coef_of,
          const std::vector<double>& caps, std::vector<double>& rates, Scratch& s, double top = 0) {
  rates.assign(n, 0.0);
  s.frozen.assign(n, 0);
  s.touched.clear();
  for (std::size_t f = 0; f < n; ++f) {
    const std::span<const int> p = path_of(f);
    for (std::size_t i = 0; i < p.size(); ++i) {
      const auto u = static_cast<std::size_t>(p[i]);
      if (s.count[u]++ == 0) {
        s.touched.push_back(p[i]);
        s.weight[u] = 0;
      }
      s.weight[u] += coef_of(f, i);
    }
  }
  // Entities per link in CSR form: on_link[begin[l] .. end[l]).
  int total = 0;
  for (int l : s.touched) {
    const auto u = static_cast<std::size_t>(l);
    s.begin[u] = s.end[u] = total;
    total += s.count[u];
    s.rem[u] = capacity[u];
  }
  s.on_link.resize(static_cast<std::size_t>(total));
  for (std::size_t f = 0; f < n; ++f)
    for (int l : path_of(f))
      s.on_link[static_cast<std::size_t>(s.end[static_cast<std::size_t>(l)]++)] =
          static_cast<int>(f);
  // A link's level only rises as entities freeze (the new level (rem - c L) / (w - c) is at
  // least L = rem / w when L is the lowest level), so heap entries may be stale-low: a
  // popped entry is re-checked and pushed back at its current level if it rose. This keeps
  // the pushes near one per link instead of one per (entity, link) update.
  // A binary min-heap of (level, link) in s.heap (std::push_heap with std::greater<>).
  auto& heap = s.heap;
  heap.clear();
  const auto heap_push = [&heap](double level, int l) {
    heap.emplace_back(level, l);
    std::push_heap(heap.begin(), heap.end(), std::greater<>());
  };
  const auto heap_pop = [&heap] {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    heap.pop_back();
  };
  for (int l : s.touched) {
    const auto u = static_cast<std::size_t>(l);
    if (s.weight[u] > 0) heap_push(s.rem[u] / s.weight[u], l);
  }
  // Caps in ascending order; an entity without a link runs at its cap (infinite if none).
  auto& capped = s.capped;
  capped.clear();
  for (std::size_t f = 0; f < n; ++f) {
    const double c = caps.empty() ? kInf : caps[f];
    if (path_of(f).empty() && c == kInf) {
      s.frozen[f] = 1;
      rates[f] = kInf;
    } else if (c < kInf) {
      capped.emplace_back(c, static_cast<int>(f));
    }
  }
  std::sort(capped.begin(), capped.end());
  std::size_t next_cap = 0;
  auto freeze = [&](std::size_t f, double level) {
    s.frozen[f] = 1;
    rates[f] = level;
    const std::span<const int> p = path_of(f);
    for (std::size_t i = 0; i < p.size(); ++i) {
      const auto u = static_cast<std::size_t>(p[i]);
      const double c = coef_of(f, i);
      s.rem[u] -= c * level;
      s.weight[u] -= c;
      --s.count[u];
    }
  };
  for (;;) {
    while (!heap.empty()) {
      const auto [lv, l] = heap.front();
      const auto u = static_cast<std::size_t>(l);
      if (s.count[u] <= 0 || !(s.weight[u] > 1e-300 * s.rem[u]) || s.weight[u] <= 0) {
        heap_pop();  // no unfrozen entity left on it
        continue;
      }
      const double now = s.rem[u] / s.weight[u];
      if (now > lv * (1 + 1e-12) + 1e-300) {
        heap_pop();
        heap_push(now, l);  // stale: its level rose
        continue;
      }
      break;
    }
    while (next_cap < capped.size() && s.frozen[static_cast<std::size_t>(capped[next_cap].second)])
      ++next_cap;
    const double link_level = heap.empty() ? kInf : heap.front().first;
    const double cap_level = next_cap < capped.size() ? capped[next_cap].first : kInf;
    if (link_level == kInf && cap_level == kInf) break;
    if (cap_level <= link_level) {
      freeze(static_cast<std::size_t>(capped[next_cap].second), cap_level);
      continue;
    }
    const auto [level_raw, l] = heap.front();
    heap_pop();
    const double level = std::max(0.0, level_raw);
    const auto ul = static_cast<std::size_t>(l);
    // Every unfrozen entity crossing the bottleneck runs at this level.
    for (int i = s.begin[ul]; i < s.end[ul]; ++i) {
      const auto f = static_cast<std::size_t>(s.on_link[static_cast<std::size_t>(i)]);
      if (!s.frozen[f]) freeze(f, level);
    }
  }
  // Entities left unfrozen (only links whose weight cancelled to nothing in floating
  // point): the highest level reached, or their cap.
  for (std::size_t f = 0; f < n; ++f)
    if (s.frozen[f] && rates[f] < kInf) top = std::max(top, rates[f]);
  for (std::size_t f = 0; f < n; ++f)
    if (!s.frozen[f]) rates[f] = std::min(top, caps.empty() ? kInf : caps[f]);
  for (int l : s.touched) s.count[static_cast<std::size_t>(l)] = 0;
}

}  // namespace

namespace {

// max_min_rates' checks and contract around fill(): path(f) gives flow f's links, coef(f, i)
// the coefficient of its i-th, caps one cap per flow (infinity: none).
template <class Path, class Coef>
std::vector<double> checked_fill(const std::vector<double>& capacity_Bps, std::size_t flows,
                                 Path&& path, Coef&& coef, std::vector<double> caps,
                                 Scratch& scratch) {
  const std::size_t L = capacity_Bps.size();
  for (std::size_t f = 0; f < flows; ++f)
    for (int l : path(f))
      if (l < 0 || static_cast<std::size_t>(l) >= L) throw std::out_of_range("flow link id");
  if (scratch.rem.size() != L) throw std::invalid_argument("max_min_rates: scratch size");
  std::vector<double> rates;
  caps.resize(flows, kInf);
  fill(capacity_Bps, flows, path, coef, caps, rates, scratch);
  // An entity with no link and no cap has nothing to share: rate 0 by this API's contract.
  for (double& r : rates)
    if (r == kInf) r = 0;
  return rates;
}

}  // namespace

std::vector<double> max_min_rates(const std::vector<double>& capacity_Bps,
                                  const std::vector<std::vector<int>>& paths,
                                  const std::vector<std::vector<double>>& coefficients,
                                  const std::vector<double>& caps, Scratch& scratch) {
  return checked_fill(
      capacity_Bps, paths.size(), [&](std::size_t f) { return std::span<const int>(paths[f]); },
      [&](std::size_t f, std::size_t i) { return coefficients.empty() ? 1.0 : coefficients[f][i]; },
      caps, scratch);
}

std::vector<double> max_min_rates(const std::vector<double>& capacity_Bps,
                                  std::span<const std::span<const int>> paths,
                                  std::span<const std::span<const double>> coefficients,
                                  Scratch& scratch) {
  if (coefficients.size() != paths.size())
    throw std::invalid_argument("max_min_rates: a coefficient list per path");
  return checked_fill(
      capacity_Bps, paths.size(), [&](std::size_t f) { return paths[f]; },
      [&](std::size_t f, std::size_t i) { return coefficients[f][i]; }, {}, scratch);
}

std::vector<double> max_min_rates(const std::vector<double>& capacity_Bps,
                                  const std::vector<std::vector<int>>& paths,
                                  const std::vector<std::vector<double>>& coefficients,
                                  const std::vector<double>& caps) {
  Scratch scratch(capacity_Bps.size());
  return max_min_rates(capacity_Bps, paths, coefficients, caps, scratch);
}

std::vector<double> max_min_rates(const std::vector<double>& capacity_Bps,
                                  const std::vector<std::vector<int>>& paths) {
  return max_min_rates(capacity_Bps, paths, {}, {});
}

FlowNetwork::FlowNetwork(std::vector<double> capacity_Bps)
    : capacity_(std::move(capacity_Bps)),
      on_link_(capacity_.size()),
      load_(capacity_.size(), 0.0),
      hot_pos_(capacity_.size(), -1),
      scratch_(capacity_.size()) {}

void FlowNetwork::update_hot(int l) {
  const auto u = static_cast<std::size_t>(l);
  if (on_link_[u].empty()) load_[u] = 0;  // exactly: no drift left by the running sum
  // Hot when the entities on it, all at their caps, would exceed its capacity. A cold link
  // (sum <= capacity) only restates the caps: dropping its constraint leaves the feasible
  // set, hence the max-min rates, unchanged (Bertsekas & Gallager Sec. 6.5.2: the allocation
  // is a function of the constraints). Most links sit at exactly their capacity (a coflow's
  // own bottleneck at rate 1): near that tie the sum is recomputed from the list, free of the
  // drift of the running sum, and a relative 1e-12 above counts as cold (rates then differ
  // from the full filling's by rounding only).
  bool hot = false;
  if (!on_link_[u].empty()) {
    double sum = load_[u];
    const double c = capacity_[u];
    if (std::abs(sum - c) <= 1e-9 * c) {
      sum = 0;
      for (const OnLink& e : on_link_[u]) sum += e.load;
      load_[u] = sum;
    }
    hot = sum > c * (1 + 1e-12);
  }
  if (hot && hot_pos_[u] < 0) {
    hot_pos_[u] = static_cast<int>(hot_.size());
    hot_.push_back(l);
  } else if (!hot && hot_pos_[u] >= 0) {
    const int last = hot_.back();
    hot_[static_cast<std::size_t>(hot_pos_[u])] = last;
    hot_pos_[static_cast<std::size_t>(last)] = hot_pos_[u];
    hot_.pop_back();
    hot_pos_[u] = -1;
  }
}

int FlowNetwork::add(std::span<const int> links, double work, std::int64_t owner,
                     std::span<const double> coefficients, double cap) {
  int id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<int>(flows_.size());
    flows_.emplace_back();
    local_.push_back(-1);
    mark_.push_back(0);
  }
  Flow& f = flows_[static_cast<std::size_t>(id)];
  f.links = links;
  f.coefficients = coefficients;
  f.remaining = std::max(0.0, work);
  // Finished when what is left is below a relative 1e-9 (floating-point drift).
  f.tolerance = 1e-9 * f.remaining + 1e-15;
  f.rate = 0;
  // An entity with no link is limited by nothing but its cap; uncapped, it ends at once.
  f.cap = cap;
  f.owner = owner;
  for (int l : links)
    if (l < 0 || static_cast<std::size_t>(l) >= capacity_.size())
      throw std::out_of_range("flow link id");
  if (cap < kInf) {
    for (std::size_t i = 0; i < links.size(); ++i) {
      const int l = links[i];
      const auto u = static_cast<std::size_t>(l);
      const double c = coefficients.empty() ? 1.0 : coefficients[i];
      on_link_[u].push_back({id, c, c * cap});
      load_[u] += c * cap;
      update_hot(l);
    }
  } else {
    ++uncapped_active_;
  }
  active_.push_back(id);
  ++started_;
  return id;
}

void FlowNetwork::advance_to(double time_s) {
  const double dt = time_s - now_s_;
  if (dt > 0)
    for (int id : active_) {
      Flow& f = flows_[static_cast<std::size_t>(id)];
      if (f.rate < kInf)
        f.remaining -= f.rate * dt;
      else
        f.remaining = 0;
    }
  now_s_ = std::max(now_s_, time_s);
}

void FlowNetwork::solve() {
  ++solves_;
  if (uncapped_active_ > 0) {
    // An uncapped entity (a plain flow) is limited by its links alone: every link it crosses
    // may bind, so the full filling over every entity (per-flow max-min).
    caps_.resize(active_.size());
    for (std::size_t i = 0; i < active_.size(); ++i)
      caps_[i] = flows_[static_cast<std::size_t>(active_[i])].cap;
    for (int id : active_) filled_pairs_ += flows_[static_cast<std::size_t>(id)].links.size();
    fill(
        capacity_, active_.size(),
        [&](std::size_t i) { return flows_[static_cast<std::size_t>(active_[i])].links; },
        [&](std::size_t i, std::size_t j) {
          const auto c = flows_[static_cast<std::size_t>(active_[i])].coefficients;
          return c.empty() ? 1.0 : c[j];
        },
        caps_, rates_, scratch_);
    for (std::size_t i = 0; i < active_.size(); ++i)
      flows_[static_cast<std::size_t>(active_[i])].rate = rates_[i];
  } else {
    solve_hot();
  }
  next_finish_s_ = kInf;
  for (int id : active_) {
    const Flow& f = flows_[static_cast<std::size_t>(id)];
    const double left = std::max(0.0, f.remaining);
    double t = kInf;
    if (left <= f.tolerance || f.rate == kInf)
      t = now_s_;
    else if (f.rate > 0)
      t = now_s_ + left / f.rate;
    next_finish_s_ = std::min(next_finish_s_, t);
  }
}

void FlowNetwork::solve_hot() {
  // The entities on hot links, in start order (the order the full filling sees them in, so
  // that sums and freezes happen in the same order).
  ++stamp_;
  for (int l : hot_)
    for (const OnLink& e : on_link_[static_cast<std::size_t>(l)])
      mark_[static_cast<std::size_t>(e.id)] = stamp_;
  involved_.clear();
  // Everyone else runs at its cap (no hot link); an uncapped entity here has no link at all.
  double top = 0;
  for (int id : active_) {
    Flow& f = flows_[static_cast<std::size_t>(id)];
    if (mark_[static_cast<std::size_t>(id)] == stamp_) {
      local_[static_cast<std::size_t>(id)] = static_cast<int>(involved_.size());
      involved_.push_back(id);
      continue;
    }
    f.rate = f.cap;
    if (f.rate < kInf) top = std::max(top, f.rate);
  }
  const std::size_t n = involved_.size();
  // Their hot links and coefficients, entity by entity (CSR).
  sub_begin_.assign(n + 1, 0);
  for (int l : hot_)
    for (const OnLink& e : on_link_[static_cast<std::size_t>(l)])
      ++sub_begin_[static_cast<std::size_t>(local_[static_cast<std::size_t>(e.id)]) + 1];
  for (std::size_t k = 0; k < n; ++k) sub_begin_[k + 1] += sub_begin_[k];
  const auto pairs = static_cast<std::size_t>(sub_begin_[n]);
  sub_links_.resize(pairs);
  sub_coef_.resize(pairs);
  filled_pairs_ += pairs;
  cursor_.assign(sub_begin_.begin(), sub_begin_.end() - 1);
  for (int l : hot_)
    for (const OnLink& e : on_link_[static_cast<std::size_t>(l)]) {
      const auto k = static_cast<std::size_t>(local_[static_cast<std::size_t>(e.id)]);
      const auto at = static_cast<std::size_t>(cursor_[k]++);
      sub_links_[at] = l;
      sub_coef_[at] = e.coef;
    }
  caps_.resize(n);
  for (std::size_t k = 0; k < n; ++k) caps_[k] = flows_[static_cast<std::size_t>(involved_[k])].cap;
  fill(
      capacity_, n,
      [&](std::size_t k) {
        return std::span<const int>(sub_links_.data() + sub_begin_[k],
                                    static_cast<std::size_t>(sub_begin_[k + 1] - sub_begin_[k]));
      },
      [&](std::size_t k, std::size_t i) {
        return sub_coef_[static_cast<std::size_t>(sub_begin_[k]) + i];
      },
      caps_, rates_, scratch_, top);
  for (std::size_t k = 0; k < n; ++k)
    flows_[static_cast<std::size_t>(involved_[k])].rate = rates_[k];
}

void FlowNetwork::collect_finished(std::vector<std::int64_t>& owners) {
  std::size_t keep = 0;
  for (std::size_t i = 0; i < active_.size(); ++i) {
    const int id = active_[i];
    Flow& f = flows_[static_cast<std::size_t>(id)];
    // Done when its work is through, or would be within a picosecond.
    const bool done = f.remaining <= f.tolerance || f.rate == kInf ||
                      (f.rate > 0 && f.remaining / f.rate <= 1e-12);
    if (done) {
      owners.push_back(f.owner);
      free_.push_back(id);
      // Off its links: the load it added (the same value, subtracted), and the hot set.
      if (!(f.cap < kInf)) {
        --uncapped_active_;
        continue;
      }
      for (int l : f.links) {
        auto& list = on_link_[static_cast<std::size_t>(l)];
        for (std::size_t j = 0; j < list.size(); ++j)
          if (list[j].id == id) {
            load_[static_cast<std::size_t>(l)] -= list[j].load;
            list[j] = list.back();
            list.pop_back();
            break;
          }
        update_hot(l);
      }
    } else {
      active_[keep++] = id;
    }
  }
  active_.resize(keep);
}

}  // namespace moesim::sim::event
