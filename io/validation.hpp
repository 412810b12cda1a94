#pragma once
// The validation tables of docs/validation.md, computed from the published figures (sim/
// validation.hpp and the hardware rows) and the presets; `moesim validate` writes them.
#include <functional>
#include <string>
#include <vector>

#include "sim/validation.hpp"

namespace moesim::io {

struct ThroughputRow {
  sim::ThroughputCase input;
  double predicted_flops_per_device = 0;
  double relative_error = 0;  // predicted / measured throughput - 1 (> 0: model too fast)
  sim::StepResult step;
};

// The errors of a table: mean and largest absolute, smallest and largest signed, and how
// many rows lie outside 10% (the per-row tolerance).
struct ErrorSummary {
  double mean_abs = 0, max_abs = 0, lowest = 0, highest = 0;
  std::size_t outside_ten_percent = 0;
};
ErrorSummary summarize(const std::vector<ThroughputRow>& rows);

// Every Narayanan et al. 2021 Table 1 row through the step model.
std::vector<ThroughputRow> narayanan_table1_rows();

// The same with the accelerator changed by `adjust` first: a what-if for the sensitivity
// table of docs/validation.md, never a calibration.
std::vector<ThroughputRow> narayanan_table1_rows(
    const std::function<void(hw::Accelerator&)>& adjust);

// Every Korthikanti et al. 2022 Table 5 run (measured iteration times) through the step
// model; relative_error is measured / predicted step time - 1, the throughput error.
std::vector<ThroughputRow> korthikanti_table5_rows();

// A one-parameter calibration on Korthikanti et al. 2022 Table 5's eight runs: the value on
// a 0.01 grid that minimizes their mean absolute throughput error, every other A100
// parameter as given. Narayanan et al. 2021 Table 1 plays no part in it.
struct ParameterFit {
  double value = 0;
  double mean_abs_error = 0;  // over the eight runs, at value
  double max_abs_error = 0;
};
// The preset's calibration: `memory.max_fraction` (memory-bound kernels' share of HBM
// bandwidth) over [0.30, 1.00].
ParameterFit fit_a100_memory_efficiency();
// The alternative not taken (docs/validation.md): `gemm.max_fraction` over [0.50, 1.00] with
// the memory-bound efficiency at its uncalibrated default.
ParameterFit fit_a100_gemm_ceiling();
// The uncalibrated A100: the preset with memory.max_fraction back at the generic default.
void uncalibrate_memory(hw::Accelerator& a);

// Narayanan's measured TFLOP/s per GPU as a step time: Eq. 3 FLOPs of the global batch over
// (TFLOP/s x GPUs). Comparable with Korthikanti's times where the configuration is the same.
double narayanan_implied_step_s(const sim::ThroughputCase& c);

// docs/validation.md, whole.
std::string render_validation_markdown();

}  // namespace moesim::io
