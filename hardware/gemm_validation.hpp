#pragma once
// The GEMM efficiency curve (efficiency.hpp) against published "maximum achievable matmul
// FLOPS" (MAMF): the best bf16 matmul rate a brute-force shape search found on each chip,
// with the shape it found. A cross-check of the curve's ceiling, not an acceptance test:
// the measurements come from current software (torch 2.5-2.10), one shape per chip.
#include <functional>
#include <string>
#include <vector>

#include "hardware/accelerator.hpp"

namespace moesim::hw {

struct GemmValidationRow {
  std::string accelerator;  // preset the prediction used
  double m = 0, n = 0, k = 0;
  double measured_flops = 0;   // MAMF, FLOP/s
  double predicted_flops = 0;  // peak x gemm_efficiency at that shape
  double error = 0;            // predicted / measured - 1
  std::string software;        // torch / CUDA or ROCm version of the measurement
  bool calibration = false;    // the preset's gemm.max_fraction was set from this row
};

// Loads an accelerator preset by name (io::load_accelerator in practice).
using AcceleratorLoader = std::function<Accelerator(const std::string& preset)>;

// The rows, in a fixed order: a100-80g, h100-sxm, h200, b200, gb200, mi325x, mi300x.
std::vector<GemmValidationRow> gemm_validation_rows(const AcceleratorLoader& load);

// Where the measured figures come from, for the rendered table.
extern const char* const kMamfSource;

}  // namespace moesim::hw
