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
  double relative_error = 0;  // predicted / measured - 1
  sim::StepResult step;
};

// Every Narayanan et al. 2021 Table 1 row through the step model.
std::vector<ThroughputRow> narayanan_table1_rows();

// The same with the accelerator changed by `adjust` first: a what-if for the sensitivity
// table of docs/validation.md, never a calibration.
std::vector<ThroughputRow> narayanan_table1_rows(
    const std::function<void(hw::Accelerator&)>& adjust);

// docs/validation.md, whole.
std::string render_validation_markdown();

}  // namespace moesim::io
