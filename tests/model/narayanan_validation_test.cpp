// The ten Megatron GPT presets against Narayanan et al. 2021 (2104.04473): Eq. 2 for the
// parameters and Eq. 3 for the training FLOPs with full recompute; the dense presets
// against PaLM's 6N + 12 L H Q T (Chowdhery et al. 2022, App. B).
#include <string>

#include <gtest/gtest.h>

#include "io/loaders.hpp"
#include "model/spec.hpp"
#include "model/workload.hpp"

namespace moesim::model {
namespace {

const char* const kMegatron[] = {"megatron-1.7b", "megatron-3.6b", "megatron-7.5b", "megatron-18b",
                                 "megatron-39b",  "megatron-76b",  "megatron-145b", "megatron-310b",
                                 "megatron-530b", "megatron-1t"};

TEST(NarayananEq2, ExactForTheTenMegatronPresets) {
  // P = 12 l h^2 + 13 l h + (V + s) h. Eq. 2 leaves out the final LayerNorm (2h) the model
  // holds; moesim counts it in params_final_norm. Tolerance 0 after removing it: every term
  // is an integer below 2^53, so the double arithmetic is exact.
  for (const char* name : kMegatron) {
    const ModelSpec s = io::load_model(name);
    EXPECT_EQ(s.vocab, 51200) << name;
    EXPECT_EQ(s.seq_len, 2048) << name;
    const double l = static_cast<double>(s.layers), h = static_cast<double>(s.d_model);
    const double eq2 = 12 * l * h * h + 13 * l * h + (51200.0 + 2048.0) * h;
    const ModelTotals t = totals(s);
    EXPECT_EQ(t.params_total - t.params_final_norm, eq2) << name;
    EXPECT_EQ(t.params_final_norm, 2 * h) << name;
  }
}

TEST(NarayananEq3, FullRecomputeFlops) {
  // F = 96 B s l h^2 (1 + s/(6h) + V/(16 l h)) per iteration, i.e. per token (B s):
  // 96 l h^2 + 16 l h s + 6 h V: four passes of the blocks (forward, recompute, backward 2x)
  // and three of the logits. moesim's count is the same sum, so the test holds it to 1e-12,
  // well inside the 1% asked for.
  for (const char* name : kMegatron) {
    const ModelSpec s = io::load_model(name);
    const double l = static_cast<double>(s.layers), h = static_cast<double>(s.d_model),
                 sl = static_cast<double>(s.seq_len), V = static_cast<double>(s.vocab);
    const double eq3 = 96 * l * h * h * (1 + sl / (6 * h) + V / (16 * l * h));
    EXPECT_NEAR(totals(s).flops_per_token_recompute_full / eq3, 1.0, 1e-12) << name;
  }
}

TEST(PalmFlops, DensePresetsWithinOnePercent) {
  // 6N + 12 L H Q T per token. N = the parameters a token multiplies: all but the lookup
  // tables (input embedding, learned positions), with the output head (tied or not).
  for (const std::string name : {"gpt3-175b", "llama3-70b", "megatron-1.7b", "megatron-18b",
                                 "megatron-145b", "megatron-1t"}) {
    const ModelSpec s = io::load_model(name);
    const ModelTotals t = totals(s);
    const double N =
        t.params_non_embedding + static_cast<double>(s.vocab) * static_cast<double>(s.d_model);
    const double L = static_cast<double>(s.layers), H = static_cast<double>(s.attention.heads),
                 Q = static_cast<double>(s.head_dim()), T = static_cast<double>(s.seq_len);
    EXPECT_NEAR(t.flops_per_token / (6 * N + 12 * L * H * Q * T), 1.0, 0.01) << name;
  }
}

}  // namespace
}  // namespace moesim::model
