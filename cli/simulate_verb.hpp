#pragma once
// `moesim simulate` (CLI.md): the event-driven prediction for one configuration, with the
// estimate's report plus events.* and imbalance.*; --trace writes Chrome trace events.
// docs/simulate.md documents it.
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "io/report.hpp"

namespace moesim::cli {

// The flags of `moesim simulate`; a sweep point parses its flags with them (no --trace).
po::options_description simulate_options(bool with_trace);

// Runs the simulation the flags ask for and returns its report (a sweep row's columns).
io::Report simulate_report(const po::variables_map& vm);

int run_simulate(const std::vector<std::string>& args);

}  // namespace moesim::cli
