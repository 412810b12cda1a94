// The analytic step model (sim/step.hpp) and estimate() (sim/estimate.hpp): the breakdown
// adds up, MoE sanity (experts, expert parallelism across the node boundary, capacity
// factor), the invariances of the pipeline bubble and of data parallelism, and the training
// totals. The Narayanan et al. 2021 Table 1 reproduction is step_validation_test.cpp; the
// layout optimizer is optimizer_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "hardware/efficiency.hpp"
#include "io/loaders.hpp"
#include "io/report.hpp"
#include "model/workload.hpp"
#include "sim/estimate.hpp"
#include "sim/layout.hpp"
#include "sim/network.hpp"
#include "sim/pipeline.hpp"
#include "sim/step.hpp"

namespace moesim::sim {
namespace {

// Relative comparison for quantities computed along different paths.
void expect_rel(double actual, double expected, double rel = 1e-12) {
  EXPECT_NEAR(actual, expected, rel * std::max(1e-300, std::fabs(expected)))
      << "actual " << actual << " expected " << expected;
}

// A layout of `m` micro-batches of `mb` sequences per data-parallel rank per step.
Layout layout(std::int64_t dp, std::int64_t tp, std::int64_t pp, std::int64_t ep, std::int64_t mb,
              std::int64_t m, int zero = 1, Recompute rc = Recompute::selective, int v = 1) {
  Layout l;
  l.dp = dp, l.tp = tp, l.pp = pp, l.ep = ep, l.zero = zero, l.recompute = rc;
  l.micro_batch = mb;
  l.global_batch = dp * mb * m;
  l.schedule.virtual_stages = v;
  return l;
}

StepResult evaluate(const model::ModelSpec& spec, const hw::ClusterSpec& cluster, const Layout& l,
                    StepOptions options = {}) {
  EXPECT_TRUE(validate(l, spec, -1).empty()) << "test layout is invalid";
  const StepModel model(spec, cluster, make_network(cluster), options);
  return model.evaluate(l);
}

const io::ReportValue* find(const io::Report& report, const std::string& path) {
  for (const io::ReportField& f : report.fields)
    if (f.path == path) return &f.value;
  return nullptr;
}

double number(const io::Report& report, const std::string& path) {
  const io::ReportValue* v = find(report, path);
  if (!v) {
    ADD_FAILURE() << "missing report key " << path;
    return 0;
  }
  if (const double* d = std::get_if<double>(v)) return *d;
  if (const std::int64_t* i = std::get_if<std::int64_t>(v)) return static_cast<double>(*i);
  ADD_FAILURE() << path << " is not a number";
  return 0;
}

// ---------------------------------------------------------------------------------------
// The breakdown adds up (step.hpp): step = m t_max + bubble + dp exposed + optimizer, where
// m t_max = compute + tp, ep and pp exposed; MFU = 6N'-style model FLOPs per token x tokens
// / (step x devices x peak), with the same for HFU and the recompute FLOPs.
// ---------------------------------------------------------------------------------------

TEST(StepModelBreakdown, PartsAddUpToTheStep) {
  struct Case {
    const char* model;
    int devices;
    Layout l;
    StepOptions options;
  };
  StepOptions hidden;
  hidden.overlap.tp_hidden_fraction = 0.5;
  hidden.overlap.ep_dualpipe = true;
  const std::vector<Case> cases = {
      {"mixtral-8x7b", 64, layout(16, 1, 4, 8, 1, 8), {}},
      {"mixtral-8x7b", 64, layout(8, 2, 4, 4, 2, 8, 3, Recompute::full, 2), hidden},
      {"deepseek-v3", 2048, layout(128, 1, 16, 64, 1, 32, 1, Recompute::selective), hidden},
      {"megatron-18b", 64, layout(4, 8, 2, 1, 2, 16, 0, Recompute::none), {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.model);
    const model::ModelSpec spec = io::load_model(c.model);
    const hw::ClusterSpec cluster = io::load_cluster("dgx-h100", c.devices);
    const StepResult r = evaluate(spec, cluster, c.l, c.options);
    const StepBreakdown& b = r.breakdown;
    expect_rel(r.step_s,
               b.compute_s + b.exposed_communication_s + b.pipeline_bubble_s + b.optimizer_s);
    expect_rel(b.exposed_communication_s,
               b.tp_exposed_s + b.ep_exposed_s + b.pp_exposed_s + b.dp_exposed_s);
    EXPECT_LE(b.tp_exposed_s, b.tp_s);
    EXPECT_LE(b.ep_exposed_s, b.ep_s);
    EXPECT_LE(b.pp_exposed_s, b.pp_s);
    EXPECT_LE(b.dp_exposed_s, b.dp_s);
    // The overlap policy: a fraction f of tp hidden leaves (1 - f) exposed; DualPipe leaves
    // only the all-to-all time past the compute it overlaps, max(0, ep - compute) (both scale
    // with the micro-batch count, so the identity holds for the step totals).
    expect_rel(b.tp_exposed_s, (1 - c.options.overlap.tp_hidden_fraction) * b.tp_s);
    if (c.options.overlap.ep_dualpipe)
      EXPECT_NEAR(b.ep_exposed_s, std::max(0.0, b.ep_s - b.compute_s), 1e-12 * b.ep_s);
    else
      expect_rel(b.ep_exposed_s, b.ep_s);

    const double tokens = static_cast<double>(c.l.global_batch * spec.seq_len);
    expect_rel(r.tokens_per_step, tokens);
    expect_rel(r.tokens_per_s, tokens / r.step_s);
    const model::ModelTotals t = model::totals(spec);
    const double peak = hw::effective_peak_flops(cluster.accelerator, hw::Dtype::bf16);
    const double denom = r.step_s * static_cast<double>(c.l.devices()) * peak;
    expect_rel(r.mfu, t.flops_per_token * tokens / denom);
    const double hw_flops = c.l.recompute == Recompute::full ? t.flops_per_token_recompute_full
                            : c.l.recompute == Recompute::selective
                                ? t.flops_per_token_recompute_selective
                                : t.flops_per_token;
    expect_rel(r.hfu, hw_flops * tokens / denom);
    expect_rel(r.achieved_flops_per_device, r.hfu * peak);
    EXPECT_GT(r.mfu, 0);
    EXPECT_LE(r.mfu, 1);
    EXPECT_GE(r.hfu, r.mfu);
    EXPECT_GT(r.average_power_w, 0);
    EXPECT_LE(r.average_power_w, cluster.accelerator.tdp_w);
  }
}

// ---------------------------------------------------------------------------------------
// MoE sanity
// ---------------------------------------------------------------------------------------

// More experts at fixed top-k and expert width: parameters grow by (E' - E) experts and
// router columns per MoE layer, while the FLOPs per token only gain the router's 6 d (E' - E)
// per MoE layer (Fedus et al. 2021: compute follows k, not E). At a fixed ep each rank runs
// E/ep experts of T ep k / E rows, i.e. T k token-expert rows whatever E is: the step's
// compute per token stays within a few percent (only the expert GEMMs get thinner and the
// router wider). We check |compute(E)/compute(8) - 1| < 5% for E = 16, 32 at ep = 8.
TEST(StepModelMoe, MoreExpertsRaiseParametersNotFlopsOrComputePerToken) {
  const hw::ClusterSpec cluster = io::load_cluster("dgx-h100", 64);
  const model::ModelSpec base = io::load_model("mixtral-8x7b");
  const model::ModelTotals t8 = model::totals(base);
  const double d = static_cast<double>(base.d_model);
  const double dff = static_cast<double>(base.expert_d_ff());
  const double L = static_cast<double>(t8.moe_layers);  // 32
  const Layout l = layout(16, 1, 4, 8, 1, 8);
  const StepResult r8 = evaluate(base, cluster, l);
  for (int E : {16, 32}) {
    SCOPED_TRACE("experts " + std::to_string(E));
    const model::ModelSpec spec =
        io::load_model("mixtral-8x7b", {"moe.experts=" + std::to_string(E)});
    const model::ModelTotals t = model::totals(spec);
    const double dE = E - 8;
    // SwiGLU experts have 3 d d_ff weights; the router adds one d-vector per expert.
    expect_rel(t.params_total - t8.params_total, L * dE * (3 * d * dff + d));
    expect_rel(t.params_active - t8.params_active, L * dE * d);
    expect_rel(t.flops_per_token - t8.flops_per_token, 6 * d * dE * L);
    EXPECT_LT((t.flops_per_token - t8.flops_per_token) / t8.flops_per_token, 1e-3);

    const StepResult r = evaluate(spec, cluster, l);
    expect_rel(r.tokens_per_step, r8.tokens_per_step);
    const double ratio = r.breakdown.compute_s / r8.breakdown.compute_s;
    EXPECT_NEAR(ratio, 1.0, 0.05) << "compute per token should barely move with E at fixed ep";
    // The per-rank all-to-all volume T k d does not depend on E either.
    expect_rel(r.breakdown.ep_s, r8.breakdown.ep_s, 1e-9);
  }
}

// Raising ep moves the expert all-to-all off NVLink once ep * tp exceeds a DGX node (8 GPUs):
// - ep_crosses_network flips exactly at ep * tp > 8 (tp innermost, ep next in rank order);
// - per step, ep_s = m * 4 * (MoE layers on the busiest stage) * a2a(ep group, T k d bytes)
//   (dispatch + combine, forward and backward; formulas.md) with the same bytes per call for
//   every ep, so ep_s ratios are ratios of all-to-all time per byte;
// - inside the node the time per byte grows only like (n-1)/n, (7/8)/(3/4) = 1.17 from
//   ep 4 to 8; across two nodes half the bytes of a 16-rank group leave the node over a
//   ~48 GB/s NIC instead of ~370 GB/s NVLink: (8/16 / 48) / (7/8 / 370) ~ 4.4.
// We check the flip, the closed form for ep_s, a jump > 2.5x at the boundary and < 1.5x
// below it, and that the estimate report carries time.communication.ep_crosses_network.
TEST(StepModelMoe, ExpertAllToAllMovesToTheNetworkPastOneNode) {
  const hw::ClusterSpec cluster = io::load_cluster("dgx-h100", 64);
  const model::ModelSpec spec = io::load_model("deepseek-v3");
  const StepModel model(spec, cluster, make_network(cluster));
  const ClusterNetwork network(cluster);
  const double s = static_cast<double>(spec.seq_len);
  const double d = static_cast<double>(spec.d_model);
  const double k = static_cast<double>(spec.moe.top_k);
  const std::int64_t m = 8;

  for (std::int64_t tp : {1, 2}) {
    SCOPED_TRACE("tp " + std::to_string(tp));
    double previous = 0;
    for (std::int64_t ep = 2; ep * tp <= 32; ep *= 2) {
      SCOPED_TRACE("ep " + std::to_string(ep));
      const Layout l = layout(32 / tp, tp, 2, ep, 1, m);
      ASSERT_TRUE(validate(l, spec, 64).empty());
      const StepResult r = model.evaluate(l);
      const bool crosses = ep * tp > 8;
      EXPECT_EQ(r.breakdown.ep_crosses_network, crosses);

      // Closed form: sequence parallelism (default at tp > 1) splits the tokens over tp.
      const double bytes = s * k * d * 2 / static_cast<double>(tp);
      const auto stages = stage_layers(spec.total_layers(), l);
      double moe_layers = 0;
      for (std::int64_t j : stages[static_cast<std::size_t>(r.busiest_stage)])
        moe_layers += spec.is_moe_layer(j) ? 1 : 0;
      const double a2a = network.time_s(Collective::all_to_all, CommGroup{ep, tp}, bytes);
      expect_rel(r.breakdown.ep_s, static_cast<double>(m) * 4 * moe_layers * a2a, 1e-9);

      const double per_byte = a2a / bytes;
      if (previous > 0) {
        if (crosses && (ep / 2) * tp <= 8) {
          EXPECT_GT(per_byte / previous, 2.5) << "crossing the node should cost a jump";
        } else if (!crosses) {
          EXPECT_LT(per_byte / previous, 1.5) << "inside the node only (n-1)/n grows";
        }
      }
      previous = per_byte;
    }
  }

  // The estimate report shows it (CLI.md JSON report, time.communication.*).
  for (std::int64_t ep : {8, 16}) {
    EstimateInput in;
    in.model = spec;
    in.cluster = cluster;
    in.layout = layout(32, 1, 2, ep, 1, m);
    const Estimate e = estimate(in);
    const io::Report report = io::make_report(e);
    const io::ReportValue* v = find(report, "time.communication.ep_crosses_network");
    ASSERT_NE(v, nullptr);
    ASSERT_TRUE(std::holds_alternative<bool>(*v));
    EXPECT_EQ(std::get<bool>(*v), ep > 8) << "ep " << ep;
    const bool noted = std::any_of(report.notes.begin(), report.notes.end(), [](const auto& n) {
      return n.find("crosses the scale-up domain") != std::string::npos;
    });
    EXPECT_EQ(noted, ep > 8);
  }
}

// Capacity factor CF pads every expert GEMM to C = CF T k / E rows and every all-to-all to
// the [E, C, d] buffer (Fedus et al. 2021 Eq. 3): CF = 2 doubles the routed-expert FLOPs
// (model::totals gains 3 x 2 x 3 d d_ff k per MoE layer per token for SwiGLU) and the
// all-to-all bytes. So compute, all-to-all time (ratio in (1.8, 2], latency does not double)
// and step time all grow from CF = 1 to CF = 2.
TEST(StepModelMoe, CapacityFactorTwoCostsMoreThanOne) {
  const hw::ClusterSpec cluster = io::load_cluster("dgx-h100", 64);
  model::ModelSpec one = io::load_model("mixtral-8x7b");
  one.moe.capacity_factor = 1.0;
  model::ModelSpec two = one;
  two.moe.capacity_factor = 2.0;
  const double d = static_cast<double>(one.d_model);
  const double dff = static_cast<double>(one.expert_d_ff());
  const double k = static_cast<double>(one.moe.top_k);
  const model::ModelTotals t1 = model::totals(one), t2 = model::totals(two);
  expect_rel(t2.flops_per_token - t1.flops_per_token,
             3 * 2 * 3 * d * dff * k * static_cast<double>(t1.moe_layers));

  for (const Layout& l : {layout(16, 1, 4, 8, 1, 8), layout(32, 2, 1, 8, 1, 4)}) {
    SCOPED_TRACE("tp " + std::to_string(l.tp) + " pp " + std::to_string(l.pp));
    const StepResult r1 = evaluate(one, cluster, l);
    const StepResult r2 = evaluate(two, cluster, l);
    EXPECT_GT(r2.step_s, r1.step_s);
    EXPECT_GT(r2.breakdown.compute_s, r1.breakdown.compute_s);
    const double a2a = r2.breakdown.ep_s / r1.breakdown.ep_s;
    EXPECT_GT(a2a, 1.8);
    EXPECT_LE(a2a, 2.0 + 1e-12);
    EXPECT_LT(r2.tokens_per_s, r1.tokens_per_s);
  }
}

// ---------------------------------------------------------------------------------------
// Invariances
// ---------------------------------------------------------------------------------------

// Pipeline bubble (Narayanan et al. 2021 Sec. 2.2): with p equal stages of t_stage per
// micro-batch, 1F1B takes m t_stage + (p-1) t_stage, the interleaved schedule with V chunks
// m t_stage + (p-1) t_stage / V; so bubble / ideal = (p-1) / (m V), where the ideal m t_stage
// is what the step model charges the busiest stage: compute + exposed tp, ep and pp. The
// 24 layers of megatron-1.7b split evenly over p = 4 (and p V = 8, 12); with a vocabulary
// of 8 the embedding and head, which only the first and last stage hold, are negligible, so
// the stages are equal to < 1%. The bubble does not depend on m, and p = 1 has none.
TEST(StepModelPipeline, BubbleIsPMinusOneOverMOfTheIdealAndOverVInterleaved) {
  const hw::ClusterSpec cluster = io::load_cluster("dgx-h100", 64);
  const model::ModelSpec spec = io::load_model("megatron-1.7b", {"vocab=8"});
  const StepModel model(spec, cluster, make_network(cluster));
  const double p = 4;
  for (int v : {1, 2, 3}) {
    double bubble_at_first_m = -1;
    for (std::int64_t m : {4, 16}) {
      SCOPED_TRACE("V " + std::to_string(v) + " m " + std::to_string(m));
      const Layout l = layout(16, 1, 4, 1, 1, m, 0, Recompute::none, v);
      ASSERT_TRUE(validate(l, spec, 64).empty());
      const StepResult r = model.evaluate(l);
      const StepBreakdown& b = r.breakdown;
      const double ideal = b.compute_s + b.tp_exposed_s + b.ep_exposed_s + b.pp_exposed_s;
      const double expected = (p - 1) / (static_cast<double>(m) * v);
      EXPECT_NEAR(b.pipeline_bubble_s / ideal, expected, 0.01 * expected);
      if (bubble_at_first_m < 0) {
        bubble_at_first_m = b.pipeline_bubble_s;
      } else {
        expect_rel(b.pipeline_bubble_s, bubble_at_first_m);
      }
    }
  }
  const StepResult flat = model.evaluate(layout(64, 1, 1, 1, 1, 4, 0, Recompute::none));
  EXPECT_EQ(flat.breakdown.pipeline_bubble_s, 0);
  EXPECT_EQ(flat.breakdown.pp_s, 0);
}

// Doubling dp at a fixed micro-batch and a fixed number of micro-batches per step doubles
// the tokens per step and leaves every device's work alone (compute, tp, pp, bubble), so
//   tokens_per_s(2dp) = 2 tokens_per_s(dp) step(dp) / step(2dp)
// and step(2dp) - step(dp) is exactly the change in exposed gradient reduction (plus, under
// ZeRO >= 1, the change in the optimizer's shard update, which halves). With the reduction
// not overlapped (DDP "local") it is all exposed, and a ring all-reduce's 2(n-1)/n S / BW
// only grows with n (and jumps when the group leaves the node), so tokens/s is strictly
// less than doubled.
TEST(StepModelDataParallel, DoublingDpDoublesTokensLessTheGradientReduction) {
  const hw::ClusterSpec cluster = io::load_cluster("dgx-h100", 128);
  const model::ModelSpec spec = io::load_model("megatron-1.7b");
  StepOptions options;
  options.overlap.dp_grad_reduce = false;
  const StepModel model(spec, cluster, make_network(cluster), options);
  for (int zero : {0, 1}) {
    for (std::int64_t dp = 4; dp <= 32; dp *= 2) {
      SCOPED_TRACE("zero " + std::to_string(zero) + " dp " + std::to_string(dp));
      const StepResult a = model.evaluate(layout(dp, 2, 1, 1, 2, 4, zero));
      const StepResult b = model.evaluate(layout(2 * dp, 2, 1, 1, 2, 4, zero));
      const StepBreakdown &ba = a.breakdown, &bb = b.breakdown;
      expect_rel(b.tokens_per_step, 2 * a.tokens_per_step);
      expect_rel(bb.compute_s, ba.compute_s);
      expect_rel(bb.tp_exposed_s, ba.tp_exposed_s);
      EXPECT_EQ(bb.pp_exposed_s, ba.pp_exposed_s);
      EXPECT_EQ(bb.pipeline_bubble_s, ba.pipeline_bubble_s);
      if (zero == 0) {
        expect_rel(bb.optimizer_s, ba.optimizer_s);
      } else {
        EXPECT_LT(bb.optimizer_s, ba.optimizer_s);
      }
      EXPECT_GT(bb.dp_exposed_s, ba.dp_exposed_s);
      EXPECT_NEAR(b.step_s - a.step_s,
                  (bb.dp_exposed_s - ba.dp_exposed_s) + (bb.optimizer_s - ba.optimizer_s),
                  1e-12 * b.step_s);
      expect_rel(b.tokens_per_s, 2 * a.tokens_per_s * a.step_s / b.step_s);
      if (zero == 0) {
        EXPECT_LT(b.tokens_per_s, 2 * a.tokens_per_s);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// estimate()
// ---------------------------------------------------------------------------------------

// Training totals for --tokens D at the step's throughput X tokens/s on n devices at price
// P per device-hour: wall = D / X, device-hours = wall n / 3600, cost = device-hours P,
// energy = average device power x n x wall x PUE / 3.6e6 kWh. The same numbers reach the
// report (training.*), for an explicit and an automatic layout, with and without --price.
TEST(StepEstimate, TrainingTotalsFollowTheThroughput) {
  const model::ModelSpec spec = io::load_model("mixtral-8x7b");
  const hw::ClusterSpec cluster = io::load_cluster("dgx-h100", 64);
  for (bool automatic : {false, true}) {
    for (bool priced : {false, true}) {
      SCOPED_TRACE(std::string(automatic ? "auto" : "explicit") + (priced ? " priced" : ""));
      EstimateInput in;
      in.model = spec;
      in.cluster = cluster;
      in.tokens = 1e12;
      if (!automatic) in.layout = layout(16, 1, 4, 8, 1, 64);
      if (priced) in.price_per_device_hour_usd = 3.25;
      const Estimate e = estimate(in);
      ASSERT_TRUE(e.step.has_value());
      ASSERT_TRUE(e.training.has_value());
      EXPECT_EQ(e.layout_chosen, automatic);
      const double price = priced ? 3.25 : cluster.accelerator.price_per_hour_usd;
      const double n = static_cast<double>(e.layout.devices());
      EXPECT_EQ(e.layout.devices(), 64);
      const TrainingTotals& t = *e.training;
      expect_rel(t.tokens, 1e12);
      expect_rel(t.wall_s, 1e12 / e.step->tokens_per_s);
      expect_rel(t.device_hours, t.wall_s * n / 3600);
      expect_rel(t.cost_usd, t.device_hours * price);
      expect_rel(t.price_per_device_hour_usd, price);
      expect_rel(t.energy_kwh,
                 e.step->average_power_w * n * t.wall_s * in.step_options.pue / 3.6e6);
      EXPECT_GT(t.cost_usd, 0);

      const io::Report report = io::make_report(e);
      expect_rel(number(report, "training.tokens"), 1e12);
      expect_rel(number(report, "training.wall_s"), t.wall_s);
      expect_rel(number(report, "training.device_hours"), t.device_hours);
      expect_rel(number(report, "training.cost_usd"), t.cost_usd);
      expect_rel(number(report, "training.energy_kwh"), t.energy_kwh);
      expect_rel(number(report, "throughput.tokens_per_s"), e.step->tokens_per_s);
    }
  }
}

// CLI.md: never NaN or inf in any output. Every model preset on dgx-h100 at 64 and 1024
// devices, layout chosen automatically (or, when nothing fits, the least-memory layout),
// with --tokens: make_report must not throw (it rejects non-finite values), every number is
// finite, render_json succeeds, and the report has every path CLI.md requires.
TEST(StepEstimate, NoNonFiniteValueForAnyPresetOnDgxH100) {
  const std::vector<std::string> required = {"model.params_total",
                                             "model.params_active",
                                             "model.flops_per_token",
                                             "model.flops_per_token_forward",
                                             "layout.dp",
                                             "layout.tp",
                                             "layout.pp",
                                             "layout.ep",
                                             "layout.zero",
                                             "layout.micro_batch",
                                             "layout.global_batch",
                                             "memory.per_device_bytes",
                                             "memory.fits",
                                             "memory.breakdown.weights",
                                             "memory.breakdown.gradients",
                                             "memory.breakdown.optimizer",
                                             "memory.breakdown.activations",
                                             "time.step_s",
                                             "time.breakdown.compute_s",
                                             "time.breakdown.exposed_communication_s",
                                             "time.breakdown.pipeline_bubble_s",
                                             "throughput.tokens_per_s",
                                             "throughput.mfu",
                                             "training.tokens",
                                             "training.wall_s",
                                             "training.device_hours",
                                             "training.cost_usd",
                                             "training.energy_kwh",
                                             "time.communication.ep_crosses_network"};
  const auto presets = io::list_presets("models");
  ASSERT_GE(presets.size(), 10u);
  for (const io::PresetInfo& p : presets) {
    for (int devices : {64, 1024}) {
      SCOPED_TRACE(p.name + " on " + std::to_string(devices));
      EstimateInput in;
      in.model = io::load_model(p.name);
      in.cluster = io::load_cluster("dgx-h100", devices);
      in.tokens = 1e12;
      const Estimate e = estimate(in);
      ASSERT_TRUE(e.step.has_value());
      io::Report report;
      ASSERT_NO_THROW(report = io::make_report(e));
      for (const io::ReportField& f : report.fields) {
        if (const double* v = std::get_if<double>(&f.value)) {
          EXPECT_TRUE(std::isfinite(*v)) << f.path << " = " << *v;
        }
      }
      EXPECT_NO_THROW(io::render_json(report));
      for (const std::string& path : required) EXPECT_NE(find(report, path), nullptr) << path;
      EXPECT_GT(e.step->step_s, 0);
      EXPECT_GT(e.step->mfu, 0);
      EXPECT_LE(e.step->mfu, 1);
      EXPECT_EQ(e.layout.devices(), devices);
    }
  }
}

}  // namespace
}  // namespace moesim::sim
