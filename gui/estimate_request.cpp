#include "gui/estimate_request.hpp"

#include <exception>

#include "io/errors.hpp"
#include "io/loaders.hpp"
#include "sim/estimate.hpp"

namespace moesim::gui {

EstimateOutcome run_estimate(const EstimateRequest& request) {
  EstimateOutcome out;
  try {
    sim::EstimateInput in;
    // Same order as cli/common.cpp read_estimate_input, so the first error reported for a
    // request with several problems is the one the CLI reports.
    in.model = io::load_model(request.model);
    std::optional<int> devices;
    if (request.devices > 0) devices = request.devices;
    in.cluster = io::load_cluster(request.cluster, devices);
    if (request.layout) {
      const FieldErrors errors = sim::validate(*request.layout, in.model, in.cluster.devices);
      if (!errors.empty()) io::throw_first("command line", errors);
      in.layout = request.layout;
    }
    out.report = io::make_report(sim::estimate(in));
  } catch (const io::InputError& e) {
    out.error = std::string("error: ") + e.what();
  } catch (const std::exception& e) {
    out.error = std::string("internal error: ") + e.what();
  }
  return out;
}

std::vector<std::string> cli_arguments(const EstimateRequest& request) {
  std::vector<std::string> args = {"--model", request.model, "--cluster", request.cluster};
  if (request.devices > 0) {
    args.push_back("--devices");
    args.push_back(std::to_string(request.devices));
  }
  if (const auto& l = request.layout) {
    auto flag = [&args](const char* name, const std::string& value) {
      args.push_back(name);
      args.push_back(value);
    };
    flag("--dp", std::to_string(l->dp));
    flag("--tp", std::to_string(l->tp));
    flag("--pp", std::to_string(l->pp));
    flag("--ep", std::to_string(l->ep));
    flag("--zero", std::to_string(l->zero));
    flag("--recompute", sim::to_string(l->recompute));
    flag("--micro-batch", std::to_string(l->micro_batch));
    if (l->global_batch > 0) flag("--global-batch", std::to_string(l->global_batch));
  }
  return args;
}

}  // namespace moesim::gui
