// InputError's one line and the did-you-mean used by every loader.
#include <gtest/gtest.h>

#include "io/errors.hpp"

namespace moesim::io {
namespace {

TEST(InputError, WhatIsSourcePathRule) {
  const InputError e("model.json", "moe.top_k", "4 exceeds moe.experts (2)");
  EXPECT_STREQ(e.what(), "model.json: moe.top_k: 4 exceeds moe.experts (2)");
  EXPECT_EQ(e.source(), "model.json");
  EXPECT_EQ(e.path(), "moe.top_k");
  EXPECT_EQ(e.rule(), "4 exceeds moe.experts (2)");
}

TEST(InputError, NoPathDropsThatPart) {
  EXPECT_STREQ(InputError("--devices", "", "must be positive (got 0)").what(),
               "--devices: must be positive (got 0)");
}

TEST(InputError, ThrowFirstUsesTheFirstError) {
  const FieldErrors errors = {{"moe.top_k", "4 exceeds moe.experts (2)"}, {"layers", "x"}};
  try {
    throw_first("preset tiny", errors);
    FAIL() << "no throw";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "preset tiny: moe.top_k: 4 exceeds moe.experts (2)");
  }
  EXPECT_THROW(throw_first("x", {}), InputError);
}

TEST(DidYouMean, FindsTheClosestCandidate) {
  const std::vector<std::string> keys = {"experts", "top_k", "d_ff_expert", "every"};
  EXPECT_EQ(did_you_mean("expert", keys), "experts");  // one deletion
  EXPECT_EQ(did_you_mean("topk", keys), "top_k");      // one insertion
  EXPECT_EQ(did_you_mean("d_ff_exprt", keys), "d_ff_expert");
  EXPECT_EQ(did_you_mean("EXPERTS", keys), "experts");  // case is ignored
  EXPECT_EQ(did_you_mean("evrey", keys), "every");      // a transposition is one edit
}

TEST(DidYouMean, NothingWhenNothingIsClose) {
  const std::vector<std::string> keys = {"experts", "top_k", "every"};
  EXPECT_EQ(did_you_mean("zzzzzz", keys), "");
  EXPECT_EQ(did_you_mean("", keys), "");
  EXPECT_EQ(did_you_mean("abc", {}), "");
  // Short words allow one edit only: "silu" is not "relu".
  EXPECT_EQ(did_you_mean("silu", {"relu", "gelu", "swiglu", "geglu"}), "");
}

TEST(DidYouMean, UniquePrefixes) {
  EXPECT_EQ(did_you_mean("vocab_size", {"vocab", "layers"}), "vocab");
  EXPECT_EQ(did_you_mean("deepseek", {"deepseek-v3", "mixtral-8x7b"}), "deepseek-v3");
  // Two candidates share the prefix: no guess.
  EXPECT_EQ(did_you_mean("mixtral", {"mixtral-8x7b", "mixtral-8x22b"}), "");
}

}  // namespace
}  // namespace moesim::io
