#pragma once
// `moesim plan` (CLI.md): a budget and a cluster in, the loss/cost and loss/time Pareto
// frontiers of a grid of architectures and the best pick out. docs/plan.md documents it.
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "io/report.hpp"
#include "sim/plan.hpp"

namespace moesim::cli {

int run_plan(const std::vector<std::string>& args);
// `moesim plan`'s flags, its result for parsed flags, and that result as a flat report
// (plan.* counts and best.*: what `moesim sweep` writes per plan point). Bad input throws
// io::InputError.
po::options_description plan_options();
sim::PlanResult plan_result(const po::variables_map& vm);
io::Report plan_report(const sim::PlanResult& result);

}  // namespace moesim::cli
