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

// Every Narayanan et al. 2021 Table 1 row through the step model.
std::vector<ThroughputRow> narayanan_table1_rows();

// The same with the accelerator changed by `adjust` first: a what-if for the sensitivity
// table of docs/validation.md, never a calibration.
std::vector<ThroughputRow> narayanan_table1_rows(
    const std::function<void(hw::Accelerator&)>& adjust);

// Every Korthikanti et al. 2022 Table 5 run (measured iteration times) through the step
// model; relative_error is measured / predicted step time - 1, the throughput error.
std::vector<ThroughputRow> korthikanti_table5_rows();

// Narayanan's measured TFLOP/s per GPU as a step time: Eq. 3 FLOPs of the global batch over
// (TFLOP/s x GPUs). Comparable with Korthikanti's times where the configuration is the same.
double narayanan_implied_step_s(const sim::ThroughputCase& c);

// docs/validation.md, whole.
std::string render_validation_markdown();

}  // namespace moesim::io
