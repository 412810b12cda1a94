#include "sim/step.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include "hardware/efficiency.hpp"
#include "sim/event/layer_parts.hpp"
#include "sim/pipeline.hpp"

namespace moesim::sim {
namespace {

constexpr double kBf16 = 2;  // bytes per activation element (bf16)
constexpr double kFp32 = 4;

struct Times {
  double fwd = 0;        // forward compute
  double bwd = 0;        // backward compute
  double recompute = 0;  // recomputed forward work
  Times& operator+=(const Times& o) {
    fwd += o.fwd, bwd += o.bwd, recompute += o.recompute;
    return *this;
  }
};

// Communication of one layer for one micro-batch: bytes per rank and call counts.
struct LayerComm {
  double tp_bytes = 0;  // per tp collective
  double tp_calls = 0;  // all-reduces (no SP) or RS+AG pairs (SP), fwd+bwd+recompute
  double ep_bytes = 0;  // per all-to-all
  double ep_calls = 0;
};

struct LayerTime {
  Times compute;
  LayerComm comm;
};

bool gated(const model::ModelSpec& s) {
  return s.ffn.activation == model::Activation::swiglu ||
         s.ffn.activation == model::Activation::geglu;
}

}  // namespace

StepModel::StepModel(const model::ModelSpec& spec, const hw::ClusterSpec& cluster,
                     std::shared_ptr<const Network> network, StepOptions options)
    : spec_(spec),
      cluster_(cluster),
      network_(std::move(network)),
      options_(options),
      totals_(model::totals(spec)),
      layers_(model::layer_costs(spec)) {
  layer_is_moe_.reserve(layers_.size());
  for (const auto& l : layers_) layer_is_moe_.push_back(l.kind == model::LayerKind::moe);
}

namespace {

// Everything the per-layer formulas need, resolved once per layout.
struct Ctx {
  const model::ModelSpec* spec;
  const hw::Accelerator* acc;
  hw::Dtype dtype;
  double T;  // tokens per micro-batch (b*s)
  double b, s, d, t, ep;
  bool sp;
  Recompute recompute;
  bool flash;
};

// A GEMM of m x k by k x n in the forward pass, and its two backward GEMMs (input gradient
// m x n by n x k, weight gradient k x m by m x n): Narayanan et al. 2021 Sec. 5.1 count the
// backward pass as twice the forward.
Times gemm(const Ctx& c, double m, double n, double k, double count = 1) {
  Times t;
  t.fwd = count * hw::gemm_time_s(*c.acc, m, n, k, c.dtype);
  t.bwd = count *
          (hw::gemm_time_s(*c.acc, m, k, n, c.dtype) + hw::gemm_time_s(*c.acc, k, n, m, c.dtype));
  return t;
}

// Memory-bound work moving `bytes` forward; backward moves about twice as much (the
// gradient of an elementwise op reads its input and the output gradient, writes one).
Times memory(const Ctx& c, double bytes, double count = 1) {
  Times t;
  t.fwd = count * hw::memory_time_s(*c.acc, bytes);
  t.bwd = 2 * t.fwd;
  return t;
}

// Attention of one block (self or cross) for one micro-batch on one tp rank.
Times attention(const Ctx& c) {
  const auto& sp = *c.spec;
  const double H = static_cast<double>(sp.attention.heads);
  const double Hr = H / c.t;  // heads per tp rank
  const double qk = static_cast<double>(sp.qk_head_dim());
  const double vd = static_cast<double>(sp.v_head_dim());
  Times out;
  if (sp.attention.type == model::AttentionType::mla) {
    // Multi-head latent attention (DeepSeek-V2, 2405.04434 Sec. 2.1): down-projections are
    // replicated on every tp rank, up-projections split by heads.
    const double qr = static_cast<double>(sp.attention.q_lora_rank);
    const double kvr = static_cast<double>(sp.attention.kv_lora_rank);
    const double rope = static_cast<double>(sp.attention.rope_head_dim);
    const double nope = static_cast<double>(sp.head_dim());
    if (qr > 0) {
      out += gemm(c, c.T, qr, c.d);
      out += gemm(c, c.T, Hr * qk, qr);
    } else {
      out += gemm(c, c.T, Hr * qk, c.d);
    }
    out += gemm(c, c.T, kvr + rope, c.d);
    out += gemm(c, c.T, Hr * (nope + vd), kvr);
  } else {
    const double kv = static_cast<double>(sp.kv_heads());
    const double kv_r = std::max(1.0, kv / c.t);  // replicated when kv_heads < tp
    out += gemm(c, c.T, Hr * qk + 2 * kv_r * qk, c.d);
  }
  // Scores QK^T and softmax(.)V as batched GEMMs over b * heads (PaLM App. B counts them).
  Times scores = gemm(c, c.b * Hr * c.s, c.s, qk);
  scores += gemm(c, c.b * Hr * c.s, vd, c.s);
  if (!c.flash) {
    // Unfused: fused scale-mask-softmax reads and writes the b*h*s*s scores (2+2 bytes),
    // dropout reads them, writes them and a 1-byte mask (Korthikanti et al. 2022 Sec. 4.1
    // sizes; Megatron-LM's fused softmax kernel).
    const double elems = c.b * Hr * c.s * c.s;
    scores += memory(c, elems * 4 * kBf16 / 2);
    scores += memory(c, elems * (2 * kBf16 + 1));
    // The context [b*heads, s, d_v] is permuted back to [s, b, heads*d_v] by a copy.
    scores += memory(c, 2 * c.b * Hr * c.s * vd * kBf16);
  }
  out += scores;
  if (c.recompute == Recompute::selective) out.recompute += scores.fwd;
  out += gemm(c, c.T, c.d, Hr * vd);
  return out;
}

// A feed-forward block of width `ff` (per rank share) for `tokens` tokens.
Times ffn(const Ctx& c, double tokens, double ff_per_rank, double count = 1) {
  const double up = gated(*c.spec) ? 2 * ff_per_rank : ff_per_rank;
  Times out = gemm(c, tokens, up, c.d, count);
  out += gemm(c, tokens, c.d, ff_per_rank, count);
  // Activation (and gate product): read the up output, write the activation.
  out += memory(c, tokens * (up + ff_per_rank) * kBf16, count);
  return out;
}

// `attn` is attention(c): the same for every layer kind, so evaluated once per layout.
LayerTime layer_time(const Ctx& c, const model::LayerCost& layer, const Times& attn) {
  const auto& sp = *c.spec;
  LayerTime out;
  const double blocks = layer.decoder_cross_attention ? 2 : 1;
  for (int i = 0; i < static_cast<int>(blocks); ++i) out.compute += attn;
  // Norms, residual adds and dropouts on the hidden state: per sub-block (each attention
  // and the FFN) one norm (read and write T*d) and one dropout+residual (read two, write
  // one, a 1-byte mask); split by t under sequence parallelism (Korthikanti et al. 2022
  // Sec. 4.2.2).
  const double outside = c.sp ? 1 / c.t : 1;
  const double hidden = c.T * c.d * outside;
  out.compute += memory(c, hidden * (2 * kBf16 + 3 * kBf16 + 1), blocks + 1);

  if (layer.kind == model::LayerKind::moe) {
    const double E = static_cast<double>(sp.moe.experts);
    const double k = static_cast<double>(sp.moe.top_k);
    const double dffe = static_cast<double>(sp.expert_d_ff());
    const double cf = sp.moe.capacity_factor.value_or(1.0);
    // Router GEMM (d x E, replicated over tp) and softmax/top-k over T x E fp32 scores.
    out.compute += gemm(c, c.T, E, c.d);
    out.compute += memory(c, c.T * E * kFp32 * 3);
    // Shared experts: always active, split by tp like a dense FFN.
    if (sp.moe.shared_experts > 0)
      out.compute += ffn(c, c.T, dffe * static_cast<double>(sp.moe.shared_experts) / c.t);
    // Routed experts: the ep group's T*ep*k assignments spread over E experts, E/ep per
    // rank, each a GEMM of tokens_per_expert rows (padded to capacity when set: Fedus et
    // al. 2021 Eq. 3). Expert tensor parallelism = tp splits the expert width.
    const double tokens_per_expert = c.T * c.ep * k / E * cf;
    const double experts_here = E / c.ep;
    out.compute += ffn(c, tokens_per_expert, dffe / c.t, experts_here);
    // Permute and un-permute (gather tokens by expert, weighted combine): read and write
    // T*k rows of d.
    out.compute += memory(c, 2 * c.T * k * cf * c.d * kBf16, 2);
    if (c.ep > 1) {
      // Dispatch and combine all-to-alls, twice forward and twice backward (formulas.md,
      // GShard/DeepSpeed-MoE); tokens split over tp under SP.
      out.comm.ep_bytes = c.T * outside * k * cf * c.d * kBf16;
      out.comm.ep_calls = 4 + (c.recompute == Recompute::full ? 2 : 0);
    }
  } else {
    out.compute += ffn(c, c.T, static_cast<double>(sp.ffn.d_ff) / c.t);
  }
  if (c.t > 1) {
    // Megatron tp: one all-reduce of T*d forward and one backward per sub-block (attention,
    // cross-attention, FFN), one more forward with full recompute (Narayanan et al. 2021
    // Sec. 3.2; formulas.md: 8bsh(t-1)/t bytes each way per layer); with SP each becomes a
    // reduce-scatter plus an all-gather of the same total (Korthikanti Sec. 4.2.2).
    const double sub_blocks = blocks + 1;
    out.comm.tp_bytes = c.T * c.d * kBf16;
    out.comm.tp_calls = sub_blocks * (2 + (c.recompute == Recompute::full ? 1 : 0));
  }
  if (c.recompute == Recompute::full) out.compute.recompute = out.compute.fwd;
  return out;
}

// The per-layout constants of the formulas above; evaluate() and the event simulator's
// per-layer pieces (sim/event/layer_parts.hpp) both start from it.
Ctx make_ctx(const model::ModelSpec& spec, const hw::Accelerator& acc, const Layout& layout) {
  Ctx c;
  c.spec = &spec;
  c.acc = &acc;
  c.dtype = layout.dtype == MatrixDtype::fp8 ? hw::Dtype::fp8 : hw::Dtype::bf16;
  c.b = static_cast<double>(layout.micro_batch);
  c.s = static_cast<double>(spec.seq_len);
  c.T = c.b * c.s;
  c.d = static_cast<double>(spec.d_model);
  c.t = static_cast<double>(layout.tp);
  c.ep = static_cast<double>(layout.ep);
  c.sp = layout.sp() && layout.tp > 1;
  c.recompute = layout.recompute;
  c.flash = layout.flash_attention;
  return c;
}

}  // namespace

StepResult StepModel::evaluate(const Layout& layout) const {
  const hw::Accelerator& acc = cluster_.accelerator;
  const Ctx c = make_ctx(spec_, acc, layout);

  const std::int64_t p = layout.pp;
  const std::int64_t m = std::max<std::int64_t>(1, layout.micro_batches());
  const double V = layout.schedule.virtual_stages;
  const Network& net = *network_;

  // Per layer kind (dense/moe x self/cross): one evaluation, reused for every such layer.
  std::array<std::optional<LayerTime>, 4> kind_time;
  std::optional<Times> attention_time;
  auto kind_of = [](const model::LayerCost& l) {
    return (l.kind == model::LayerKind::moe ? 1 : 0) + (l.decoder_cross_attention ? 2 : 0);
  };

  const CommGroup tp_group{layout.tp, 1};
  const CommGroup ep_group{layout.ep, layout.tp};
  const double tp_call_s =
      layout.tp > 1 ? (c.sp ? net.time_s(Collective::reduce_scatter, tp_group, c.T * c.d * kBf16) +
                                  net.time_s(Collective::all_gather, tp_group, c.T * c.d * kBf16)
                            : net.time_s(Collective::all_reduce, tp_group, c.T * c.d * kBf16))
                    : 0;
  // Per rank under SP the hidden state is split, the collectives move the same totals.

  // Pipeline p2p (Narayanan et al. 2021 Sec. 4.1: b*s*h per boundary, /t with the
  // scatter/gather optimization): one send forward and one backward per micro-batch per
  // boundary, V times interleaved; blocking in Megatron's 1F1B, so exposed. The same on
  // every stage.
  double pp_stage_s = 0;
  if (p > 1) {
    const double bytes = c.T * c.d * kBf16 * (layout.tp > 1 ? 1 / c.t : 1);
    const CommGroup pp_pair{2, layout.tp * layout.dp};
    pp_stage_s = 2 * V * net.time_s(Collective::p2p, pp_pair, bytes);
  }

  const auto stages = stage_layers(static_cast<std::int64_t>(layers_.size()), layout);
  StepResult r;
  std::vector<double> stage_mb(static_cast<std::size_t>(p), 0);  // per micro-batch time
  struct StageDetail {
    double compute = 0, bwd = 0, fwd = 0, tp = 0, tp_exposed = 0, ep = 0, ep_exposed = 0, pp = 0;
    double dense_params = 0, expert_params = 0;
  };
  std::vector<StageDetail> detail(static_cast<std::size_t>(p));
  double ep_all_to_all_s = 0;

  for (std::int64_t i = 0; i < p; ++i) {
    StageDetail& sd = detail[static_cast<std::size_t>(i)];
    Times comp;
    double tp_s = 0, ep_s = 0;
    for (std::int64_t j : stages[static_cast<std::size_t>(i)]) {
      const model::LayerCost& lc = layers_[static_cast<std::size_t>(j)];
      auto& kt = kind_time[static_cast<std::size_t>(kind_of(lc))];
      if (!kt) {
        if (!attention_time) attention_time = attention(c);
        kt = layer_time(c, lc, *attention_time);
        if (kt->comm.ep_calls > 0 && ep_all_to_all_s == 0)
          ep_all_to_all_s = net.time_s(Collective::all_to_all, ep_group, kt->comm.ep_bytes);
      }
      comp += kt->compute;
      tp_s += kt->comm.tp_calls * tp_call_s;
      ep_s += kt->comm.ep_calls * ep_all_to_all_s;
      sd.dense_params += (lc.attention_params + lc.ffn_params + lc.shared_expert_params) / c.t +
                         lc.norm_params + lc.router_params;
      sd.expert_params += lc.expert_params / (c.ep * c.t);
    }
    // Embedding lookup on the first stage; output head GEMM and the fp32 cross-entropy over
    // the vocabulary-parallel logits on the last (Megatron; Chinchilla App. F head FLOPs).
    if (i == 0) {
      comp += memory(c, 2 * c.T * c.d * kBf16);
      sd.dense_params += (totals_.params_input_embedding + totals_.params_position_embedding) / c.t;
    }
    if (i == p - 1) {
      const double Vr = static_cast<double>(spec_.vocab) / c.t;
      Times head = gemm(c, c.T, Vr, c.d);
      head += memory(c, c.T * Vr * kFp32 * 3);
      comp.fwd += head.fwd;
      comp.bwd += head.bwd;
      double head_params = totals_.params_output_head;
      if (spec_.tied_embeddings && p > 1) head_params += totals_.params_input_embedding;
      sd.dense_params += head_params / c.t + totals_.params_final_norm;
    }
    if (!options_.fused_grad_accumulation)
      comp.bwd += grad_accumulation_time_s(acc, sd.dense_params + sd.expert_params);
    const double compute = comp.fwd + comp.bwd + comp.recompute;
    const double tp_exposed =
        tp_s * (1 - std::clamp(options_.overlap.tp_hidden_fraction, 0.0, 1.0));
    // DualPipe overlaps one micro-batch's all-to-alls with another's compute: only the part
    // longer than the compute stays exposed.
    const double ep_exposed = options_.overlap.ep_dualpipe ? std::max(0.0, ep_s - compute) : ep_s;
    const double pp_s = pp_stage_s;  // pipeline p2p, exposed (see pp_stage_s)
    sd.compute = compute;
    sd.fwd = comp.fwd;
    sd.bwd = comp.bwd + comp.recompute;
    sd.tp = tp_s;
    sd.tp_exposed = tp_exposed;
    sd.ep = ep_s;
    sd.ep_exposed = ep_exposed;
    sd.pp = pp_s;
    stage_mb[static_cast<std::size_t>(i)] = compute + tp_exposed + ep_exposed + pp_s;
  }

  std::int64_t busiest = 0;
  double sum_stage = 0;
  for (std::int64_t i = 0; i < p; ++i) {
    sum_stage += stage_mb[static_cast<std::size_t>(i)];
    if (stage_mb[static_cast<std::size_t>(i)] > stage_mb[static_cast<std::size_t>(busiest)])
      busiest = i;
  }
  const StageDetail& bd = detail[static_cast<std::size_t>(busiest)];
  const double t_max = stage_mb[static_cast<std::size_t>(busiest)];
  // 1F1B: m micro-batches at the pace of the slowest stage plus the fill and drain of the
  // others, (p-1)/m of the ideal for equal stages; interleaved divides the fill by V
  // (Narayanan et al. 2021 Sec. 2.2).
  const double pipeline_s = static_cast<double>(m) * t_max;
  const double bubble_s = (sum_stage - t_max) / V;

  // Data parallel: gradients reduced in fp32 (Megatron accumulates and all-reduces bf16
  // gradients in fp32), over dp for dense parameters and over dp/ep for expert parameters;
  // ZeRO >= 1 reduce-scatters them and all-gathers the updated bf16 parameters (Rajbhandari
  // et al. 2019 Sec. 7); ZeRO-3 also gathers the parameters for forward and backward.
  double dp_grad_s = 0, dp_param_s = 0;
  const double dp_dense = static_cast<double>(layout.dp);
  const double dp_expert = std::max(1.0, dp_dense / c.ep);
  const double grad_reductions = layout.zero >= 2 ? static_cast<double>(m) : 1.0;
  auto reduce = [&](double params, double group, std::int64_t stride) {
    if (group <= 1 || params <= 0) return;
    const CommGroup g{static_cast<std::int64_t>(group), stride};
    if (layout.zero == 0) {
      dp_grad_s += net.time_s(Collective::all_reduce, g, params * kFp32);
    } else {
      // ZeRO-2/3 keep only a shard of the gradients, so they reduce-scatter in every
      // micro-batch's backward (DeepSpeed); ZeRO-1 once per step.
      dp_grad_s += grad_reductions * net.time_s(Collective::reduce_scatter, g, params * kFp32);
      dp_param_s += net.time_s(Collective::all_gather, g, params * kBf16);
      if (layout.zero == 3)
        dp_param_s +=
            2 * static_cast<double>(m) * net.time_s(Collective::all_gather, g, params * kBf16);
    }
  };
  reduce(bd.dense_params, dp_dense, layout.tp);
  reduce(bd.expert_params, dp_expert, layout.tp * layout.ep);
  // Overlap: gradient buckets reduce while the backward that produced them runs (the last
  // micro-batch's; every micro-batch's under ZeRO-2/3); parameter gathers run under the first
  // micro-batch's forward (ZeRO-3: under each micro-batch).
  const double grad_window = options_.overlap.dp_grad_reduce ? grad_reductions * bd.bwd : 0;
  const double param_window = options_.overlap.dp_param_gather
                                  ? (layout.zero == 3 ? static_cast<double>(m) : 1.0) * bd.fwd
                                  : 0;
  double dp_exposed =
      std::max(0.0, dp_grad_s - grad_window) + std::max(0.0, dp_param_s - param_window);
  if (layout.zero == 3 && options_.overlap.dp_param_gather) {
    // ZeRO-3 with prefetched gathers: one data-parallel stream carries the forwards' gathers (the
    // step-start gather and one per micro-batch) while the forwards run, and the backwards'
    // gathers with the gradient reduce-scatters while the backwards run (DeepSpeed ZeRO-3
    // prefetch; Rajbhandari et al. 2019 Sec. 5.3); a pass hides them under all it does,
    // compute and its blocking communication, the latter split evenly between the passes
    // (docs/step_model.md). The event simulator plays this stream out.
    const double md = static_cast<double>(m);
    const double gather_s = dp_param_s / (1 + 2 * md);
    const double comm_mb_s = bd.tp_exposed + bd.ep_exposed + bd.pp;
    const double fwd_window = md * (bd.fwd + comm_mb_s / 2);
    const double bwd_window = md * (bd.bwd + comm_mb_s / 2);
    // Without the gradient overlap the reduce-scatters block the compute after each
    // backward (all exposed) and the backwards hide their gathers alone.
    const bool grads_hidden = options_.overlap.dp_grad_reduce;
    dp_exposed = std::max(0.0, (1 + md) * gather_s - fwd_window) +
                 std::max(0.0, md * gather_s + (grads_hidden ? dp_grad_s : 0) - bwd_window) +
                 (grads_hidden ? 0 : dp_grad_s);
  }

  // Adam update, memory bound: read fp32 master weight, m, v and gradient, write master, m,
  // v and the bf16 weight: 30 bytes per parameter of the local shard (Rajbhandari et al.
  // 2019's K = 12 optimizer bytes plus gradient and weight traffic).
  const double shard = bd.dense_params / (layout.zero >= 1 ? dp_dense : 1) +
                       bd.expert_params / (layout.zero >= 1 ? dp_expert : 1);
  const double optimizer_s = hw::memory_time_s(acc, shard * 30);

  r.step_s = pipeline_s + bubble_s + dp_exposed + optimizer_s;
  r.busiest_stage = busiest;
  StepBreakdown& br = r.breakdown;
  const double md = static_cast<double>(m);
  br.compute_s = md * bd.compute;
  br.tp_s = md * bd.tp;
  br.tp_exposed_s = md * bd.tp_exposed;
  br.ep_s = md * bd.ep;
  br.ep_exposed_s = md * bd.ep_exposed;
  br.pp_s = md * bd.pp;
  br.pp_exposed_s = md * bd.pp;
  br.dp_s = dp_grad_s + dp_param_s;
  br.dp_exposed_s = dp_exposed;
  br.exposed_communication_s = br.tp_exposed_s + br.ep_exposed_s + br.pp_exposed_s + dp_exposed;
  br.pipeline_bubble_s = bubble_s;
  br.optimizer_s = optimizer_s;
  br.ep_crosses_network = layout.ep * layout.tp > std::max(1, cluster_.scale_up.devices_per_domain);

  const double devices = static_cast<double>(layout.devices());
  r.tokens_per_step = static_cast<double>(layout.effective_global_batch()) * c.s;
  r.tokens_per_s = r.step_s > 0 ? r.tokens_per_step / r.step_s : 0;
  const double peak = hw::effective_peak_flops(acc, c.dtype);
  double hw_flops_per_token = totals_.flops_per_token;
  if (layout.recompute == Recompute::full)
    hw_flops_per_token = totals_.flops_per_token_recompute_full;
  if (layout.recompute == Recompute::selective)
    hw_flops_per_token = totals_.flops_per_token_recompute_selective;
  if (r.step_s > 0 && peak > 0) {
    r.mfu = totals_.flops_per_token * r.tokens_per_step / (r.step_s * devices * peak);
    r.hfu = hw_flops_per_token * r.tokens_per_step / (r.step_s * devices * peak);
    r.achieved_flops_per_device = hw_flops_per_token * r.tokens_per_step / (r.step_s * devices);
  }
  // Power: idle plus the busy share of the rest up to TDP (docs/step_model.md).
  const double idle = acc.idle_w > 0 ? acc.idle_w : options_.idle_power_fraction * acc.tdp_w;
  const double busy = r.step_s > 0 ? std::clamp(br.compute_s / r.step_s, 0.0, 1.0) : 0;
  r.average_power_w = idle + busy * std::max(0.0, acc.tdp_w - idle);
  return r;
}

}  // namespace moesim::sim

// ---- Per-layer pieces for the event-driven simulator (sim/event/layer_parts.hpp) ----
// Additive: the same formulas as evaluate(), one layer or one expert at a time.

namespace moesim::sim {
namespace {

PhaseTimes phase(const Times& t) {
  return {t.fwd, t.bwd, t.recompute};
}

}  // namespace

LayerParts layer_parts(const model::ModelSpec& spec, const hw::Accelerator& acc,
                       const Layout& layout, const model::LayerCost& layer) {
  const Ctx c = make_ctx(spec, acc, layout);
  const LayerTime lt = layer_time(c, layer, attention(c));
  LayerParts out;
  out.total = phase(lt.compute);
  out.tp_bytes = lt.comm.tp_bytes;
  out.tp_calls = lt.comm.tp_calls;
  out.ep_bytes = lt.comm.ep_bytes;
  out.ep_calls = lt.comm.ep_calls;
  if (layer.kind == model::LayerKind::moe) {
    const double E = static_cast<double>(spec.moe.experts);
    const double k = static_cast<double>(spec.moe.top_k);
    const double cf = spec.moe.capacity_factor.value_or(1.0);
    Times routed =
        ffn(c, c.T * c.ep * k / E * cf, static_cast<double>(spec.expert_d_ff()) / c.t, E / c.ep);
    if (c.recompute == Recompute::full) routed.recompute = routed.fwd;
    out.routed_experts = phase(routed);
  }
  return out;
}

PhaseTimes expert_ffn_time(const model::ModelSpec& spec, const hw::Accelerator& acc,
                           const Layout& layout, double rows) {
  const Ctx c = make_ctx(spec, acc, layout);
  if (rows <= 0) return {};
  Times t = ffn(c, rows, static_cast<double>(spec.expert_d_ff()) / c.t);
  if (c.recompute == Recompute::full) t.recompute = t.fwd;
  return phase(t);
}

PhaseTimes embedding_time(const model::ModelSpec& spec, const hw::Accelerator& acc,
                          const Layout& layout) {
  const Ctx c = make_ctx(spec, acc, layout);
  Times t = memory(c, 2 * c.T * c.d * kBf16);
  if (c.recompute == Recompute::full) t.recompute = 0;  // evaluate() adds it to fwd+bwd only
  return phase(t);
}

PhaseTimes head_time(const model::ModelSpec& spec, const hw::Accelerator& acc,
                     const Layout& layout) {
  const Ctx c = make_ctx(spec, acc, layout);
  const double Vr = static_cast<double>(spec.vocab) / c.t;
  Times head = gemm(c, c.T, Vr, c.d);
  head += memory(c, c.T * Vr * kFp32 * 3);
  head.recompute = 0;  // the head is not recomputed
  return phase(head);
}

double grad_accumulation_time_s(const hw::Accelerator& acc, double params) {
  // Megatron-LM 2021's DDP hook `main_grad.add_(grad)` after every micro-batch's backward:
  // read the bf16/fp16 gradient and the fp32 buffer, write the buffer (2 + 4 + 4 bytes per
  // parameter; the read-modify-write that gradient-accumulation fusion removes, NVIDIA/
  // Megatron-LM #6943).
  return params > 0 ? hw::memory_time_s(acc, params * (kBf16 + 2 * kFp32)) : 0;
}

}  // namespace moesim::sim
