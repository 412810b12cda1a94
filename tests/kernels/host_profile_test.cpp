// Tests of the host profile (kernels/host_profile.hpp): the memory-curve fit on synthetic
// samples, the analytic MoE forward time (sum of its parts, monotone in tokens), a tiny
// calibration run, and the preset's write / read round trip (io/host_profile_io.hpp). No
// assertion depends on how fast this machine is.
#include "kernels/host_profile.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "hardware/efficiency.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "io/host_profile_io.hpp"
#include "io/loaders.hpp"

namespace moesim::kernels {
namespace {

hw::Accelerator host_like() {
  hw::Accelerator a;
  a.name = "host";
  a.peak_fp32_flops = a.peak_bf16_flops = 4e10;
  a.hbm_bytes = 3.2e10;
  a.hbm_bandwidth_Bps = 2e10;
  a.gemm.max_fraction = 0.95;
  a.gemm.half_intensity_flop_per_byte = 1.5;
  a.gemm.half_work_flop = 2e5;
  a.gemm.wave_tile_m = a.gemm.wave_tile_n = 1;
  a.gemm.compute_units = 1;
  a.memory.max_fraction = 0.4;
  a.memory.half_bytes = 3e4;
  return a;
}

MoeConfig small_moe(bool shared) {
  MoeConfig c;
  c.d_model = 64, c.d_ff = 128, c.experts = 8, c.top_k = 2;
  c.capacity_factor = 1.25;
  c.shared_d_ff = shared ? 96 : 0;
  return c;
}

TEST(HostProfile, MemoryFitRecoversSyntheticParameters) {
  hw::Accelerator a = host_like();
  std::vector<MemorySample> s;
  for (double b = 1e3; b < 1e9; b *= 3) s.push_back({"copy", b, hw::memory_time_s(a, b)});
  const MemoryFitSummary f = fit_memory_efficiency(a.hbm_bandwidth_Bps, s);
  ASSERT_TRUE(f.converged) << f.message;
  EXPECT_NEAR(f.fitted.max_fraction, a.memory.max_fraction, 1e-6);
  EXPECT_NEAR(f.fitted.half_bytes / a.memory.half_bytes, 1.0, 1e-6);
  EXPECT_LT(f.rms_log_error, 1e-8);
}

TEST(HostProfile, MemoryFitRejectsBadInput) {
  EXPECT_FALSE(fit_memory_efficiency(1e10, {{"copy", 1e6, 1e-4}}).converged);
  EXPECT_FALSE(fit_memory_efficiency(1e10, {{"copy", 1e6, 1e-4}, {"copy", 0, 1e-4}}).converged);
  EXPECT_FALSE(fit_memory_efficiency(0, {{"copy", 1e6, 1e-4}, {"copy", 1e7, 1e-3}}).converged);
}

TEST(HostProfile, PredictionIsTheSumOfItsParts) {
  const hw::Accelerator a = host_like();
  for (bool shared : {false, true}) {
    const MoeConfig c = small_moe(shared);
    const std::vector<int> rows = {40, 0, 17, 33, 25, 31, 38, 16};
    const int tokens = 100;
    const MoeForwardPrediction p = predict_moe_forward(a, c, tokens, rows);
    double pieces = 0, gemms = 0, memory = 0;
    for (const PredictedPiece& x : p.pieces) {
      EXPECT_GT(x.seconds, 0) << x.name;
      pieces += x.seconds;
      (x.gemm ? gemms : memory) += x.seconds;
      if (x.gemm) {
        EXPECT_DOUBLE_EQ(x.seconds, hw::gemm_time_s(a, x.m, x.n, x.k, hw::Dtype::fp32));
      } else {
        EXPECT_DOUBLE_EQ(x.seconds, hw::memory_time_s(a, x.bytes));
      }
    }
    EXPECT_NEAR(p.total_s, pieces, 1e-12 * pieces);
    EXPECT_NEAR(gemms, p.router_gemm_s + p.expert_gemm_s + p.shared_gemm_s, 1e-12 * gemms);
    EXPECT_NEAR(memory, p.memory_s, 1e-12 * memory);
    EXPECT_DOUBLE_EQ(p.router_gemm_s, hw::gemm_time_s(a, tokens, 8, 64, hw::Dtype::fp32));
    EXPECT_EQ(shared, p.shared_gemm_s > 0);
    // Expert 1 receives no tokens: no GEMM for it.
    for (const PredictedPiece& x : p.pieces)
      EXPECT_EQ(x.name.rfind("expert 1 ", 0), std::string::npos);
    EXPECT_DOUBLE_EQ(predict_moe_forward_s(a, c, tokens, rows), p.total_s);
  }
}

TEST(HostProfile, PredictionIsMonotoneInTokens) {
  const hw::Accelerator a = host_like();
  for (bool shared : {false, true}) {
    MoeConfig c = small_moe(shared);
    for (bool dropless : {false, true}) {
      c.dropless = dropless;
      // From 32 tokens on: below a few rows per expert the curve's size term (1 + half_work /
      // 2mnk) can make a GEMM of m rows faster than one of m - 1 (hardware/efficiency.hpp).
      double last = 0;
      for (int t = 32; t <= 8192; t += t < 128 ? 1 : t / 8) {
        const double s = predict_moe_forward_s(a, c, t);
        EXPECT_TRUE(std::isfinite(s));
        EXPECT_GT(s, last) << "tokens " << t;
        last = s;
      }
    }
  }
}

TEST(HostProfile, ThreadsShortenOnlyTheParallelSection) {
  const hw::Accelerator a = host_like();
  MoeConfig c = small_moe(true);
  const double one = predict_moe_forward_s(a, c, 512);
  c.threads = 4;
  const MoeForwardPrediction p = predict_moe_forward(a, c, 512);
  EXPECT_LT(p.total_s, one);
  double serial = 0;
  for (const PredictedPiece& x : p.pieces)
    if (!x.parallel) serial += x.seconds;
  EXPECT_GT(p.total_s, serial);
}

TEST(HostProfile, PredictionRejectsBadInput) {
  const hw::Accelerator a = host_like();
  MoeConfig c = small_moe(false);
  EXPECT_THROW(predict_moe_forward(a, c, 10, {1, 2}), std::invalid_argument);
  c.top_k = 9;
  EXPECT_THROW(predict_moe_forward(a, c, 10), std::invalid_argument);
}

TEST(HostProfile, TinyCalibrationGivesFiniteParameters) {
  CalibrationOptions o;
  o.repeats = 1;
  o.min_seconds = 1e-4;
  o.gemm_shapes = {{16, 16, 16}, {32, 64, 32}, {8, 128, 64}, {64, 64, 64}};
  o.memory_cases = {{"copy", 1 << 16},
                    {"softmax", 1 << 14},
                    {"permute", 1 << 16},
                    {"combine", 1 << 16},
                    {"swiglu", 1 << 16}};
  MoeConfig c = small_moe(true);
  o.held_back = {{c, 32}};
  const HostProfile p = calibrate_host(o);
  const hw::Accelerator& a = p.accelerator;
  EXPECT_EQ(a.name, "host");
  for (double v : {a.peak_fp32_flops, a.peak_bf16_flops, a.hbm_bandwidth_Bps, a.hbm_bytes,
                   a.gemm.max_fraction, a.memory.max_fraction}) {
    EXPECT_TRUE(std::isfinite(v));
    EXPECT_GT(v, 0);
  }
  EXPECT_LE(a.gemm.max_fraction, 1.0);
  EXPECT_LE(a.memory.max_fraction, 1.0);
  EXPECT_TRUE(std::isfinite(a.gemm.half_intensity_flop_per_byte));
  EXPECT_TRUE(std::isfinite(a.gemm.half_work_flop));
  EXPECT_TRUE(std::isfinite(a.memory.half_bytes));
  EXPECT_EQ(p.fit_rows.size(), 9u);
  ASSERT_EQ(p.held_back_rows.size(), 1u);
  EXPECT_GT(p.held_back_rows[0].measured_s, 0);
  EXPECT_GT(p.held_back_rows[0].model_s, 0);
  EXPECT_TRUE(std::isfinite(p.median_abs_error_held_back));
  // The peak and max_fraction split keeps the fitted asymptote (header comment).
  EXPECT_NEAR(a.peak_fp32_flops * a.gemm.max_fraction,
              p.best_gemm_flops * p.gemm_fit.fitted.max_fraction, 1e-9 * a.peak_fp32_flops);
}

TEST(HostProfile, MedianAbsError) {
  EXPECT_EQ(median_abs_error({}), 0);
  std::vector<ResidualRow> r = {{"a", "", 1, 1.1}, {"a", "", 1, 0.7}, {"a", "", 1, 1.2}};
  EXPECT_NEAR(median_abs_error(r), 0.2, 1e-12);
  r.push_back({"a", "", 2, 2});
  EXPECT_NEAR(median_abs_error(r), 0.15, 1e-12);
}

TEST(HostProfile, PresetRoundTrip) {
  hw::Accelerator a = host_like();
  a.vendor = "this machine";
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("moesim_host_profile_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "host.json").string();
  io::write_file_atomically(path, io::render_accelerator_json(a, "test"), "--out");
  // Overwriting goes through the same temp + rename.
  io::write_file_atomically(path, io::render_accelerator_json(a, "test"), "--out");
  const hw::Accelerator b = io::load_accelerator(path);
  EXPECT_EQ(b.name, "host");
  EXPECT_EQ(b.vendor, a.vendor);
  EXPECT_DOUBLE_EQ(b.peak_fp32_flops, a.peak_fp32_flops);
  EXPECT_DOUBLE_EQ(b.peak_bf16_flops, a.peak_bf16_flops);
  EXPECT_DOUBLE_EQ(b.hbm_bytes, a.hbm_bytes);
  EXPECT_DOUBLE_EQ(b.hbm_bandwidth_Bps, a.hbm_bandwidth_Bps);
  EXPECT_DOUBLE_EQ(b.gemm.max_fraction, a.gemm.max_fraction);
  EXPECT_DOUBLE_EQ(b.gemm.half_intensity_flop_per_byte, a.gemm.half_intensity_flop_per_byte);
  EXPECT_DOUBLE_EQ(b.gemm.half_work_flop, a.gemm.half_work_flop);
  EXPECT_DOUBLE_EQ(b.gemm.wave_tile_m, 1);
  EXPECT_DOUBLE_EQ(b.gemm.compute_units, 1);
  EXPECT_DOUBLE_EQ(b.memory.max_fraction, a.memory.max_fraction);
  EXPECT_DOUBLE_EQ(b.memory.half_bytes, a.memory.half_bytes);
  const MoeConfig c = small_moe(true);
  EXPECT_DOUBLE_EQ(predict_moe_forward_s(a, c, 256), predict_moe_forward_s(b, c, 256));
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) ++files, (void)e;
  EXPECT_EQ(files, 1);  // no temporary left behind
  std::filesystem::remove_all(dir);
}

TEST(HostProfile, ReportsRender) {
  CalibrationOptions o;
  o.repeats = 1;
  o.min_seconds = 1e-4;
  o.gemm_shapes = {{16, 16, 16}, {32, 64, 32}, {8, 128, 64}};
  o.memory_cases = {{"copy", 1 << 14}, {"permute", 1 << 15}, {"swiglu", 1 << 15}};
  o.skip_held_back = true;
  const HostProfile p = calibrate_host(o);
  EXPECT_NE(io::render_host_profile_table(p).find("m=32 n=64 k=32"), std::string::npos);
  EXPECT_NE(io::render_host_profile_json(p).find("\"median_abs_error_fit\""), std::string::npos);
  // A file the loader reads.
  EXPECT_NO_THROW(io::parse_accelerator(io::render_accelerator_json(p.accelerator, "t"), "t.json"));
}

}  // namespace
}  // namespace moesim::kernels
