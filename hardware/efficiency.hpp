#pragma once
// Efficiency curves: the fraction of an accelerator's peak that a GEMM or a memory-bound
// operation really gets, as smooth functions of its shape and size (docs/hardware.md).
//
// GEMM (m x k times k x n, FLOPs = 2 m n k):
//   fraction = max_fraction
//            * I / (I + half_intensity)            saturating in arithmetic intensity
//            * W / (W + half_work)                 saturating in size (launch, tail, ramp)
//            * tiles / (waves * units)             wave quantization
// with I = 2mnk / (bytes per element * (mk + kn + mn)), W = 2mnk, tiles =
// ceil(m/tile_m) * ceil(n/tile_n), waves = ceil(tiles / units). When a GEMM has fewer tiles
// than units and a deep k, it is split along k (split-K, as cuBLAS and CUTLASS do) so that
// more units take part.
//
// Memory-bound work moving B bytes: fraction = max_fraction * B / (B + half_bytes).
//
// All functions are pure, `const`, noexcept and never return NaN or infinity: a dtype the
// chip has no peak for runs in the nearest mode it has (effective_peak_flops).
#include "hardware/accelerator.hpp"

namespace moesim::hw {

// Bytes per element of a dtype (fp4 packs two per byte).
double bytes_per_element(Dtype d) noexcept;

// Peak FLOP/s used for `d`: the chip's own peak, else the mode that runs it. fp4 -> fp8 ->
// bf16 (narrow types run in a wider one); fp32/tf32 without a peak (TPUs) -> bf16 / 3, the
// three bf16 passes of XLA's Precision.HIGH (jax.lax.Precision documentation).
double effective_peak_flops(const Accelerator& acc, Dtype d) noexcept;

// Achieved fraction of effective_peak_flops for one GEMM, in (0, gemm.max_fraction].
// Non-positive dimensions are treated as 1.
double gemm_efficiency(const Accelerator& acc, double m, double n, double k, Dtype d) noexcept;
// Seconds for one m x k by k x n GEMM: 2mnk / (peak * gemm_efficiency).
double gemm_time_s(const Accelerator& acc, double m, double n, double k, Dtype d) noexcept;

// The wave-quantization factor alone, in (0, 1]: tiles / (waves * units) after split-K.
double gemm_wave_efficiency(const Accelerator& acc, double m, double n, double k) noexcept;

// Achieved fraction of HBM bandwidth for memory-bound work moving `bytes`, in [0,
// memory.max_fraction].
double memory_efficiency(const Accelerator& acc, double bytes) noexcept;
// Seconds to move `bytes` through HBM: bytes / (hbm_bandwidth * memory_efficiency); 0 for 0.
double memory_time_s(const Accelerator& acc, double bytes) noexcept;

}  // namespace moesim::hw
