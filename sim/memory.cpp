#include "sim/memory.hpp"

#include "sim/pipeline.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>

namespace moesim::sim {
namespace {

// Bytes per element. Activations are 16-bit, as in Korthikanti et al. 2022 Sec. 4.1; the
// router probabilities and the loss logits are fp32 (Sec. 4.3 for the logits).
constexpr double kBf16 = 2;
constexpr double kFp32 = 4;

double as_double(std::int64_t v) {
  return static_cast<double>(v);
}

// A layout with every size at least 1 and the ZeRO stage in 0..3, so that an invalid layout
// (validate() reports it) still yields finite numbers rather than a division by zero.
Layout sanitized(const Layout& in) {
  Layout l = in;
  l.dp = std::max<std::int64_t>(1, l.dp);
  l.tp = std::max<std::int64_t>(1, l.tp);
  l.pp = std::max<std::int64_t>(1, l.pp);
  l.ep = std::max<std::int64_t>(1, l.ep);
  l.micro_batch = std::max<std::int64_t>(1, l.micro_batch);
  l.global_batch = std::max<std::int64_t>(0, l.global_batch);
  l.schedule.virtual_stages = std::max(1, l.schedule.virtual_stages);
  l.zero = std::clamp(l.zero, 0, 3);
  return l;
}

bool gated(const model::ModelSpec& spec) {
  return spec.ffn.activation == model::Activation::swiglu ||
         spec.ffn.activation == model::Activation::geglu;
}

// Key/value heads one tensor-parallel rank holds: kv/t when split, one when kv < t and each
// head is replicated on t/kv ranks (docs/memory.md, "Layout rules").
double kv_heads_per_rank(std::int64_t kv, double t) {
  const double k = as_double(kv);
  return k >= t ? k / t : (k > 0 ? 1.0 : 0.0);
}

// Attention weights one tensor-parallel rank holds beyond attention_params / t, per
// attention block. GQA/MQA with replicated KV heads: each rank keeps one whole head, kv_w / kv,
// instead of kv_w / t. MLA: the down-projections W^DQ, W^DKV, W^KR and the latent norms are
// not split (Megatron-Core builds them as plain TELinear, "duplicated" on every TP rank).
double replicated_attention_params(const model::ModelSpec& spec, double t) {
  if (spec.attention.type == model::AttentionType::mla) {
    const model::AttentionSpec& a = spec.attention;
    const double width = as_double(a.q_lora_rank + a.kv_lora_rank + a.rope_head_dim);
    const double latents = as_double(a.q_lora_rank + a.kv_lora_rank);
    const double norms = (spec.norm == model::Norm::layernorm ? 2 : 1) * latents;
    const double whole = as_double(spec.d_model) * width + (spec.bias ? width : 0.0) + norms;
    return whole * (1.0 - 1.0 / t);
  }
  const std::int64_t kv = spec.kv_heads();
  if (kv <= 0 || as_double(kv) >= t) return 0;
  const double width = as_double(kv) * as_double(spec.qk_head_dim() + spec.v_head_dim());
  const double kv_w = as_double(spec.d_model) * width + (spec.bias ? width : 0.0);
  return kv_w * (1.0 / as_double(kv) - 1.0 / t);
}

}  // namespace

ZeroStateBytes zero_model_state_bytes(double psi, double n_d, int zero_stage) {
  // Rajbhandari et al. 2019 (1910.02054) Sec. 3.1: mixed-precision Adam keeps 2 psi of fp16
  // weights, 2 psi of fp16 gradients and K psi = 12 psi of fp32 master weights, momentum and
  // variance. Sec. 5.1-5.3 / Fig. 1: P_os shards the 12 psi, P_os+g also the gradients,
  // P_os+g+p also the weights, each over the N_d data-parallel ranks.
  const double n = std::max(1.0, n_d);
  const double weights = 2 * psi, grads = 2 * psi, optimizer = 12 * psi;
  switch (std::clamp(zero_stage, 0, 3)) {
    case 0:
      return {weights, grads, optimizer};  // baseline: 16 psi
    case 1:
      return {weights, grads, optimizer / n};  // 4 psi + 12 psi / N_d
    case 2:
      return {weights, grads / n, optimizer / n};  // 2 psi + 14 psi / N_d
    default:
      return {weights / n, grads / n, optimizer / n};  // 16 psi / N_d
  }
}

double activation_bytes_per_layer(double s, double b, double h, double a, double t,
                                  bool sequence_parallel, Recompute recompute) {
  // Korthikanti et al. 2022 (2205.05198) Table 2, per layer (the table's totals over L).
  const double sbh = s * b * h;
  const double scores = 5 * a * s / h;  // the softmax, its dropout mask and output (Sec. 4.1)
  switch (recompute) {
    case Recompute::full:
      // Table 2 "full activation recomputation": 2sbh, the layer input only. With sequence
      // parallelism that input is the sequence shard, hence /t (our extension, docs/memory.md).
      return sequence_parallel ? 2 * sbh / t : 2 * sbh;
    case Recompute::selective:
      // Table 2: "TP + selective" sbh(10 + 24/t); "TP + SP + selective" 34 sbh / t.
      return sequence_parallel ? 34 * sbh / t : sbh * (10 + 24 / t);
    case Recompute::none:
      // Table 2: "TP" sbh(10 + 24/t + 5as/(ht)); "TP + SP" sbh/t (34 + 5as/h); at t = 1
      // both are the no-parallelism row sbh(34 + 5as/h).
      return sequence_parallel ? sbh / t * (34 + scores) : sbh * (10 + 24 / t + scores / t);
  }
  return 0;
}

LayerActivationBytes layer_activation_bytes(const model::ModelSpec& spec,
                                            const model::LayerCost& layer,
                                            const Layout& layout_in) {
  // Korthikanti et al. 2022 Sec. 4.1 counts, per layer and in bytes, the tensors a layer
  // keeps for its backward pass; Sec. 4.2 splits them into those inside the tensor-parallel
  // regions (divided by t) and those outside (replicated, or divided by t with sequence
  // parallelism). Below, each of their terms with the widths of a general model; the names
  // are bytes per token, multiplied by s*b at the end. docs/memory.md derives every term.
  const Layout l = sanitized(layout_in);
  const double s = as_double(spec.seq_len), b = as_double(l.micro_batch);
  const double h = as_double(spec.d_model), t = as_double(l.tp);
  const double a = as_double(spec.attention.heads);
  const bool sp = l.sp() && l.tp > 1;     // SP at t = 1 changes nothing
  const double outside = sp ? 1 / t : 1;  // factor for the tensors outside the TP regions
  const double qk = as_double(spec.qk_head_dim()), dv = as_double(spec.v_head_dim());
  const double sb = std::max(0.0, s) * b;

  // --- Attention (Sec. 4.1: 11sbh + 5as^2b for GPT) ---
  // Outside the TP regions: the norm input 2h, the QKV projection input 2h, the output
  // dropout mask h (1 byte per element).
  double attn_outside = 2 * h + 2 * h + h;
  // Inside: Q and K (QK^T inputs), V, and the output projection's input, per rank.
  double attn_inside = 0;
  if (spec.attention.type == model::AttentionType::mla) {
    // MLA (DeepSeek-V2, 2405.04434 Eq. 9-17): the down-projections run on the whole hidden
    // state and are not split by TP (Megatron-Core "duplicated"); they keep the KV latent
    // and the RoPE key (2(d_c + d_R)), the normed latent 2 d_c, and with a query latent the
    // latent and its normed copy 4 d'_c. The up-projected per-head Q, K ([nope; rope]) and V
    // are split by heads like MHA.
    const double kl = as_double(spec.attention.kv_lora_rank);
    const double ql = as_double(spec.attention.q_lora_rank);
    const double dr = as_double(spec.attention.rope_head_dim);
    attn_outside += 2 * (kl + dr) + 2 * kl + (ql > 0 ? 4 * ql : 0.0);
    attn_inside = 2 * (a / t) * qk * 2 + 2 * (a / t) * dv + 2 * (a / t) * dv;
  } else {
    // MHA/GQA/MQA: Q 2(a/t)d_qk, K and V 2 kv_r d each (kv_r heads per rank), output
    // projection input 2(a/t)d_v. GPT (kv = a, a d = h): 4h/t + 2h/t + 2h/t = 8h/t.
    const double kvr = kv_heads_per_rank(spec.kv_heads(), t);
    attn_inside = 2 * (a / t) * qk + 2 * kvr * qk + 2 * kvr * dv + 2 * (a / t) * dv;
  }
  // The s x s terms: softmax output 2as, its dropout mask as, the dropout output 2as, per
  // token, split over heads: 5as/t (Sec. 4.1). Selective recompute drops them (Sec. 5).
  double attn_scores = 5 * (a / t) * s;
  // FlashAttention never stores them: it keeps the fp32 log-sum-exp per head and token and
  // recomputes the scores in its backward kernel (Dao et al. 2022, Alg. 2), so no s x s
  // tensor exists at any time.
  if (l.flash_attention) attn_scores = 4 * (a / t);
  // A T5 decoder block adds a cross-attention block of the same shape (docs/memory.md).
  const double blocks = layer.decoder_cross_attention ? 2 : 1;
  attn_outside *= blocks;
  attn_inside *= blocks;
  attn_scores *= blocks;

  // --- FFN (Sec. 4.1: 19sbh for GPT, + the norms 4sbh counted 2 here and 2 above) ---
  // Outside the TP regions: the norm input 2h, the first linear's input 2h, the dropout
  // mask h.
  const double ffn_outside = 2 * h + 2 * h + h;
  // Inside, per FFN of inner width f: the activation's input (2 f, or 4 f for a gated unit's
  // two projections) and the second linear's input 2 f, both split by t. GPT (f = 4h, GeLU):
  // 8h + 8h = 16h.
  const double per_width = (gated(spec) ? 4.0 : 2.0) + 2.0;
  double ffn_inside = 0;
  double moe = 0;
  double dispatch = 0;
  if (layer.kind == model::LayerKind::moe) {
    const double e = as_double(spec.moe.experts);
    const double k = as_double(spec.moe.top_k);
    const double de = as_double(spec.expert_d_ff());
    // Routed token copies per token: top_k, padded to the capacity factor when one is set
    // (C = CF * T * k / E per expert, Fedus et al. 2021 Eq. 3 with GShard's top-k; a rank's
    // E/ep experts receive C from each of ep ranks: CF * T * k). Dropless: the balanced
    // expectation, CF = 1 (docs/memory.md, "Dropless").
    const double cf = spec.moe.capacity_factor ? std::max(0.0, *spec.moe.capacity_factor) : 1.0;
    const double rows = k * cf;
    // Expert FFN intermediates, split by t (experts are tensor-parallel with t, the
    // Megatron-Core default expert_tensor_parallel_size = tensor_model_parallel_size).
    ffn_inside = per_width * de * rows / t;
    // Shared experts (DeepSeekMoE) run on every token like a dense FFN of their total width.
    ffn_inside += per_width * as_double(spec.moe.shared_experts) * de / t;
    // Router probabilities, fp32, s*b*E (computed on the sequence shard with SP); the routed
    // copies entering the experts (the expert input) and leaving them (kept for the gradient
    // of the combine weights), gathered over the expert-TP group, hence not split by t.
    moe = kFp32 * e * outside + kBf16 * h * rows + kBf16 * h * rows;
    // Staging copies of one layer's all-to-all: the permuted send buffer of the dispatch and
    // the receive buffer of the combine.
    dispatch = 2 * kBf16 * h * rows * sb;
  } else {
    ffn_inside = per_width * as_double(spec.ffn.d_ff) / t;
  }

  const double stored_no_scores = (attn_outside + ffn_outside) * outside + attn_inside + ffn_inside;
  LayerActivationBytes out;
  out.dispatch_buffers = dispatch;
  switch (l.recompute) {
    case Recompute::none:
      out.activations = sb * (stored_no_scores + attn_scores);
      out.moe = sb * moe;
      break;
    case Recompute::selective:
      // Korthikanti Sec. 5: the attention core (QK^T, softmax, dropout, .V) is recomputed;
      // its s x s tensors exist again only while this layer runs backward.
      out.activations = sb * stored_no_scores;
      out.moe = sb * moe;
      out.recompute_peak = sb * attn_scores;
      break;
    case Recompute::full:
      // Korthikanti Table 2: only the layer input 2sbh is kept (/t with SP). Backward
      // recomputes the whole layer, whose full activations exist for one layer at a time.
      out.activations = sb * 2 * h * outside;
      out.moe = 0;
      out.recompute_peak = sb * (stored_no_scores + attn_scores + moe);
      break;
  }
  return out;
}

double micro_batches_in_flight(const Layout& layout_in, std::int64_t stage) {
  const Layout l = sanitized(layout_in);
  const std::int64_t p = l.pp;
  const std::int64_t i = std::clamp<std::int64_t>(stage, 0, p - 1);
  const std::int64_t m = std::max<std::int64_t>(1, l.micro_batches());
  if (!l.schedule.interleaved()) {
    // 1F1B (Narayanan et al. 2021 Sec. 2.2.1, PipeDream-Flush): stage i runs p - i - 1
    // warm-up forwards and one more before its first backward.
    return as_double(std::min(p - i, m));
  }
  // Interleaved 1F1B (Narayanan et al. 2021 Sec. 2.2.2; Megatron-LM schedules.py): warm-up
  // 2(p - i - 1) + (V - 1)p model chunks, plus one, capped by the m*V chunks of the step.
  // Each chunk holds 1/V of the stage's layers. Stage 0: p(1 + (p-1)/(pV)), Korthikanti et
  // al. 2022 Sec. 4.2.3.
  const std::int64_t v = l.schedule.virtual_stages;
  const std::int64_t chunks = std::min(2 * (p - i - 1) + (v - 1) * p + 1, m * v);
  return as_double(chunks) / as_double(v);
}

std::vector<MemoryBreakdown> memory_per_stage(const model::ModelSpec& spec, const Layout& layout) {
  return memory_per_stage(spec, model::layer_costs(spec), model::totals(spec), layout);
}

std::vector<MemoryBreakdown> memory_per_stage(const model::ModelSpec& spec,
                                              const std::vector<model::LayerCost>& layers,
                                              const model::ModelTotals& tot,
                                              const Layout& layout_in) {
  const Layout l = sanitized(layout_in);
  const std::int64_t p = l.pp;
  const std::int64_t n = static_cast<std::int64_t>(layers.size());
  const double t = as_double(l.tp);
  const double ep = as_double(l.ep);
  const double s = as_double(std::max<std::int64_t>(0, spec.seq_len));
  const double b = as_double(l.micro_batch);
  const double h = as_double(spec.d_model);
  const bool sp = l.sp() && l.tp > 1;
  const double outside = sp ? 1 / t : 1;

  // Layers of each stage (sim/pipeline.hpp).
  const std::vector<std::vector<std::int64_t>> stage_layers = sim::stage_layers(n, l);

  // ZeRO shards dense parameters over the dp ranks that hold the same shard; expert
  // parameters over the expert-data-parallel group dp/ep (Megatron-Core's expert data
  // parallel group; DeepSpeed-MoE, Rajbhandari et al. 2022 Sec. 4.1).
  const double n_dense = as_double(l.dp);
  const double n_expert = std::max(1.0, as_double(l.dp) / ep);

  // Per-layer terms that depend on the layer only through its kind (dense/MoE, with or
  // without cross-attention): evaluated once per kind, not once per layer (the optimizer
  // calls this for every layout it considers).
  const double replicated = replicated_attention_params(spec, t);
  std::array<std::optional<LayerActivationBytes>, 4> activation_by_kind;

  std::vector<MemoryBreakdown> out;
  out.reserve(static_cast<std::size_t>(p));
  for (std::int64_t i = 0; i < p; ++i) {
    double dense = 0, expert = 0, largest_unit = 0;
    double stored = 0, stored_moe = 0, recompute_peak = 0, dispatch = 0;
    for (std::int64_t j : stage_layers[static_cast<std::size_t>(i)]) {
      const model::LayerCost& c = layers[static_cast<std::size_t>(j)];
      // Megatron: attention, dense FFN and shared-expert matrices split by t; norms and the
      // router replicated on every TP rank; routed experts split by ep and (expert TP = TP) t.
      const double blocks = c.decoder_cross_attention ? 2 : 1;
      const double layer_dense = (c.attention_params + c.ffn_params + c.shared_expert_params) / t +
                                 blocks * replicated + c.norm_params + c.router_params;
      const double layer_expert = c.expert_params / (ep * t);
      dense += layer_dense;
      expert += layer_expert;
      largest_unit = std::max(largest_unit, layer_dense + layer_expert);
      auto& cached = activation_by_kind[static_cast<std::size_t>(
          (c.kind == model::LayerKind::moe ? 1 : 0) + (c.decoder_cross_attention ? 2 : 0))];
      if (!cached) cached = layer_activation_bytes(spec, c, l);
      const LayerActivationBytes& act = *cached;
      stored += act.activations;
      stored_moe += act.moe;
      recompute_peak = std::max(recompute_peak, act.recompute_peak);
      dispatch = std::max(dispatch, act.dispatch_buffers);
    }
    // Vocabulary-parallel embedding and head (Megatron: split by t). The input embedding
    // (and learned positions) on the first stage, the head and final norms on the last; a
    // tied embedding is copied to the last stage when p > 1 (Megatron keeps both copies and
    // all-reduces their gradients; Narayanan et al. 2021).
    if (i == 0) {
      const double input = (tot.params_input_embedding + tot.params_position_embedding) / t;
      dense += input;
      largest_unit = std::max(largest_unit, input);
    }
    if (i == p - 1) {
      double head = tot.params_output_head;
      if (spec.tied_embeddings && p > 1) head += tot.params_input_embedding;
      dense += head / t + tot.params_final_norm;
      largest_unit = std::max(largest_unit, head / t);
    }

    MemoryBreakdown mb;
    mb.stage = i;
    const ZeroStateBytes zd = zero_model_state_bytes(dense, n_dense, l.zero);
    const ZeroStateBytes ze = zero_model_state_bytes(expert, n_expert, l.zero);
    mb.weights_bytes = zd.weights_bytes + ze.weights_bytes;
    mb.gradients_bytes = zd.gradients_bytes + ze.gradients_bytes;
    mb.optimizer_bytes = zd.optimizer_bytes + ze.optimizer_bytes;
    // ZeRO-3 / FSDP gathers one layer's bf16 weights before using it (Rajbhandari et al.
    // 2019 Sec. 5.3; FSDP's unsharded flat parameter): the largest unit on the stage.
    if (l.zero == 3) mb.weights_bytes += kBf16 * largest_unit;

    const double in_flight = micro_batches_in_flight(l, i);
    const double sbh = s * b * h;
    double activations = in_flight * stored + recompute_peak;
    // Korthikanti Sec. 4.3: the input embedding's dropout mask, sbh (/t with SP), per
    // micro-batch in flight on the first stage.
    if (i == 0) activations += in_flight * sbh * outside;
    // Korthikanti Sec. 4.3: the output layer keeps the final norm input and the head input
    // (2sbh each, /t with SP) and the fp32 logits for the cross-entropy, 4sbV/t (vocabulary
    // parallel), for the one micro-batch the last stage holds.
    if (i == p - 1) activations += 4 * sbh * outside + kFp32 * s * b * as_double(spec.vocab) / t;
    mb.activations_bytes = activations;
    mb.moe_buffers_bytes = in_flight * stored_moe + dispatch;
    out.push_back(mb);
  }
  return out;
}

MemoryBreakdown memory_per_device(const model::ModelSpec& spec, const Layout& layout) {
  return memory_per_device(spec, model::layer_costs(spec), model::totals(spec), layout);
}

MemoryBreakdown memory_per_device(const model::ModelSpec& spec,
                                  const std::vector<model::LayerCost>& layers,
                                  const model::ModelTotals& totals, const Layout& layout) {
  const std::vector<MemoryBreakdown> stages = memory_per_stage(spec, layers, totals, layout);
  MemoryBreakdown best;
  for (const MemoryBreakdown& mb : stages)
    if (mb.per_device_bytes() > best.per_device_bytes()) best = mb;
  return best;
}

}  // namespace moesim::sim
