#pragma once
// Calibration: time GEMMs on the host and fit the GEMM efficiency curve of
// hardware/efficiency.hpp (hw::GemmEfficiency: max_fraction, half_intensity_flop_per_byte,
// half_work_flop) to measured (m, n, k, seconds) samples by least squares on log time.
#include <string>
#include <vector>

#include "hardware/accelerator.hpp"

namespace moesim::kernels {

struct GemmSample {
  double m = 0, n = 0, k = 0;
  double seconds = 0;
};

struct GemmFitOptions {
  hw::GemmEfficiency initial;  // starting point (and the wave parameters, which stay fixed)
  int max_iterations = 200;
  double tolerance = 1e-12;  // stop when the cost's relative decrease falls below this
};

struct GemmFitSummary {
  hw::GemmEfficiency fitted;  // initial's wave parameters with the three fitted values
  bool converged = false;
  int iterations = 0;
  double rms_log_error = 0;  // sqrt(mean (log t_model - log t_measured)^2)
  std::string message;       // why it stopped, or what was wrong with the input
  std::string BriefReport() const;
};

// Fits max_fraction, half_intensity_flop_per_byte and half_work_flop so that
// hw::gemm_time_s(acc with them, m, n, k, dtype) matches the samples: Levenberg-Marquardt on
// the residuals log t_model - log t_measured over log-parameters (so they stay positive).
// The wave terms (tile, compute_units) and the peak come from `acc` and stay fixed. Needs at
// least 3 samples with positive sizes and times; otherwise converged = false and a message.
GemmFitSummary fit_gemm_efficiency(const hw::Accelerator& acc, hw::Dtype dtype,
                                   const std::vector<GemmSample>& samples,
                                   const GemmFitOptions& options = {});

// Seconds for one host GEMM (kernels::gemm) of m x k by k x n floats: the best of `repeats`
// timings, each repeating the GEMM until at least min_seconds have passed.
double time_host_gemm_s(int m, int n, int k, int repeats = 3, double min_seconds = 0.02);

}  // namespace moesim::kernels
