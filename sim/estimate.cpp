#include "sim/estimate.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace moesim::sim {
namespace {

std::vector<std::int64_t> divisors(std::int64_t n) {
  std::vector<std::int64_t> out;
  for (std::int64_t d = 1; d * d <= n; ++d) {
    if (n % d == 0) {
      out.push_back(d);
      if (d != n / d) out.push_back(n / d);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Default batch when the user gives none: about 4 Mi tokens per step (GPT-3 and Llama use
// 3.2M-4M tokens), rounded up to a multiple of dp * micro_batch. See docs/layout.md.
std::int64_t default_global_batch(const model::ModelSpec& spec, std::int64_t dp,
                                  std::int64_t micro_batch) {
  const std::int64_t target_tokens = std::int64_t{1} << 22;
  const std::int64_t seqs =
      std::max<std::int64_t>(1, target_tokens / std::max<std::int64_t>(1, spec.seq_len));
  const std::int64_t unit = dp * micro_batch;
  return ((seqs + unit - 1) / unit) * unit;
}

}  // namespace

std::optional<Layout> choose_layout(const model::ModelSpec& spec, const hw::ClusterSpec& cluster,
                                    std::int64_t global_batch) {
  const std::int64_t devices = cluster.devices;
  if (devices < 1) return std::nullopt;
  const std::int64_t node = std::max(1, cluster.scale_up.devices_per_domain);
  const double hbm = cluster.accelerator.hbm_bytes;

  struct Candidate {
    Layout layout;
    double bytes;
  };
  std::optional<Candidate> best_fit;
  std::optional<Candidate> least_memory;

  // Preference order (a stand-in until the step model ranks layouts by time): the least
  // model parallelism first (tp*pp), tensor parallel before pipeline parallel, the widest
  // expert parallelism the experts allow, ZeRO-1 before 2 before 3, selective before full
  // recompute. The first layout that fits wins.
  std::vector<std::pair<std::int64_t, std::int64_t>> tp_pp;
  for (std::int64_t tp : divisors(devices)) {
    if (tp > node || spec.attention.heads % tp != 0) continue;
    for (std::int64_t pp : divisors(devices / tp)) {
      if (pp > spec.layers) continue;
      tp_pp.emplace_back(tp, pp);
    }
  }
  std::stable_sort(tp_pp.begin(), tp_pp.end(), [](auto a, auto b) {
    return a.first * a.second != b.first * b.second ? a.first * a.second < b.first * b.second
                                                    : a.second < b.second;
  });

  for (auto [tp, pp] : tp_pp) {
    const std::int64_t dp = devices / (tp * pp);
    std::int64_t ep = 1;
    if (spec.is_moe()) {
      for (std::int64_t d : divisors(dp))
        if (spec.moe.experts % d == 0) ep = d;
    }
    for (int zero : {1, 2, 3}) {
      for (Recompute rc : {Recompute::selective, Recompute::full}) {
        Layout l;
        l.dp = dp;
        l.tp = tp;
        l.pp = pp;
        l.ep = ep;
        l.zero = zero;
        l.recompute = rc;
        l.micro_batch = 1;
        l.global_batch = global_batch > 0 ? global_batch : default_global_batch(spec, dp, 1);
        if (!validate(l, spec, devices).empty()) continue;
        const double bytes = memory_per_device(spec, l).per_device_bytes();
        if (!least_memory || bytes < least_memory->bytes) least_memory = Candidate{l, bytes};
        if (bytes <= hbm) return l;
      }
    }
  }
  if (least_memory) return least_memory->layout;
  return std::nullopt;
}

Estimate estimate(const EstimateInput& input) {
  Estimate e;
  e.model_name = input.model.name;
  e.cluster_name = input.cluster.name;
  e.accelerator_name = input.cluster.accelerator.name;
  e.devices = input.cluster.devices;
  e.model = model::totals(input.model);
  e.tokens = input.tokens;
  e.hbm_bytes = input.cluster.accelerator.hbm_bytes;
  if (!input.cluster.notes.empty()) e.notes.push_back(input.cluster.notes);

  if (input.layout) {
    e.layout = *input.layout;
    if (e.layout.global_batch <= 0)
      e.layout.global_batch = default_global_batch(input.model, e.layout.dp, e.layout.micro_batch);
  } else {
    auto chosen = choose_layout(input.model, input.cluster, 0);
    e.layout_chosen = true;
    if (chosen) {
      e.layout = *chosen;
      e.notes.push_back(
          "layout chosen by memory heuristic (least tp*pp that fits); the time-ranked "
          "optimizer is not implemented yet");
    } else {
      e.notes.push_back("no valid layout exists for this model on this cluster");
    }
  }
  e.memory = memory_per_device(input.model, e.layout);
  e.fits = e.memory.per_device_bytes() <= e.hbm_bytes;
  e.notes.push_back(
      "time, throughput and training totals are not modelled yet (step model pending)");
  return e;
}

}  // namespace moesim::sim
