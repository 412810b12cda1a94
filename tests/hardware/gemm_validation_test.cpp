// The GEMM efficiency curve against the published maximum achievable matmul FLOPS (MAMF,
// hardware/gemm_validation.hpp). A MAMF is the best rate a shape search found, so at that
// shape the curve may not predict more (0.5% for rounding of the presets' ceilings), and
// for the rows not used to set a ceiling it should not be far below either (15%: the
// measurements use 2024-2025 software, the curve one ceiling per chip).
#include <gtest/gtest.h>

#include <cmath>

#include "hardware/gemm_validation.hpp"
#include "io/loaders.hpp"

namespace moesim::hw {
namespace {

std::vector<GemmValidationRow> rows() {
  return gemm_validation_rows([](const std::string& p) { return io::load_accelerator(p); });
}

TEST(GemmMamf, CurveNeverExceedsTheBestMeasuredMatmul) {
  const auto all = rows();
  ASSERT_EQ(all.size(), 7u);
  for (const auto& r : all) {
    SCOPED_TRACE(r.accelerator);
    ASSERT_TRUE(std::isfinite(r.error));
    EXPECT_LE(r.error, 0.005) << r.predicted_flops / 1e12 << " vs " << r.measured_flops / 1e12;
  }
}

TEST(GemmMamf, UncalibratedRowsWithinFifteenPercentBelow) {
  int checked = 0;
  for (const auto& r : rows()) {
    if (r.calibration) continue;
    SCOPED_TRACE(r.accelerator);
    EXPECT_GE(r.error, -0.15) << r.predicted_flops / 1e12 << " vs " << r.measured_flops / 1e12;
    ++checked;
  }
  EXPECT_EQ(checked, 3);  // a100-80g, h100-sxm, h200
}

}  // namespace
}  // namespace moesim::hw
