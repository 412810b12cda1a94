#pragma once
// Published measurements the step model is checked against, with the configuration each
// run used, so that tests and `moesim validate` share one table (docs/validation.md).
#include <string>
#include <vector>

#include "sim/layout.hpp"
#include "sim/step.hpp"

namespace moesim::sim {

struct ThroughputCase {
  std::string model;    // model preset
  std::string cluster;  // cluster preset
  std::int64_t devices = 0;
  Layout layout;
  StepOptions options;
  double measured_flops_per_device = 0;  // achieved FLOP/s per device, as published
  double measured_step_s = 0;            // iteration time, where the source gives it instead
  std::string source;
};

// Narayanan et al. 2021 (2104.04473) Table 1: ten GPT models on DGX A100. Micro-batch,
// interleaving and DDP per row from the paper's own launch script (Megatron-LM
// examples/sc21/run_table_1.sh); full ("uniform") recompute, no sequence parallelism and no
// FlashAttention (neither existed in 2021).
std::vector<ThroughputCase> narayanan_table1_cases();

// Korthikanti et al. 2022 (2205.05198) Table 5: iteration time of four GPT models on DGX
// A100 with 2022 Megatron-LM, each with full recompute (no sequence parallelism) and with
// sequence parallelism plus selective recompute. Configurations from its Table 3.
std::vector<ThroughputCase> korthikanti_table5_cases();

}  // namespace moesim::sim
