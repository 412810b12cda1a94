#include "cli/sweep_verb.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli/common.hpp"
#include "io/errors.hpp"
#include "io/sweep_spec.hpp"
#include "sim/sweep.hpp"

namespace moesim::cli {
namespace {

// The options of `moesim estimate`, which a sweep point's arguments are parsed with.
po::options_description estimate_options() {
  po::options_description o;
  o.add(model_cluster_options()).add(layout_options()).add(step_options()).add(run_options());
  return o;
}

// Keys a spec may use: estimate's flags, less the ones the sweep owns or that take lists.
std::vector<std::string> estimate_keys() {
  std::vector<std::string> keys;
  const po::options_description options = estimate_options();
  for (const auto& opt : options.options()) {
    const std::string name = opt->long_name();
    if (name == "format" || name == "set") continue;
    keys.push_back(name);
  }
  return keys;
}

// Appends `text` with one write (retried only if the kernel writes part of it).
void append_whole(int fd, const std::string& text, const std::string& path) {
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(path + ": write failed: " + std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
}

io::SweepRow evaluate(const io::SweepSpec& spec, const po::options_description& options,
                      std::int64_t point, std::atomic<int>& internal_errors) {
  io::SweepRow row;
  row.point = point;
  row.axes = spec.point(point);
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(spec.point_args(point)).options(options).run(), vm);
    po::notify(vm);
    const sim::EstimateInput input = read_estimate_input(vm);
    const sim::Estimate result = sim::estimate(input);
    row.report = io::make_report(result);
    if (!result.step) {
      row.status = "infeasible";
      row.reason = "no layout fits in memory";
      for (const auto& n : result.notes) row.reason += "; " + n;
    } else if (!result.fits) {
      row.status = "infeasible";
      char text[160];
      std::snprintf(text, sizeof text, "needs %.2f GB per device, the accelerator has %.2f GB",
                    result.memory.per_device_bytes() / 1e9, result.hbm_bytes / 1e9);
      row.reason = text;
    } else {
      row.status = "ok";
    }
  } catch (const io::InputError& e) {
    row.report = {};
    row.status = "invalid";
    row.reason = e.what();
  } catch (const po::error& e) {
    row.report = {};
    row.status = "invalid";
    row.reason = e.what();
  } catch (const std::exception& e) {
    ++internal_errors;
    row.report = {};
    row.status = "invalid";
    row.reason = std::string("internal error: ") + e.what();
  }
  return row;
}

void print_progress(const sim::SweepProgress& p, bool tty, bool final) {
  const double frac = p.total ? static_cast<double>(p.done) / static_cast<double>(p.total) : 1.0;
  const double eta =
      p.done ? p.elapsed_s * static_cast<double>(p.total - p.done) / static_cast<double>(p.done)
             : 0.0;
  char line[256];
  if (tty) {
    const int width = 30, filled = static_cast<int>(frac * width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar += std::string(static_cast<std::size_t>(width - filled), '.');
    std::snprintf(line, sizeof line, "\r[%s] %lld/%lld %5.1f%% %.0fs eta %.0fs", bar.c_str(),
                  static_cast<long long>(p.done), static_cast<long long>(p.total), 100 * frac,
                  p.elapsed_s, eta);
    std::cerr << line << (final ? "\n" : "") << std::flush;
  } else {
    std::snprintf(line, sizeof line, "sweep: %lld/%lld points (%.1f%%), %.0fs elapsed, eta %.0fs",
                  static_cast<long long>(p.done), static_cast<long long>(p.total), 100 * frac,
                  p.elapsed_s, eta);
    std::cerr << line << '\n' << std::flush;
  }
}

}  // namespace

int run_sweep(const std::vector<std::string>& args) {
  po::options_description options("Sweep");
  options.add_options()("spec", po::value<std::string>(), "the sweep spec JSON file")(
      "out", po::value<std::string>(), "output file (rows are appended whole)")(
      "format", po::value<std::string>(), "csv|jsonl (default: jsonl for *.jsonl, else csv)")(
      "threads", po::value<std::string>(), "worker threads (default: all cores)")(
      "resume", "skip the points already in --out (drops a cut-off last line)")(
      "shard", po::value<std::string>(), "i/n: run only points with index % n == i")(
      "quiet", "no progress on stderr");
  po::positional_options_description positional;
  positional.add("spec", 1);
  auto vm = parse_verb_args(args, options,
                            "usage: moesim sweep SPEC.json --out FILE [--format csv|jsonl] "
                            "[--threads N] [--resume] [--shard i/n]\n"
                            "Runs every point of the spec (docs/sweep.md) and writes one row each.",
                            &positional);
  if (!vm) return 0;
  if (!vm->count("spec")) throw io::InputError("sweep", "SPEC", "a spec JSON file is required");
  if (!vm->count("out")) throw io::InputError("--out", "value", "is required");
  const std::string out = (*vm)["out"].as<std::string>();

  io::SweepFormat format = io::SweepFormat::csv;
  if (vm->count("format")) {
    const std::string f = (*vm)["format"].as<std::string>();
    if (f == "csv")
      format = io::SweepFormat::csv;
    else if (f == "jsonl")
      format = io::SweepFormat::jsonl;
    else {
      const std::string s = io::did_you_mean(f, {"csv", "jsonl"});
      throw io::InputError("--format", "value",
                           "'" + f + "' is not one of csv, jsonl" +
                               (s.empty() ? std::string() : "; did you mean '" + s + "'?"));
    }
  } else if (out.size() >= 6 && out.compare(out.size() - 6, 6, ".jsonl") == 0) {
    format = io::SweepFormat::jsonl;
  }
  int threads = sim::default_sweep_threads();
  if (vm->count("threads"))
    threads =
        static_cast<int>(parse_positive((*vm)["threads"].as<std::string>(), "--threads", 4096));
  std::int64_t shard_i = 0, shard_n = 1;
  if (vm->count("shard"))
    std::tie(shard_i, shard_n) = io::parse_shard((*vm)["shard"].as<std::string>());

  const io::SweepSpec spec = io::load_sweep_spec((*vm)["spec"].as<std::string>(), estimate_keys());
  if (spec.verb != "estimate")
    throw io::InputError(spec.source, "verb",
                         "verb " + spec.verb + " is not supported by sweep yet (only estimate)");

  const std::int64_t count = spec.count();
  const std::string header = io::render_sweep_header(spec, format);
  std::set<std::int64_t> done;
  if (vm->count("resume")) {
    done = io::resume_sweep_output(out, header, format, count);
  } else {
    if (std::filesystem::exists(out))
      throw io::InputError("--out", "value",
                           out + " exists; pass --resume to continue it, or remove it");
  }
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw io::InputError("--out", "value", out + ": cannot be opened for writing");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (!vm->count("resume")) append_whole(fd, header, out);

  const std::vector<std::int64_t> todo =
      sim::sweep_todo(count, shard_i, shard_n, [&](std::int64_t i) { return done.count(i) > 0; });

  const po::options_description point_options = estimate_options();
  std::atomic<int> internal_errors{0};
  const bool quiet = vm->count("quiet") > 0;
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  sim::SweepRunOptions run;
  run.threads = threads;
  if (!quiet) {
    run.progress = [tty](const sim::SweepProgress& p) {
      print_progress(p, tty, p.done == p.total);
    };
  }
  if (!quiet && !done.empty())
    std::cerr << "sweep: resuming, " << done.size() << " points already in " << out << '\n';
  sim::run_sweep(
      todo,
      [&](std::int64_t i) {
        return io::render_sweep_row(spec, evaluate(spec, point_options, i, internal_errors),
                                    format);
      },
      [&](std::int64_t, std::string&& line) { append_whole(fd, line, out); }, run);
  if (internal_errors > 0) {
    std::cerr << "error: " << internal_errors << " points failed with an internal error (see "
              << out << ", status invalid, reason 'internal error')\n";
    return 1;
  }
  return 0;
}

}  // namespace moesim::cli
