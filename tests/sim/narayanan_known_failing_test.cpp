// Known-failing acceptance (CTest WILL_FAIL, label `known-failing`): the analytic step
// model against Narayanan et al. 2021 (2104.04473) Table 1 with the tolerances,
// every row within 10% and the mean absolute error within 5%. Today every row over-predicts
// (docs/validation.md: +4% to +20%, mean 11.2%): the pipelined rows sit about as far as the
// same model sits from the 2022 full-recompute runs of Korthikanti et al. (4-8%), the rows
// without a pipeline (micro-batches of 8-16 sequences) furthest. The presets are not tuned
// to this table, which would make it no test. CTest
// reports these tests as passing while they fail, and as failing the day they pass: then
// remove WILL_FAIL (tests/CMakeLists.txt) and close the gap in docs/validation.md. Do not
// loosen the tolerances.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "io/validation.hpp"

namespace moesim::io {
namespace {

constexpr double kRowTolerance = 0.10;
constexpr double kMeanTolerance = 0.05;

// Each row within 10% of the published TFLOP/s per GPU.
TEST(StepNarayananTable1, EveryRowWithinTenPercent) {
  for (const ThroughputRow& r : narayanan_table1_rows()) {
    SCOPED_TRACE(r.input.model);
    EXPECT_TRUE(std::isfinite(r.relative_error));
    EXPECT_LE(std::fabs(r.relative_error), kRowTolerance)
        << r.input.model << ": predicted " << r.predicted_flops_per_device / 1e12
        << " TFLOP/s, measured " << r.input.measured_flops_per_device / 1e12 << " ("
        << (r.relative_error >= 0 ? "+" : "") << 100 * r.relative_error << "%)";
  }
}

// The mean absolute relative error over the ten rows within 5%.
TEST(StepNarayananTable1, MeanAbsoluteErrorWithinFivePercent) {
  const auto rows = narayanan_table1_rows();
  ASSERT_FALSE(rows.empty());
  double sum = 0;
  std::string table;
  for (const ThroughputRow& r : rows) {
    sum += std::fabs(r.relative_error);
    char line[160];
    std::snprintf(line, sizeof line, "  %-14s measured %5.1f predicted %6.1f error %+6.1f%%\n",
                  r.input.model.c_str(), r.input.measured_flops_per_device / 1e12,
                  r.predicted_flops_per_device / 1e12, 100 * r.relative_error);
    table += line;
  }
  const double mean = sum / static_cast<double>(rows.size());
  EXPECT_LE(mean, kMeanTolerance) << "mean absolute error " << 100 * mean << "%\n" << table;
}

}  // namespace
}  // namespace moesim::io

namespace moesim::io {
namespace {

// Korthikanti et al. 2022 Table 5 with sequence parallelism and selective recompute: every
// row within 10%, as the full-recompute rows are (tests/sim/step_validation_test.cpp). Today
// the model is 6-13% fast on these (docs/validation.md); the per-layer savings of sequence
// parallelism and selective recompute come out larger in the model than measured.
TEST(StepKorthikantiTable5, SequenceParallelSelectiveRowsWithinTenPercent) {
  for (const ThroughputRow& r : korthikanti_table5_rows()) {
    if (r.input.layout.recompute != sim::Recompute::selective) continue;
    EXPECT_LE(std::fabs(r.relative_error), kRowTolerance)
        << r.input.model << ": predicted " << r.step.step_s << " s, measured "
        << r.input.measured_step_s << " s";
  }
}

}  // namespace
}  // namespace moesim::io
