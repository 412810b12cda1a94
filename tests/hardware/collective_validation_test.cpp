// Collective predictions against measured nccl-tests figures (reference/hardware.md), CTest
// label `validation`. The rows come from hardware/collective_validation.cpp, which names
// each figure's source; `moesim validate` prints the same rows into docs/validation.md.
//
// Parameters are set from cited statements, not fitted to these rows: NVLink efficiency
// 0.80 (NCCL's ~20% protocol overhead, nccl-tests #149/#212), InfiniBand 0.96 (HDR,
// nccl-tests #119). The two parameters taken from a row (the NVLS in-switch efficiency, from
// 8x H100's ~480 GB/s, and A100's NVLink 3 efficiency 0.667, from 8x A100's ~200 GB/s at
// 1 GiB in #149) are marked `calibration` and only checked to reproduce their figures.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "hardware/collective_validation.hpp"
#include "io/loaders.hpp"

namespace moesim::hw {
namespace {

std::vector<CollectiveValidationRow> rows() {
  return collective_validation_rows(
      [](const std::string& preset, int devices) { return io::load_cluster(preset, devices); });
}

TEST(CollectiveValidation, EveryRowWithinFifteenPercent) {
  const auto table = rows();
  ASSERT_GE(table.size(), 14u);
  std::printf("%-48s %10s %10s %8s\n", "case", "measured", "predicted", "error");
  for (const auto& r : table) {
    std::printf("%-48s %10.1f %10.1f %+7.1f%%%s\n", r.case_name.c_str(), r.measured_GBps,
                r.predicted_GBps, 100 * r.error, r.calibration ? "  (calibration)" : "");
    ASSERT_TRUE(std::isfinite(r.predicted_GBps)) << r.case_name;
    if (r.calibration) {
      EXPECT_LT(std::abs(r.error), 0.03) << r.case_name << ": " << r.source;
    } else {
      EXPECT_LT(std::abs(r.error), 0.15) << r.case_name << ": " << r.source;
    }
    EXPECT_FALSE(r.source.empty());
  }
}

TEST(CollectiveValidation, RowsAreDeterministic) {
  const auto a = rows(), b = rows();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].predicted_GBps, b[i].predicted_GBps) << a[i].case_name;
}

}  // namespace
}  // namespace moesim::hw
