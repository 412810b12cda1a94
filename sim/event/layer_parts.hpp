#pragma once
// The analytic step model's per-layer compute, exposed piece by piece for the event-driven
// simulator, so that both price every task with the same efficiency curves and the same
// formulas. Defined at the end of sim/step.cpp (beside the formulas they reuse).
#include "hardware/accelerator.hpp"
#include "model/spec.hpp"
#include "model/workload.hpp"
#include "sim/layout.hpp"

namespace moesim::sim {

// Seconds of one micro-batch on one rank, by pass.
struct PhaseTimes {
  double fwd_s = 0;
  double bwd_s = 0;
  double recompute_s = 0;  // forward work recomputed in the backward pass
};

// One layer of one micro-batch on one rank, as StepModel::evaluate counts it.
struct LayerParts {
  PhaseTimes total;           // the whole layer (routed experts at balanced load)
  PhaseTimes routed_experts;  // the part of `total` that is the routed-expert FFNs
  double tp_bytes = 0;        // per tp collective (all-reduce, or RS+AG pair under SP)
  double tp_calls = 0;        // fwd + bwd + recompute
  double ep_bytes = 0;        // per all-to-all, per rank
  double ep_calls = 0;        // fwd + bwd + recompute
};

LayerParts layer_parts(const model::ModelSpec& spec, const hw::Accelerator& acc,
                       const Layout& layout, const model::LayerCost& layer);
// One routed expert of `rows` tokens on one rank (its width split by tp), as the step model
// prices each of a rank's expert FFNs.
PhaseTimes expert_ffn_time(const model::ModelSpec& spec, const hw::Accelerator& acc,
                           const Layout& layout, double rows);
// The first stage's embedding lookup and the last stage's head + cross-entropy.
PhaseTimes embedding_time(const model::ModelSpec& spec, const hw::Accelerator& acc,
                          const Layout& layout);
PhaseTimes head_time(const model::ModelSpec& spec, const hw::Accelerator& acc,
                     const Layout& layout);
// Unfused gradient accumulation (StepOptions::fused_grad_accumulation false): one micro-batch's
// add of the weight gradients of `params` local parameters into the fp32 main-grad buffer.
double grad_accumulation_time_s(const hw::Accelerator& acc, double params);

}  // namespace moesim::sim
