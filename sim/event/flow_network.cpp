#include "sim/event/flow_network.hpp"

#include <algorithm>
#include <queue>
#include <stdexcept>
#include <tuple>

namespace moesim::sim::event {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Weighted progressive filling (Bertsekas & Gallager Sec. 6.5.2, with weights): every
// unfrozen entity runs at the common level x; link l saturates at x = rem_l / weight_l,
// rem_l its capacity less what frozen entities use, weight_l the unfrozen coefficients'
// sum. The lowest such level (or the lowest cap) freezes the entities there. `path_of(f)`
// gives entity f's links, `coef_of(f, i)` the coefficient of its i-th link.
template <class PathOf, class CoefOf>
void fill(const std::vector<double>& capacity, std::size_t n, PathOf&& path_of, CoefOf&& coef_of,
          const std::vector<double>& caps, std::vector<double>& rates, Scratch& s) {
  rates.assign(n, 0.0);
  s.frozen.assign(n, 0);
  s.touched.clear();
  for (std::size_t f = 0; f < n; ++f) {
    const auto& p = path_of(f);
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
  using Entry = std::pair<double, int>;  // level, link
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  for (int l : s.touched) {
    const auto u = static_cast<std::size_t>(l);
    if (s.weight[u] > 0) heap.emplace(s.rem[u] / s.weight[u], l);
  }
  // Caps in ascending order; an entity without a link runs at its cap (infinite if none).
  std::vector<std::pair<double, int>> capped;
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
    const auto& p = path_of(f);
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
      const auto [lv, l] = heap.top();
      const auto u = static_cast<std::size_t>(l);
      if (s.count[u] <= 0 || !(s.weight[u] > 1e-300 * s.rem[u]) || s.weight[u] <= 0) {
        heap.pop();  // no unfrozen entity left on it
        continue;
      }
      const double now = s.rem[u] / s.weight[u];
      if (now > lv * (1 + 1e-12) + 1e-300) {
        heap.pop();
        heap.emplace(now, l);  // stale: its level rose
        continue;
      }
      break;
    }
    while (next_cap < capped.size() && s.frozen[static_cast<std::size_t>(capped[next_cap].second)])
      ++next_cap;
    const double link_level = heap.empty() ? kInf : heap.top().first;
    const double cap_level = next_cap < capped.size() ? capped[next_cap].first : kInf;
    if (link_level == kInf && cap_level == kInf) break;
    if (cap_level <= link_level) {
      freeze(static_cast<std::size_t>(capped[next_cap].second), cap_level);
      continue;
    }
    const auto [level_raw, l] = heap.top();
    heap.pop();
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
  double top = 0;
  for (std::size_t f = 0; f < n; ++f)
    if (s.frozen[f] && rates[f] < kInf) top = std::max(top, rates[f]);
  for (std::size_t f = 0; f < n; ++f)
    if (!s.frozen[f]) rates[f] = std::min(top, caps.empty() ? kInf : caps[f]);
  for (int l : s.touched) s.count[static_cast<std::size_t>(l)] = 0;
}

}  // namespace

std::vector<double> max_min_rates(const std::vector<double>& capacity_Bps,
                                  const std::vector<std::vector<int>>& paths,
                                  const std::vector<std::vector<double>>& coefficients,
                                  const std::vector<double>& caps) {
  const std::size_t L = capacity_Bps.size();
  for (const auto& p : paths)
    for (int l : p)
      if (l < 0 || static_cast<std::size_t>(l) >= L) throw std::out_of_range("flow link id");
  std::vector<double> rates;
  Scratch scratch(L);
  std::vector<double> c = caps;
  c.resize(paths.size(), kInf);
  fill(
      capacity_Bps, paths.size(),
      [&](std::size_t f) -> const std::vector<int>& { return paths[f]; },
      [&](std::size_t f, std::size_t i) { return coefficients.empty() ? 1.0 : coefficients[f][i]; },
      c, rates, scratch);
  // An entity with no link and no cap has nothing to share: rate 0 by this API's contract.
  for (double& r : rates)
    if (r == kInf) r = 0;
  return rates;
}

std::vector<double> max_min_rates(const std::vector<double>& capacity_Bps,
                                  const std::vector<std::vector<int>>& paths) {
  return max_min_rates(capacity_Bps, paths, {}, {});
}

FlowNetwork::FlowNetwork(std::vector<double> capacity_Bps)
    : capacity_(std::move(capacity_Bps)), scratch_(capacity_.size()) {}

int FlowNetwork::add(const std::vector<int>* links, double work, std::int64_t owner,
                     const std::vector<double>* coefficients, double cap) {
  int id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<int>(flows_.size());
    flows_.emplace_back();
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
  caps_.resize(active_.size());
  for (std::size_t i = 0; i < active_.size(); ++i)
    caps_[i] = flows_[static_cast<std::size_t>(active_[i])].cap;
  fill(
      capacity_, active_.size(),
      [&](std::size_t i) -> const std::vector<int>& {
        return *flows_[static_cast<std::size_t>(active_[i])].links;
      },
      [&](std::size_t i, std::size_t j) {
        const auto* c = flows_[static_cast<std::size_t>(active_[i])].coefficients;
        return c ? (*c)[j] : 1.0;
      },
      caps_, rates_, scratch_);
  next_finish_s_ = kInf;
  for (std::size_t i = 0; i < active_.size(); ++i) {
    Flow& f = flows_[static_cast<std::size_t>(active_[i])];
    f.rate = rates_[i];
    const double left = std::max(0.0, f.remaining);
    double t = kInf;
    if (left <= f.tolerance || f.rate == kInf)
      t = now_s_;
    else if (f.rate > 0)
      t = now_s_ + left / f.rate;
    next_finish_s_ = std::min(next_finish_s_, t);
  }
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
    } else {
      active_[keep++] = id;
    }
  }
  active_.resize(keep);
}

}  // namespace moesim::sim::event
