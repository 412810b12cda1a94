#pragma once
// `moesim plan` (CLI.md): a budget and a cluster in, the loss/cost and loss/time Pareto
// frontiers of a grid of architectures and the best pick out. docs/plan.md documents it.
#include <string>
#include <vector>

namespace moesim::cli {

int run_plan(const std::vector<std::string>& args);

}  // namespace moesim::cli
