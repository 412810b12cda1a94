#pragma once
// Pure functions from a ModelSpec to what it costs per token: parameters, FLOPs, bytes.
// Every formula cites its source; see docs/model.md for the choices no paper settles.
#include <cstdint>
#include <vector>

#include "model/spec.hpp"

namespace moesim::model {

enum class LayerKind { dense, moe };

// One transformer block (one stack position; for encoder-decoder models the decoder
// blocks are listed after the encoder blocks). Per-token quantities count one token through
// the block; for an encoder-decoder, one source token through the encoder plus one target
// token through the decoder (docs/model.md).
struct LayerCost {
  LayerKind kind = LayerKind::dense;
  bool decoder_cross_attention = false;
  // Parameters
  double attention_params = 0;
  double ffn_params = 0;  // dense FFN (0 in an MoE layer)
  double router_params = 0;
  double expert_params = 0;         // all routed experts of the layer
  double expert_params_active = 0;  // the top_k routed experts one token uses
  double shared_expert_params = 0;
  double norm_params = 0;
  double params_total() const;
  double params_active() const;  // per token: top_k routed + shared + the rest
  // Forward FLOPs per token (multiply-add = 2 FLOPs), at the spec's seq_len.
  double attention_flops_forward = 0;        // projections
  double attention_score_flops_forward = 0;  // QK^T and softmax*V (grow with seq_len)
  double ffn_flops_forward = 0;              // dense FFN, or the active experts (incl. shared)
  double router_flops_forward = 0;
  double flops_forward() const;
  // Tokens each routed expert GEMM sees, per token of input: top_k / experts
  // (times the capacity factor when padded). 0 for dense layers.
  double expert_tokens_per_token = 0;
};

struct ModelTotals {
  double params_total = 0;
  double params_active = 0;
  double params_embedding = 0;        // input embedding + (untied) output head + learned positions
  double params_input_embedding = 0;  // V x d (a lookup: no FLOPs)
  double params_output_head = 0;      // V x d when untied, else 0
  double params_position_embedding = 0;  // seq_len x d per stack when learned, else 0
  double params_final_norm = 0;          // the norm after the last block of each stack
  double params_non_embedding = 0;       // params_total - params_embedding
  double params_active_non_embedding = 0;
  double params_routed_experts = 0;  // all routed expert weights (what ep shards)
  double flops_per_token_forward = 0;
  // Training: forward + backward (= 3x forward), no recompute.
  double flops_per_token = 0;
  // Training with full recompute: 4x the blocks' forward, 3x the head's (Narayanan Eq. 3).
  double flops_per_token_recompute_full = 0;
  // Training with selective recompute: + the attention-score FLOPs once more.
  double flops_per_token_recompute_selective = 0;
  std::int64_t moe_layers = 0;  // layers with routed experts (all stacks)
  std::int64_t dense_layers = 0;
  double granularity = 1;     // Krajewski et al. 2024: d_ff / d_expert
  double expansion_rate = 1;  // routed expert FFN params of one MoE layer / one dense FFN's
};

std::vector<LayerCost> layer_costs(const ModelSpec& spec);
ModelTotals totals(const ModelSpec& spec);

// Forward FLOPs of the output head per token: 2 d V (Chinchilla App. F).
double head_flops_forward(const ModelSpec& spec);

}  // namespace moesim::model
