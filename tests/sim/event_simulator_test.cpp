// The event-driven simulator end to end on small configurations: the pipeline bubble of
// 1F1B and interleaved schedules, byte-identical traces for the same seed, and what uneven
// expert load does (docs/simulate.md).
#include <gtest/gtest.h>

#include "io/loaders.hpp"
#include "io/trace.hpp"
#include "sim/estimate.hpp"
#include "sim/event/simulator.hpp"
#include "sim/network.hpp"

namespace moesim::sim::event {
namespace {

// p equal stages and m micro-batches take (m + p - 1) stage-times under 1F1B: the bubble is
// (p - 1)/m of the ideal m stage-times, (p - 1)/(V m) interleaved (Narayanan et al. 2021
// Sec. 2.2). Equal stages: a GPT whose embedding and head are negligible (vocab 128), one
// device per stage, nothing data-parallel.
TEST(EventPipeline, BubbleIsPMinusOneOverM) {
  model::ModelSpec spec = io::load_model("megatron-1.7b");  // 24 layers
  spec.vocab = 128;
  const hw::ClusterSpec cluster = io::load_cluster("dgx-a100", 4);
  const ClusterNetwork net(cluster);
  for (int V : {1, 2}) {
    for (int m : {4, 8, 16}) {
      Layout l;
      l.pp = 4, l.dp = 1, l.tp = 1, l.zero = 0;
      l.global_batch = m;
      l.schedule.virtual_stages = V;
      ASSERT_TRUE(validate(l, spec, 4).empty());
      const SimulationResult r = simulate_step(spec, cluster, net, l, {}, {});
      const auto& b = r.step.breakdown;
      // The busiest stage's work per micro-batch: compute and its (blocking) sends.
      const double ideal = b.compute_s + b.pp_exposed_s;
      const double bubble = (r.step.step_s - b.optimizer_s - ideal) / ideal;
      const double expected = 3.0 / (V * m);
      EXPECT_NEAR(bubble, expected, 0.1 * expected) << "V=" << V << " m=" << m;
    }
  }
}

struct Small {
  model::ModelSpec spec = io::load_model("mixtral-8x7b");
  hw::ClusterSpec cluster = io::load_cluster("dgx-h100", 16);
  ClusterNetwork net{cluster};
  Layout layout;
  Small() {
    spec.layers = 4;  // keep the test fast
    layout.pp = 2, layout.dp = 8, layout.ep = 8, layout.zero = 1;
    layout.global_batch = 32;  // 4 micro-batches
  }
};

TEST(EventSimulator, SameSeedSameTraceBytes) {
  Small s;
  ASSERT_TRUE(validate(s.layout, s.spec, 16).empty());
  SimulateOptions opt;
  opt.trace = true;
  opt.routing.kind = RoutingKind::zipf;
  opt.routing.parameter = 1.2;
  opt.seed = 42;
  const auto a = simulate_step(s.spec, s.cluster, s.net, s.layout, {}, opt);
  const auto b = simulate_step(s.spec, s.cluster, s.net, s.layout, {}, opt);
  const std::string ta = io::render_chrome_trace(a.timeline);
  EXPECT_GT(a.timeline.spans.size(), 100u);
  EXPECT_EQ(ta, io::render_chrome_trace(b.timeline));
  EXPECT_EQ(a.step.step_s, b.step.step_s);
  EXPECT_NE(ta.find("\"traceEvents\""), std::string::npos);
  EXPECT_NE(ta.find("ep all-to-all"), std::string::npos);
  EXPECT_NE(ta.find("(scale-out)"), std::string::npos);  // a link track
  opt.seed = 43;
  const auto c = simulate_step(s.spec, s.cluster, s.net, s.layout, {}, opt);
  EXPECT_NE(ta, io::render_chrome_trace(c.timeline));
}

// Balanced routing: no imbalance, no drops. Zipf(1.2) over 8 experts, top-2, dropless: the
// busiest rank gets more tokens than the mean, the step waits for it (slowdown > 1).
TEST(EventSimulator, SkewSlowsTheStepDroplessAndDropsWithCapacity) {
  Small s;
  const auto bal = simulate_step(s.spec, s.cluster, s.net, s.layout, {}, {});
  EXPECT_DOUBLE_EQ(bal.stats.max_over_mean, 1.0);
  EXPECT_DOUBLE_EQ(bal.stats.slowdown, 1.0);
  EXPECT_DOUBLE_EQ(bal.stats.tokens_dropped, 0.0);
  SimulateOptions opt;
  opt.routing.kind = RoutingKind::zipf;
  opt.routing.parameter = 1.2;
  const auto skew = simulate_step(s.spec, s.cluster, s.net, s.layout, {}, opt);
  EXPECT_GT(skew.stats.max_over_mean, 1.5);
  EXPECT_GT(skew.stats.slowdown, 1.05);
  EXPECT_DOUBLE_EQ(skew.stats.balanced_step_s, bal.step.step_s);
  EXPECT_DOUBLE_EQ(skew.stats.tokens_dropped, 0.0);  // dropless
  // Capacity factor 1.0: GEMMs padded to capacity (no slowdown from compute), tokens past
  // capacity dropped. Assignments routed: tokens * top_k * MoE layers.
  s.spec.moe.capacity_factor = 1.0;
  const auto cap = simulate_step(s.spec, s.cluster, s.net, s.layout, {}, opt);
  EXPECT_GT(cap.stats.tokens_dropped, 0.1 * cap.stats.tokens_routed);
  EXPECT_DOUBLE_EQ(cap.stats.tokens_routed, 32.0 * 4096 * 2 * 4);
  EXPECT_NEAR(cap.stats.slowdown, 1.0, 1e-9);
}

// The estimate's report fields are all there and finite; the simulated step is the step.
TEST(EventSimulator, SimulateFillsTheEstimate) {
  Small s;
  EstimateInput in;
  in.model = s.spec;
  in.cluster = s.cluster;
  in.layout = s.layout;
  const Simulation sim = simulate(in, {});
  ASSERT_TRUE(sim.estimate.step);
  ASSERT_TRUE(sim.analytic_step);
  EXPECT_GT(sim.stats.events, 0);
  EXPECT_NEAR(sim.estimate.step->step_s / sim.analytic_step->step_s, 1.0, 0.05);
}

}  // namespace
}  // namespace moesim::sim::event
