// moesim: the command-line front end. Thin: it parses flags, calls sim/ and renders io/
// reports. Exit codes (CLI.md): 0 success, 2 invalid input (one line naming the flag or
// file, the field and the rule), 1 anything else.
#include <iostream>
#include <string>
#include <vector>

#include "cli/calibrate_verb.hpp"
#include "cli/common.hpp"
#include "cli/hardware_verbs.hpp"
#include "cli/laws_verbs.hpp"
#include "cli/plan_verb.hpp"
#include "cli/plot_verb.hpp"
#include "cli/simulate_verb.hpp"
#include "cli/sweep_verb.hpp"
#include "cli/verbs.hpp"
#include "io/errors.hpp"

namespace {

const char* kUsage =
    "usage: moesim VERB [flags]   (moesim VERB --help for the flags of a verb)\n\n"
    "verbs:\n"
    "  estimate    analytic prediction for one model, cluster and layout\n"
    "  simulate    event-driven prediction: link contention, uneven expert load, --trace\n"
    "  optimize    search every layout of a model on a cluster; rank by time, cost or energy\n"
    "  loss        evaluate a scaling law (--law NAME); --optimal --flops C for the optimum\n"
    "  fit         fit a scaling law to a CSV of runs, with bootstrap confidence intervals\n"
    "  plan        budget -> best architectures: the loss/cost Pareto frontier and the pick\n"
    "  collective  cost of one collective on a cluster (nccl-tests algbw/busbw), or a size sweep\n"
    "  sweep       run a grid (JSON spec) of estimates on threads to CSV or JSONL; --resume, "
    "--shard\n"
    "  plot        CSV (a sweep's output) -> PNG/SVG/PDF chart with Qt Charts, offscreen\n"
    "  calibrate   time the reference MoE kernels here and fit this host's efficiency curves\n"
    "  validate    regenerate the validation tables (docs/validation.md)\n"
    "  presets     list | show NAME: the built-in models, accelerators and clusters\n"
    "  help        this text\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace moesim;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string verb = args[0];
  args.erase(args.begin());
  try {
    if (verb == "estimate") return cli::run_estimate(args);
    if (verb == "presets") return cli::run_presets(args);
    if (verb == "optimize") return cli::run_optimize(args);
    if (verb == "validate") return cli::run_validate(args);
    if (verb == "loss") return cli::run_loss(args);
    if (verb == "fit") return cli::run_fit(args);
    if (verb == "collective") return cli::run_collective(args);
    if (verb == "plan") return cli::run_plan(args);
    if (verb == "calibrate") return cli::run_calibrate(args);
    if (verb == "sweep") return cli::run_sweep(args);
    if (verb == "plot") return cli::run_plot(args);
    if (verb == "simulate") return cli::run_simulate(args);
    std::string hint = io::did_you_mean(
        verb, {"estimate", "presets", "simulate", "optimize", "loss", "fit", "plan", "sweep",
               "plot", "collective", "calibrate", "validate", "help"});
    std::cerr << "error: command line: verb: unknown verb '" << verb << "'"
              << (hint.empty() ? "" : "; did you mean '" + hint + "'?") << '\n';
    return 2;
  } catch (const io::InputError& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 2;
  } catch (const boost::program_options::error& e) {
    std::cerr << "error: command line: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << '\n';
    return 1;
  }
}
