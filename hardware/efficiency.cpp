#include "hardware/efficiency.hpp"

#include <algorithm>
#include <cmath>

namespace moesim::hw {
namespace {

// Split-K keeps at least this many elements of k per split, so a split still streams a few
// k-tiles and the partial sums stay a small fraction of the work (a modelling choice in the
// spirit of CUTLASS's split-K GEMM; docs/hardware.md).
constexpr double kSplitKMinDepth = 512;

double at_least_one(double x) noexcept {
  return std::isfinite(x) && x >= 1 ? x : 1.0;
}

}  // namespace

double bytes_per_element(Dtype d) noexcept {
  switch (d) {
    case Dtype::fp32:
    case Dtype::tf32:
      return 4;  // tf32 operands are stored as fp32
    case Dtype::bf16:
      return 2;
    case Dtype::fp8:
      return 1;
    case Dtype::fp4:
      return 0.5;
  }
  return 2;
}

double effective_peak_flops(const Accelerator& acc, Dtype d) noexcept {
  const double own = acc.peak_flops(d);
  if (own > 0) return own;
  switch (d) {
    case Dtype::fp4:
      return effective_peak_flops(acc, Dtype::fp8);
    case Dtype::fp8:
      return acc.peak_bf16_flops;
    case Dtype::tf32:
      if (acc.peak_fp32_flops > 0) return acc.peak_fp32_flops;
      [[fallthrough]];
    case Dtype::fp32:
      return acc.peak_bf16_flops / 3;  // XLA Precision.HIGH: 3 bf16 passes
    case Dtype::bf16:
      return 0;
  }
  return 0;
}

double gemm_wave_efficiency(const Accelerator& acc, double m, double n, double k) noexcept {
  m = at_least_one(m), n = at_least_one(n), k = at_least_one(k);
  const GemmEfficiency& g = acc.gemm;
  const double units = std::max(1.0, std::round(g.compute_units));
  // Output tiles, each computed by one unit (CUTLASS threadblock tiling).
  const double tiles =
      std::ceil(m / std::max(1.0, g.wave_tile_m)) * std::ceil(n / std::max(1.0, g.wave_tile_n));
  // Split-K multiplies the work items when there are fewer tiles than units.
  double splits = 1;
  if (tiles < units)
    splits = std::max(1.0, std::min(std::floor(units / tiles), std::floor(k / kSplitKMinDepth)));
  const double items = tiles * splits;
  const double waves = std::ceil(items / units);
  // Wave quantization: the last wave leaves units idle (NVIDIA "Matrix Multiplication
  // Background User's Guide", wave quantization).
  return items / (waves * units);
}

double gemm_efficiency(const Accelerator& acc, double m, double n, double k, Dtype d) noexcept {
  m = at_least_one(m), n = at_least_one(n), k = at_least_one(k);
  const GemmEfficiency& g = acc.gemm;
  const double flops = 2 * m * n * k;
  // Arithmetic intensity of one pass over A, B and C (NVIDIA GEMM user's guide, "Math and
  // memory bounds"): FLOPs per byte of operands and result.
  const double intensity = flops / (bytes_per_element(d) * (m * k + k * n + m * n));
  const double by_intensity =
      intensity / (intensity + std::max(0.0, g.half_intensity_flop_per_byte));
  const double by_size = flops / (flops + std::max(0.0, g.half_work_flop));
  const double fraction =
      g.max_fraction * by_intensity * by_size * gemm_wave_efficiency(acc, m, n, k);
  return std::clamp(fraction, 1e-9, 1.0);
}

double gemm_time_s(const Accelerator& acc, double m, double n, double k, Dtype d) noexcept {
  const double peak = effective_peak_flops(acc, d);
  if (!(peak > 0)) return 0;  // a chip without any matrix peak: nothing to time
  m = at_least_one(m), n = at_least_one(n), k = at_least_one(k);
  return 2 * m * n * k / (peak * gemm_efficiency(acc, m, n, k, d));
}

double memory_efficiency(const Accelerator& acc, double bytes) noexcept {
  if (!(bytes > 0) || !std::isfinite(bytes)) return 0;
  const MemoryEfficiency& e = acc.memory;
  return e.max_fraction * bytes / (bytes + std::max(0.0, e.half_bytes));
}

double memory_time_s(const Accelerator& acc, double bytes) noexcept {
  if (!(bytes > 0) || !std::isfinite(bytes) || !(acc.hbm_bandwidth_Bps > 0)) return 0;
  const MemoryEfficiency& e = acc.memory;
  // bytes / (bw * max * B/(B + half)) = (B + half) / (bw * max): a fixed cost of `half`
  // bytes' worth of time plus the streaming time.
  return (bytes + std::max(0.0, e.half_bytes)) /
         (acc.hbm_bandwidth_Bps * std::max(1e-9, e.max_fraction));
}

}  // namespace moesim::hw
