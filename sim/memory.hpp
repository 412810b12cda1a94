#pragma once
// Memory per device for mixed-precision Adam training (ZeRO paper) plus activations
// (Korthikanti et al. 2022) and the MoE buffers. See docs/memory.md.
#include <cstdint>
#include <vector>

#include "model/spec.hpp"
#include "model/workload.hpp"
#include "sim/layout.hpp"

namespace moesim::sim {

struct MemoryBreakdown {
  double weights_bytes = 0;      // bf16 working copy
  double gradients_bytes = 0;    // bf16 gradients
  double optimizer_bytes = 0;    // fp32 master weights + Adam m and v
  double activations_bytes = 0;  // stored for backward, incl. in-flight micro-batches
  double moe_buffers_bytes = 0;  // router logits, dispatch/permutation buffers
  std::int64_t stage = 0;        // the pipeline stage (0-based) this breakdown describes
  double per_device_bytes() const {
    return weights_bytes + gradients_bytes + optimizer_bytes + activations_bytes +
           moe_buffers_bytes;
  }
};

// ZeRO (Rajbhandari et al. 2019, Sec. 5 / Fig. 1): model-state bytes per device for psi
// parameters over n_d data-parallel ranks with mixed-precision Adam (K = 12).
struct ZeroStateBytes {
  double weights_bytes, gradients_bytes, optimizer_bytes;
  double total() const { return weights_bytes + gradients_bytes + optimizer_bytes; }
};
ZeroStateBytes zero_model_state_bytes(double psi, double n_d, int zero_stage);

// Korthikanti et al. 2022, Table 2: activation bytes of one transformer layer for one
// micro-batch (s sequence, b micro-batch, h hidden, a heads, t tensor parallel). Table 2 has
// no SP column for full recompute (2sbh); with SP we divide the stored layer input by t.
double activation_bytes_per_layer(double s, double b, double h, double a, double t,
                                  bool sequence_parallel, Recompute recompute);

// Peak memory of the fullest device: the maximum over memory_per_stage (usually the first
// pipeline stage, which holds the embedding and p micro-batches in flight under 1F1B; the
// last stage, with the output head and the fp32 logits, can be fuller at small pp).
MemoryBreakdown memory_per_device(const model::ModelSpec& spec, const Layout& layout);

// One breakdown per pipeline stage (index = stage), for the device of that stage.
std::vector<MemoryBreakdown> memory_per_stage(const model::ModelSpec& spec, const Layout& layout);

// The same with the workload computed once by the caller (the optimizer evaluates many
// layouts of one model): `layers` = model::layer_costs(spec), `totals` = model::totals(spec).
std::vector<MemoryBreakdown> memory_per_stage(const model::ModelSpec& spec,
                                              const std::vector<model::LayerCost>& layers,
                                              const model::ModelTotals& totals,
                                              const Layout& layout);
MemoryBreakdown memory_per_device(const model::ModelSpec& spec,
                                  const std::vector<model::LayerCost>& layers,
                                  const model::ModelTotals& totals, const Layout& layout);

// Activation bytes one device stores for one layer and one micro-batch: Korthikanti et al.
// 2022's per-layer accounting generalized to GQA/MQA/MLA, gated FFNs and MoE layers
// (docs/memory.md derives every term). For a GPT layer (MHA, d_ff = 4h, GeLU) `activations`
// equals activation_bytes_per_layer exactly and `moe` is 0.
struct LayerActivationBytes {
  double activations = 0;  // stored for backward: attention, FFN or expert FFN, norms, masks
  double moe = 0;          // stored MoE tensors: router probabilities (fp32), routed token copies
  // Extra bytes while this layer is recomputed in the backward pass (what the recompute
  // policy dropped, rebuilt for one layer and one micro-batch); 0 without recompute.
  double recompute_peak = 0;
  // Transient all-to-all staging buffers of one MoE layer (send and receive copies).
  double dispatch_buffers = 0;
  double stored() const { return activations + moe; }
};
LayerActivationBytes layer_activation_bytes(const model::ModelSpec& spec,
                                            const model::LayerCost& layer, const Layout& layout);

// Micro-batches whose activations pipeline stage `stage` holds at its peak: min(p - i, m)
// under 1F1B (Narayanan et al. 2021 Sec. 2.2.1); interleaved with V chunks, the chunks in
// flight (Megatron-LM's warm-up count 2(p-i-1) + (V-1)p, plus one) over V, which for the
// first stage is p (1 + (p-1)/(pV)) (Korthikanti et al. 2022 Sec. 4.2.3).
double micro_batches_in_flight(const Layout& layout, std::int64_t stage);

}  // namespace moesim::sim
