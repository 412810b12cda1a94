#include <iostream>

#include "cli/common.hpp"
#include "cli/verbs.hpp"
#include "io/errors.hpp"
#include "io/report.hpp"
#include "sim/estimate.hpp"
#include "sim/optimizer.hpp"

namespace moesim::cli {

int run_optimize(const std::vector<std::string>& args) {
  po::options_description options;
  po::options_description own("Optimizer");
  own.add_options()("top", po::value<std::string>()->default_value("10"),
                    "how many layouts to print")(
      "objective", po::value<std::string>()->default_value("time"), "time|cost|energy per token")(
      "threads", po::value<std::string>()->default_value("0"), "worker threads (0 = all cores)");
  options.add(model_cluster_options())
      .add(layout_options())
      .add(step_options())
      .add(own)
      .add(run_options());
  auto vm = parse_verb_args(
      args, options,
      "usage: moesim optimize --model NAME|FILE --cluster NAME|FILE [--devices N] [--top N]\n"
      "       [--objective time|cost|energy] [layout flags fix those parts of the layout]");
  if (!vm) return 0;
  const Format format = read_format(*vm);
  // Model, cluster, price and step options as estimate reads them; the layout flags fix parts
  // of the search instead of giving one layout.
  po::variables_map no_layout = *vm;
  for (const char* f : {"dp", "tp", "pp", "ep", "sequence-parallel", "zero", "recompute",
                        "micro-batch", "global-batch", "pp-schedule", "dtype"})
    no_layout.erase(f);
  const sim::EstimateInput in = read_estimate_input(no_layout);
  const PartialLayout fixed = read_layout_flags(*vm);

  sim::OptimizerOptions opt;
  const std::string objective = (*vm)["objective"].as<std::string>();
  if (objective == "time")
    opt.objective = sim::Objective::time;
  else if (objective == "cost")
    opt.objective = sim::Objective::cost;
  else if (objective == "energy")
    opt.objective = sim::Objective::energy;
  else
    throw io::InputError("--objective", "value", "'" + objective + "' is not time, cost or energy");
  opt.top =
      static_cast<std::size_t>(parse_positive((*vm)["top"].as<std::string>(), "--top", 100000));
  const std::string threads = (*vm)["threads"].as<std::string>();
  opt.threads = threads == "0" ? 0 : static_cast<int>(parse_positive(threads, "--threads", 1024));
  opt.dp = fixed.dp, opt.tp = fixed.tp, opt.pp = fixed.pp, opt.ep = fixed.ep;
  opt.zero = fixed.zero;
  opt.fixed_recompute = fixed.recompute;
  opt.micro_batch = fixed.micro_batch;
  if (fixed.micro_batch) opt.micro_batches = {*fixed.micro_batch};
  opt.virtual_stages = fixed.virtual_stages;
  if (fixed.virtual_stages)
    opt.max_virtual_stages = std::max(opt.max_virtual_stages, *fixed.virtual_stages);
  opt.global_batch = fixed.global_batch.value_or(0);
  opt.dtype = fixed.dtype.value_or(sim::MatrixDtype::bf16);
  opt.flash_attention = fixed.flash_attention.value_or(true);

  const double price =
      in.price_per_device_hour_usd.value_or(in.cluster.accelerator.price_per_hour_usd);
  const sim::StepModel model(in.model, in.cluster, sim::make_network(in.cluster), in.step_options);
  const sim::OptimizerResult result = sim::optimize(in.model, in.cluster, model, opt, price);
  std::string out;
  switch (format) {
    case Format::table:
      out = io::render_optimize_table(
          result, "moesim optimize: " + in.model.name + " on " + in.cluster.name + " (" +
                      std::to_string(in.cluster.devices) + " x " + in.cluster.accelerator.name +
                      "), objective " + objective + " per token");
      break;
    case Format::json:
      out = io::render_optimize_json(result, opt.objective);
      break;
    case Format::csv:
      out = io::render_optimize_csv(result);
      break;
  }
  std::cout << out;
  return 0;
}

}  // namespace moesim::cli
