#pragma once
// `moesim simulate` (CLI.md): the event-driven prediction for one configuration, with the
// estimate's report plus events.* and imbalance.*; --trace writes Chrome trace events.
// docs/simulate.md documents it.
#include <string>
#include <vector>

namespace moesim::cli {

int run_simulate(const std::vector<std::string>& args);

}  // namespace moesim::cli
