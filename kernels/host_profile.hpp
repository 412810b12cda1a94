#pragma once
// Host profile: time the reference kernels on this CPU, fit the efficiency curves of
// hardware/efficiency.hpp to them, and check the fitted accelerator against the reference MoE
// layer on shapes the fit never saw (docs/kernels.md, "moesim calibrate").
//
// The analytic forward time of the layer, predict_moe_forward, sums hw::gemm_time_s over its
// GEMMs (router, one pair per expert at its token count, the shared expert) and
// hw::memory_time_s over its memory-bound pieces (scores, top-k, dispatch, permutation,
// activations, weighted combine), all in fp32.
//
// Peak and max_fraction: the fits only determine the product peak * max_fraction (the
// asymptotic rate A of a GEMM, or of memory traffic, as size and intensity grow without
// bound). The preset takes peak = max(A, best measured rate) and max_fraction = A / peak, so
// max_fraction stays in (0, 1] and equals 1 unless a measured kernel ran faster than the
// asymptote (cache-resident memory kernels can).
#include <functional>
#include <string>
#include <vector>

#include "hardware/accelerator.hpp"
#include "kernels/calibrate.hpp"
#include "kernels/moe_layer.hpp"

namespace moesim::kernels {

// ---- Memory-bound fit -------------------------------------------------------------------

struct MemorySample {
  std::string kernel;  // "copy", "softmax", "permute", "combine", "swiglu"
  double bytes = 0;    // bytes read + written
  double seconds = 0;
};

struct MemoryFitSummary {
  hw::MemoryEfficiency fitted;  // max_fraction relative to the bandwidth given to the fit
  bool converged = false;
  double rms_log_error = 0;
  std::string message;
};

// Fits max_fraction and half_bytes so that hw::memory_time_s(acc with bandwidth_Bps and them,
// bytes) matches the samples, least squares on log time. With t = (B + half) / (bw * mf), the
// best mf for a given half is closed-form, so the fit is a one-dimensional search over log
// half_bytes in [1 B, 1e12 B]. The fitted max_fraction may exceed 1 when bandwidth_Bps is
// below the asymptotic rate. Needs at least 2 samples with positive bytes and times.
MemoryFitSummary fit_memory_efficiency(double bandwidth_Bps, const std::vector<MemorySample>& s);

// ---- The analytic layer ------------------------------------------------------------------

struct PredictedPiece {
  std::string name;  // "router gemm", "expert 3 w_in", "softmax", ...
  bool gemm = false;
  double m = 0, n = 0, k = 0;  // GEMM shape (gemm) or 0
  double bytes = 0;            // bytes moved (memory-bound) or 0
  double seconds = 0;
  bool parallel = false;  // runs inside the parallel expert section
};

struct MoeForwardPrediction {
  std::vector<PredictedPiece> pieces;
  double router_gemm_s = 0;  // logits = x W_r
  double expert_gemm_s = 0;  // every routed expert's two GEMMs
  double shared_gemm_s = 0;  // the shared expert's two GEMMs
  double memory_s = 0;       // every memory-bound piece
  // Serial pieces plus the parallel section: max(sum / threads, its longest piece) when
  // cfg.threads > 1, else their plain sum (= the sum of the four parts above).
  double total_s = 0;
};

// expert_tokens: the rows each expert receives (experts entries; a real routing's
// offsets[e+1] - offsets[e]). Throws std::invalid_argument when cfg is invalid or the vector
// has the wrong size.
MoeForwardPrediction predict_moe_forward(const hw::Accelerator& acc, const MoeConfig& cfg,
                                         int tokens, const std::vector<int>& expert_tokens);
// Balanced routing: every expert gets min(capacity, ceil(tokens * top_k / experts)) rows.
MoeForwardPrediction predict_moe_forward(const hw::Accelerator& acc, const MoeConfig& cfg,
                                         int tokens);
double predict_moe_forward_s(const hw::Accelerator& acc, const MoeConfig& cfg, int tokens,
                             const std::vector<int>& expert_tokens);
double predict_moe_forward_s(const hw::Accelerator& acc, const MoeConfig& cfg, int tokens);

// Best-of-`repeats` seconds of moe_forward (buffers reused, as benchmarks do) on random
// weights and inputs (seeded); the rows per expert of the routing it produced go to
// *expert_tokens when given.
double time_moe_forward_s(const MoeConfig& cfg, int tokens, int repeats, double min_seconds,
                          std::vector<int>* expert_tokens = nullptr);

// ---- The calibration run -----------------------------------------------------------------

struct GemmShape {
  int m = 0, n = 0, k = 0;
};
struct MemoryCase {
  std::string kernel;  // as in MemorySample
  double bytes = 0;    // target bytes moved (rounded to whole rows)
};
struct MoeCase {
  MoeConfig cfg;
  int tokens = 0;
};

struct CalibrationOptions {
  bool quick = true;
  int threads = 1;  // threads of the held-back MoE layer runs (the GEMM samples use one)
  int repeats = 3;
  double min_seconds = 0.02;  // per timing: repeat the kernel until this much time passed
  // GEMM operands cycle through up to 64 MiB of copies so each call reads them from memory,
  // as the layer's expert weights are (false: time_host_gemm_s, operands hot in cache).
  bool streamed_gemms = true;
  // Empty: the default sets for `quick` (default_*).
  std::vector<GemmShape> gemm_shapes;
  std::vector<MemoryCase> memory_cases;
  std::vector<MoeCase> held_back;  // empty with skip_held_back: no validation
  bool skip_held_back = false;
  std::function<void(const std::string&)> progress;  // one line per stage; may be empty
};

std::vector<GemmShape> default_gemm_shapes(bool quick);
std::vector<MemoryCase> default_memory_cases(bool quick);
std::vector<MoeCase> default_held_back(bool quick);

struct ResidualRow {
  std::string kind;   // "gemm", a memory kernel name, or "moe forward"
  std::string shape;  // "m=128 n=512 k=256", "bytes=1048576", "T=256 d=256 ff=512 E=8 k=2"
  double measured_s = 0;
  double model_s = 0;
  double error() const { return measured_s > 0 ? model_s / measured_s - 1 : 0; }
};

struct HostProfile {
  hw::Accelerator accelerator;  // name "host", fp32 (and bf16 = fp32) peak, bandwidth, RAM
  GemmFitSummary gemm_fit;
  MemoryFitSummary memory_fit;
  double best_gemm_flops = 0;  // fastest measured GEMM rate
  double best_stream_Bps = 0;  // fastest measured memory kernel rate
  // Every timed sample: the GEMMs, the memory kernels, and the plain copies that only set the
  // streaming rate (kind "copy (ref)", not in the memory fit).
  std::vector<ResidualRow> fit_rows;
  std::vector<ResidualRow> held_back_rows;  // the MoE layer on shapes not in the fit
  double median_abs_error_fit = 0;          // over the rows the fits used (not "copy (ref)")
  double median_abs_error_held_back = 0;
  bool quick = true;
  int threads = 1;
  double wall_seconds = 0;
};

// Runs the whole calibration: GEMM and memory timings, fits, the preset, held-back check.
HostProfile calibrate_host(const CalibrationOptions& options);

// Median of |error()| over rows; 0 for none.
double median_abs_error(const std::vector<ResidualRow>& rows);

// Physical memory of this host in bytes (sysconf), 0 when unknown.
double host_physical_memory_bytes();

}  // namespace moesim::kernels
