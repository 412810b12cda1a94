// The preset listing and preset_text (moesim presets list|show).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "io/embedded_presets.hpp"
#include "io/errors.hpp"
#include "io/loaders.hpp"

namespace moesim::io {
namespace {

TEST(Presets, EveryPresetIsListedWithAValidSummary) {
  const auto all = list_presets();
  EXPECT_EQ(all.size(), embedded_presets().size());
  for (const auto& p : all) {
    SCOPED_TRACE(p.kind + "/" + p.name);
    EXPECT_FALSE(p.summary.empty());
    EXPECT_EQ(p.summary.find("invalid preset"), std::string::npos) << p.summary;
  }
}

TEST(Presets, ListsOneKind) {
  const std::set<std::string> accelerators = {
      "v100",   "a100-40g", "a100-80g", "h100-sxm", "h800",   "h200",    "b200",    "gb200",
      "mi250x", "mi300x",   "mi325x",   "tpu-v3",   "tpu-v4", "tpu-v5e", "tpu-v5p", "tpu-v6e"};
  std::set<std::string> listed;
  for (const auto& p : list_presets("accelerators")) {
    EXPECT_EQ(p.kind, "accelerators");
    listed.insert(p.name);
  }
  EXPECT_EQ(listed, accelerators);
  const std::set<std::string> clusters = {"dgx-a100",    "dgx-h100",   "h800",       "gb200-nvl72",
                                          "mi300x",      "tpu-v3-pod", "tpu-v4-pod", "tpu-v5p-pod",
                                          "tpu-v5e-256", "tpu-v6e-256"};
  listed.clear();
  for (const auto& p : list_presets("clusters")) listed.insert(p.name);
  EXPECT_EQ(listed, clusters);
}

TEST(Presets, SummariesSayWhatThePresetIs) {
  for (const auto& p : list_presets("accelerators"))
    if (p.name == "h100-sxm") {
      EXPECT_EQ(p.summary, "NVIDIA, 989.4 TFLOP/s bf16, 80 GB HBM at 3.35 TB/s, $3.49/chip-hour");
    }
  for (const auto& p : list_presets("clusters"))
    if (p.name == "tpu-v4-pod") {
      EXPECT_EQ(p.summary, "4096 x tpu-v4; 3D torus 16x16x16, 45 GB/s per link");
    }
  for (const auto& p : list_presets("models")) {
    // Models say dense or MoE with experts and top-k.
    EXPECT_TRUE(p.summary.rfind("dense", 0) == 0 || p.summary.rfind("MoE ", 0) == 0) << p.summary;
  }
}

TEST(Presets, UnknownKindGetsADidYouMean) {
  try {
    list_presets("cluster");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "--kind: 'cluster' is not one of models, accelerators, clusters, laws; did you "
                 "mean 'clusters'?");
  }
}

TEST(Presets, TextOfAPreset) {
  const std::string text = preset_text("accelerators", "h100-sxm");
  EXPECT_NE(text.find("\"989.4TFLOPS\""), std::string::npos);
  // Without a kind: a name only one kind holds, or KIND/NAME.
  EXPECT_EQ(preset_text("", "h100-sxm"), text);
  EXPECT_EQ(preset_text("", "accelerators/h100-sxm"), text);
  EXPECT_NE(preset_text("", "clusters/h800").find("\"scale_up\""), std::string::npos);
}

TEST(Presets, UnknownOrAmbiguousNames) {
  try {
    preset_text("accelerators", "h100-sx");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "presets show: no accelerators preset named 'h100-sx'; did you mean 'h100-sxm'?");
  }
  try {
    preset_text("", "tpu-v4-pd");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "presets show: no preset named 'tpu-v4-pd'; did you mean 'tpu-v4-pod'?");
  }
  // "h800" is both an accelerator and a cluster.
  try {
    preset_text("", "h800");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "presets show: h800: names presets of several kinds (accelerators, clusters); "
                 "give --kind");
  }
}

}  // namespace
}  // namespace moesim::io
