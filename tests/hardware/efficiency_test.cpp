// Efficiency curves (hardware/efficiency.hpp): the fraction of peak a GEMM or a memory-bound
// operation reaches, checked against the properties the curves are built to have.
#include <gtest/gtest.h>

#include <cmath>

#include "hardware/efficiency.hpp"
#include "io/loaders.hpp"

namespace moesim::hw {
namespace {

Accelerator h100() {
  return io::load_accelerator("h100-sxm");
}

TEST(GemmEfficiency, BoundedByMaxFractionForAnyShape) {
  const Accelerator a = h100();
  for (double m : {1.0, 7.0, 128.0, 1000.0, 16384.0})
    for (double n : {1.0, 64.0, 4096.0, 65536.0})
      for (double k : {1.0, 512.0, 8192.0}) {
        const double f = gemm_efficiency(a, m, n, k, Dtype::bf16);
        EXPECT_GT(f, 0) << m << "x" << n << "x" << k;
        EXPECT_LE(f, a.gemm.max_fraction) << m << "x" << n << "x" << k;
      }
}

TEST(GemmEfficiency, MonotoneInSizeForSquareGemms) {
  // Square powers of two fill whole waves once split-K applies, so the smooth size and
  // intensity terms decide: bigger never gets a smaller fraction.
  const Accelerator a = h100();
  double last = 0;
  for (double s = 256; s <= 32768; s *= 2) {
    const double f = gemm_efficiency(a, s, s, s, Dtype::bf16);
    EXPECT_GE(f, last) << s;
    last = f;
  }
}

TEST(GemmEfficiency, LargeSquareGemmNearMax) {
  // 16384^3 in bf16: intensity 16384/3 flop/byte (0.995 of saturation), 8.8 TFLOP of work
  // (0.9998), 16384 tiles on 132 SMs in 125 waves (0.993): within 2% of max_fraction.
  const Accelerator a = h100();
  const double f = gemm_efficiency(a, 16384, 16384, 16384, Dtype::bf16);
  EXPECT_GT(f, 0.98 * a.gemm.max_fraction);
  EXPECT_NEAR(gemm_time_s(a, 16384, 16384, 16384, Dtype::bf16),
              2 * std::pow(16384.0, 3) / (a.peak_bf16_flops * f), 1e-12);
}

TEST(GemmEfficiency, SkinnyShapesAreLower) {
  // The same FLOPs as a 4096^3 GEMM, as a decode-like 16-row GEMM: its intensity is ~16
  // flop/byte (below half saturation) and it has 64 tiles for 132 SMs.
  const Accelerator a = h100();
  const double square = gemm_efficiency(a, 4096, 4096, 4096, Dtype::bf16);
  const double skinny = gemm_efficiency(a, 16, 4096, 4096 * 256, Dtype::bf16);
  EXPECT_LT(skinny, 0.6 * square);
}

TEST(GemmEfficiency, WaveQuantizationIsVisible) {
  // 132 tiles of 128x128 fill the 132 SMs of an H100 exactly; one tile more needs a second
  // wave that leaves 131 SMs idle: 133 / 264 of the work rate.
  const Accelerator a = h100();
  const double full = gemm_wave_efficiency(a, 128 * 132, 128, 4096);
  const double one_more = gemm_wave_efficiency(a, 128 * 133, 128, 4096);
  EXPECT_DOUBLE_EQ(full, 1.0);
  EXPECT_NEAR(one_more, 133.0 / 264.0, 1e-12);
  EXPECT_LT(gemm_efficiency(a, 128 * 133, 128, 4096, Dtype::bf16),
            0.6 * gemm_efficiency(a, 128 * 132, 128, 4096, Dtype::bf16));
}

TEST(GemmEfficiency, SplitKFillsUnitsForFewTilesAndDeepK) {
  // 4 tiles and k = 65536: split into floor(132/4) = 33 pieces, 132 work items, one wave.
  const Accelerator a = h100();
  EXPECT_DOUBLE_EQ(gemm_wave_efficiency(a, 256, 256, 65536), 1.0);
  // Shallow k cannot be split: 4 tiles on 132 SMs.
  EXPECT_NEAR(gemm_wave_efficiency(a, 256, 256, 256), 4.0 / 132.0, 1e-12);
}

TEST(GemmEfficiency, DtypePeaksAndFallbacks) {
  const Accelerator a = h100();
  EXPECT_DOUBLE_EQ(effective_peak_flops(a, Dtype::fp8), a.peak_fp8_flops);
  EXPECT_DOUBLE_EQ(effective_peak_flops(a, Dtype::fp4), a.peak_fp8_flops);  // no fp4 on H100
  const Accelerator tpu = io::load_accelerator("tpu-v4");
  EXPECT_DOUBLE_EQ(effective_peak_flops(tpu, Dtype::fp32), tpu.peak_bf16_flops / 3);
  // fp8 halves the operand bytes, so the same shape has twice the intensity.
  EXPECT_GT(gemm_efficiency(a, 64, 4096, 4096, Dtype::fp8),
            gemm_efficiency(a, 64, 4096, 4096, Dtype::bf16));
  EXPECT_GT(gemm_time_s(a, 8192, 8192, 8192, Dtype::bf16),
            gemm_time_s(a, 8192, 8192, 8192, Dtype::fp8));
}

TEST(GemmEfficiency, DegenerateInputsStayFinite) {
  Accelerator empty;
  EXPECT_EQ(gemm_time_s(empty, 128, 128, 128, Dtype::bf16), 0);
  const Accelerator a = h100();
  EXPECT_TRUE(std::isfinite(gemm_time_s(a, 0, -5, NAN, Dtype::bf16)));
}

TEST(MemoryEfficiency, SaturatesTowardMaxFraction) {
  // fraction = max * B / (B + half_bytes): half of max at half_bytes, monotone, bounded.
  const Accelerator a = h100();
  const double half = a.memory.half_bytes;
  EXPECT_NEAR(memory_efficiency(a, half), a.memory.max_fraction / 2, 1e-12);
  double last = 0;
  for (double b = 1; b <= 1e11; b *= 10) {
    const double f = memory_efficiency(a, b);
    EXPECT_GT(f, last);
    EXPECT_LE(f, a.memory.max_fraction);
    last = f;
  }
  EXPECT_GT(memory_efficiency(a, 1e10), 0.99 * a.memory.max_fraction);
  EXPECT_EQ(memory_efficiency(a, 0), 0);
}

TEST(MemoryEfficiency, TimeIsAFixedCostPlusStreaming) {
  // (B + half) / (bw * max): small transfers approach half / (bw * max), large ones B / (bw
  // * max).
  const Accelerator a = h100();
  const double rate = a.hbm_bandwidth_Bps * a.memory.max_fraction;
  EXPECT_NEAR(memory_time_s(a, 1), a.memory.half_bytes / rate, 1e-9);
  EXPECT_NEAR(memory_time_s(a, 1e12) / (1e12 / rate), 1, 1e-4);
  EXPECT_EQ(memory_time_s(a, 0), 0);
}

}  // namespace
}  // namespace moesim::hw
