#include "cli/simulate_verb.hpp"

#include <charconv>
#include <iostream>

#include "cli/common.hpp"
#include "io/errors.hpp"
#include "io/routing_io.hpp"
#include "io/simulate_report.hpp"
#include "io/trace.hpp"
#include "sim/event/simulator.hpp"

namespace moesim::cli {

po::options_description simulate_options(bool with_trace) {
  po::options_description sim_options("simulation");
  sim_options.add_options()(
      "routing", po::value<std::string>()->default_value("balanced"),
      "expert load: balanced | uniform | zipf:S | dirichlet:A | file:PATH (CSV expert,tokens)")(
      "seed", po::value<std::string>()->default_value("1"), "seed of the routing's random numbers")(
      "contention", po::value<std::string>()->default_value("true"),
      "true: collectives share links (max-min); false: each runs as if alone")(
      "network-model", po::value<std::string>()->default_value("auto"),
      "auto | flows (per-flow max-min) | coflows (a collective's flows in lockstep)");
  if (with_trace)
    sim_options.add_options()("trace", po::value<std::string>(),
                              "write Chrome trace events (Perfetto) to FILE");
  po::options_description options;
  options.add(model_cluster_options())
      .add(layout_options())
      .add(step_options())
      .add(run_options())
      .add(sim_options);
  return options;
}

namespace {

// The simulation the parsed flags ask for (one line naming the flag on bad input).
sim::event::Simulation simulate_from(const po::variables_map& vm) {
  sim::event::SimulateOptions opt;
  {
    const std::string seed = text_of(vm, "seed");
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(seed.data(), seed.data() + seed.size(), v);
    if (ec != std::errc() || end != seed.data() + seed.size())
      throw io::InputError("--seed", "value", "'" + seed + "' is not an integer >= 0");
    opt.seed = v;
  }
  opt.routing = io::parse_routing_flag(text_of(vm, "routing"), "--routing");
  const sim::EstimateInput input = read_estimate_input(vm);
  const auto routing_errors = sim::event::validate(opt.routing, input.model.moe.experts);
  if (!routing_errors.empty()) io::throw_first("--routing", routing_errors);
  {
    const std::string c = text_of(vm, "contention");
    if (c != "true" && c != "false")
      throw io::InputError("--contention", "value", "'" + c + "' is not true or false");
    opt.contention = c == "true";
    const std::string n = text_of(vm, "network-model");
    if (n == "auto")
      opt.network = sim::event::NetworkModel::automatic;
    else if (n == "flows")
      opt.network = sim::event::NetworkModel::flows;
    else if (n == "coflows")
      opt.network = sim::event::NetworkModel::coflows;
    else
      throw io::InputError("--network-model", "value",
                           "'" + n + "' is not one of auto, flows, coflows");
  }
  opt.trace = has(vm, "trace");
  if (opt.trace && text_of(vm, "trace").empty())
    throw io::InputError("--trace", "value", "needs a file name");
  return sim::event::simulate(input, opt);
}

}  // namespace

io::Report simulate_report(const po::variables_map& vm) {
  return io::make_simulation_report(simulate_from(vm));
}

int run_simulate(const std::vector<std::string>& args) {
  const po::options_description options = simulate_options(true);
  auto vm = parse_verb_args(args, options,
                            "usage: moesim simulate --model NAME|FILE --cluster NAME|FILE "
                            "[--devices N] [layout flags] [--routing SPEC] [--seed N] "
                            "[--trace FILE] [--format table|json|csv]");
  if (!vm) return 0;
  const Format format = read_format(*vm);
  const bool trace = has(*vm, "trace");
  const sim::event::Simulation result = simulate_from(*vm);
  // Render fully before printing anything, so an error never leaves half a report.
  std::string out;
  switch (format) {
    case Format::table:
      out = io::render_simulation_table(result);
      break;
    case Format::json:
      out = io::render_json(io::make_simulation_report(result));
      break;
    case Format::csv:
      out = io::render_csv(io::make_simulation_report(result));
      break;
  }
  if (trace) io::write_chrome_trace_file(text_of(*vm, "trace"), result.timeline);
  std::cout << out;
  return 0;
}

}  // namespace moesim::cli
