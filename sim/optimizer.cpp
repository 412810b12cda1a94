#include "sim/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <thread>

#include "model/workload.hpp"

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

// Best first: by objective, ties broken by a fixed key of the layout, so the ranking never
// depends on threads or on how many results are kept.
bool better(const RankedLayout& a, const RankedLayout& b) {
  if (a.objective_per_token != b.objective_per_token)
    return a.objective_per_token < b.objective_per_token;
  const auto key = [](const Layout& l) {
    return std::make_tuple(l.tp, l.pp, l.ep, l.zero, static_cast<int>(l.recompute), l.micro_batch,
                           l.schedule.virtual_stages, l.dp);
  };
  return key(a.layout) < key(b.layout);
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

const char* to_string(Objective o) {
  switch (o) {
    case Objective::time:
      return "time";
    case Objective::cost:
      return "cost";
    case Objective::energy:
      return "energy";
  }
  return "time";
}

double objective_per_token(Objective objective, const StepResult& step, const Layout& layout,
                           const hw::ClusterSpec& /*cluster*/, double price, double pue) {
  if (step.tokens_per_s <= 0) return 0;
  const double s_per_token = 1 / step.tokens_per_s;
  const double devices = static_cast<double>(layout.devices());
  switch (objective) {
    case Objective::time:
      return s_per_token;
    case Objective::cost:
      return s_per_token * devices * price / 3600;
    case Objective::energy:
      return s_per_token * devices * step.average_power_w * pue;
  }
  return s_per_token;
}

OptimizerResult optimize(const model::ModelSpec& spec, const hw::ClusterSpec& cluster,
                         const StepModel& step_model, const OptimizerOptions& opt, double price) {
  OptimizerResult result;
  const std::int64_t devices = cluster.devices;
  if (devices < 1) return result;
  const std::int64_t domain = std::max(1, cluster.scale_up.devices_per_domain);
  const auto layers = model::layer_costs(spec);
  const auto& totals = step_model.totals();
  const double hbm = cluster.accelerator.hbm_bytes;
  const std::int64_t n_layers = spec.total_layers();

  // The (tp, pp) pairs are the unit of parallel work.
  std::vector<std::pair<std::int64_t, std::int64_t>> tp_pp;
  for (std::int64_t tp : divisors(devices)) {
    if (tp > domain) continue;  // tensor parallelism stays inside the scale-up domain
    if (opt.tp && tp != *opt.tp) continue;
    for (std::int64_t pp : divisors(devices / tp)) {
      if (pp > n_layers) continue;
      if (opt.pp && pp != *opt.pp) continue;
      if (opt.dp && devices / (tp * pp) != *opt.dp) continue;
      tp_pp.emplace_back(tp, pp);
    }
  }

  std::mutex mu;
  std::vector<RankedLayout> all;
  std::int64_t enumerated = 0, valid = 0, fitting = 0;
  auto work = [&](std::size_t begin, std::size_t step) {
    std::vector<RankedLayout> local;
    std::int64_t e = 0, v = 0, f = 0;
    for (std::size_t idx = begin; idx < tp_pp.size(); idx += step) {
      const auto [tp, pp] = tp_pp[idx];
      const std::int64_t dp = devices / (tp * pp);
      std::vector<std::int64_t> eps = {1};
      if (spec.is_moe()) {
        eps.clear();
        for (std::int64_t d : divisors(dp))
          if (spec.moe.experts % d == 0) eps.push_back(d);
      }
      std::vector<int> vs = {1};
      for (int vv = 2; vv <= opt.max_virtual_stages; ++vv)
        if (pp > 1 && n_layers % (pp * vv) == 0) vs.push_back(vv);
      for (std::int64_t ep : eps) {
        if (opt.ep && ep != *opt.ep) continue;
        for (std::int64_t mb : opt.micro_batches) {
          if (opt.micro_batch && mb != *opt.micro_batch) continue;
          const std::int64_t unit = dp * mb;
          const std::int64_t gb = default_global_batch(spec.seq_len, dp, mb, opt.global_batch);
          if (opt.global_batch > 0 && opt.global_batch % unit != 0) continue;
          for (int vv : vs) {
            if (opt.virtual_stages && vv != *opt.virtual_stages) continue;
            for (int zero : opt.zero_stages) {
              if (opt.zero && zero != *opt.zero) continue;
              for (Recompute rc : opt.recompute) {
                if (opt.fixed_recompute && rc != *opt.fixed_recompute) continue;
                ++e;
                Layout l;
                l.dp = dp, l.tp = tp, l.pp = pp, l.ep = ep, l.zero = zero;
                l.recompute = rc, l.micro_batch = mb, l.global_batch = gb;
                l.schedule.virtual_stages = vv;
                l.dtype = opt.dtype;
                l.flash_attention = opt.flash_attention;
                if (!validate(l, spec, devices).empty()) continue;
                ++v;
                const MemoryBreakdown mem = memory_per_device(spec, layers, totals, l);
                if (!(mem.per_device_bytes() <= hbm)) continue;
                ++f;
                RankedLayout r;
                r.layout = l;
                r.memory = mem;
                r.step = step_model.evaluate(l);
                r.objective_per_token = objective_per_token(opt.objective, r.step, l, cluster,
                                                            price, step_model.options().pue);
                local.push_back(r);
              }
            }
          }
        }
      }
      // Keep only the best few per thread to bound memory.
      if (local.size() > 4 * std::min<std::size_t>(opt.top, 1 << 20) + 64) {
        std::partial_sort(local.begin(), local.begin() + static_cast<std::ptrdiff_t>(opt.top),
                          local.end(), better);
        local.resize(opt.top);
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    enumerated += e, valid += v, fitting += f;
    all.insert(all.end(), local.begin(), local.end());
  };

  unsigned threads = opt.threads > 0 ? static_cast<unsigned>(opt.threads)
                                     : std::max(1u, std::thread::hardware_concurrency());
  threads =
      std::min<unsigned>(threads, static_cast<unsigned>(std::max<std::size_t>(1, tp_pp.size())));
  if (threads <= 1) {
    work(0, 1);
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work, t, threads);
    for (auto& th : pool) th.join();
  }
  std::sort(all.begin(), all.end(), better);
  if (all.size() > opt.top) all.resize(opt.top);
  result.top = std::move(all);
  result.enumerated = enumerated;
  result.valid = valid;
  result.fitting = fitting;

  if (!result.top.empty()) {
    const RankedLayout& w = result.top.front();
    const StepBreakdown& b = w.step.breakdown;
    std::string why = "fastest per token of " + std::to_string(fitting) + " fitting layouts (" +
                      std::to_string(valid) + " valid, " + std::to_string(enumerated) +
                      " enumerated): compute " + fmt("%.0f%%", 100 * b.compute_s / w.step.step_s) +
                      " of the step, exposed communication " +
                      fmt("%.0f%%", 100 * b.exposed_communication_s / w.step.step_s) + ", bubble " +
                      fmt("%.0f%%", 100 * b.pipeline_bubble_s / w.step.step_s) + ", MFU " +
                      fmt("%.1f%%", 100 * w.step.mfu);
    if (result.top.size() > 1) {
      const RankedLayout& r = result.top[1];
      why += "; the runner-up is " +
             fmt("%.1f%%", 100 * (r.objective_per_token / w.objective_per_token - 1)) + " worse";
    }
    if (opt.objective != Objective::time) {
      why.replace(0, 7, std::string("best ") + to_string(opt.objective));
    }
    result.why = why;
  }
  return result;
}

}  // namespace moesim::sim
