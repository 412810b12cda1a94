#pragma once
// Accelerator: one chip as the cluster sees it. Nothing about models.
#include <string>

namespace moesim::hw {

enum class Dtype { fp32, tf32, bf16, fp8, fp4 };

// Achieved fraction of peak for a GEMM. A smooth saturating curve (see docs/hardware.md):
// fraction = max_fraction * I/(I + half_intensity) * W/(W + half_work), times a wave
// quantization term; the calibration issue fits these parameters from measured kernels.
struct GemmEfficiency {
  double max_fraction = 0.85;
  double half_intensity_flop_per_byte = 30.0;  // arithmetic intensity at half of max
  double half_work_flop = 2e9;                 // GEMM size (FLOPs) at half of max
  double wave_tile_m = 128;                    // tile shape used for wave quantization
  double wave_tile_n = 128;
  double compute_units = 108;  // SMs / CUs / TensorCores that take tiles
};

// Achieved fraction of HBM bandwidth for memory-bound work of a given size.
struct MemoryEfficiency {
  double max_fraction = 0.9;
  double half_bytes = 4e6;  // bytes moved at half of max
};

struct Accelerator {
  std::string name;
  std::string vendor;
  // Peak dense FLOP/s per dtype; 0 when the chip has no such mode.
  double peak_fp32_flops = 0;
  double peak_tf32_flops = 0;
  double peak_bf16_flops = 0;
  double peak_fp8_flops = 0;
  double peak_fp4_flops = 0;
  double hbm_bytes = 0;
  double hbm_bandwidth_Bps = 0;
  double onchip_bytes = 0;  // SRAM / L2 / CMEM, informative
  double tdp_w = 0;
  double idle_w = 0;  // 0 means "use the power model's default share of TDP"
  double price_per_hour_usd = 0;
  int cores_per_chip = 1;  // TPU v2-v4 and v5p chips hold two TensorCores
  GemmEfficiency gemm;
  MemoryEfficiency memory;

  double peak_flops(Dtype d) const;
};

}  // namespace moesim::hw
