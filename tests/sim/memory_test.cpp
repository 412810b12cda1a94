// Memory per device: the ZeRO and Korthikanti building blocks, their generalization to real
// models (GQA, MLA, gated FFNs, MoE), and invariants of the per-stage totals. The
// reproductions of the papers' own numbers are in memory_validation_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/spec.hpp"
#include "model/workload.hpp"
#include "sim/layout.hpp"
#include "sim/memory.hpp"

namespace moesim::sim {
namespace {

// Relative comparison for sums computed in a different order.
void expect_rel(double actual, double expected, double rel = 1e-12) {
  EXPECT_NEAR(actual, expected, rel * std::max(1.0, std::fabs(expected)))
      << "actual " << actual << " expected " << expected;
}

// A Megatron GPT (Narayanan et al. 2021 Table 1 family): MHA with h/a head width, GeLU FFN
// of 4h, LayerNorm, biases, learned positions, tied embeddings, vocab 51200, s = 2048.
model::ModelSpec gpt(std::int64_t h, std::int64_t layers, std::int64_t heads) {
  model::ModelSpec m;
  m.name = "gpt";
  m.layers = layers;
  m.d_model = h;
  m.vocab = 51200;
  m.seq_len = 2048;
  m.tied_embeddings = true;
  m.position_embedding = model::PositionEmbedding::learned;
  m.bias = true;
  m.norm = model::Norm::layernorm;
  m.attention = {model::AttentionType::mha, heads, 0, 0, 0, 0, 0, 0};
  m.ffn = {4 * h, model::Activation::gelu};
  return m;
}

// Mixtral 8x7B (Jiang et al. 2024).
model::ModelSpec mixtral() {
  model::ModelSpec m;
  m.name = "mixtral-8x7b";
  m.layers = 32;
  m.d_model = 4096;
  m.vocab = 32000;
  m.seq_len = 4096;
  m.attention = {model::AttentionType::gqa, 32, 8, 128, 0, 0, 0, 0};
  m.ffn = {14336, model::Activation::swiglu};
  m.moe.experts = 8;
  m.moe.top_k = 2;
  m.moe.d_ff_expert = 14336;
  return m;
}

// DeepSeek-V3 (2412.19437): MLA, 1 shared + 256 routed experts top-8, first 3 layers dense.
model::ModelSpec deepseek_v3() {
  model::ModelSpec m;
  m.name = "deepseek-v3";
  m.layers = 61;
  m.d_model = 7168;
  m.vocab = 129280;
  m.seq_len = 4096;
  m.attention = {model::AttentionType::mla, 128, 0, 128, 1536, 512, 64, 128};
  m.ffn = {18432, model::Activation::swiglu};
  m.moe.experts = 256;
  m.moe.top_k = 8;
  m.moe.d_ff_expert = 2048;
  m.moe.shared_experts = 1;
  m.moe.first_dense_layers = 3;
  return m;
}

// Switch-Base (Fedus et al. 2021 Table 9): T5 encoder-decoder, 128 experts every 2nd layer,
// capacity factor 1.25.
model::ModelSpec switch_base() {
  model::ModelSpec m;
  m.name = "switch-base";
  m.layers = 12;
  m.d_model = 768;
  m.vocab = 32128;
  m.seq_len = 512;
  m.encoder_decoder = true;
  m.tied_embeddings = true;
  m.position_embedding = model::PositionEmbedding::none;
  m.attention = {model::AttentionType::mha, 12, 0, 64, 0, 0, 0, 0};
  m.ffn = {2048, model::Activation::geglu};
  m.moe.experts = 128;
  m.moe.top_k = 1;
  m.moe.d_ff_expert = 2048;
  m.moe.every = 2;
  m.moe.capacity_factor = 1.25;
  m.moe.router = model::RouterKind::switch_router;
  return m;
}

Layout layout(std::int64_t dp, std::int64_t tp, std::int64_t pp, std::int64_t ep = 1,
              int zero = 0) {
  Layout l;
  l.dp = dp;
  l.tp = tp;
  l.pp = pp;
  l.ep = ep;
  l.zero = zero;
  // Korthikanti et al. 2022's counts are for unfused attention kernels (stored s x s scores).
  l.flash_attention = false;
  return l;
}

model::LayerCost layer_of(model::LayerKind kind) {
  model::LayerCost c;
  c.kind = kind;
  return c;
}

// ---------------------------------------------------------------- ZeRO

TEST(ZeroModelState, StagesShardMoreAndMore) {
  const double psi = 1e9;
  for (double n : {2.0, 8.0, 64.0}) {
    double previous = 1e300;
    for (int stage = 0; stage <= 3; ++stage) {
      const double total = zero_model_state_bytes(psi, n, stage).total();
      EXPECT_LT(total, previous) << "stage " << stage << " N_d " << n;
      previous = total;
    }
  }
}

TEST(ZeroModelState, ComponentsPerStage) {
  // Rajbhandari et al. 2019 Sec. 3.1: 2 psi weights, 2 psi gradients, 12 psi optimizer.
  const double psi = 3e9, n = 16;
  const ZeroStateBytes z0 = zero_model_state_bytes(psi, n, 0);
  EXPECT_DOUBLE_EQ(z0.weights_bytes, 2 * psi);
  EXPECT_DOUBLE_EQ(z0.gradients_bytes, 2 * psi);
  EXPECT_DOUBLE_EQ(z0.optimizer_bytes, 12 * psi);
  EXPECT_DOUBLE_EQ(zero_model_state_bytes(psi, n, 1).total(), 4 * psi + 12 * psi / n);
  EXPECT_DOUBLE_EQ(zero_model_state_bytes(psi, n, 2).total(), 2 * psi + 14 * psi / n);
  EXPECT_DOUBLE_EQ(zero_model_state_bytes(psi, n, 3).total(), 16 * psi / n);
}

TEST(ZeroModelState, OneRankShardsNothing) {
  for (int stage = 0; stage <= 3; ++stage)
    EXPECT_DOUBLE_EQ(zero_model_state_bytes(5e8, 1, stage).total(), 16 * 5e8);
}

// ------------------------------------------------- per-layer activations (generalized)

TEST(LayerActivations, GptLayerIsKorthikantiTable2) {
  // For a GPT layer (MHA, a*d_head = h, GeLU d_ff = 4h) the general accounting must be
  // Table 2 term for term, for every t, with and without SP, for every recompute policy.
  const model::ModelSpec m = gpt(12288, 96, 96);
  for (std::int64_t t : {1, 2, 4, 8}) {
    for (bool sp : {false, true}) {
      for (Recompute rc : {Recompute::none, Recompute::selective, Recompute::full}) {
        Layout l = layout(1, t, 1);
        l.sequence_parallel = sp;
        l.recompute = rc;
        l.micro_batch = 2;
        const LayerActivationBytes got =
            layer_activation_bytes(m, layer_of(model::LayerKind::dense), l);
        const double expected =
            activation_bytes_per_layer(2048, 2, 12288, 96, static_cast<double>(t), sp, rc);
        expect_rel(got.activations, expected);
        EXPECT_EQ(got.moe, 0.0);
        EXPECT_EQ(got.dispatch_buffers, 0.0);
      }
    }
  }
}

TEST(LayerActivations, RecomputePeakIsWhatThePolicyDropped) {
  const model::ModelSpec m = gpt(4096, 36, 32);
  const double s = 2048, b = 1, h = 4096, a = 32, t = 4;
  Layout l = layout(1, 4, 1);
  l.recompute = Recompute::none;
  const auto none = layer_activation_bytes(m, layer_of(model::LayerKind::dense), l);
  EXPECT_EQ(none.recompute_peak, 0.0);
  l.recompute = Recompute::selective;
  const auto sel = layer_activation_bytes(m, layer_of(model::LayerKind::dense), l);
  // Korthikanti Sec. 5: the attention core's 5as^2b/t bytes are rebuilt for one layer.
  expect_rel(sel.recompute_peak, 5 * a * s * s * b / t);
  expect_rel(sel.activations + sel.recompute_peak, none.activations);
  l.recompute = Recompute::full;
  const auto full = layer_activation_bytes(m, layer_of(model::LayerKind::dense), l);
  expect_rel(full.recompute_peak, none.stored());
  expect_rel(full.activations, 2 * s * b * h / t);  // SP on by default at t > 1
}

TEST(LayerActivations, TopOneEqualWidthExpertMatchesTheDenseFfn) {
  // k = 1 and d_expert = d_ff: each token passes one FFN of the dense width, so the
  // Korthikanti-style activations are the dense layer's; the MoE extras are the fp32 router
  // probabilities 4E and the routed copies in and out, 2h each (per token).
  model::ModelSpec m = mixtral();
  m.moe.top_k = 1;
  for (std::int64_t t : {1, 2, 8}) {
    for (bool sp : {false, true}) {
      Layout l = layout(1, t, 1);
      l.sequence_parallel = sp;
      l.recompute = Recompute::selective;
      const auto dense = layer_activation_bytes(m, layer_of(model::LayerKind::dense), l);
      const auto moe = layer_activation_bytes(m, layer_of(model::LayerKind::moe), l);
      expect_rel(moe.activations, dense.activations);
      const double sb = 4096, outside = (sp && t > 1) ? 1.0 / t : 1.0;
      expect_rel(moe.moe, sb * (4 * 8 * outside + 2 * 4096 + 2 * 4096));
      expect_rel(moe.dispatch_buffers, 2 * 2 * 4096 * sb);
    }
  }
}

TEST(LayerActivations, ExpertTermsScaleWithTopK) {
  // Each extra routed expert per token adds one SwiGLU expert's intermediates:
  // (4 + 2) d_expert / t bytes per token (gate and up outputs, the product).
  model::ModelSpec m = mixtral();
  Layout l = layout(1, 2, 1);
  const auto k2 = layer_activation_bytes(m, layer_of(model::LayerKind::moe), l);
  m.moe.top_k = 1;
  const auto k1 = layer_activation_bytes(m, layer_of(model::LayerKind::moe), l);
  const double sb = 4096;
  expect_rel(k2.activations - k1.activations, sb * 6 * 14336 / 2.0);
  expect_rel(k2.moe - k1.moe, sb * 4 * 4096);
  expect_rel(k2.dispatch_buffers, 2 * k1.dispatch_buffers);
}

TEST(LayerActivations, CapacityFactorPadsTheRoutedBuffers) {
  model::ModelSpec m = mixtral();
  const Layout l = layout(1, 1, 1);
  const auto dropless = layer_activation_bytes(m, layer_of(model::LayerKind::moe), l);
  m.moe.capacity_factor = 1.0;  // C = T k / E: the balanced load a dropless layer expects
  const auto cf1 = layer_activation_bytes(m, layer_of(model::LayerKind::moe), l);
  EXPECT_DOUBLE_EQ(cf1.activations, dropless.activations);
  EXPECT_DOUBLE_EQ(cf1.moe, dropless.moe);
  EXPECT_DOUBLE_EQ(cf1.dispatch_buffers, dropless.dispatch_buffers);
  m.moe.capacity_factor = 1.25;  // Fedus et al. 2021 Eq. 3: every buffer [E, C, d] 1.25x
  const auto cf = layer_activation_bytes(m, layer_of(model::LayerKind::moe), l);
  const double sb = 4096, router = sb * 4 * 8;  // fp32 probabilities do not pad
  expect_rel(cf.moe - router, 1.25 * (cf1.moe - router));
  expect_rel(cf.dispatch_buffers, 1.25 * cf1.dispatch_buffers);
  EXPECT_GT(cf.activations, cf1.activations);
}

TEST(LayerActivations, FullRecomputeKeepsOnlyTheLayerInput) {
  // Korthikanti Table 2: 2sbh per layer whatever the layer holds (MoE, MLA), /t with SP.
  for (const model::ModelSpec& m : {mixtral(), deepseek_v3()}) {
    for (bool sp : {false, true}) {
      Layout l = layout(1, 4, 1);
      l.sequence_parallel = sp;
      l.recompute = Recompute::full;
      const auto a = layer_activation_bytes(m, layer_of(model::LayerKind::moe), l);
      const double sbh = 4096.0 * static_cast<double>(m.d_model);
      expect_rel(a.activations, sp ? 2 * sbh / 4 : 2 * sbh);
      EXPECT_EQ(a.moe, 0.0);
      EXPECT_GT(a.recompute_peak, a.activations);
    }
  }
}

TEST(LayerActivations, TensorParallelSplitsTheInsideTerms) {
  // With SP, every term is inside a TP region or sequence-sharded, except the MoE routed
  // copies (gathered over the expert-TP group, counted in .moe): doubling t halves the rest
  // exactly. Mixtral's 8 KV heads split over 2 and 4 ranks, so they halve too.
  for (const model::ModelSpec& m : {gpt(4096, 36, 32), mixtral(), deepseek_v3()}) {
    for (model::LayerKind kind : {model::LayerKind::dense, model::LayerKind::moe}) {
      if (kind == model::LayerKind::moe && !m.is_moe()) continue;
      Layout l = layout(1, 2, 1);
      l.recompute = Recompute::none;
      const auto t2 = layer_activation_bytes(m, layer_of(kind), l);
      l.tp = 4;
      const auto t4 = layer_activation_bytes(m, layer_of(kind), l);
      expect_rel(t4.activations, t2.activations / 2);
    }
  }
}

TEST(LayerActivations, ReplicatedKvHeadsStopShrinking) {
  // MQA: one KV head that every rank keeps whole, so K and V (2 x 2 d_head per token) do
  // not shrink with t; the rest (Q, output input, FFN) does.
  model::ModelSpec m = gpt(4096, 36, 32);
  m.attention.type = model::AttentionType::mqa;
  Layout l = layout(1, 2, 1);
  l.recompute = Recompute::selective;
  const auto t2 = layer_activation_bytes(m, layer_of(model::LayerKind::dense), l);
  l.tp = 4;
  const auto t4 = layer_activation_bytes(m, layer_of(model::LayerKind::dense), l);
  const double sb = 2048, kv = 2 * 2 * 128.0;  // K and V of one 128-wide head, bf16
  expect_rel(t4.activations - sb * kv, (t2.activations - sb * kv) / 2);
}

// ------------------------------------------------------------- pipeline in flight

TEST(InFlight, OneFOneBHoldsPMinusIMicroBatches) {
  Layout l = layout(1, 1, 4);
  l.global_batch = 16;  // m = 16
  for (std::int64_t i = 0; i < 4; ++i)
    EXPECT_DOUBLE_EQ(micro_batches_in_flight(l, i), static_cast<double>(4 - i));
  l.global_batch = 2;  // fewer micro-batches than stages
  EXPECT_DOUBLE_EQ(micro_batches_in_flight(l, 0), 2);
  EXPECT_DOUBLE_EQ(micro_batches_in_flight(l, 3), 1);
}

TEST(InFlight, InterleavedFirstStageIsKorthikantisFactor) {
  for (std::int64_t p : {2, 4, 8}) {
    for (int v : {2, 3, 4}) {
      Layout l = layout(1, 1, p);
      l.schedule.virtual_stages = v;
      l.global_batch = 64;
      const double pd = static_cast<double>(p);
      expect_rel(micro_batches_in_flight(l, 0), pd * (1 + (pd - 1) / (pd * v)));
      // The last stage holds 1 + (V-1)p/V... chunks: never more than the first.
      EXPECT_LE(micro_batches_in_flight(l, p - 1), micro_batches_in_flight(l, 0));
    }
  }
}

// ------------------------------------------------------------- per-device totals

// Parameters split by tp on one stage holding every layer: attention, dense FFN, shared
// experts, the input embedding, learned positions and an untied head.
double tp_split_params(const model::ModelSpec& m) {
  double s = 0;
  for (const model::LayerCost& c : model::layer_costs(m))
    s += c.attention_params + c.ffn_params + c.shared_expert_params;
  const model::ModelTotals t = model::totals(m);
  return s + t.params_input_embedding + t.params_position_embedding + t.params_output_head;
}

TEST(MemoryPerDevice, DoublingTpHalvesTheShardedWeights) {
  const model::ModelSpec m = gpt(4096, 36, 32);
  const double split = tp_split_params(m);
  const MemoryBreakdown t1 = memory_per_device(m, layout(1, 1, 1));
  const MemoryBreakdown t2 = memory_per_device(m, layout(1, 2, 1));
  const MemoryBreakdown t4 = memory_per_device(m, layout(1, 4, 1));
  // bf16 weights: 2 bytes x split / t, plus the replicated norms.
  expect_rel(t1.weights_bytes - t2.weights_bytes, 2 * split / 2);
  expect_rel(t2.weights_bytes - t4.weights_bytes, 2 * split / 4);
  expect_rel(t1.optimizer_bytes - t2.optimizer_bytes, 12 * split / 2);
  // Routed experts split by ep x t (expert TP = TP).
  const model::ModelSpec x = mixtral();
  const double routed = model::totals(x).params_routed_experts;
  const MemoryBreakdown e2 = memory_per_device(x, layout(8, 2, 1, 8));
  const MemoryBreakdown e4 = memory_per_device(x, layout(8, 4, 1, 8));
  expect_rel(e2.weights_bytes - e4.weights_bytes, 2 * (tp_split_params(x) / 4 + routed / 8 / 4));
}

TEST(MemoryPerDevice, EpEqualToExpertsPutsOneExpertPerRank) {
  const model::ModelSpec m = mixtral();
  const model::ModelTotals tot = model::totals(m);
  double one_expert_per_layer = 0;
  for (const model::LayerCost& c : model::layer_costs(m))
    one_expert_per_layer += c.expert_params / static_cast<double>(m.moe.experts);
  const MemoryBreakdown ep8 = memory_per_device(m, layout(8, 1, 1, 8));
  expect_rel(ep8.weights_bytes,
             2 * (tot.params_total - tot.params_routed_experts + one_expert_per_layer));
  const MemoryBreakdown ep1 = memory_per_device(m, layout(8, 1, 1, 1));
  expect_rel(ep1.weights_bytes, 2 * tot.params_total);
}

TEST(MemoryPerDevice, ZeroShardsExpertsOverTheExpertDataParallelGroup) {
  // Dense params over dp, expert params (already / ep) over dp / ep: either way every
  // parameter's gradient and optimizer state ends up on dp ranks, 14 psi / dp in ZeRO-2.
  const model::ModelSpec m = mixtral();
  const model::ModelTotals tot = model::totals(m);
  const MemoryBreakdown z2 = memory_per_device(m, layout(16, 1, 1, 8, 2));
  expect_rel(z2.gradients_bytes + z2.optimizer_bytes, 14 * tot.params_total / 16);
  expect_rel(z2.weights_bytes,
             2 * (tot.params_total - tot.params_routed_experts + tot.params_routed_experts / 8));
}

TEST(MemoryPerDevice, ZeroStagesNeverAddMemory) {
  for (const model::ModelSpec& m : {gpt(4096, 36, 32), mixtral(), deepseek_v3()}) {
    double previous = 1e300;
    for (int zero = 0; zero <= 3; ++zero) {
      const std::int64_t ep = m.is_moe() ? 8 : 1;
      const double bytes = memory_per_device(m, layout(64, 1, 1, ep, zero)).per_device_bytes();
      EXPECT_LT(bytes, previous) << m.name << " ZeRO-" << zero;
      previous = bytes;
    }
  }
}

TEST(MemoryPerDevice, ZeroThreeAddsOneGatheredLayer) {
  // FSDP / ZeRO-3 shards all 16 psi, then gathers the largest layer's bf16 weights.
  const model::ModelSpec m = gpt(4096, 36, 32);
  const model::ModelTotals tot = model::totals(m);
  const MemoryBreakdown z3 = memory_per_device(m, layout(64, 1, 1, 1, 3));
  const model::LayerCost c = model::layer_costs(m).front();
  const double largest =
      std::max(c.params_total(), tot.params_input_embedding + tot.params_position_embedding);
  expect_rel(z3.weights_bytes + z3.gradients_bytes + z3.optimizer_bytes,
             16 * tot.params_total / 64 + 2 * largest);
}

TEST(MemoryPerDevice, StagesHoldEveryParameterOnce) {
  // Untied: the stages' bf16 weights add up to 2 bytes x every parameter, whether the
  // layers split evenly or not. Tied: the last stage adds a copy of the embedding.
  for (std::int64_t layers : {36, 30}) {
    model::ModelSpec m = gpt(2048, layers, 16);
    m.tied_embeddings = false;
    double sum = 0;
    for (const MemoryBreakdown& s : memory_per_stage(m, layout(1, 1, 4))) sum += s.weights_bytes;
    expect_rel(sum, 2 * model::totals(m).params_total);
    m.tied_embeddings = true;
    sum = 0;
    for (const MemoryBreakdown& s : memory_per_stage(m, layout(1, 1, 4))) sum += s.weights_bytes;
    const model::ModelTotals tot = model::totals(m);
    expect_rel(sum, 2 * (tot.params_total + tot.params_input_embedding));
  }
}

TEST(LayerActivations, FlashAttentionStoresNoScoreMatrices) {
  // FlashAttention (Dao et al. 2022) keeps only an fp32 log-sum-exp per head and token:
  // no recompute stores sbh(34 + 5as/h) unfused, sbh*34 + 4*s*b*a with flash (t = 1), and
  // selective recompute has nothing left to recompute.
  const model::ModelSpec m = gpt(4096, 4, 32);
  Layout l = layout(1, 1, 1);
  l.recompute = Recompute::none;
  const double s = 2048, h = 4096, a = 32;
  const auto unfused = layer_activation_bytes(m, layer_of(model::LayerKind::dense), l);
  expect_rel(unfused.activations, s * h * (34 + 5 * a * s / h));
  l.flash_attention = true;
  const auto flash = layer_activation_bytes(m, layer_of(model::LayerKind::dense), l);
  expect_rel(flash.activations, s * h * 34 + 4 * s * a);
  l.recompute = Recompute::selective;
  const auto sel = layer_activation_bytes(m, layer_of(model::LayerKind::dense), l);
  EXPECT_LT(sel.recompute_peak, 1e-3 * flash.activations);
}

TEST(MemoryPerDevice, FirstStageHoldsPMicroBatches) {
  // GPT, p = 4, 8 micro-batches, no recompute, t = 1: stage i keeps (p - i) micro-batches of
  // its L/p layers (Korthikanti Table 2 per layer); the first also the embedding dropout
  // mask sbh per micro-batch, the last the output layer 4sbh + fp32 logits 4sbV (Sec. 4.3).
  const model::ModelSpec m = gpt(4096, 36, 32);
  Layout l = layout(1, 1, 4);
  l.recompute = Recompute::none;
  l.global_batch = 8;
  const double s = 2048, h = 4096, v = 51200;
  const double per_layer = activation_bytes_per_layer(s, 1, h, 32, 1, false, Recompute::none);
  const std::vector<MemoryBreakdown> st = memory_per_stage(m, l);
  ASSERT_EQ(st.size(), 4u);
  expect_rel(st[0].activations_bytes, 4 * (9 * per_layer + s * h));
  expect_rel(st[1].activations_bytes, 3 * 9 * per_layer);
  expect_rel(st[2].activations_bytes, 2 * 9 * per_layer);
  expect_rel(st[3].activations_bytes, 9 * per_layer + 4 * s * h + 4 * s * v);
  for (std::size_t i = 0; i < st.size(); ++i) EXPECT_EQ(st[i].stage, static_cast<std::int64_t>(i));
}

TEST(MemoryPerDevice, InterleavingScalesTheFirstStageByKorthikantisFactor) {
  const model::ModelSpec m = gpt(4096, 32, 32);
  Layout l = layout(1, 1, 4);
  l.recompute = Recompute::none;
  l.global_batch = 16;
  const double one_f_one_b = memory_per_stage(m, l)[0].activations_bytes;
  l.schedule.virtual_stages = 2;
  const double interleaved = memory_per_stage(m, l)[0].activations_bytes;
  expect_rel(interleaved / one_f_one_b, 1 + 3.0 / (4 * 2));  // 1 + (p-1)/(pV)
}

TEST(MemoryPerDevice, FullestStageIsTheMaximum) {
  for (const model::ModelSpec& m : {gpt(4096, 36, 32), mixtral(), switch_base()}) {
    Layout l = layout(2, 1, 4, m.is_moe() ? 2 : 1, 1);
    l.global_batch = 32;
    const auto stages = memory_per_stage(m, l);
    double best = 0;
    for (const auto& s : stages) best = std::max(best, s.per_device_bytes());
    EXPECT_DOUBLE_EQ(memory_per_device(m, l).per_device_bytes(), best) << m.name;
  }
}

TEST(MemoryPerDevice, ReplicatedKvHeadsAddWeights) {
  // Mixtral at t = 16 with 8 KV heads: every rank keeps one whole KV head (K and V,
  // d x (128 + 128)), i.e. 1/8 of the KV weights instead of 1/16.
  const model::ModelSpec m = mixtral();
  const model::ModelTotals tot = model::totals(m);
  double replicated = 0;
  for (const model::LayerCost& c : model::layer_costs(m))
    replicated += c.norm_params + c.router_params;
  const double kv_w = 4096.0 * 8 * 256;
  const double expected = tp_split_params(m) / 16 + replicated + 32 * (kv_w / 8 - kv_w / 16) +
                          tot.params_routed_experts / 16 + tot.params_final_norm;
  expect_rel(memory_per_device(m, layout(1, 16, 1)).weights_bytes, 2 * expected);
}

TEST(MemoryPerDevice, MlaDownProjectionsAreNotSplitByTp) {
  // DeepSeek-V3 at t = 8: W^DQ (d x 1536), W^DKV + W^KR (d x (512 + 64)) and the two latent
  // RMSNorms stay whole on every rank; everything else of the attention splits by t.
  const model::ModelSpec m = deepseek_v3();
  const model::ModelTotals tot = model::totals(m);
  double replicated = 0;
  for (const model::LayerCost& c : model::layer_costs(m))
    replicated += c.norm_params + c.router_params;
  const double whole = 7168.0 * (1536 + 512 + 64) + (1536 + 512);
  const double expected = tp_split_params(m) / 8 + replicated + 61 * whole * (1 - 1.0 / 8) +
                          tot.params_routed_experts / 8 + tot.params_final_norm;
  expect_rel(memory_per_device(m, layout(1, 8, 1)).weights_bytes, 2 * expected);
}

TEST(MemoryPerDevice, MoeBuffersOnlyForMoeModels) {
  EXPECT_EQ(memory_per_device(gpt(4096, 36, 32), layout(8, 1, 1)).moe_buffers_bytes, 0.0);
  EXPECT_GT(memory_per_device(mixtral(), layout(8, 1, 1, 8)).moe_buffers_bytes, 0.0);
}

TEST(MemoryPerDevice, Fp8AndSequenceParallelAtTpOneChangeNothing) {
  // Documented choices: fp8 keeps bf16 weights and activations in the accounting; SP at
  // t = 1 is a no-op (Megatron turns it off).
  const model::ModelSpec m = mixtral();
  Layout l = layout(8, 1, 1, 8, 1);
  const double base = memory_per_device(m, l).per_device_bytes();
  l.dtype = MatrixDtype::fp8;
  EXPECT_DOUBLE_EQ(memory_per_device(m, l).per_device_bytes(), base);
  l.sequence_parallel = true;
  EXPECT_DOUBLE_EQ(memory_per_device(m, l).per_device_bytes(), base);
}

TEST(MemoryPerDevice, ComponentsPositiveAndFinite) {
  struct Case {
    model::ModelSpec m;
    Layout l;
  };
  std::vector<Case> cases;
  for (const model::ModelSpec& m : {gpt(12288, 96, 96), mixtral(), deepseek_v3(), switch_base()}) {
    for (int zero = 0; zero <= 3; ++zero) {
      for (Recompute rc : {Recompute::none, Recompute::selective, Recompute::full}) {
        Layout l = layout(8, 4, 4, m.is_moe() ? 8 : 1, zero);
        l.recompute = rc;
        l.global_batch = 64;
        cases.push_back({m, l});
      }
    }
  }
  // Degenerate layouts (validate() rejects them) still give finite numbers.
  cases.push_back({mixtral(), layout(0, 0, 0, 0, 7)});
  for (const Case& c : cases) {
    for (const MemoryBreakdown& s : memory_per_stage(c.m, c.l)) {
      for (double v : {s.weights_bytes, s.gradients_bytes, s.optimizer_bytes, s.activations_bytes,
                       s.per_device_bytes()}) {
        EXPECT_TRUE(std::isfinite(v)) << c.m.name;
        EXPECT_GT(v, 0.0) << c.m.name << " stage " << s.stage;
      }
      EXPECT_TRUE(std::isfinite(s.moe_buffers_bytes));
      EXPECT_GE(s.moe_buffers_bytes, 0.0);
    }
  }
}

}  // namespace
}  // namespace moesim::sim
