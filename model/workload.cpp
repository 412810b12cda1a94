#include "model/workload.hpp"

namespace moesim::model {

double LayerCost::params_total() const {
  return attention_params + ffn_params + router_params + expert_params + shared_expert_params +
         norm_params;
}

double LayerCost::params_active() const {
  return attention_params + ffn_params + router_params + expert_params_active +
         shared_expert_params + norm_params;
}

double LayerCost::flops_forward() const {
  return attention_flops_forward + attention_score_flops_forward + ffn_flops_forward +
         router_flops_forward;
}

namespace {

double norm_size(const ModelSpec& spec, std::int64_t width) {
  // LayerNorm (Ba et al. 2016) has a gain and a bias; RMSNorm (Zhang & Sennrich 2019) a gain.
  const double w = static_cast<double>(width);
  return spec.norm == Norm::layernorm ? 2 * w : w;
}

// Weight matrices of one attention block (self or cross), as multiply-adds per token.
double attention_matrix_params(const ModelSpec& spec) {
  const double d = static_cast<double>(spec.d_model);
  const double h = static_cast<double>(spec.attention.heads);
  const double qk = static_cast<double>(spec.qk_head_dim());
  const double v = static_cast<double>(spec.v_head_dim());
  if (spec.attention.type == AttentionType::mla) {
    const AttentionSpec& a = spec.attention;
    const double q_rank = static_cast<double>(a.q_lora_rank);
    const double kv_rank = static_cast<double>(a.kv_lora_rank);
    const double rope = static_cast<double>(a.rope_head_dim);
    const double nope = static_cast<double>(spec.head_dim());
    // DeepSeek-V2 (2405.04434) Eq. 12-13: W^DQ (d x d'_c) and W^UQ, W^QR (d'_c x H(d_h+d_h^R));
    // without a query latent (q_lora_rank 0) one d x H(d_h+d_h^R) projection.
    const double q = q_rank > 0 ? d * q_rank + q_rank * h * qk : d * h * qk;
    // DeepSeek-V2 Eq. 9 and 15: W^DKV (d x d_c) and W^KR (d x d_h^R), fused as kv_a.
    const double kv_down = d * (kv_rank + rope);
    // DeepSeek-V2 Eq. 10-11: W^UK (d_c x H d_h) and W^UV (d_c x H d_h^v), fused as kv_b.
    const double kv_up = kv_rank * h * (nope + v);
    // DeepSeek-V2 Eq. 19: W^O (H d_h^v x d).
    const double out = h * v * d;
    return q + kv_down + kv_up + out;
  }
  // Vaswani et al. 2017 Sec. 3.2.2; GQA (Ainslie et al. 2023) and MQA (Shazeer 2019) share
  // kv_heads key/value heads: W_Q d x H d_h, W_K and W_V d x G d_h, W_O H d_h x d.
  const double g = static_cast<double>(spec.kv_heads());
  return d * h * qk + 2 * d * g * qk + h * v * d;
}

// Biases of one attention block when spec.bias (GPT-2/3, Megatron: every linear layer).
double attention_bias_params(const ModelSpec& spec) {
  if (!spec.bias) return 0;
  const double d = static_cast<double>(spec.d_model);
  const double h = static_cast<double>(spec.attention.heads);
  const double qk = static_cast<double>(spec.qk_head_dim());
  const double v = static_cast<double>(spec.v_head_dim());
  if (spec.attention.type == AttentionType::mla) {
    const AttentionSpec& a = spec.attention;
    const double nope = static_cast<double>(spec.head_dim());
    return static_cast<double>(a.q_lora_rank) + h * qk +
           static_cast<double>(a.kv_lora_rank + a.rope_head_dim) + h * (nope + v) + d;
  }
  const double g = static_cast<double>(spec.kv_heads());
  return h * qk + 2 * g * qk + d;
}

// The norms inside MLA after the query and KV latents (DeepSeek-V2 Sec. 2.1.2, the extra
// RMSNorm "after the compressed latent vectors", DeepSeek-V3 2412.19437 Sec. 4.2).
double attention_norm_params(const ModelSpec& spec) {
  if (spec.attention.type != AttentionType::mla) return 0;
  double n = norm_size(spec, spec.attention.kv_lora_rank);
  if (spec.attention.q_lora_rank > 0) n += norm_size(spec, spec.attention.q_lora_rank);
  return n;
}

// Matrices of one FFN of inner width `width`: 2 for relu/gelu (Vaswani et al. 2017 Eq. 2),
// 3 for the gated swiglu/geglu (Shazeer 2020, 2002.05202 Eq. 5-6).
double ffn_matrix_params(const ModelSpec& spec, std::int64_t width) {
  const bool gated =
      spec.ffn.activation == Activation::swiglu || spec.ffn.activation == Activation::geglu;
  return (gated ? 3.0 : 2.0) * static_cast<double>(spec.d_model) * static_cast<double>(width);
}

double ffn_bias_params(const ModelSpec& spec, std::int64_t width) {
  if (!spec.bias) return 0;
  const bool gated =
      spec.ffn.activation == Activation::swiglu || spec.ffn.activation == Activation::geglu;
  return (gated ? 2.0 : 1.0) * static_cast<double>(width) + static_cast<double>(spec.d_model);
}

double ffn_params(const ModelSpec& spec, std::int64_t width) {
  return ffn_matrix_params(spec, width) + ffn_bias_params(spec, width);
}

LayerCost block(const ModelSpec& spec, std::int64_t index, bool cross_attention) {
  LayerCost c;
  c.decoder_cross_attention = cross_attention;
  const double d = static_cast<double>(spec.d_model);
  const double s = static_cast<double>(spec.seq_len);
  const double h = static_cast<double>(spec.attention.heads);
  // Self-attention, plus cross-attention of the same shape in a T5 decoder block (Raffel et
  // al. 2020 Sec. 2.1; queries from the decoder, keys/values from the encoder output).
  const double attention_blocks = cross_attention ? 2 : 1;
  const double attn_matrices = attention_matrix_params(spec);
  c.attention_params = attention_blocks *
                       (attn_matrices + attention_bias_params(spec) + attention_norm_params(spec));
  // Pre-norm blocks: one norm before attention, one before the FFN, one before the
  // cross-attention of a decoder block (Xiong et al. 2020; Raffel et al. 2020).
  c.norm_params = (cross_attention ? 3 : 2) * norm_size(spec, spec.d_model);

  // Forward FLOPs: 2 per multiply-add of every weight matrix a token uses (Kaplan et al.
  // 2020 Table 1; Chinchilla App. F). Cross-attention K/V run on one encoder token per decoder
  // token (source and target both seq_len long, docs/model.md).
  c.attention_flops_forward = attention_blocks * 2 * attn_matrices;
  // QK^T and softmax.V over the full seq_len x seq_len score matrix: 2 s H d_qk + 2 s H d_v
  // per token (PaLM App. B: 12 L H Q T for training = 3 x 4 s H Q; Chinchilla App. F). No
  // causal halving, as in PaLM, Chinchilla and Narayanan Eq. 3; softmax not counted (PaLM).
  const double qk = static_cast<double>(spec.qk_head_dim());
  const double v = static_cast<double>(spec.v_head_dim());
  c.attention_score_flops_forward = attention_blocks * 2 * s * h * (qk + v);

  if (!spec.is_moe_layer(index)) {
    c.kind = LayerKind::dense;
    c.ffn_params = ffn_params(spec, spec.ffn.d_ff);
    c.ffn_flops_forward = 2 * ffn_matrix_params(spec, spec.ffn.d_ff);
    return c;
  }
  c.kind = LayerKind::moe;
  const MoeSpec& m = spec.moe;
  const double experts = static_cast<double>(m.experts);
  const double k = static_cast<double>(m.top_k);
  const std::int64_t de = spec.expert_d_ff();
  const double one_expert = ffn_params(spec, de);
  // Router W_r (d x E), no bias (Shazeer et al. 2017 Eq. 3; Fedus et al. 2021 Eq. 1); hash
  // layers route by a fixed hash and learn nothing (Roller et al. 2021).
  const bool learned_router = m.router != RouterKind::hash;
  c.router_params = learned_router ? d * experts : 0;
  c.router_flops_forward = learned_router ? 2 * d * experts : 0;
  c.expert_params = experts * one_expert;
  c.expert_params_active = k * one_expert;
  // DeepSeekMoE (Dai et al. 2024, 2401.06066) Eq. 9: shared experts of the routed width.
  c.shared_expert_params = static_cast<double>(m.shared_experts) * one_expert;
  // Each token runs k routed experts; padding to capacity C = CF * k * T / E (Fedus et al.
  // 2021 Eq. 3-4) makes every expert GEMM CF times larger than the tokens it holds.
  const double padding = m.capacity_factor ? *m.capacity_factor : 1.0;
  const double expert_flops = 2 * ffn_matrix_params(spec, de);
  c.ffn_flops_forward = expert_flops * (k * padding + static_cast<double>(m.shared_experts));
  c.expert_tokens_per_token = k / experts * padding;
  return c;
}

}  // namespace

std::vector<LayerCost> layer_costs(const ModelSpec& spec) {
  std::vector<LayerCost> layers;
  layers.reserve(static_cast<std::size_t>(spec.total_layers() > 0 ? spec.total_layers() : 0));
  for (std::int64_t stack = 0; stack < spec.stacks(); ++stack) {
    // The second stack of an encoder-decoder is the decoder; both follow is_moe_layer.
    const bool decoder = spec.encoder_decoder && stack == 1;
    for (std::int64_t i = 0; i < spec.layers; ++i) layers.push_back(block(spec, i, decoder));
  }
  return layers;
}

double head_flops_forward(const ModelSpec& spec) {
  // Chinchilla (Hoffmann et al. 2022) App. F: logits 2 s d V per sequence, i.e. 2 d V a token.
  return 2 * static_cast<double>(spec.d_model) * static_cast<double>(spec.vocab);
}

ModelTotals totals(const ModelSpec& spec) {
  ModelTotals t;
  const double d = static_cast<double>(spec.d_model);
  const double vocab = static_cast<double>(spec.vocab);
  // Input embedding V x d, shared by the encoder and decoder of a T5 model (Raffel et al.
  // 2020); an untied output head adds V x d (Press & Wolf 2017 for tying).
  t.params_input_embedding = vocab * d;
  t.params_output_head = spec.tied_embeddings ? 0 : vocab * d;
  // Learned absolute positions s x d per stack (GPT-2/3; Narayanan Eq. 2's s h term).
  t.params_position_embedding =
      spec.position_embedding == PositionEmbedding::learned
          ? static_cast<double>(spec.stacks()) * static_cast<double>(spec.seq_len) * d
          : 0;
  t.params_embedding =
      t.params_input_embedding + t.params_output_head + t.params_position_embedding;
  // One norm after the last block of each stack (GPT-2 "ln_f"; T5 final_layer_norm).
  t.params_final_norm = static_cast<double>(spec.stacks()) * norm_size(spec, spec.d_model);

  double blocks_forward = 0;
  double score_forward = 0;
  for (const LayerCost& c : layer_costs(spec)) {
    t.params_total += c.params_total();
    t.params_active += c.params_active();
    t.params_routed_experts += c.expert_params;
    blocks_forward += c.flops_forward();
    score_forward += c.attention_score_flops_forward;
    if (c.kind == LayerKind::moe) {
      ++t.moe_layers;
    } else {
      ++t.dense_layers;
    }
  }
  t.params_total += t.params_embedding + t.params_final_norm;
  t.params_active += t.params_embedding + t.params_final_norm;
  t.params_non_embedding = t.params_total - t.params_embedding;
  t.params_active_non_embedding = t.params_active - t.params_embedding;

  const double head = head_flops_forward(spec);
  t.flops_per_token_forward = blocks_forward + head;
  // Backward = 2 x forward (Kaplan et al. 2020 Sec. 2.1; Chinchilla App. F).
  t.flops_per_token = 3 * t.flops_per_token_forward;
  // Full recompute runs every block's forward again, not the head: Narayanan et al. 2021
  // Eq. 3 counts 4 x (24 l h^2 + 4 l s h) per token for the blocks and 3 x 2 h V for logits.
  t.flops_per_token_recompute_full = t.flops_per_token + blocks_forward;
  // Selective recompute re-runs only QK^T, softmax and softmax.V (Korthikanti et al. 2022,
  // 2205.05198 Sec. 5).
  t.flops_per_token_recompute_selective = t.flops_per_token + score_forward;

  t.granularity = spec.granularity();
  // Krajewski et al. 2024 Sec. 3 expansion rate: routed expert parameters of one MoE layer
  // over one dense FFN's (E for equal widths, N_E / G for fine-grained experts).
  const double dense_ffn = ffn_matrix_params(spec, spec.ffn.d_ff);
  if (spec.is_moe() && dense_ffn > 0) {
    t.expansion_rate = static_cast<double>(spec.moe.experts) *
                       ffn_matrix_params(spec, spec.expert_d_ff()) / dense_ffn;
  }
  return t;
}

}  // namespace moesim::model
