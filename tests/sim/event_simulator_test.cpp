// The event-driven simulator end to end on small configurations: the pipeline bubble of
// 1F1B and interleaved schedules, byte-identical traces for the same seed, and what uneven
// expert load does (docs/simulate.md).
#include <gtest/gtest.h>

#include <tuple>

#include "io/loaders.hpp"
#include "io/trace.hpp"
#include "sim/estimate.hpp"
#include "sim/event/simulator.hpp"
#include "sim/network.hpp"
#include "sim/step.hpp"

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

// Routes moved between pipeline stages by a checked automorphism (Run::map_routes) are the
// routes the Router computes: the same step, figures and trace bytes with the shortcut on
// and off, under uneven routing (all-to-all-v weights) and with per-flow and coflow sharing.
// DeepSeek-V3's layers cut to 8 on 512 H800s, pp 4: each stage is 128 GPUs, 4 leaves.
TEST(EventSimulator, RoutesBySymmetryChangeNothing) {
  model::ModelSpec spec = io::load_model("deepseek-v3");
  spec.layers = 8;
  spec.moe.first_dense_layers = 1;
  const hw::ClusterSpec cluster = io::load_cluster("h800", 512);
  const ClusterNetwork net(cluster);
  Layout l;
  l.pp = 4, l.dp = 128, l.ep = 64, l.zero = 1;
  l.global_batch = 256;  // 2 micro-batches
  ASSERT_TRUE(validate(l, spec, 512).empty());
  for (const NetworkModel network : {NetworkModel::coflows, NetworkModel::flows}) {
    SimulateOptions opt;
    opt.trace = true;
    opt.network = network;
    opt.compare_balanced = false;
    opt.routing.kind = RoutingKind::zipf;
    opt.routing.parameter = 1.2;
    const auto moved = simulate_step(spec, cluster, net, l, {}, opt);
    opt.routes_by_symmetry = false;
    const auto computed = simulate_step(spec, cluster, net, l, {}, opt);
#ifdef NDEBUG  // debug builds compute every moved route as well, to compare
    EXPECT_GT(moved.stats.routes_by_symmetry, moved.stats.routes);  // most routes moved
    EXPECT_EQ(moved.stats.routes + moved.stats.routes_by_symmetry, computed.stats.routes);
#endif
    EXPECT_EQ(computed.stats.routes_by_symmetry, 0);
    EXPECT_EQ(moved.step.step_s, computed.step.step_s);
    EXPECT_EQ(moved.stats.events, computed.stats.events);
    EXPECT_EQ(moved.stats.flows, computed.stats.flows);
    EXPECT_EQ(moved.stats.flow_solves, computed.stats.flow_solves);
    EXPECT_EQ(moved.notes, computed.notes);
    EXPECT_EQ(io::render_chrome_trace(moved.timeline), io::render_chrome_trace(computed.timeline));
  }
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

// Spans named `name` on the devices' dp streams (the link tracks repeat collectives' names).
int dp_spans(const Timeline& t, const std::string& name) {
  int n = 0;
  for (const TraceSpan& s : t.spans)
    n += t.tracks[static_cast<std::size_t>(s.track)].thread == "dp" &&
         t.names[static_cast<std::size_t>(s.name)] == name;
  return n;
}

// A dense model of 4 layers (Megatron 1.7B's widths, a 128-token vocabulary) on two A100s:
// the data-parallel tests' cluster, one rank simulated.
struct TinyDense {
  model::ModelSpec spec = io::load_model("megatron-1.7b");
  hw::ClusterSpec cluster = io::load_cluster("dgx-a100", 2);
  ClusterNetwork net{cluster};
  TinyDense() { spec.layers = 4, spec.vocab = 128; }
};

// ZeRO-3 gathers each layer's parameters before every micro-batch's forward and backward
// (Rajbhandari et al. 2019 Sec. 5.3), on top of ZeRO-2's traffic: L gathers of the updated
// parameters at the step start (sim/step.cpp counts them for every ZeRO >= 1) and a
// reduce-scatter per layer and micro-batch. A dense model (one bucket per layer) on two
// data-parallel ranks, one rank simulated: ZeRO-2 L gathers, ZeRO-3 L + 2 m L, both m L
// reductions, with the gathers prefetched or on demand (--overlap-param-gather false).
TEST(EventZeroThree, TwoGathersPerLayerAndMicroBatch) {
  const TinyDense t;
  const auto& [spec, cluster, net] = std::tie(t.spec, t.cluster, t.net);
  SimulateOptions opt;
  opt.trace = true;
  const int L = 4;
  for (const bool prefetch : {true, false})
    for (int m : {2, 4}) {
      Layout l;
      l.dp = 2, l.tp = 1, l.pp = 1;
      l.global_batch = 2 * m;  // m micro-batches of one sequence per replica
      StepOptions so;
      so.overlap.dp_param_gather = prefetch;
      SCOPED_TRACE("m=" + std::to_string(m) + (prefetch ? " prefetched" : " on demand"));
      l.zero = 2;
      ASSERT_TRUE(validate(l, spec, 2).empty());
      const auto z2 = simulate_step(spec, cluster, net, l, so, opt);
      l.zero = 3;
      const auto z3 = simulate_step(spec, cluster, net, l, so, opt);
      EXPECT_EQ(dp_spans(z2.timeline, "dp parameter gather"), L);
      EXPECT_EQ(dp_spans(z3.timeline, "dp parameter gather"), L + 2 * m * L);
      EXPECT_EQ(dp_spans(z2.timeline, "dp gradient reduction"), m * L);
      EXPECT_EQ(dp_spans(z3.timeline, "dp gradient reduction"), m * L);
      EXPECT_EQ(z3.stats.collectives - z2.stats.collectives, 2 * m * L);
      EXPECT_GE(z3.step.step_s, z2.step.step_s);
      // On demand every gather blocks the compute: more data-parallel time exposed.
      if (!prefetch) {
        EXPECT_GT(z3.step.breakdown.dp_exposed_s, z2.step.breakdown.dp_exposed_s);
      }
    }
}

// Without --overlap-grad-reduce, ZeRO-0/1 accumulate the gradients locally and reduce each
// bucket once after the flush (Megatron-LM's finalize_model_grads); ZeRO-2/3 keep only a
// shard of the gradients, so every micro-batch's backward reduce-scatters them (Rajbhandari
// et al. 2019 Sec. 5.2, DeepSpeed; sim/step.cpp counts m reduce-scatters, all exposed). The
// simulator reduces them at the end of each backward and the compute waits: ZeRO-1 runs L
// reductions, ZeRO-2 m L, none of them beside a compute span of their rank, and ZeRO-2
// exposes m - 1 more rounds of ZeRO-1's reductions (one rank simulated).
TEST(EventZeroTwo, ReducesEveryMicroBatchWithoutOverlap) {
  const TinyDense t;
  const auto& [spec, cluster, net] = std::tie(t.spec, t.cluster, t.net);
  SimulateOptions opt;
  opt.trace = true;
  const int L = 4, m = 4;
  Layout l;
  l.dp = 2, l.tp = 1, l.pp = 1;
  l.global_batch = 2 * m;
  StepOptions so;
  so.overlap.dp_grad_reduce = false;
  l.zero = 1;
  ASSERT_TRUE(validate(l, spec, 2).empty());
  const auto z1 = simulate_step(spec, cluster, net, l, so, opt);
  l.zero = 2;
  const auto z2 = simulate_step(spec, cluster, net, l, so, opt);
  l.zero = 3;
  const auto z3 = simulate_step(spec, cluster, net, l, so, opt);
  EXPECT_EQ(dp_spans(z1.timeline, "dp gradient reduction"), L);
  EXPECT_EQ(dp_spans(z2.timeline, "dp gradient reduction"), m * L);
  EXPECT_EQ(dp_spans(z3.timeline, "dp gradient reduction"), m * L);
  EXPECT_EQ(dp_spans(z3.timeline, "dp parameter gather"), L + 2 * m * L);
  // Both wait alike for the step-start gathers.
  double reduce_s = 0;
  for (const TraceSpan& s : z1.timeline.spans)
    if (z1.timeline.tracks[static_cast<std::size_t>(s.track)].thread == "dp" &&
        z1.timeline.names[static_cast<std::size_t>(s.name)] == "dp gradient reduction")
      reduce_s += s.duration_s;
  EXPECT_GT(reduce_s, 0);
  EXPECT_NEAR(z2.step.breakdown.dp_exposed_s - z1.step.breakdown.dp_exposed_s, (m - 1) * reduce_s,
              1e-6 * reduce_s);
  EXPECT_GT(z2.step.step_s, z1.step.step_s);
  EXPECT_GT(z3.step.step_s, z2.step.step_s);
  // Exposed: no reduction overlaps its rank's compute (ZeRO-3's gathers may: prefetched).
  for (const auto* r : {&z2, &z3}) {
    const Timeline& t = r->timeline;
    for (const TraceSpan& a : t.spans) {
      const TraceTrack& ta = t.tracks[static_cast<std::size_t>(a.track)];
      if (ta.thread != "dp" || t.names[static_cast<std::size_t>(a.name)] != "dp gradient reduction")
        continue;
      for (const TraceSpan& c : t.spans) {
        const TraceTrack& tc = t.tracks[static_cast<std::size_t>(c.track)];
        if (tc.thread != "compute" || tc.pid != ta.pid) continue;
        EXPECT_FALSE(c.start_s < a.start_s + a.duration_s - 1e-12 &&
                     a.start_s < c.start_s + c.duration_s - 1e-12);
      }
    }
  }
  // With the overlap on, ZeRO-2 reduces every micro-batch's buckets too, beside the backward.
  so.overlap.dp_grad_reduce = true;
  l.zero = 2;
  const auto z2o = simulate_step(spec, cluster, net, l, so, opt);
  EXPECT_EQ(dp_spans(z2o.timeline, "dp gradient reduction"), m * L);
  EXPECT_LT(z2o.step.step_s, z2.step.step_s);
}

// --tp-overlap h: 1 - h of every tp collective blocks the compute, the rest runs beside the
// compute that follows, done before the next tp collective or the end of the pass. The
// analytic model hides h * tp (sim/step.cpp: tp_exposed = tp (1 - h)); simulated, the last
// collective of each pass has nothing after it to hide behind, so the step shrinks by the
// analytic hidden time less about 1/layers of it. The tp time itself stays the same.
TEST(EventTpOverlap, StepShrinksByTheHiddenTpTime) {
  const model::ModelSpec spec = io::load_model("megatron-1.7b");  // 24 layers
  const hw::ClusterSpec cluster = io::load_cluster("dgx-a100", 2);
  auto net = std::make_shared<ClusterNetwork>(cluster);
  Layout l;
  l.tp = 2, l.dp = 1, l.pp = 1, l.zero = 0;
  l.global_batch = 4;
  ASSERT_TRUE(validate(l, spec, 2).empty());
  auto sim = [&](double h) {
    StepOptions so;
    so.overlap.tp_hidden_fraction = h;
    SimulateOptions opt;
    opt.trace = true;
    return simulate_step(spec, cluster, *net, l, so, opt);
  };
  auto analytic = [&](double h) {
    StepOptions so;
    so.overlap.tp_hidden_fraction = h;
    return StepModel(spec, cluster, net, so).evaluate(l);
  };
  const auto s0 = sim(0), s5 = sim(0.5), s1 = sim(1);
  const StepResult a1 = analytic(1);
  const double hidden = a1.breakdown.tp_s - a1.breakdown.tp_exposed_s;
  ASSERT_GT(hidden, 0.05 * a1.step_s);  // tp matters here
  const double shrink = s0.step.step_s - s1.step.step_s;
  EXPECT_LE(shrink, hidden * (1 + 1e-9));
  EXPECT_GE(shrink, hidden * (1 - 2.0 / 24));
  // Half the overlap hides half as much.
  EXPECT_NEAR(s0.step.step_s - s5.step.step_s, 0.5 * shrink, 0.05 * shrink);
  // The collectives take as long as before; only less of them is exposed.
  EXPECT_NEAR(s1.step.breakdown.tp_s, s0.step.breakdown.tp_s, 1e-9 * s0.step.breakdown.tp_s);
  EXPECT_NEAR(s5.step.breakdown.tp_exposed_s, 0.5 * s0.step.breakdown.tp_exposed_s,
              0.05 * s0.step.breakdown.tp_exposed_s);
  EXPECT_LT(s1.step.breakdown.tp_exposed_s, 2.0 / 24 * s0.step.breakdown.tp_exposed_s);
  // h = 1 runs only the hidden part of each tp collective, h = 0.5 both parts: one more
  // collective per tp segment (a forward and a backward per layer and micro-batch).
  EXPECT_EQ(s1.stats.collectives, s0.stats.collectives);
  EXPECT_EQ(s5.stats.collectives - s0.stats.collectives, 2 * 24 * 4);
}

}  // namespace
}  // namespace moesim::sim::event
