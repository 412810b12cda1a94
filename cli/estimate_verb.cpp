#include <iostream>

#include "cli/common.hpp"
#include "cli/verbs.hpp"
#include "io/report.hpp"

namespace moesim::cli {

int run_estimate(const std::vector<std::string>& args) {
  po::options_description options;
  options.add(model_cluster_options()).add(layout_options()).add(step_options()).add(run_options());
  auto vm = parse_verb_args(args, options,
                            "usage: moesim estimate --model NAME|FILE --cluster NAME|FILE "
                            "[--devices N] [layout flags] [--tokens N] [--format table|json|csv]");
  if (!vm) return 0;
  const Format format = read_format(*vm);
  const sim::EstimateInput input = read_estimate_input(*vm);
  const sim::Estimate result = sim::estimate(input);
  // Render fully before printing anything, so an error never leaves half a report.
  std::string out;
  switch (format) {
    case Format::table:
      out = io::render_estimate_table(result);
      break;
    case Format::json:
      out = io::render_json(io::make_report(result));
      break;
    case Format::csv:
      out = io::render_csv(io::make_report(result));
      break;
  }
  std::cout << out;
  return 0;
}

}  // namespace moesim::cli
