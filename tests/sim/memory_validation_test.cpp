// Reproductions of published memory figures (CTest label `validation`):
//  - ZeRO (Rajbhandari et al. 2019, 1910.02054) Fig. 1 / Sec. 1: model-state memory of a
//    7.5B-parameter model on N_d = 64 data-parallel GPUs, mixed-precision Adam.
//  - Korthikanti et al. 2022 (2205.05198) Table 2: activation memory per transformer layer,
//    and the savings their text derives from it.
#include <gtest/gtest.h>

#include <cmath>

#include "sim/memory.hpp"

namespace moesim::sim {
namespace {

constexpr double kGB = 1e9;  // the ZeRO paper's GB

TEST(ZeroPaperValidation, SevenPointFiveBillionOnSixtyFourGpus) {
  // Printed: baseline 120 GB, P_os 31.4 GB, P_os+g 16.6 GB, P_os+g+p 1.9 GB. Tolerance: half
  // a unit of the last printed digit (0.5 GB for "120", 0.05 GB for the others).
  const double psi = 7.5e9, n_d = 64;
  EXPECT_NEAR(zero_model_state_bytes(psi, n_d, 0).total() / kGB, 120, 0.5);
  EXPECT_NEAR(zero_model_state_bytes(psi, n_d, 1).total() / kGB, 31.4, 0.05);
  EXPECT_NEAR(zero_model_state_bytes(psi, n_d, 2).total() / kGB, 16.6, 0.05);
  EXPECT_NEAR(zero_model_state_bytes(psi, n_d, 3).total() / kGB, 1.9, 0.05);
  // The exact values behind the rounding: 120, 31.40625, 16.640625, 1.875 GB.
  EXPECT_DOUBLE_EQ(zero_model_state_bytes(psi, n_d, 1).total(), 31.40625e9);
  EXPECT_DOUBLE_EQ(zero_model_state_bytes(psi, n_d, 2).total(), 16.640625e9);
  EXPECT_DOUBLE_EQ(zero_model_state_bytes(psi, n_d, 3).total(), 1.875e9);
}

struct Shape {
  const char* name;
  double s, b, h, a, t;
};

// GPT-3 175B (a = 96, h = 12288) and MT-NLG 530B (a = 128, h = 20480) at s = 2048, t = 8 as
// in Korthikanti's evaluation, plus small and odd shapes to exercise every term.
constexpr Shape kShapes[] = {
    {"gpt3-175b", 2048, 1, 12288, 96, 8}, {"mt-nlg-530b", 2048, 1, 20480, 128, 8},
    {"t1", 1024, 4, 2048, 16, 1},         {"t2", 4096, 2, 4096, 32, 2},
    {"t4", 512, 8, 1536, 12, 4},          {"odd", 3000, 3, 5120, 40, 5},
};

TEST(KorthikantiValidation, Table2RowsExactly) {
  for (const Shape& x : kShapes) {
    const double sbh = x.s * x.b * x.h;
    SCOPED_TRACE(x.name);
    // "No parallelism" row, the TP row at t = 1: sbh(34 + 5as/h).
    EXPECT_DOUBLE_EQ(activation_bytes_per_layer(x.s, x.b, x.h, x.a, 1, false, Recompute::none),
                     sbh * (34 + 5 * x.a * x.s / x.h));
    // "Tensor parallel (baseline)": sbh(10 + 24/t + 5as/(ht)).
    EXPECT_DOUBLE_EQ(activation_bytes_per_layer(x.s, x.b, x.h, x.a, x.t, false, Recompute::none),
                     sbh * (10 + 24 / x.t + 5 * x.a * x.s / (x.h * x.t)));
    // "Tensor + sequence parallel": sbh/t (34 + 5as/h).
    EXPECT_DOUBLE_EQ(activation_bytes_per_layer(x.s, x.b, x.h, x.a, x.t, true, Recompute::none),
                     sbh / x.t * (34 + 5 * x.a * x.s / x.h));
    // "Tensor parallel + selective activation recompute": sbh(10 + 24/t).
    EXPECT_DOUBLE_EQ(
        activation_bytes_per_layer(x.s, x.b, x.h, x.a, x.t, false, Recompute::selective),
        sbh * (10 + 24 / x.t));
    // "Tensor + sequence parallel + selective activation recompute": sbh (34/t).
    EXPECT_DOUBLE_EQ(
        activation_bytes_per_layer(x.s, x.b, x.h, x.a, x.t, true, Recompute::selective),
        sbh * 34 / x.t);
    // "Full activation recompute": sbh (2), the layer input.
    EXPECT_DOUBLE_EQ(activation_bytes_per_layer(x.s, x.b, x.h, x.a, x.t, false, Recompute::full),
                     2 * sbh);
  }
}

TEST(KorthikantiValidation, SelectiveRecomputeSavingsOfSectionFive) {
  // Sec. 5: 5as/h = 80 for GPT-3 and 64 for MT-NLG, so dropping the attention core saves
  // 80/114 = 70% and 64/98 = 65% of the activation memory (printed to the percent).
  for (const Shape& x : {kShapes[0], kShapes[1]}) {
    const double full = activation_bytes_per_layer(x.s, x.b, x.h, x.a, x.t, true, Recompute::none);
    const double sel =
        activation_bytes_per_layer(x.s, x.b, x.h, x.a, x.t, true, Recompute::selective);
    const double saved = 1 - sel / full;
    if (x.h == 12288) {
      EXPECT_DOUBLE_EQ(5 * x.a * x.s / x.h, 80);
      EXPECT_NEAR(saved, 0.70, 0.005);
    } else {
      EXPECT_DOUBLE_EQ(5 * x.a * x.s / x.h, 64);
      EXPECT_NEAR(saved, 0.65, 0.005);
    }
  }
}

TEST(KorthikantiValidation, FiveTimesLessActivationMemory) {
  // Abstract: sequence parallelism with selective recompute "reduces activation memory by
  // 5x" against the tensor-parallel baseline. GPT-3: 23/4.25 = 5.4; MT-NLG: 21/4.25 = 4.9.
  for (const Shape& x : {kShapes[0], kShapes[1]}) {
    const double base = activation_bytes_per_layer(x.s, x.b, x.h, x.a, x.t, false, Recompute::none);
    const double ours =
        activation_bytes_per_layer(x.s, x.b, x.h, x.a, x.t, true, Recompute::selective);
    EXPECT_NEAR(base / ours, 5.0, 0.5) << x.name;
  }
}

}  // namespace
}  // namespace moesim::sim
