// Per-layer parameters and FLOPs against closed forms written out by hand. Each test states
// the mathematics it checks; the published tables are in *_validation_test.cpp.
#include "model/workload.hpp"

#include <cmath>

#include <gtest/gtest.h>

#include "tests/model/test_specs.hpp"

namespace moesim::model {
namespace {

using testing::deepseek_v3;
using testing::gpt3_175b;
using testing::llama3_70b;
using testing::megatron;
using testing::mixtral_8x7b;
using testing::tiny_switch;

// Every count here is an integer below 2^53, so sums of doubles are exact: EXPECT_EQ holds
// wherever the formula is the same, and EXPECT_NEAR only bounds published approximations.

TEST(Params, MegatronBlockIs12hSquaredPlus13h) {
  // Narayanan et al. 2021 Eq. 2 per layer: QKV + output projection 4h^2 + 4h (biases),
  // FFN h x 4h and 4h x h with biases 8h^2 + 5h, two LayerNorms 4h: 12h^2 + 13h.
  const ModelSpec s = megatron(24, 2304, 24);
  const double h = 2304;
  const auto layers = layer_costs(s);
  ASSERT_EQ(layers.size(), 24u);
  const LayerCost& c = layers[0];
  EXPECT_EQ(c.kind, LayerKind::dense);
  EXPECT_EQ(c.attention_params, 4 * h * h + 4 * h);
  EXPECT_EQ(c.ffn_params, 8 * h * h + 5 * h);
  EXPECT_EQ(c.norm_params, 4 * h);
  EXPECT_EQ(c.params_total(), 12 * h * h + 13 * h);
  EXPECT_EQ(c.params_active(), c.params_total());
}

TEST(Params, NarayananEq2ExactForTheTenMegatronModels) {
  // P = 12 l h^2 + 13 l h + (V + s) h (Narayanan et al. 2021 Eq. 2). Eq. 2 leaves out the
  // final LayerNorm (2h) that the model holds; totals() counts it in params_final_norm, so
  // params_total - params_final_norm must equal Eq. 2 exactly (tolerance 0: all terms are
  // integers below 2^53).
  struct Row {
    std::int64_t h, l, heads;
  };
  for (const Row r : {Row{2304, 24, 24}, Row{3072, 30, 32}, Row{4096, 36, 32}, Row{6144, 40, 48},
                      Row{8192, 48, 64}, Row{10240, 60, 80}, Row{12288, 80, 96},
                      Row{16384, 96, 128}, Row{20480, 105, 128}, Row{25600, 128, 160}}) {
    const ModelSpec s = megatron(r.l, r.h, r.heads);
    const double h = static_cast<double>(r.h), l = static_cast<double>(r.l);
    const double eq2 = 12 * l * h * h + 13 * l * h + (51200.0 + 2048.0) * h;
    const ModelTotals t = totals(s);
    EXPECT_EQ(t.params_total - t.params_final_norm, eq2) << "h=" << r.h;
    EXPECT_EQ(t.params_final_norm, 2 * h);
    EXPECT_EQ(t.params_position_embedding, 2048 * h);
    EXPECT_EQ(t.params_input_embedding, 51200 * h);
    EXPECT_EQ(t.params_output_head, 0);  // tied
  }
}

TEST(Params, Llama3GroupedQueryAttentionAndUntiedHead) {
  // Q and O: d x 64*128 each; K and V: d x 8*128 each (GQA, Ainslie et al. 2023);
  // SwiGLU 3 d d_ff; two RMSNorms d; untied embedding and head 2 V d; final norm d.
  const ModelSpec s = llama3_70b();
  const double d = 8192, dff = 28672, V = 128256;
  const double attention = 2 * d * 64 * 128 + 2 * d * 8 * 128;
  const double block = attention + 3 * d * dff + 2 * d;
  const auto layers = layer_costs(s);
  EXPECT_EQ(layers[0].attention_params, attention);
  EXPECT_EQ(layers[0].ffn_params, 3 * d * dff);
  const ModelTotals t = totals(s);
  EXPECT_EQ(t.params_total, 80 * block + 2 * V * d + d);  // 70,553,706,496
  EXPECT_EQ(t.params_embedding, 2 * V * d);
  EXPECT_EQ(t.params_non_embedding, 80 * block + d);
  EXPECT_EQ(t.params_active, t.params_total);
  EXPECT_EQ(t.moe_layers, 0);
  EXPECT_EQ(t.dense_layers, 80);
  EXPECT_EQ(t.expansion_rate, 1);
}

TEST(Params, MlaBlockOfDeepSeekV3) {
  // DeepSeek-V2 (2405.04434) Sec. 2.1 with V3's sizes (2412.19437 Sec. 4.2), d = 7168,
  // H = 128, d_h = 128 (nope), d_h^R = 64, d_c = 512, d'_c = 1536, value head 128:
  //   W^DQ d x d'_c, q norm d'_c, W^UQ;W^QR d'_c x H (d_h + d_h^R),
  //   W^DKV;W^KR d x (d_c + d_h^R), kv norm d_c, W^UK;W^UV d_c x H (d_h + d_v), W^O H d_v x d.
  const ModelSpec s = deepseek_v3();
  const double d = 7168, H = 128;
  const double mla = d * 1536 + 1536 + 1536 * H * (128 + 64) + d * (512 + 64) + 512 +
                     512 * H * (128 + 128) + H * 128 * d;
  EXPECT_EQ(mla, 187107328.0);
  const auto layers = layer_costs(s);
  EXPECT_EQ(layers[0].attention_params, mla);
  EXPECT_EQ(layers[60].attention_params, mla);
}

TEST(Params, DeepSeekV3ExpertsSharedAndRouter) {
  // MoE layer: 256 routed + 1 shared SwiGLU expert of width 2048, router d x 256; the
  // first three layers have a dense SwiGLU FFN of width 18432.
  const ModelSpec s = deepseek_v3();
  const double d = 7168;
  const double expert = 3 * d * 2048;
  const auto layers = layer_costs(s);
  ASSERT_EQ(layers.size(), 61u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(layers[i].kind, LayerKind::dense);
    EXPECT_EQ(layers[i].ffn_params, 3 * d * 18432);
    EXPECT_EQ(layers[i].expert_params, 0);
  }
  const LayerCost& m = layers[3];
  EXPECT_EQ(m.kind, LayerKind::moe);
  EXPECT_EQ(m.ffn_params, 0);
  EXPECT_EQ(m.expert_params, 256 * expert);
  EXPECT_EQ(m.expert_params_active, 8 * expert);
  EXPECT_EQ(m.shared_expert_params, expert);
  EXPECT_EQ(m.router_params, d * 256);
  EXPECT_EQ(m.params_total() - m.params_active(), (256 - 8) * expert);
  const ModelTotals t = totals(s);
  EXPECT_EQ(t.moe_layers, 58);
  EXPECT_EQ(t.dense_layers, 3);
  EXPECT_EQ(t.params_routed_experts, 58 * 256 * expert);
  EXPECT_EQ(t.params_total - t.params_active, 58 * (256 - 8) * expert);
  EXPECT_DOUBLE_EQ(t.granularity, 9.0);
  EXPECT_DOUBLE_EQ(t.expansion_rate, 256.0 / 9.0);  // Krajewski: N_E / G
}

TEST(Params, EncoderDecoderStacksCrossAttentionAndTiedEmbedding) {
  // T5 (Raffel et al. 2020): `layers` blocks per stack, a decoder block adds cross-attention
  // (4 d^2 more) and a third norm; Switch layers every other block in both stacks; one
  // shared, tied embedding table V x d; one final RMSNorm per stack.
  const ModelSpec s = tiny_switch();
  const double d = 64, V = 100;
  const double attention = 4 * d * d;
  const double ffn = 2 * d * 256;
  const double moe = 8 * ffn + d * 8;
  const auto layers = layer_costs(s);
  ASSERT_EQ(layers.size(), 8u);
  for (int i = 0; i < 8; ++i) {
    const bool decoder = i >= 4;
    const bool expert_layer = i % 4 == 1 || i % 4 == 3;
    EXPECT_EQ(layers[i].decoder_cross_attention, decoder) << i;
    EXPECT_EQ(layers[i].kind, expert_layer ? LayerKind::moe : LayerKind::dense) << i;
    EXPECT_EQ(layers[i].attention_params, (decoder ? 2 : 1) * attention) << i;
    EXPECT_EQ(layers[i].norm_params, (decoder ? 3 : 2) * d) << i;
  }
  const double encoder = 4 * attention + 4 * 2 * d + 2 * ffn + 2 * moe;
  const double decoder = 4 * 2 * attention + 4 * 3 * d + 2 * ffn + 2 * moe;
  const ModelTotals t = totals(s);
  EXPECT_EQ(t.params_total, encoder + decoder + V * d + 2 * d);
  EXPECT_EQ(t.params_embedding, V * d);
  EXPECT_EQ(t.params_final_norm, 2 * d);
  EXPECT_EQ(t.moe_layers, 4);
  EXPECT_EQ(t.dense_layers, 4);
  EXPECT_EQ(t.params_total - t.params_active, 4 * 7 * ffn);  // top-1 of 8
  // Untied output head: one more V x d.
  ModelSpec untied = s;
  untied.tied_embeddings = false;
  EXPECT_EQ(totals(untied).params_total, t.params_total + V * d);
  // Learned positions in an encoder-decoder: one s x d table per stack.
  ModelSpec learned = s;
  learned.position_embedding = PositionEmbedding::learned;
  EXPECT_EQ(totals(learned).params_position_embedding, 2 * 32 * d);
}

TEST(Params, BiasesOfGatedFfnAndExperts) {
  // A gated FFN with biases: 3 d d_ff weights, 2 d_ff + d biases (gate, up, down).
  ModelSpec s = mixtral_8x7b();
  s.bias = true;
  const double d = 4096, dff = 14336;
  const auto layers = layer_costs(s);
  EXPECT_EQ(layers[0].expert_params, 8 * (3 * d * dff + 2 * dff + d));
  // Attention biases: q (H d_h), k and v (G d_h each), output (d).
  EXPECT_EQ(layers[0].attention_params, 2 * d * 4096 + 2 * d * 1024 + (4096 + 2 * 1024 + d));
  // A router has no bias (Fedus et al. 2021 Eq. 1).
  EXPECT_EQ(layers[0].router_params, d * 8);
}

TEST(Params, HashRouterLearnsNothing) {
  // Hash layers (Roller et al. 2021) route by a fixed hash of the token: no router weights.
  ModelSpec s = mixtral_8x7b();
  s.moe.router = RouterKind::hash;
  const auto layers = layer_costs(s);
  EXPECT_EQ(layers[0].router_params, 0);
  EXPECT_EQ(layers[0].router_flops_forward, 0);
}

TEST(Params, LayerNormHasABias) {
  ModelSpec s = llama3_70b();
  const double d = 8192;
  EXPECT_EQ(layer_costs(s)[0].norm_params, 2 * d);
  s.norm = Norm::layernorm;
  EXPECT_EQ(layer_costs(s)[0].norm_params, 4 * d);
  EXPECT_EQ(totals(s).params_final_norm, 2 * d);
}

TEST(Flops, TrainingAndRecomputeMultiples) {
  // Training = 3 x forward (backward = 2 x forward); full recompute runs every block's
  // forward once more (not the head: Narayanan Eq. 3); selective re-runs the scores only.
  for (const ModelSpec& s :
       {gpt3_175b(), llama3_70b(), mixtral_8x7b(), deepseek_v3(), tiny_switch()}) {
    const ModelTotals t = totals(s);
    double blocks = 0, scores = 0;
    for (const LayerCost& c : layer_costs(s)) {
      blocks += c.flops_forward();
      scores += c.attention_score_flops_forward;
    }
    EXPECT_DOUBLE_EQ(t.flops_per_token_forward, blocks + head_flops_forward(s)) << s.name;
    EXPECT_DOUBLE_EQ(t.flops_per_token, 3 * t.flops_per_token_forward) << s.name;
    EXPECT_DOUBLE_EQ(t.flops_per_token_recompute_full, t.flops_per_token + blocks) << s.name;
    EXPECT_DOUBLE_EQ(t.flops_per_token_recompute_selective, t.flops_per_token + scores) << s.name;
  }
}

TEST(Flops, HeadIs2dV) {
  // Chinchilla App. F: logits 2 s d V per sequence.
  EXPECT_EQ(head_flops_forward(llama3_70b()), 2.0 * 8192 * 128256);
}

// N for PaLM's 6N: every parameter a token multiplies, i.e. all but the lookup tables
// (input embedding, learned positions), plus the output head (the tied table, or its own).
double matmul_params(const ModelSpec& s, const ModelTotals& t) {
  return t.params_non_embedding + static_cast<double>(s.vocab) * static_cast<double>(s.d_model);
}

TEST(Flops, DenseTrainingMatchesPalm6NPlus12LHQT) {
  // PaLM (Chowdhery et al. 2022) App. B: training FLOPs per token 6N + 12 L H Q T. Within
  // 1%: moesim leaves out the biases and norms that N holds (2 FLOPs per multiply-add of a
  // weight matrix only), 13/(12h) of the block parameters.
  for (const ModelSpec& s :
       {gpt3_175b(), llama3_70b(), megatron(24, 2304, 24), megatron(128, 25600, 160)}) {
    const ModelTotals t = totals(s);
    const double L = static_cast<double>(s.layers), H = static_cast<double>(s.attention.heads),
                 Q = static_cast<double>(s.head_dim()), T = static_cast<double>(s.seq_len);
    const double palm = 6 * matmul_params(s, t) + 12 * L * H * Q * T;
    EXPECT_NEAR(t.flops_per_token / palm, 1.0, 0.01) << s.name;
  }
}

TEST(Flops, FullRecomputeMatchesNarayananEq3) {
  // Narayanan et al. 2021 Eq. 3 per iteration: F = 96 B s l h^2 (1 + s/(6h) + V/(16 l h));
  // per token F / (B s). Both count GEMMs only (the head 3x), so they agree to rounding;
  // the bound required is 1%.
  for (const ModelSpec& s :
       {megatron(24, 2304, 24), megatron(80, 12288, 96), megatron(128, 25600, 160), gpt3_175b()}) {
    const double l = static_cast<double>(s.layers), h = static_cast<double>(s.d_model),
                 sl = static_cast<double>(s.seq_len), V = static_cast<double>(s.vocab);
    const double eq3 = 96 * l * h * h * (1 + sl / (6 * h) + V / (16 * l * h));
    const ModelTotals t = totals(s);
    EXPECT_NEAR(t.flops_per_token_recompute_full / eq3, 1.0, 1e-12) << s.name;
  }
}

TEST(Flops, Mixtral8x7bHandCount) {
  // Per token, per layer (d 4096, 32 query heads and 8 KV heads of 128, s 4096):
  //   projections 2 (d*4096 + 2 d*1024 + 4096*d), scores 2*2 s*32*128,
  //   router 2 d*8, two SwiGLU experts 2 * 2 * 3 d*14336; head 2 d V.
  const double d = 4096, s = 4096, V = 32000;
  const double projections = 2 * (d * 4096 + 2 * d * 1024 + 4096 * d);
  const double scores = 2 * 2 * s * 32 * 128;
  const double router = 2 * d * 8;
  const double experts = 2 * 2 * 3 * d * 14336;
  const double forward = 32 * (projections + scores + router + experts) + 2 * d * V;
  const ModelTotals t = totals(mixtral_8x7b());
  EXPECT_EQ(t.flops_per_token_forward, forward);  // 27,644,657,664
  EXPECT_EQ(t.flops_per_token, 3 * forward);
  const LayerCost c = layer_costs(mixtral_8x7b())[0];
  EXPECT_EQ(c.attention_flops_forward, projections);
  EXPECT_EQ(c.attention_score_flops_forward, scores);
  EXPECT_EQ(c.router_flops_forward, router);
  EXPECT_EQ(c.ffn_flops_forward, experts);
  EXPECT_DOUBLE_EQ(c.expert_tokens_per_token, 2.0 / 8.0);
}

TEST(Flops, DeepSeekV3HandCount) {
  // MLA projections 2 x (the five weight matrices), scores over s = 4096 with query/key
  // heads of 192 and value heads of 128: 2 s H (192 + 128); layers 0-2 dense SwiGLU 18432;
  // layers 3-60: router 2 d 256, 8 routed + 1 shared SwiGLU experts of 2048; head 2 d V.
  const double d = 7168, s = 4096, H = 128, V = 129280;
  const double projections =
      2 * (d * 1536 + 1536 * H * 192 + d * (512 + 64) + 512 * H * (128 + 128) + H * 128 * d);
  const double scores = 2 * s * H * (192 + 128);
  const double dense_ffn = 2 * 3 * d * 18432;
  const double router = 2 * d * 256;
  const double experts = (8 + 1) * 2 * 3 * d * 2048;
  const double forward = 3 * (projections + scores + dense_ffn) +
                         58 * (projections + scores + router + experts) + 2 * d * V;
  const ModelTotals t = totals(deepseek_v3());
  EXPECT_EQ(t.flops_per_token_forward, forward);
  EXPECT_EQ(t.flops_per_token, 3 * forward);
  const auto layers = layer_costs(deepseek_v3());
  EXPECT_EQ(layers[2].ffn_flops_forward, dense_ffn);
  EXPECT_EQ(layers[2].router_flops_forward, 0);
  EXPECT_EQ(layers[3].ffn_flops_forward, experts);
  EXPECT_EQ(layers[3].router_flops_forward, router);
  EXPECT_DOUBLE_EQ(layers[3].expert_tokens_per_token, 8.0 / 256.0);
  EXPECT_EQ(layers[0].expert_tokens_per_token, 0);
}

TEST(Flops, CapacityPaddingScalesRoutedExpertsOnly) {
  // With a capacity factor every expert GEMM is padded to C = CF k T / E rows (Fedus et al.
  // 2021 Eq. 3-4): routed expert FLOPs x CF; shared experts and the router are unpadded.
  ModelSpec s = deepseek_v3();
  const double d = 7168;
  const double expert = 2 * 3 * d * 2048;
  s.moe.capacity_factor = 1.25;
  const LayerCost c = layer_costs(s)[3];
  EXPECT_EQ(c.ffn_flops_forward, 8 * 1.25 * expert + expert);
  EXPECT_EQ(c.router_flops_forward, 2 * d * 256);
  EXPECT_DOUBLE_EQ(c.expert_tokens_per_token, 8.0 / 256.0 * 1.25);
  // Parameters do not depend on padding.
  EXPECT_EQ(totals(s).params_active, totals(deepseek_v3()).params_active);
  // Dropless (null) is the same as CF 1.
  ModelSpec one = deepseek_v3();
  one.moe.capacity_factor = 1.0;
  EXPECT_EQ(totals(one).flops_per_token, totals(deepseek_v3()).flops_per_token);
}

TEST(Flops, DecoderCrossAttentionDoublesAttention) {
  // A decoder block runs self- and cross-attention of the same shape: twice the projection
  // and score FLOPs of an encoder block (one encoder token per decoder token).
  const auto layers = layer_costs(tiny_switch());
  EXPECT_EQ(layers[4].attention_flops_forward, 2 * layers[0].attention_flops_forward);
  EXPECT_EQ(layers[4].attention_score_flops_forward, 2 * layers[0].attention_score_flops_forward);
  EXPECT_EQ(layers[0].attention_flops_forward, 2 * 4 * 64.0 * 64.0);
  EXPECT_EQ(layers[0].attention_score_flops_forward, 2 * 2 * 32.0 * 4 * 16);
  // Switch layer, top-1 of 8, CF 1.25: 1.25 x one ReLU expert; router 2 d E.
  EXPECT_EQ(layers[1].ffn_flops_forward, 1.25 * 2 * 2 * 64.0 * 256);
  EXPECT_EQ(layers[1].router_flops_forward, 2 * 64.0 * 8);
}

TEST(Flops, ScoresGrowLinearlyWithSequenceLength) {
  ModelSpec s = llama3_70b();
  const double at_8k = layer_costs(s)[0].attention_score_flops_forward;
  s.seq_len *= 4;
  EXPECT_EQ(layer_costs(s)[0].attention_score_flops_forward, 4 * at_8k);
}

TEST(Totals, EmptySpecIsFiniteZero) {
  // No NaN or inf, whatever the spec (validate() rejects it separately).
  const ModelTotals t = totals(ModelSpec{});
  for (double v : {t.params_total, t.params_active, t.flops_per_token, t.granularity,
                   t.expansion_rate, t.flops_per_token_recompute_full}) {
    EXPECT_TRUE(std::isfinite(v));
  }
  EXPECT_EQ(t.params_total, 0);
  ModelSpec broken = mixtral_8x7b();
  broken.ffn.d_ff = 0;
  broken.moe.d_ff_expert = 0;
  EXPECT_TRUE(std::isfinite(totals(broken).expansion_rate));
  EXPECT_TRUE(std::isfinite(totals(broken).granularity));
}

}  // namespace
}  // namespace moesim::model
