#include "hardware/gemm_validation.hpp"

#include "hardware/efficiency.hpp"

namespace moesim::hw {

const char* const kMamfSource =
    "S. Bekman, Machine Learning Engineering, compute/accelerator/README.md, \"Maximum "
    "Achievable Matmul FLOPS comparison table\" (BF16, mean of 100 iterations after 50 warmup, "
    "best shape of a brute-force search with mamf-finder.py)";

std::vector<GemmValidationRow> gemm_validation_rows(const AcceleratorLoader& load) {
  struct Case {
    const char* preset;
    double m, n, k, tflops;
    const char* software;
    bool calibration;  // the preset's ceiling was lowered to this measured maximum
  };
  // MAMF table, BF16 rows (TFLOP/s and best shape MxNxK as published). The H100 row notes
  // "H200 is the same"; A100 SXM is the 80 GB part here. A MAMF is the best rate found, so the
  // curve must not predict more at that shape; where the default ceiling did (Blackwell, AMD),
  // the preset's gemm.max_fraction was lowered to meet it (marked calibration).
  const Case cases[] = {
      {"a100-80g", 1024, 10240, 5120, 271.2, "torch 2.6.0+cu126", false},
      {"h100-sxm", 2048, 2048, 13312, 794.5, "torch 2.7.0+cu126", false},
      {"h200", 2048, 2048, 13312, 794.5, "H100 row (\"H200 is the same\")", false},
      {"b200", 1792, 16128, 3072, 1745.0, "torch 2.7.1+cu128", true},
      {"gb200", 4096, 9728, 2048, 1822.0, "torch 2.10.0.dev+cu130", true},
      {"mi325x", 13312, 10240, 8192, 784.9, "torch 2.6.0+rocm6.2.4, TunableOp on", true},
      {"mi300x", 10240, 15360, 8192, 668.4, "torch 2.5.1+rocm6.3, TunableOp on", true},
  };
  std::vector<GemmValidationRow> rows;
  for (const Case& c : cases) {
    const Accelerator acc = load(c.preset);
    GemmValidationRow r;
    r.accelerator = c.preset;
    r.m = c.m, r.n = c.n, r.k = c.k;
    r.measured_flops = c.tflops * 1e12;
    r.predicted_flops = 2 * c.m * c.n * c.k / gemm_time_s(acc, c.m, c.n, c.k, Dtype::bf16);
    r.error = r.predicted_flops / r.measured_flops - 1;
    r.software = c.software;
    r.calibration = c.calibration;
    rows.push_back(r);
  }
  return rows;
}

}  // namespace moesim::hw
