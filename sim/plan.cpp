#include "sim/plan.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <thread>

#include "model/workload.hpp"
#include "sim/estimate.hpp"
#include "sim/optimizer.hpp"

namespace moesim::sim {
namespace {

namespace laws = model::laws;

constexpr std::size_t kReasons = static_cast<std::size_t>(DropReason::count);

std::int64_t round_to(double v, std::int64_t multiple) {
  const auto r = static_cast<std::int64_t>(std::llround(v / static_cast<double>(multiple)));
  return std::max<std::int64_t>(1, r) * multiple;
}

// Whether `law` speaks about this architecture: a Krajewski law only at its own expansion rate
// (Krajewski et al. 2024 fit one law per E = experts / G); every other law on any model.
bool law_applies(const laws::Law& law, std::int64_t experts, std::int64_t granularity) {
  if (law.form != laws::Form::krajewski) return true;
  if (law.expansion_rate <= 1.0 + 1e-9) return experts == 1;
  if (experts == 1) return false;
  // Krajewski et al. 2024: expansion rate E = experts / G.
  const double expansion = static_cast<double>(experts) / static_cast<double>(granularity);
  return std::fabs(expansion / law.expansion_rate - 1) <= 0.1;
}

struct Arch {
  std::int64_t n_blocks = 0;
  double depth_factor = 1;
  double width_factor = 1;
  std::int64_t experts = 1;
  std::int64_t granularity = 1;
  std::int64_t every = 1;
};

OptimizerResult search_layout(const model::ModelSpec& spec, const hw::ClusterSpec& cluster,
                              const StepModel& step_model, PlanSearch search, double price) {
  OptimizerOptions o;
  o.objective = Objective::time;
  o.top = 1;
  o.threads = 1;  // plan() runs architectures over threads instead
  if (search == PlanSearch::full) return optimize(spec, cluster, step_model, o, price);
  // The plan's restricted search (docs/plan.md, "Layout search").
  o.micro_batches = {1};
  o.max_virtual_stages = 1;
  o.zero_stages = {1};
  o.recompute = {Recompute::selective};
  OptimizerResult r = optimize(spec, cluster, step_model, o, price);
  if (!r.top.empty()) return r;
  o.zero_stages = {3};
  o.recompute = {Recompute::full};
  return optimize(spec, cluster, step_model, o, price);
}

}  // namespace

const char* to_string(BudgetKind kind) {
  switch (kind) {
    case BudgetKind::gpu_hours:
      return "gpu-hours";
    case BudgetKind::flops:
      return "flops";
    case BudgetKind::usd:
      return "usd";
  }
  return "flops";
}

const char* to_string(DropReason reason) {
  switch (reason) {
    case DropReason::law_not_applicable:
      return "law_not_applicable";
    case DropReason::serving_memory:
      return "serving_memory";
    case DropReason::training_memory:
      return "training_memory";
    case DropReason::deadline:
      return "deadline";
    case DropReason::count:
      break;
  }
  return "unknown";
}

std::int64_t PlanResult::dropped_total() const {
  return std::accumulate(dropped.begin(), dropped.end(), std::int64_t{0});
}

model::ModelSpec plan_model(const std::optional<model::ModelSpec>& base, std::int64_t n_blocks,
                            double depth_factor, double width_factor, std::int64_t experts,
                            std::int64_t granularity, std::int64_t moe_every) {
  model::ModelSpec s;
  if (!base) {
    // Krajewski et al. 2024 / Ludziejewski et al. 2025 family: d_model = 64 n_blocks, d_ff =
    // 4 d_model, head_dim 64, GPT-2 vocabulary (V = 50257). seq_len 2048 is moesim's choice.
    s.name = "plan";
    s.layers = n_blocks;
    s.d_model = round_to(64.0 * static_cast<double>(n_blocks) * width_factor, 64);
    s.vocab = 50257;
    s.seq_len = 2048;
    s.attention.type = model::AttentionType::mha;
    s.attention.heads = s.d_model / 64;
    s.attention.kv_heads = s.attention.heads;
    s.attention.head_dim = 64;
    // Krajewski et al. 2024: N = d^2 (8E + 4) n_blocks, i.e. two FFN matrices of 4 d.
    s.ffn.d_ff = 4 * s.d_model;
    s.ffn.activation = model::Activation::gelu;
  } else {
    s = *base;
    s.name = base->name + "-plan";
    s.layers =
        std::max<std::int64_t>(1, std::llround(static_cast<double>(base->layers) * depth_factor));
    const std::int64_t head_dim = base->head_dim();
    if (base->attention.type == model::AttentionType::mla) {
      s.d_model = round_to(static_cast<double>(base->d_model) * width_factor, 64);
    } else {
      // Keep head_dim and the GQA group; scale the number of heads with the width.
      const std::int64_t group = std::max<std::int64_t>(
          1, base->attention.heads / std::max<std::int64_t>(1, base->kv_heads()));
      const std::int64_t heads =
          round_to(static_cast<double>(base->attention.heads) * width_factor, group);
      s.attention.heads = heads;
      if (base->attention.type == model::AttentionType::gqa) s.attention.kv_heads = heads / group;
      if (base->attention.type == model::AttentionType::mha) s.attention.kv_heads = heads;
      s.attention.head_dim = head_dim;
      s.d_model = heads * head_dim;
    }
    s.ffn.d_ff = round_to(static_cast<double>(base->ffn.d_ff) * width_factor, 256);
    s.moe = model::MoeSpec{};
    s.moe.router = base->moe.router;
    s.moe.first_dense_layers = std::min(base->moe.first_dense_layers, s.layers - 1);
  }
  if (experts > 1) {
    // Krajewski et al. 2024: d_expert = d_ff / G, G experts active (one dense FFN's worth).
    s.moe.experts = experts;
    s.moe.top_k = granularity;
    s.moe.d_ff_expert = s.ffn.d_ff / granularity;
    s.moe.every = moe_every;
    s.moe.capacity_factor.reset();
  } else {
    s.moe = model::MoeSpec{};
  }
  return s;
}

std::vector<std::size_t> pareto_front(const std::vector<double>& x,
                                      const std::vector<double>& loss) {
  std::vector<std::size_t> order(x.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (x[a] != x[b]) return x[a] < x[b];
    return loss[a] < loss[b];
  });
  std::vector<std::size_t> front;
  double best = INFINITY;
  for (std::size_t i : order) {
    // Pareto dominance: kept when no cheaper-or-equal point has a loss as low.
    if (loss[i] < best) {
      front.push_back(i);
      best = loss[i];
    }
  }
  return front;
}

PlanResult plan(const hw::ClusterSpec& cluster, const PlanOptions& options) {
  const PlanGrid& g = options.grid;
  if (!(options.budget.value > 0) || !std::isfinite(options.budget.value))
    throw std::invalid_argument("plan: the budget must be positive");
  const bool family = !options.base.has_value();
  if ((family ? g.n_blocks.empty() : g.depth_factors.empty()) || g.width_factors.empty() ||
      g.experts.empty() || g.granularities.empty() || g.moe_every.empty() ||
      g.token_fractions.empty())
    throw std::invalid_argument("plan: every grid axis needs at least one value");
  for (double f : g.token_fractions)
    if (!(f > 0) || f > 1) throw std::invalid_argument("plan: token fractions must be in (0, 1]");

  PlanResult result;
  const double price =
      options.price_per_device_hour_usd.value_or(cluster.accelerator.price_per_hour_usd);
  result.price_per_device_hour_usd = price;
  if (options.budget.kind == BudgetKind::usd && !(price > 0))
    throw std::invalid_argument("plan: a dollar budget needs a price per device-hour");
  const double devices = static_cast<double>(cluster.devices);
  if (!(devices > 0)) throw std::invalid_argument("plan: the cluster has no devices");

  // The architectures of the grid (dense points once; MoE points with experts / G >= 2).
  std::vector<Arch> archs;
  const std::vector<std::int64_t> depth_ns = family ? g.n_blocks : std::vector<std::int64_t>{0};
  const std::vector<double> depth_fs = family ? std::vector<double>{1} : g.depth_factors;
  for (std::int64_t n : depth_ns)
    for (double df : depth_fs)
      for (double wf : g.width_factors)
        for (std::int64_t e : g.experts) {
          if (e <= 1) {
            archs.push_back({n, df, wf, 1, 1, 1});
            continue;
          }
          for (std::int64_t gr : g.granularities) {
            if (gr < 1 || e % gr != 0 || e / gr < 2) continue;
            for (std::int64_t every : g.moe_every) {
              if (every < 1) continue;
              archs.push_back({n, df, wf, e, gr, every});
            }
          }
        }
  // Identical specs (a dense point listed twice) are evaluated once.
  std::sort(archs.begin(), archs.end(), [](const Arch& a, const Arch& b) {
    return std::tie(a.n_blocks, a.depth_factor, a.width_factor, a.experts, a.granularity, a.every) <
           std::tie(b.n_blocks, b.depth_factor, b.width_factor, b.experts, b.granularity, b.every);
  });
  archs.erase(std::unique(archs.begin(), archs.end(),
                          [](const Arch& a, const Arch& b) {
                            return a.n_blocks == b.n_blocks && a.depth_factor == b.depth_factor &&
                                   a.width_factor == b.width_factor && a.experts == b.experts &&
                                   a.granularity == b.granularity && a.every == b.every;
                          }),
              archs.end());

  const std::shared_ptr<const Network> network = make_network(cluster);
  const std::size_t n_fractions = g.token_fractions.size();
  struct ArchOut {
    std::vector<PlanCandidate> kept;
    std::array<std::int64_t, kReasons> dropped{};
    std::int64_t candidates = 0;
  };
  std::vector<ArchOut> outs(archs.size());
  std::atomic<std::size_t> next{0};

  auto work = [&]() {
    for (std::size_t i = next.fetch_add(1); i < archs.size(); i = next.fetch_add(1)) {
      const Arch& a = archs[i];
      ArchOut& out = outs[i];
      const model::ModelSpec spec = plan_model(options.base, a.n_blocks, a.depth_factor,
                                               a.width_factor, a.experts, a.granularity, a.every);
      if (!model::validate(spec).empty()) continue;  // not a candidate (e.g. too few layers)
      out.candidates = static_cast<std::int64_t>(n_fractions);
      auto drop_all = [&](DropReason r) {
        out.dropped[static_cast<std::size_t>(r)] += static_cast<std::int64_t>(n_fractions);
      };
      const laws::Law& law = spec.is_moe() ? options.moe_law : options.dense_law;
      if (!law_applies(law, spec.moe.experts, a.granularity)) {
        drop_all(DropReason::law_not_applicable);
        continue;
      }
      const model::ModelTotals totals = model::totals(spec);
      if (options.serve_cluster) {
        // bf16 weights (2 bytes per parameter) against F of the serving cluster's HBM.
        const double capacity = static_cast<double>(options.serve_cluster->devices) *
                                options.serve_cluster->accelerator.hbm_bytes *
                                options.serve_memory_fraction;
        if (2 * totals.params_total > capacity) {
          drop_all(DropReason::serving_memory);
          continue;
        }
      }
      const StepModel step_model(spec, cluster, network, options.step_options);
      const OptimizerResult best = search_layout(spec, cluster, step_model, options.search, price);
      if (best.top.empty() || !(best.top.front().step.tokens_per_s > 0)) {
        drop_all(DropReason::training_memory);
        continue;
      }
      const RankedLayout& top = best.top.front();
      const double tps = top.step.tokens_per_s;
      for (double f : g.token_fractions) {
        PlanCandidate c;
        c.layers = spec.layers;
        c.d_model = spec.d_model;
        c.d_ff = spec.ffn.d_ff;
        c.experts = spec.moe.experts;
        c.granularity = a.experts > 1 ? a.granularity : 1;
        c.top_k = spec.moe.top_k;
        c.moe_every = a.experts > 1 ? a.every : 1;
        c.d_ff_expert = spec.expert_d_ff();
        c.params_total = totals.params_total;
        c.params_active = totals.params_active;
        c.flops_per_token = totals.flops_per_token;
        c.token_fraction = f;
        switch (options.budget.kind) {
          case BudgetKind::gpu_hours:
          case BudgetKind::usd: {
            c.device_hours =
                f * (options.budget.kind == BudgetKind::gpu_hours ? options.budget.value
                                                                  : options.budget.value / price);
            // All devices for device_hours / devices hours, at the best layout's throughput.
            c.wall_s = c.device_hours * 3600 / devices;
            c.tokens = tps * c.wall_s;
            break;
          }
          case BudgetKind::flops:
            // D = C / (training FLOPs per token), the model's own count (6 N_act plus
            // attention and router FLOPs; docs/plan.md).
            c.tokens = f * options.budget.value / totals.flops_per_token;
            c.wall_s = c.tokens / tps;
            c.device_hours = c.wall_s * devices / 3600;
            break;
        }
        c.cost_usd = c.device_hours * price;  // device-hours x price (docs/step_model.md)
        c.tokens_per_s = tps;
        c.mfu = top.step.mfu;
        c.layout = top.layout;
        if (options.deadline_s && c.wall_s > *options.deadline_s) {
          ++out.dropped[static_cast<std::size_t>(DropReason::deadline)];
          continue;
        }
        const laws::LawEvaluation ev = laws::evaluate(law, spec, c.tokens);
        if (!std::isfinite(ev.loss) || !std::isfinite(c.tokens) || !std::isfinite(c.wall_s) ||
            !std::isfinite(c.cost_usd)) {
          ++out.dropped[static_cast<std::size_t>(DropReason::law_not_applicable)];
          continue;
        }
        c.loss = ev.loss;
        c.law = law.name;
        c.extrapolated = ev.extrapolated;
        c.in_fitted_range = ev.in_fitted_range;
        out.kept.push_back(std::move(c));
      }
    }
  };
  unsigned threads = options.threads > 0 ? static_cast<unsigned>(options.threads)
                                         : std::max(1u, std::thread::hardware_concurrency());
  threads =
      std::min<unsigned>(threads, static_cast<unsigned>(std::max<std::size_t>(1, archs.size())));
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
    for (auto& th : pool) th.join();
  }

  for (ArchOut& o : outs) {
    if (o.candidates == 0) continue;
    ++result.architectures;
    result.candidates += o.candidates;
    for (std::size_t r = 0; r < kReasons; ++r) result.dropped[r] += o.dropped[r];
    for (PlanCandidate& c : o.kept) result.kept.push_back(std::move(c));
  }
  result.kept_count = static_cast<std::int64_t>(result.kept.size());

  if (!result.kept.empty()) {
    // Best: lowest loss; ties to the cheaper, then the faster.
    const auto it = std::min_element(
        result.kept.begin(), result.kept.end(), [](const PlanCandidate& a, const PlanCandidate& b) {
          return std::tie(a.loss, a.cost_usd, a.wall_s) < std::tie(b.loss, b.cost_usd, b.wall_s);
        });
    result.best = *it;
    std::vector<double> loss, cost, time;
    for (const PlanCandidate& c : result.kept) {
      loss.push_back(c.loss);
      cost.push_back(c.cost_usd);
      time.push_back(c.wall_s);
    }
    for (std::size_t i : pareto_front(cost, loss)) result.frontier_cost.push_back(result.kept[i]);
    for (std::size_t i : pareto_front(time, loss)) result.frontier_time.push_back(result.kept[i]);
  }

  if (options.search == PlanSearch::fast)
    result.notes.push_back(
        "layout search restricted to ZeRO-1, selective recompute, micro-batch 1, 1F1B (ZeRO-3 "
        "with full recompute when nothing fits); --full-layout-search searches all");
  if (options.moe_law.name != options.dense_law.name)
    result.notes.push_back("dense candidates scored by " + options.dense_law.name +
                           ", MoE candidates by " + options.moe_law.name +
                           ": losses of different laws are compared as they are");
  bool any_extrapolated = false, any_out_of_range = false;
  for (const PlanCandidate& c : result.kept) {
    any_extrapolated |= c.extrapolated;
    any_out_of_range |= !c.in_fitted_range;
  }
  if (any_extrapolated)
    result.notes.push_back(
        "some losses are extrapolated (experts not in every layer, or a dense law on an MoE "
        "model): see extrapolated per point");
  if (any_out_of_range)
    result.notes.push_back("some points lie outside their law's fitted range (in_fitted_range)");
  return result;
}

}  // namespace moesim::sim
