#include "hardware/accelerator.hpp"

namespace moesim::hw {

double Accelerator::peak_flops(Dtype d) const {
  switch (d) {
    case Dtype::fp32:
      return peak_fp32_flops;
    case Dtype::tf32:
      return peak_tf32_flops;
    case Dtype::bf16:
      return peak_bf16_flops;
    case Dtype::fp8:
      return peak_fp8_flops;
    case Dtype::fp4:
      return peak_fp4_flops;
  }
  return 0;
}

}  // namespace moesim::hw
