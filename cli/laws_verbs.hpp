#pragma once
// `moesim loss` and `moesim fit` (CLI.md): evaluate a loss scaling law, find its
// compute-optimal point, fit one to a CSV of runs. docs/laws.md documents the laws.
#include <string>
#include <vector>

namespace moesim::cli {

int run_loss(const std::vector<std::string>& args);
int run_fit(const std::vector<std::string>& args);

}  // namespace moesim::cli
