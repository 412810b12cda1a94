// ModelSpec: the MoE placement rule, the derived sizes and validate().
#include "model/spec.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/model/test_specs.hpp"

namespace moesim::model {
namespace {

using testing::deepseek_v3;
using testing::llama3_70b;
using testing::mixtral_8x7b;

std::vector<std::int64_t> moe_layer_indices(const ModelSpec& s) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < s.layers; ++i) {
    if (s.is_moe_layer(i)) out.push_back(i);
  }
  return out;
}

// The rule for the error at `path`, or "" when validate() reports none there.
std::string rule_at(const FieldErrors& errors, const std::string& path) {
  for (const FieldError& e : errors) {
    if (e.path == path) return e.rule;
  }
  return "";
}

TEST(IsMoeLayer, EveryLayerWhenEveryIsOne) {
  ModelSpec s = mixtral_8x7b();
  EXPECT_EQ(moe_layer_indices(s).size(), 32u);
  EXPECT_EQ(s.moe_layers_per_stack(), 32);
}

TEST(IsMoeLayer, EverySecondLayerIsOddLayers) {
  // every = 2: layers 1, 3, 5, ... (0-based), the second of each pair (Switch, GShard).
  ModelSpec s = mixtral_8x7b();
  s.layers = 8;
  s.moe.every = 2;
  EXPECT_EQ(moe_layer_indices(s), (std::vector<std::int64_t>{1, 3, 5, 7}));
}

TEST(IsMoeLayer, EveryFourthLayer) {
  ModelSpec s = mixtral_8x7b();
  s.layers = 10;
  s.moe.every = 4;
  EXPECT_EQ(moe_layer_indices(s), (std::vector<std::int64_t>{3, 7}));
}

TEST(IsMoeLayer, LeadingDenseLayersThenEveryLayer) {
  // DeepSeek-V3: the first three layers keep a dense FFN, the other 58 hold experts.
  ModelSpec s = deepseek_v3();
  EXPECT_FALSE(s.is_moe_layer(0));
  EXPECT_FALSE(s.is_moe_layer(2));
  EXPECT_TRUE(s.is_moe_layer(3));
  EXPECT_TRUE(s.is_moe_layer(60));
  EXPECT_EQ(s.moe_layers_per_stack(), 58);
}

TEST(IsMoeLayer, LeadingDenseLayersThenEverySecond) {
  // The count restarts after the dense prefix: first_dense 1, every 2 gives 2, 4, 6.
  ModelSpec s = mixtral_8x7b();
  s.layers = 7;
  s.moe.first_dense_layers = 1;
  s.moe.every = 2;
  EXPECT_EQ(moe_layer_indices(s), (std::vector<std::int64_t>{2, 4, 6}));
}

TEST(IsMoeLayer, DenseModelAndOutOfRange) {
  ModelSpec dense = llama3_70b();
  EXPECT_TRUE(moe_layer_indices(dense).empty());
  ModelSpec s = mixtral_8x7b();
  EXPECT_FALSE(s.is_moe_layer(-1));
  EXPECT_FALSE(s.is_moe_layer(32));
  s.moe.every = 0;  // invalid, but must not divide by zero
  EXPECT_FALSE(s.is_moe_layer(3));
}

TEST(DerivedSizes, Granularity) {
  // Krajewski et al. 2024: G = d_ff / d_expert.
  EXPECT_DOUBLE_EQ(deepseek_v3().granularity(), 18432.0 / 2048.0);
  EXPECT_DOUBLE_EQ(mixtral_8x7b().granularity(), 1.0);
  EXPECT_DOUBLE_EQ(llama3_70b().granularity(), 1.0);
  ModelSpec s = mixtral_8x7b();
  s.moe.d_ff_expert = 0;  // 0 means the dense width
  EXPECT_EQ(s.expert_d_ff(), 14336);
  EXPECT_DOUBLE_EQ(s.granularity(), 1.0);
  s.moe.d_ff_expert = 14336 / 4;
  EXPECT_DOUBLE_EQ(s.granularity(), 4.0);
}

TEST(DerivedSizes, HeadsAndHeadDims) {
  ModelSpec s = llama3_70b();
  EXPECT_EQ(s.kv_heads(), 8);
  EXPECT_EQ(s.head_dim(), 128);
  EXPECT_EQ(s.qk_head_dim(), 128);
  EXPECT_EQ(s.v_head_dim(), 128);
  s.attention.type = AttentionType::mha;
  s.attention.kv_heads = 0;
  EXPECT_EQ(s.kv_heads(), 64);
  s.attention.type = AttentionType::mqa;
  EXPECT_EQ(s.kv_heads(), 1);
  s.attention.head_dim = 0;  // 0 means d_model / heads
  EXPECT_EQ(s.head_dim(), 8192 / 64);
  // MLA (DeepSeek-V2 Sec. 2.1.3): query/key heads are [nope 128 ; rope 64], values 128.
  ModelSpec m = deepseek_v3();
  EXPECT_EQ(m.qk_head_dim(), 192);
  EXPECT_EQ(m.v_head_dim(), 128);
  EXPECT_EQ(m.kv_heads(), 128);
}

TEST(DerivedSizes, Stacks) {
  ModelSpec s = testing::tiny_switch();
  EXPECT_EQ(s.stacks(), 2);
  EXPECT_EQ(s.total_layers(), 8);
  EXPECT_EQ(mixtral_8x7b().stacks(), 1);
}

TEST(Validate, PublishedArchitecturesAreValid) {
  for (const ModelSpec& s : {testing::megatron(24, 2304, 24), testing::gpt3_175b(), llama3_70b(),
                             mixtral_8x7b(), deepseek_v3(), testing::tiny_switch()}) {
    const FieldErrors errors = validate(s);
    EXPECT_TRUE(errors.empty()) << s.name << ": " << errors.front().path << ": "
                                << errors.front().rule;
  }
}

TEST(Validate, TopKExceedsExperts) {
  // CLI.md's example message: "moe.top_k: 4 exceeds moe.experts (2)".
  ModelSpec s = mixtral_8x7b();
  s.moe.experts = 2;
  s.moe.top_k = 4;
  const FieldErrors errors = validate(s);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "moe.top_k");
  EXPECT_EQ(errors[0].rule, "4 exceeds moe.experts (2)");
}

TEST(Validate, ReportsEveryBrokenRule) {
  ModelSpec s = mixtral_8x7b();
  s.layers = 0;
  s.d_model = -1;
  s.vocab = 0;
  s.seq_len = 0;
  s.attention.heads = 0;
  s.ffn.d_ff = 0;
  s.moe.top_k = 0;
  s.moe.every = 0;
  s.moe.shared_experts = -1;
  s.moe.d_ff_expert = -5;
  const FieldErrors errors = validate(s);
  EXPECT_EQ(rule_at(errors, "layers"), "0 must be positive");
  EXPECT_EQ(rule_at(errors, "d_model"), "-1 must be positive");
  EXPECT_EQ(rule_at(errors, "vocab"), "0 must be positive");
  EXPECT_EQ(rule_at(errors, "seq_len"), "0 must be positive");
  EXPECT_EQ(rule_at(errors, "attention.heads"), "0 must be positive");
  EXPECT_EQ(rule_at(errors, "ffn.d_ff"), "0 must be positive");
  EXPECT_EQ(rule_at(errors, "moe.top_k"), "0 must be positive");
  EXPECT_EQ(rule_at(errors, "moe.every"), "0 must be positive");
  EXPECT_EQ(rule_at(errors, "moe.shared_experts"), "-1 must not be negative");
  EXPECT_EQ(rule_at(errors, "moe.d_ff_expert"), "-5 must not be negative");
  // kv_heads (8) against heads (0) is not reported twice: only the heads error stands.
  EXPECT_EQ(rule_at(errors, "attention.kv_heads"), "");
  EXPECT_EQ(errors.size(), 10u);
}

TEST(Validate, KvHeadsMustDivideHeads) {
  ModelSpec s = llama3_70b();
  s.attention.kv_heads = 12;
  EXPECT_EQ(rule_at(validate(s), "attention.kv_heads"), "12 does not divide attention.heads (64)");
  s.attention.kv_heads = 0;
  EXPECT_EQ(rule_at(validate(s), "attention.kv_heads"), "0 must be positive for gqa");
  s.attention.type = AttentionType::mha;
  s.attention.kv_heads = 8;
  EXPECT_EQ(rule_at(validate(s), "attention.kv_heads"),
            "8 must equal attention.heads (64) for mha; use gqa");
  s.attention.kv_heads = 64;
  EXPECT_TRUE(validate(s).empty());
  s.attention.type = AttentionType::mqa;
  s.attention.kv_heads = 2;
  EXPECT_EQ(rule_at(validate(s), "attention.kv_heads"), "2 must be 1 for mqa");
  s.attention.kv_heads = 1;
  EXPECT_TRUE(validate(s).empty());
}

TEST(Validate, HeadDimDefaultNeedsDivisibleDModel) {
  ModelSpec s = llama3_70b();
  s.attention.head_dim = 0;
  EXPECT_TRUE(validate(s).empty());
  s.d_model = 8100;  // 8100 / 64 is not whole
  EXPECT_EQ(rule_at(validate(s), "attention.head_dim"),
            "0 (d_model / heads) needs attention.heads (64) to divide d_model (8100)");
  s.attention.head_dim = -1;
  EXPECT_EQ(rule_at(validate(s), "attention.head_dim"), "-1 must not be negative");
}

TEST(Validate, MlaFieldsRequired) {
  ModelSpec s = deepseek_v3();
  s.attention.kv_lora_rank = 0;
  s.attention.rope_head_dim = 0;
  s.attention.v_head_dim = 0;
  s.attention.q_lora_rank = -1;
  const FieldErrors errors = validate(s);
  EXPECT_EQ(rule_at(errors, "attention.kv_lora_rank"), "0 must be positive");
  EXPECT_EQ(rule_at(errors, "attention.rope_head_dim"), "0 must be positive");
  EXPECT_EQ(rule_at(errors, "attention.v_head_dim"), "0 must be positive");
  EXPECT_EQ(rule_at(errors, "attention.q_lora_rank"), "-1 must not be negative");
  EXPECT_EQ(errors.size(), 4u);
  // No query latent (DeepSeek-V2-Lite) is valid.
  s = deepseek_v3();
  s.attention.q_lora_rank = 0;
  EXPECT_TRUE(validate(s).empty());
  // MLA fields are ignored, not rejected, for the other attention types.
  s.attention.type = AttentionType::mha;
  EXPECT_TRUE(validate(s).empty());
}

TEST(Validate, CapacityFactor) {
  ModelSpec s = mixtral_8x7b();
  s.moe.capacity_factor = 1.25;
  EXPECT_TRUE(validate(s).empty());
  s.moe.capacity_factor = 0.0;
  EXPECT_EQ(rule_at(validate(s), "moe.capacity_factor"), "0 must be positive (null = dropless)");
  s.moe.capacity_factor = -1.0;
  EXPECT_EQ(rule_at(validate(s), "moe.capacity_factor"), "-1 must be positive (null = dropless)");
  s.moe.capacity_factor = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(rule_at(validate(s), "moe.capacity_factor").empty());
  s.moe.capacity_factor = std::nullopt;
  EXPECT_TRUE(validate(s).empty());
}

TEST(Validate, LayerPlacement) {
  ModelSpec s = deepseek_v3();
  s.moe.first_dense_layers = 61;
  EXPECT_EQ(rule_at(validate(s), "moe.first_dense_layers"), "61 must be less than layers (61)");
  s.moe.first_dense_layers = -1;
  EXPECT_EQ(rule_at(validate(s), "moe.first_dense_layers"), "-1 must not be negative");
  s.moe.first_dense_layers = 58;
  s.moe.every = 4;  // layers 58, 59, 60 left: no fourth layer among them
  EXPECT_EQ(rule_at(validate(s), "moe.every"),
            "4 leaves no expert layer among 3 layers after moe.first_dense_layers");
  s.moe.every = 3;  // layer 60
  EXPECT_TRUE(validate(s).empty());
}

TEST(Validate, ExpertsAndTopK) {
  ModelSpec s = mixtral_8x7b();
  s.moe.experts = 0;
  EXPECT_EQ(rule_at(validate(s), "moe.experts"), "0 must be positive");
  // A dense model keeps experts = 1 and top_k = 1.
  ModelSpec d = llama3_70b();
  d.moe.top_k = 2;
  EXPECT_EQ(rule_at(validate(d), "moe.top_k"), "2 exceeds moe.experts (1)");
}

TEST(ToString, NamesAsInTheModelFile) {
  EXPECT_STREQ(to_string(AttentionType::mha), "mha");
  EXPECT_STREQ(to_string(AttentionType::gqa), "gqa");
  EXPECT_STREQ(to_string(AttentionType::mqa), "mqa");
  EXPECT_STREQ(to_string(AttentionType::mla), "mla");
  EXPECT_STREQ(to_string(Activation::relu), "relu");
  EXPECT_STREQ(to_string(Activation::gelu), "gelu");
  EXPECT_STREQ(to_string(Activation::swiglu), "swiglu");
  EXPECT_STREQ(to_string(Activation::geglu), "geglu");
  EXPECT_STREQ(to_string(RouterKind::topk), "topk");
  EXPECT_STREQ(to_string(RouterKind::switch_router), "switch");
  EXPECT_STREQ(to_string(RouterKind::expert_choice), "expert_choice");
  EXPECT_STREQ(to_string(RouterKind::hash), "hash");
  EXPECT_STREQ(to_string(RouterKind::base), "base");
  EXPECT_STREQ(to_string(PositionEmbedding::none), "none");
  EXPECT_STREQ(to_string(PositionEmbedding::learned), "learned");
  EXPECT_STREQ(to_string(PositionEmbedding::rope), "rope");
  EXPECT_STREQ(to_string(Norm::layernorm), "layernorm");
  EXPECT_STREQ(to_string(Norm::rmsnorm), "rmsnorm");
}

}  // namespace
}  // namespace moesim::model
