// Layout validation: every rule of sim::validate, each with the flag it names and its message.
#include <gtest/gtest.h>

#include <string>

#include "model/spec.hpp"
#include "sim/layout.hpp"

namespace moesim::sim {
namespace {

// Mixtral 8x7B (Jiang et al. 2024): 32 layers, 32 heads with 8 KV heads, 8 experts top-2.
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

// A dense GPT-style model: 24 layers, 16 heads.
model::ModelSpec dense() {
  model::ModelSpec m;
  m.name = "dense";
  m.layers = 24;
  m.d_model = 2048;
  m.vocab = 51200;
  m.seq_len = 2048;
  m.attention = {model::AttentionType::mha, 16, 0, 0, 0, 0, 0, 0};
  m.ffn = {8192, model::Activation::gelu};
  return m;
}

Layout layout(std::int64_t dp, std::int64_t tp, std::int64_t pp, std::int64_t ep = 1) {
  Layout l;
  l.dp = dp;
  l.tp = tp;
  l.pp = pp;
  l.ep = ep;
  return l;
}

// The single error a layout breaks; fails the test (listing them) unless there is one.
FieldError the_error(const Layout& l, const model::ModelSpec& spec, std::int64_t devices) {
  const FieldErrors errors = validate(l, spec, devices);
  if (errors.size() != 1) {
    std::string all;
    for (const FieldError& e : errors) all += e.path + ": " + e.rule + "\n";
    ADD_FAILURE() << "expected one error, got " << errors.size() << "\n" << all;
  }
  return errors.empty() ? FieldError{} : errors.front();
}

TEST(LayoutValidate, AcceptsAValidMoeLayout) {
  // 8 x 2 x 4 = 64 devices, ep = 8 divides dp = 8 and the 8 experts.
  Layout l = layout(8, 2, 4, 8);
  l.global_batch = 256;
  EXPECT_TRUE(validate(l, mixtral(), 64).empty());
}

TEST(LayoutValidate, EverySizeAtLeastOne) {
  struct Case {
    Layout l;
    std::string path, rule;
  };
  Layout dp0 = layout(0, 1, 1);
  Layout tp0 = layout(1, -1, 1);
  Layout pp0 = layout(1, 1, 0);
  Layout ep0 = layout(1, 1, 1, 0);
  Layout mb0 = layout(1, 1, 1);
  mb0.micro_batch = 0;
  Layout gb = layout(1, 1, 1);
  gb.global_batch = -4;
  Layout v0 = layout(1, 1, 1);
  v0.schedule.virtual_stages = 0;
  const Case cases[] = {
      {dp0, "--dp", "dp=0 must be at least 1"},
      {tp0, "--tp", "tp=-1 must be at least 1"},
      {pp0, "--pp", "pp=0 must be at least 1"},
      {ep0, "--ep", "ep=0 must be at least 1"},
      {mb0, "--micro-batch", "micro_batch=0 must be at least 1"},
      {gb, "--global-batch", "global batch -4 must be at least 1 (or unset)"},
      {v0, "--pp-schedule", "virtual stages V=0 must be at least 1"},
  };
  for (const Case& c : cases) {
    const FieldError e = the_error(c.l, mixtral(), 0);
    EXPECT_EQ(e.path, c.path);
    EXPECT_EQ(e.rule, c.rule);
  }
}

TEST(LayoutValidate, DevicesMustEqualDpTimesTpTimesPp) {
  const FieldError e = the_error(layout(6, 4, 2), mixtral(), 64);
  EXPECT_EQ(e.path, "--dp");
  EXPECT_EQ(e.rule, "dp*tp*pp = 48 but the cluster has 64 devices");
}

TEST(LayoutValidate, DeviceCountUncheckedWithoutACluster) {
  EXPECT_TRUE(validate(layout(6, 4, 2), mixtral(), 0).empty());
}

TEST(LayoutValidate, EpMustDivideDp) {
  const FieldError e = the_error(layout(12, 1, 1, 8), mixtral(), 12);
  EXPECT_EQ(e.path, "--ep");
  EXPECT_EQ(e.rule, "ep=8 does not divide dp=12");
}

TEST(LayoutValidate, ExpertsMustSplitEvenlyOverEp) {
  model::ModelSpec m = mixtral();
  m.moe.experts = 60;
  const FieldError e = the_error(layout(16, 1, 1, 16), m, 16);
  EXPECT_EQ(e.path, "--ep");
  EXPECT_EQ(e.rule, "moe.experts (60) is not divisible by ep=16");
  // ep larger than the expert count cannot divide it either.
  const FieldError big = the_error(layout(16, 1, 1, 16), mixtral(), 16);
  EXPECT_EQ(big.rule, "moe.experts (8) is not divisible by ep=16");
}

TEST(LayoutValidate, ExpertParallelismNeedsAnMoeModel) {
  const FieldError e = the_error(layout(4, 1, 1, 2), dense(), 4);
  EXPECT_EQ(e.path, "--ep");
  EXPECT_EQ(e.rule, "ep=2 needs an MoE model (moe.experts is 1)");
}

TEST(LayoutValidate, HeadsMustSplitOverTp) {
  // 16 heads, tp = 3 (MHA: the KV heads are the heads, one rule).
  const FieldError e = the_error(layout(1, 3, 1), dense(), 3);
  EXPECT_EQ(e.path, "--tp");
  EXPECT_EQ(e.rule, "attention.heads (16) is not divisible by tp=3");
}

TEST(LayoutValidate, KvHeadsSplitOrReplicate) {
  model::ModelSpec m = mixtral();  // 32 heads, 8 KV heads
  // tp = 16 > kv = 8: each KV head replicated on 2 ranks, allowed.
  EXPECT_TRUE(validate(layout(1, 16, 1), m, 16).empty());
  // kv = 6 (48 heads) and tp = 4: 6 % 4 != 0 and 4 % 6 != 0.
  m.attention.heads = 48;
  m.attention.kv_heads = 6;
  const FieldError e = the_error(layout(1, 4, 1), m, 4);
  EXPECT_EQ(e.path, "--tp");
  EXPECT_EQ(e.rule,
            "attention.kv_heads (6) is neither divisible by tp=4 nor a divisor of it (to "
            "replicate KV heads)");
  // MQA: one KV head, replicated on every rank.
  model::ModelSpec mqa = dense();
  mqa.attention.type = model::AttentionType::mqa;
  EXPECT_TRUE(validate(layout(1, 8, 1), mqa, 8).empty());
  // MLA has no KV heads to split.
  model::ModelSpec mla = dense();
  mla.attention = {model::AttentionType::mla, 16, 0, 128, 512, 256, 64, 128};
  EXPECT_TRUE(validate(layout(1, 16, 1), mla, 16).empty());
}

TEST(LayoutValidate, PipelineStagesNeedLayers) {
  const FieldError e = the_error(layout(1, 1, 64), mixtral(), 64);
  EXPECT_EQ(e.path, "--pp");
  EXPECT_EQ(e.rule, "pp=64 exceeds the model's 32 layers");
  // Uneven 1F1B splits are allowed: 30 layers over 4 stages.
  model::ModelSpec m = dense();
  m.layers = 30;
  EXPECT_TRUE(validate(layout(1, 1, 4), m, 4).empty());
  // An encoder-decoder has 2 x layers blocks to split.
  m.layers = 12;
  m.encoder_decoder = true;
  EXPECT_TRUE(validate(layout(1, 1, 24), m, 24).empty());
}

TEST(LayoutValidate, InterleavedScheduleNeedsEqualChunks) {
  Layout l = layout(1, 1, 4);
  l.schedule.virtual_stages = 2;  // 32 layers = 4 stages x 2 chunks x 4 layers
  EXPECT_TRUE(validate(l, mixtral(), 4).empty());
  l.schedule.virtual_stages = 3;
  const FieldError e = the_error(l, mixtral(), 4);
  EXPECT_EQ(e.path, "--pp-schedule");
  EXPECT_EQ(e.rule, "interleaved:3 needs the layers (32) divisible by pp*V = 12");
  Layout one = layout(1, 1, 1);
  one.schedule.virtual_stages = 2;
  const FieldError p1 = the_error(one, mixtral(), 1);
  EXPECT_EQ(p1.path, "--pp-schedule");
  EXPECT_EQ(p1.rule, "interleaved:2 needs pp > 1 (pp=1)");
}

TEST(LayoutValidate, GlobalBatchSplitsOverDpAndMicroBatches) {
  Layout l = layout(8, 1, 1);
  l.micro_batch = 2;
  l.global_batch = 100;
  const FieldError e = the_error(l, dense(), 8);
  EXPECT_EQ(e.path, "--global-batch");
  EXPECT_EQ(e.rule, "global batch 100 is not divisible by dp*micro_batch = 16");
  l.global_batch = 0;  // unset: dp * micro_batch
  EXPECT_TRUE(validate(l, dense(), 8).empty());
  l.global_batch = 160;
  EXPECT_TRUE(validate(l, dense(), 8).empty());
}

TEST(LayoutValidate, ZeroStageInRange) {
  for (int z : {-1, 4}) {
    Layout l = layout(1, 1, 1);
    l.zero = z;
    const FieldError e = the_error(l, dense(), 1);
    EXPECT_EQ(e.path, "--zero");
    EXPECT_EQ(e.rule, "ZeRO stage " + std::to_string(z) + " is not one of 0, 1, 2, 3");
  }
  for (int z = 0; z <= 3; ++z) {
    Layout l = layout(1, 1, 1);
    l.zero = z;
    EXPECT_TRUE(validate(l, dense(), 1).empty());
  }
}

TEST(LayoutValidate, SequenceParallelAtTpOneIsAllowed) {
  Layout l = layout(1, 1, 1);
  l.sequence_parallel = true;
  EXPECT_TRUE(validate(l, dense(), 1).empty());
}

TEST(LayoutValidate, ReportsEveryBrokenRule) {
  model::ModelSpec m = mixtral();
  m.moe.experts = 60;
  // 36 devices; ep 8 divides neither dp 6 nor the 60 experts; 3 splits neither the 32 heads
  // nor the 8 KV heads.
  Layout l = layout(6, 3, 2, 8);
  l.zero = 5;
  const FieldErrors errors = validate(l, m, 64);
  std::string paths;
  for (const FieldError& e : errors) paths += e.path + " ";
  EXPECT_EQ(paths, "--zero --dp --ep --ep --tp --tp ");
}

TEST(LayoutToString, EnumNames) {
  EXPECT_STREQ(to_string(Recompute::none), "none");
  EXPECT_STREQ(to_string(Recompute::selective), "selective");
  EXPECT_STREQ(to_string(Recompute::full), "full");
  EXPECT_STREQ(to_string(MatrixDtype::bf16), "bf16");
  EXPECT_STREQ(to_string(MatrixDtype::fp8), "fp8");
}

TEST(LayoutDefaults, SequenceParallelAndBatch) {
  Layout l = layout(4, 2, 1);
  EXPECT_TRUE(l.sp());  // default true when tp > 1
  l.tp = 1;
  EXPECT_FALSE(l.sp());
  l.micro_batch = 2;
  EXPECT_EQ(l.effective_global_batch(), 8);
  l.global_batch = 64;
  EXPECT_EQ(l.micro_batches(), 8);
}

}  // namespace
}  // namespace moesim::sim
