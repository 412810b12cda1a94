#include "cli/calibrate_verb.hpp"

#include <iostream>

#include "cli/common.hpp"
#include "io/errors.hpp"

#include "io/host_profile_io.hpp"
#include "io/loaders.hpp"
#include "kernels/host_profile.hpp"

namespace moesim::cli {

int run_calibrate(const std::vector<std::string>& args) {
  po::options_description options("Calibrate");
  options.add_options()("quick", "a short run (under 2 minutes on 2 cores)")(
      "out", po::value<std::string>(), "where to write the accelerator preset (JSON)")(
      "threads", po::value<std::string>()->default_value("1"),
      "threads of the held-back MoE layer runs (the fitted GEMMs use one)")(
      "format", po::value<std::string>()->default_value("table"), "table|json (the report)");
  auto vm = parse_verb_args(
      args, options,
      "usage: moesim calibrate [--quick] --out host.json [--threads N] [--format table|json]\n"
      "Times GEMMs and memory-bound kernels on this host, fits the efficiency curves, writes\n"
      "an accelerator preset named 'host' and checks it on MoE layers not used in the fit.");
  if (!vm) return 0;
  if (!vm->count("out")) throw io::InputError("--out", "", "required: the preset file to write");
  const std::string out = (*vm)["out"].as<std::string>();
  const std::string format = (*vm)["format"].as<std::string>();
  if (format != "table" && format != "json")
    throw io::InputError("--format", "value", "'" + format + "' is not table or json");
  const int threads =
      static_cast<int>(parse_positive((*vm)["threads"].as<std::string>(), "--threads", 1024));
  kernels::CalibrationOptions opt;
  opt.quick = vm->count("quick") > 0;
  opt.threads = threads;
  if (!opt.quick) opt.repeats = 5, opt.min_seconds = 0.1;
  opt.progress = [](const std::string& line) { std::cerr << "calibrate: " << line << "\n"; };
  const kernels::HostProfile profile = kernels::calibrate_host(opt);
  const std::string source = std::string("moesim calibrate") + (opt.quick ? " --quick" : "") +
                             ": fp32 GEMM and memory-kernel fits on this host";
  io::write_file_atomically(out, io::render_accelerator_json(profile.accelerator, source), "--out");
  io::load_accelerator(out);  // the file must read back; throws InputError otherwise
  std::cout << (format == "json"
                    ? io::render_host_profile_json(profile)
                    : io::render_host_profile_table(profile) + "\nwrote " + out + "\n");
  return 0;
}

}  // namespace moesim::cli
