// Acceptance of the event-driven simulator against the analytic step model (issue 6):
// with balanced routing and no contention (every collective as long as alone on the
// network), `simulate` agrees with `estimate` within 5% on the Megatron rows of Narayanan
// et al. 2021 Table 1 (reference/systems.md), mixtral-8x7b and deepseek-v3. With contention
// on, where the two differ by more than 5% the simulation must name the contention that
// explains it (its notes). Do not widen the tolerance to make a change pass. The same
// holds for the layouts simulated later: ZeRO-3's per-micro-batch parameter gathers and
// --tp-overlap (EventVsAnalytic.ZeroThreeAndTpOverlap).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "io/loaders.hpp"
#include "sim/estimate.hpp"
#include "sim/event/simulator.hpp"
#include "sim/network.hpp"
#include "sim/validation.hpp"

namespace moesim::sim::event {
namespace {

constexpr double kTolerance = 0.05;

struct Case {
  std::string name, model, cluster;
  std::int64_t devices;
  Layout layout;
  StepOptions options;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const ThroughputCase& c : narayanan_table1_cases())
    out.push_back({c.model, c.model, c.cluster, c.devices, c.layout, c.options});
  {
    // Mixtral 8x7B on 64 H100: tp 2 inside a node, ep 8 over the node boundary, ZeRO-1.
    Layout l;
    l.tp = 2, l.pp = 2, l.dp = 16, l.ep = 8, l.zero = 1;
    out.push_back({"mixtral-8x7b", "mixtral-8x7b", "dgx-h100", 64, l, {}});
  }
  {
    // DeepSeek-V3 on its own 2048 H800 (DeepSeek-V3 Sec. 3.2: pp 16, ep 64, ZeRO-1).
    Layout l;
    l.pp = 16, l.dp = 128, l.ep = 64, l.zero = 1;
    out.push_back({"deepseek-v3", "deepseek-v3", "h800", 2048, l, {}});
  }
  return out;
}

struct Outcome {
  double analytic_s, alone_s, contended_s;
  SimulationResult contended;
};

Outcome run(const Case& c) {
  const model::ModelSpec spec = io::load_model(c.model);
  const hw::ClusterSpec cluster = io::load_cluster(c.cluster, static_cast<int>(c.devices));
  Layout layout = c.layout;
  if (layout.global_batch <= 0)
    layout.global_batch = default_global_batch(spec.seq_len, layout.dp, layout.micro_batch);
  EXPECT_TRUE(validate(layout, spec, c.devices).empty()) << c.name;
  auto net = std::make_shared<ClusterNetwork>(cluster);
  const StepModel model(spec, cluster, net, c.options);
  Outcome o;
  o.analytic_s = model.evaluate(layout).step_s;
  SimulateOptions opt;
  opt.contention = false;
  o.alone_s = simulate_step(spec, cluster, *net, layout, c.options, opt).step.step_s;
  opt.contention = true;
  o.contended = simulate_step(spec, cluster, *net, layout, c.options, opt);
  o.contended_s = o.contended.step.step_s;
  return o;
}

// Prints a table of the cases and checks them: no contention within 5% of the analytic
// step (the schedule alone reproduces it); with contention within 5%, or the report names
// the contention that explains it.
void check(const std::vector<Case>& list, int width) {
  std::printf("%-*s %10s %10s %7s %10s %7s\n", width, "case", "analytic", "no-cont.", "diff",
              "contended", "diff");
  for (const Case& c : list) {
    SCOPED_TRACE(c.name);
    const Outcome o = run(c);
    const double d_alone = o.alone_s / o.analytic_s - 1;
    const double d_cont = o.contended_s / o.analytic_s - 1;
    std::printf("%-*s %10.4f %10.4f %+6.1f%% %10.4f %+6.1f%%\n", width, c.name.c_str(),
                o.analytic_s, o.alone_s, 100 * d_alone, o.contended_s, 100 * d_cont);
    EXPECT_LE(std::abs(d_alone), kTolerance) << "no-contention difference";
    if (std::abs(d_cont) > kTolerance) {
      EXPECT_FALSE(o.contended.contention.empty());
      double extra = 0;
      for (const auto& x : o.contended.contention) {
        std::printf("    %s: +%.4f s over %.4f s alone (with %s)\n", x.kind.c_str(), x.extra_s,
                    x.alone_s, x.sharing_with.c_str());
        extra += x.extra_s;
      }
      EXPECT_GT(extra, 0);
    }
  }
}

TEST(EventVsAnalytic, BalancedRoutingWithinFivePercent) {
  check(cases(), 16);
}

// ZeRO-3 (2 gathers per layer and micro-batch, plus the reductions) and --tp-overlap h
// (1 - h of each tp collective blocks, the rest runs beside the compute that follows):
// without contention the simulated step agrees with the analytic one within 5%.
TEST(EventVsAnalytic, ZeroThreeAndTpOverlap) {
  std::vector<Case> list;
  {
    Layout l;
    l.tp = 2, l.pp = 2, l.dp = 16, l.ep = 8, l.zero = 3;
    list.push_back({"mixtral zero3", "mixtral-8x7b", "dgx-h100", 64, l, {}});
    // ZeRO-2/3 without --overlap-grad-reduce: a reduce-scatter per micro-batch, exposed.
    StepOptions no_overlap;
    no_overlap.overlap.dp_grad_reduce = false;
    l.zero = 2;
    list.push_back({"mixtral zero2 no-ov", "mixtral-8x7b", "dgx-h100", 64, l, no_overlap});
    l.zero = 3;
    list.push_back({"mixtral zero3 no-ov", "mixtral-8x7b", "dgx-h100", 64, l, no_overlap});
    l.zero = 1;
    StepOptions o;
    o.overlap.tp_hidden_fraction = 0.5;
    list.push_back({"mixtral tp-ov 0.5", "mixtral-8x7b", "dgx-h100", 64, l, o});
    o.overlap.tp_hidden_fraction = 1;
    list.push_back({"mixtral tp-ov 1", "mixtral-8x7b", "dgx-h100", 64, l, o});
  }
  {
    Layout l;
    l.pp = 16, l.dp = 128, l.ep = 64, l.zero = 3;
    list.push_back({"deepseek zero3", "deepseek-v3", "h800", 2048, l, {}});
    l.zero = 2;
    StepOptions no_overlap;
    no_overlap.overlap.dp_grad_reduce = false;
    list.push_back({"deepseek zero2 no-ov", "deepseek-v3", "h800", 2048, l, no_overlap});
  }
  // Megatron presets with tp overlap: Korthikanti et al. 2022 Table 5's layouts (tp 8, full
  // and selective recompute) and Narayanan et al. 2021 Table 1's rows (tp up to 8, pipelines
  // up to 64 stages, interleaved down to one layer per chunk).
  for (ThroughputCase c : korthikanti_table5_cases()) {
    if (c.model != "megatron-22b" && c.model != "megatron-175b") continue;
    for (double h : {0.5, 1.0}) {
      c.options.overlap.tp_hidden_fraction = h;
      char name[64];
      std::snprintf(name, sizeof name, "%s%s tp-ov %.1f", c.model.c_str() + 9,
                    c.layout.sp() ? " sp" : "", h);
      list.push_back({name, c.model, c.cluster, c.devices, c.layout, c.options});
    }
  }
  for (ThroughputCase c : narayanan_table1_cases()) {
    c.options.overlap.tp_hidden_fraction = 0.5;
    list.push_back(
        {c.model.substr(9) + " tp-ov 0.5", c.model, c.cluster, c.devices, c.layout, c.options});
  }
  check(list, 22);
}

}  // namespace
}  // namespace moesim::sim::event
