#pragma once
// The analytic step model: one optimizer step of (model, cluster, layout) as compute at the
// real GEMM shapes through the accelerator's efficiency curves, communication through the
// network model, the pipeline bubble and the optimizer update. docs/step_model.md has every
// formula and the overlap policy.
#include <cstdint>
#include <memory>
#include <vector>

#include "hardware/cluster.hpp"
#include "model/spec.hpp"
#include "model/workload.hpp"
#include "sim/layout.hpp"

namespace moesim::sim {

enum class Collective { all_reduce, all_gather, reduce_scatter, all_to_all, p2p };

// `size` ranks spaced `stride` apart in rank order. Ranks are placed tp innermost, then ep
// (carved from dp), dp, and pp outermost (Megatron-LM's default order).
struct CommGroup {
  std::int64_t size = 1;
  std::int64_t stride = 1;
};

// What the step model asks of the network: seconds for one collective in which every rank
// of the group contributes `bytes` (the nccl-tests "size": the whole buffer of all-reduce,
// the gathered output of all-gather, the input of reduce-scatter and all-to-all).
class Network {
 public:
  virtual ~Network() = default;
  virtual double time_s(Collective op, CommGroup group, double bytes) const = 0;
};

// Which transfers hide behind which compute (docs/step_model.md, "Overlap policy").
struct OverlapPolicy {
  // dp gradient reduction overlaps the backward pass of the last micro-batch (PyTorch DDP
  // buckets, Megatron-Core --overlap-grad-reduce); false: it follows the flush.
  bool dp_grad_reduce = true;
  // ZeRO parameter all-gather overlaps the first micro-batch's forward pass
  // (Megatron-Core --overlap-param-gather).
  bool dp_param_gather = true;
  // Fraction of tp collectives hidden behind GEMMs (0: Megatron-LM 2021; TP comm overlap in
  // Transformer Engine hides most of it).
  double tp_hidden_fraction = 0;
  // Expert dispatch/combine all-to-alls hidden behind another micro-batch's compute, as
  // DeepSeek-V3's DualPipe does (DeepSeek-AI 2024, Sec. 3.2.1); exposed only past the
  // compute they overlap.
  bool ep_dualpipe = false;
};

struct StepOptions {
  OverlapPolicy overlap;
  // Weight gradients summed into the fp32 main-grad buffer by the weight-gradient GEMM itself
  // (Megatron-LM's gradient_accumulation_fusion, the default since late 2021) or by a
  // separate elementwise add after every micro-batch's backward (Megatron-LM 2021's DDP hook
  // `main_grad.add_(grad)`; frameworks without the fusion). docs/step_model.md.
  bool fused_grad_accumulation = true;
  double pue = 1.1;                  // data-centre power usage effectiveness
  double idle_power_fraction = 0.3;  // device idle power as a share of TDP when idle_w unset
};

struct StepBreakdown {
  double compute_s = 0;                // busiest stage: m micro-batches of fwd+bwd(+recompute)
  double exposed_communication_s = 0;  // tp + ep + pp + dp, what no compute hides
  double pipeline_bubble_s = 0;
  double optimizer_s = 0;
  // Communication detail: total and exposed seconds per step on the busiest stage.
  double tp_s = 0, tp_exposed_s = 0;
  double ep_s = 0, ep_exposed_s = 0;
  double pp_s = 0, pp_exposed_s = 0;
  double dp_s = 0, dp_exposed_s = 0;
  // Where the expert all-to-all runs: bytes per step per device over scale-up vs network.
  bool ep_crosses_network = false;
};

struct StepResult {
  double step_s = 0;
  StepBreakdown breakdown;
  double tokens_per_step = 0;
  double tokens_per_s = 0;
  double mfu = 0;  // model FLOPs (no recompute) / (step * devices * peak)
  double hfu = 0;  // hardware FLOPs (with recompute) / (step * devices * peak)
  double achieved_flops_per_device = 0;  // hardware FLOP/s per device (Narayanan's metric)
  std::int64_t busiest_stage = 0;
  double average_power_w = 0;  // per device, before PUE
};

// Prepares everything that depends on the model and cluster only, so that evaluating a layout
// is cheap (the optimizer evaluates millions).
class StepModel {
 public:
  StepModel(const model::ModelSpec& spec, const hw::ClusterSpec& cluster,
            std::shared_ptr<const Network> network, StepOptions options = {});
  // Layout must be valid (validate() empty).
  StepResult evaluate(const Layout& layout) const;

  const model::ModelTotals& totals() const { return totals_; }
  const StepOptions& options() const { return options_; }

 private:
  model::ModelSpec spec_;
  hw::ClusterSpec cluster_;
  std::shared_ptr<const Network> network_;
  StepOptions options_;
  model::ModelTotals totals_;
  std::vector<model::LayerCost> layers_;
  std::vector<bool> layer_is_moe_;
};

}  // namespace moesim::sim
