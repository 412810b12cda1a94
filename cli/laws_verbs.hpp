#pragma once
// `moesim loss` and `moesim fit` (CLI.md): evaluate a loss scaling law, find its
// compute-optimal point, fit one to a CSV of runs. docs/laws.md documents the laws.
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "io/report.hpp"

namespace moesim::cli {

int run_loss(const std::vector<std::string>& args);
// `moesim loss`'s flags, and its answer for parsed flags as the report --format json and csv
// print (`moesim sweep` evaluates loss points with these). Bad input throws io::InputError.
po::options_description loss_options();
io::Report loss_report(const po::variables_map& vm);
int run_fit(const std::vector<std::string>& args);

}  // namespace moesim::cli
