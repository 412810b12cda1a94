#include "cli/sweep_verb.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>

#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "cli/common.hpp"
#include "cli/laws_verbs.hpp"
#include "cli/plan_verb.hpp"
#include "cli/simulate_verb.hpp"
#include "io/errors.hpp"
#include "io/law_io.hpp"
#include "io/simulate_report.hpp"
#include "io/sweep_spec.hpp"
#include "sim/sweep.hpp"

#ifdef MOESIM_HAVE_MPI
#include <mpi.h>
#endif

namespace moesim::cli {
namespace {

// ---- MPI ---------------------------------------------------------------------------------
// Under `mpirun -n N moesim sweep ...` every rank runs this verb with the same flags. MPI is
// initialized only here and only when a launcher's environment says this process is one of
// several ranks, so a plain `moesim sweep` (or any other verb) never touches MPI. Rank 0
// owns the output: it reads it for --resume, broadcasts the points left to do, runs its own
// share and appends every row it computes or receives; the other ranks send their rows to it
// and write nothing. Points go to ranks round-robin over the todo list (point k of the list
// to rank k % N), like --shard over the whole spec.

// The world size a launcher announces (OpenMPI, PMI as in MPICH and Slurm, PMIx), or 1.
int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    if (const char* v = std::getenv(name)) {
      const int n = std::atoi(v);
      if (n > 0) return n;
    }
  }
  return 1;
}

class MpiSession {
 public:
  MpiSession() {
#ifdef MOESIM_HAVE_MPI
    if (launcher_world_size() <= 1) return;
    int provided = 0;
    // Worker threads send rows (one at a time: run_sweep serializes on_row), and rank 0's
    // receiver thread receives while the main thread waits: MPI_THREAD_SERIALIZED.
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    active_ = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    if (provided < MPI_THREAD_SERIALIZED) {
      if (rank_ == 0)
        std::cerr << "error: sweep: the MPI library does not provide MPI_THREAD_SERIALIZED\n";
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
#endif
  }
  ~MpiSession() {
#ifdef MOESIM_HAVE_MPI
    if (active_) MPI_Finalize();
#endif
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  bool active() const {
    return active_ && size_ > 1;
  }
  int rank() const {
    return rank_;
  }
  int size() const {
    return size_;
  }

 private:
  bool active_ = false;
  int rank_ = 0, size_ = 1;
};

#ifdef MOESIM_HAVE_MPI
constexpr int kTagRow = 1;   // a rendered row, sent to rank 0
constexpr int kTagDone = 2;  // a rank has sent all its rows; payload: its internal errors

// Rank 0 -> all: an int status, then (when 0) the todo list. Returns the status.
int broadcast_todo(int status, std::vector<std::int64_t>& todo) {
  MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (status != 0) return status;
  long long n = static_cast<long long>(todo.size());
  MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
  todo.resize(static_cast<std::size_t>(n));
  if (n > 0) MPI_Bcast(todo.data(), static_cast<int>(n), MPI_INT64_T, 0, MPI_COMM_WORLD);
  return 0;
}
#endif

// ---- The verbs a sweep runs ----------------------------------------------------------
// estimate (the fast path below), simulate, loss and plan: each point is that verb with the point's
// flags, and its row holds the verb's report (--format csv/json paths).

// The options of `moesim estimate`, which a sweep point's arguments are parsed with.
po::options_description estimate_options() {
  po::options_description o;
  o.add(model_cluster_options()).add(layout_options()).add(step_options()).add(run_options());
  return o;
}

struct SweepVerb {
  po::options_description options;
  std::vector<std::string> keys;     // spec keys: the flags less format and set (set:PATH)
  std::vector<std::string> columns;  // report paths, in order, then "notes"
  std::set<std::string> switches;    // flags that take no value (a spec gives true/false)
};

std::vector<std::string> columns_of(const std::vector<io::Report>& samples) {
  std::vector<std::string> columns;
  for (const auto& r : samples)
    for (const auto& f : r.fields)
      if (std::find(columns.begin(), columns.end(), f.path) == columns.end())
        columns.push_back(f.path);
  columns.push_back("notes");
  return columns;
}

SweepVerb make_verb(po::options_description options, std::vector<std::string> columns) {
  SweepVerb v{std::move(options), {}, std::move(columns), {}};
  for (const auto& opt : v.options.options()) {
    const std::string name = opt->long_name();
    if (name == "format" || name == "set") continue;
    v.keys.push_back(name);
    if (opt->semantic()->max_tokens() == 0) v.switches.insert(name);
  }
  return v;
}

const std::map<std::string, SweepVerb>& sweep_verbs() {
  static const std::map<std::string, SweepVerb> verbs = [] {
    std::map<std::string, SweepVerb> m;
    m.emplace("estimate", make_verb(estimate_options(), io::sweep_report_columns()));
    // Every path a loss or an optimal-loss answer can have (a chinchilla-form law with a
    // model, which shows every optional field).
    namespace laws = model::laws;
    laws::Law law;
    law.form = laws::Form::chinchilla;
    const io::Report loss = io::make_loss_report(law, laws::LawEvaluation{}, "model");
    const io::Report optimal = io::make_optimal_report(law, laws::ComputeOptimal{});
    m.emplace("loss", make_verb(loss_options(), columns_of({loss, optimal})));
    sim::PlanResult plan;
    plan.best = sim::PlanCandidate{};
    m.emplace("plan", make_verb(plan_options(), columns_of({plan_report(plan)})));
    // simulate: the estimate's columns, then the simulation's own, then notes.
    std::vector<std::string> sim_columns = io::sweep_report_columns();
    sim_columns.pop_back();  // "notes" goes last
    for (const auto& p : io::simulation_report_paths()) sim_columns.push_back(p);
    sim_columns.push_back("notes");
    m.emplace("simulate", make_verb(simulate_options(false), std::move(sim_columns)));
    return m;
  }();
  return verbs;
}

std::map<std::string, std::vector<std::string>> sweep_keys_by_verb() {
  std::map<std::string, std::vector<std::string>> keys;
  for (const auto& [name, verb] : sweep_verbs()) keys[name] = verb.keys;
  return keys;
}

// Sets the spec's report columns for its verb.
io::SweepSpec with_columns(io::SweepSpec spec) {
  spec.report_columns = sweep_verbs().at(spec.verb).columns;
  return spec;
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

// ---- One point ---------------------------------------------------------------------------
// A point is exactly `moesim estimate` with the point's flags. Most of that command's time
// would go to loading the model and cluster (JSON) and building the cluster's network, which
// are the same for every point that only varies the layout: each worker thread keeps them,
// keyed by the point's non-layout flags, and reads only the layout flags per point. The
// layout glue below mirrors read_estimate_input (cli/common.cpp); SweepCli.RowsEqualEstimate
// checks that every row equals `moesim estimate`'s answer.

// Flags that read_layout_flags reads ("flash-attention" also sets the step options, so it
// goes to both parts).
const std::set<std::string>& layout_keys() {
  static const std::set<std::string> keys = [] {
    std::set<std::string> k;
    const po::options_description layout = layout_options();
    for (const auto& opt : layout.options()) k.insert(opt->long_name());
    k.insert("flash-attention");
    return k;
  }();
  return keys;
}

struct PointCache {
  struct Base {
    sim::EstimateInput input;  // model, cluster, tokens, price, step options; no layout
    std::shared_ptr<const sim::Network> network;
  };
  // Key: the non-layout arguments. nullopt: that part is invalid (the full parse says why).
  std::unordered_map<std::string, std::optional<Base>> bases;
};

PointCache& thread_cache() {
  thread_local PointCache cache;
  if (cache.bases.size() > 4096) cache.bases.clear();  // bound the memory of huge sweeps
  return cache;
}

po::variables_map parse_point(const std::vector<std::string>& args,
                              const po::options_description& options) {
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(options).run(), vm);
  po::notify(vm);
  return vm;
}

// The point's estimate input and its cluster's network (shared by the thread's points).
std::pair<sim::EstimateInput, std::shared_ptr<const sim::Network>> point_input(
    const std::vector<std::string>& args, const po::options_description& options) {
  std::vector<std::string> base_args, layout_args;
  std::string key;
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    const std::string name = args[i].substr(2);
    const bool layout = layout_keys().count(name) > 0;
    if (layout) layout_args.insert(layout_args.end(), {args[i], args[i + 1]});
    if (!layout || name == "flash-attention") {
      base_args.insert(base_args.end(), {args[i], args[i + 1]});
      key.append(args[i]).append(1, '\x1f').append(args[i + 1]).append(1, '\x1e');
    }
  }
  PointCache& cache = thread_cache();
  auto it = cache.bases.find(key);
  if (it == cache.bases.end()) {
    std::optional<PointCache::Base> base;
    try {
      PointCache::Base b;
      b.input = read_estimate_input(parse_point(base_args, options));
      b.network = sim::make_network(b.input.cluster);
      base = std::move(b);
    } catch (const std::exception&) {
      // Invalid without the layout: the full parse below reports it in the usual order.
    }
    it = cache.bases.emplace(key, std::move(base)).first;
  }
  if (!it->second) {
    read_estimate_input(parse_point(args, options));  // throws the point's input error
    throw std::logic_error("sweep: a point's flags are valid only with its layout");
  }
  sim::EstimateInput in = it->second->input;
  // Layout flags all take one string value (layout_options): the variables map is built
  // directly instead of running the command-line parser once more.
  po::variables_map layout_vm;
  for (std::size_t i = 0; i + 1 < layout_args.size(); i += 2)
    layout_vm.insert(
        {layout_args[i].substr(2), po::variable_value(boost::any(layout_args[i + 1]), false)});
  const PartialLayout partial = read_layout_flags(layout_vm);
  in.flash_attention = partial.flash_attention.value_or(true);
  in.layout = complete_layout(partial, in.model, in.cluster.devices);
  return {std::move(in), it->second->network};
}

// A loss or plan point: the verb's flags parsed as its command line would be (a switch is
// given when its spec value is true), the verb's answer as the row's report.
void evaluate_other(const io::SweepSpec& spec, const SweepVerb& verb, std::int64_t point,
                    io::SweepRow& row) {
  std::vector<std::string> args;
  const std::vector<std::string> given = spec.point_args(point);
  bool threads_given = false;
  for (std::size_t i = 0; i + 1 < given.size(); i += 2) {
    const std::string name = given[i].substr(2);
    threads_given = threads_given || name == "threads";
    if (verb.switches.count(name)) {
      if (given[i + 1] == "true") {
        args.push_back(given[i]);
      } else if (given[i + 1] != "false") {
        throw io::InputError(spec.source, name,
                             "'" + given[i + 1] + "' is not true or false (a switch)");
      }
      continue;
    }
    args.push_back(given[i]);
    args.push_back(given[i + 1]);
  }
  // A plan searches on threads of its own: one per point unless the spec says otherwise,
  // since the sweep already runs points in parallel.
  if (spec.verb == "plan" && !threads_given) args.insert(args.end(), {"--threads", "1"});
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(verb.options).run(), vm);
  po::notify(vm);
  read_format(vm);  // the verb's own --format is not a sweep key; its default is valid
  if (spec.verb == "loss") {
    row.report = loss_report(vm);
    row.status = "ok";
    return;
  }
  if (spec.verb == "simulate") {
    row.report = simulate_report(vm);
    const auto fits =
        std::find_if(row.report.fields.begin(), row.report.fields.end(),
                     [](const io::ReportField& f) { return f.path == "memory.fits"; });
    const bool ok = fits != row.report.fields.end() && std::holds_alternative<bool>(fits->value) &&
                    std::get<bool>(fits->value);
    row.status = ok ? "ok" : "infeasible";
    if (!ok) row.reason = "does not fit in memory (memory.fits is false)";
    return;
  }
  const sim::PlanResult result = plan_result(vm);
  row.report = plan_report(result);
  if (result.best) {
    row.status = "ok";
    return;
  }
  row.status = "infeasible";
  row.reason =
      "no candidate within the budget (" + std::to_string(result.candidates) + " candidates";
  for (std::size_t i = 0; i < result.dropped.size(); ++i)
    if (result.dropped[i] > 0)
      row.reason += ", " + std::to_string(result.dropped[i]) +
                    " dropped: " + sim::to_string(static_cast<sim::DropReason>(i));
  row.reason += ")";
}

io::SweepRow evaluate(const io::SweepSpec& spec, const po::options_description& options,
                      std::int64_t point, std::atomic<int>& internal_errors) {
  io::SweepRow row;
  row.point = point;
  row.axes = spec.point(point);
  try {
    if (spec.verb != "estimate") {
      evaluate_other(spec, sweep_verbs().at(spec.verb), point, row);
      return row;
    }
    const std::vector<std::string> args = spec.point_args(point);
    const auto [input, network] = point_input(args, options);
    const sim::Estimate result = sim::estimate(input, network);
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

// The sweep's flags and spec, read identically on every rank.
struct SweepSetup {
  std::string out;
  io::SweepFormat format = io::SweepFormat::csv;
  int threads = 1;
  std::int64_t shard_i = 0, shard_n = 1;
  bool resume = false, quiet = false;
  io::SweepSpec spec;
};

std::optional<SweepSetup> read_setup(const std::vector<std::string>& args) {
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
  auto vm = parse_verb_args(
      args, options,
      "usage: moesim sweep SPEC.json --out FILE [--format csv|jsonl] [--threads N] [--resume]\n"
      "                    [--shard i/n] [--quiet]\n"
      "       mpirun -n N moesim sweep SPEC.json --out FILE ...   (rank 0 writes FILE)\n"
      "Runs every point of the spec (docs/sweep.md) and writes one row each.",
      &positional);
  if (!vm) return std::nullopt;
  if (!vm->count("spec")) throw io::InputError("sweep", "SPEC", "a spec JSON file is required");
  if (!vm->count("out")) throw io::InputError("--out", "value", "is required");
  SweepSetup setup;
  setup.out = (*vm)["out"].as<std::string>();
  const std::string& out = setup.out;
  if (vm->count("format")) {
    const std::string f = (*vm)["format"].as<std::string>();
    if (f == "csv")
      setup.format = io::SweepFormat::csv;
    else if (f == "jsonl")
      setup.format = io::SweepFormat::jsonl;
    else {
      const std::string s = io::did_you_mean(f, {"csv", "jsonl"});
      throw io::InputError("--format", "value",
                           "'" + f + "' is not one of csv, jsonl" +
                               (s.empty() ? std::string() : "; did you mean '" + s + "'?"));
    }
  } else if (out.size() >= 6 && out.compare(out.size() - 6, 6, ".jsonl") == 0) {
    setup.format = io::SweepFormat::jsonl;
  }
  setup.threads = sim::default_sweep_threads();
  if (vm->count("threads"))
    setup.threads =
        static_cast<int>(parse_positive((*vm)["threads"].as<std::string>(), "--threads", 4096));
  if (vm->count("shard"))
    std::tie(setup.shard_i, setup.shard_n) = io::parse_shard((*vm)["shard"].as<std::string>());
  setup.resume = vm->count("resume") > 0;
  setup.quiet = vm->count("quiet") > 0;
  setup.spec =
      with_columns(io::load_sweep_spec((*vm)["spec"].as<std::string>(), sweep_keys_by_verb()));
  return setup;
}

}  // namespace

io::SweepSpec parse_cli_sweep_spec(const std::string& text, const std::string& source) {
  return with_columns(io::parse_sweep_spec(text, source, sweep_keys_by_verb()));
}

std::string sweep_point_row(const io::SweepSpec& spec, std::int64_t point, io::SweepFormat format,
                            bool* internal_error) {
  static const po::options_description options = estimate_options();
  std::atomic<int> errors{0};
  std::string row = io::render_sweep_row(spec, evaluate(spec, options, point, errors), format);
  if (internal_error) *internal_error = errors > 0;
  return row;
}

// Under MPI, rank 0 prints a failure itself (as main() would) and returns its exit code, so
// that it has spoken before any other rank exits.
int report_failure(std::exception_ptr failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const io::InputError& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return 2;
  } catch (const boost::program_options::error& e) {
    std::cerr << "error: command line: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << std::endl;
    return 1;
  }
}

int run_sweep(const std::vector<std::string>& args) {
  MpiSession mpi;  // initializes MPI only under a launcher with more than one rank
  const bool root = !mpi.active() || mpi.rank() == 0;
  std::optional<SweepSetup> maybe;
  try {
    maybe = read_setup(args);
  } catch (const std::exception&) {
    if (!mpi.active()) throw;
    // Every rank reads the same flags and spec and fails the same way: rank 0 says so, and
    // no rank exits before it has (mpirun stops the job at the first non-zero exit).
    const int code = root ? report_failure(std::current_exception()) : 2;
#ifdef MOESIM_HAVE_MPI
    MPI_Barrier(MPI_COMM_WORLD);
#endif
    return code;
  }
  if (!maybe) return 0;
  const SweepSetup& setup = *maybe;
  const io::SweepSpec& spec = setup.spec;
  const std::string& out = setup.out;
  const std::int64_t count = spec.count();

  // Rank 0 (or the only process) owns the output file and decides what is left to do.
  int fd = -1;
  std::vector<std::int64_t> todo;
  std::size_t already = 0;
  if (root) {
    std::exception_ptr failed;
    try {
      const std::string header = io::render_sweep_header(spec, setup.format);
      std::set<std::int64_t> done;
      if (setup.resume) {
        done = io::resume_sweep_output(out, header, setup.format, count);
      } else if (std::filesystem::exists(out)) {
        throw io::InputError("--out", "value",
                             out + " exists; pass --resume to continue it, or remove it");
      }
      fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) throw io::InputError("--out", "value", out + ": cannot be opened for writing");
      if (!setup.resume) append_whole(fd, header, out);
      already = done.size();
      todo = sim::sweep_todo(count, setup.shard_i, setup.shard_n,
                             [&](std::int64_t i) { return done.count(i) > 0; });
    } catch (...) {
      failed = std::current_exception();
    }
#ifdef MOESIM_HAVE_MPI
    if (mpi.active() && failed) {
      // Say it before the other ranks hear of it: their exit makes mpirun stop this rank.
      const int code = report_failure(failed);
      if (fd >= 0) ::close(fd);
      broadcast_todo(2, todo);
      return code;
    }
    if (mpi.active()) broadcast_todo(0, todo);
#endif
    if (failed) {
      if (fd >= 0) ::close(fd);
      std::rethrow_exception(failed);
    }
  } else {
#ifdef MOESIM_HAVE_MPI
    if (broadcast_todo(0, todo) != 0) return 2;  // rank 0 reported the error
#endif
  }
  struct Closer {
    int fd;
    ~Closer() {
      if (fd >= 0) ::close(fd);
    }
  } closer{fd};

  // This rank's share: the whole list, or every size-th point of it from its rank on.
  std::vector<std::int64_t> mine;
  if (mpi.active()) {
    for (std::size_t k = static_cast<std::size_t>(mpi.rank()); k < todo.size();
         k += static_cast<std::size_t>(mpi.size()))
      mine.push_back(todo[k]);
  } else {
    mine = todo;
  }

  const po::options_description point_options = estimate_options();
  std::atomic<int> internal_errors{0};
  std::atomic<std::int64_t> received{0};
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const auto total = static_cast<std::int64_t>(todo.size());
  sim::SweepRunOptions run;
  run.threads = setup.threads;
  if (!setup.quiet && root) {
    run.progress = [&, tty](const sim::SweepProgress& p) {
      sim::SweepProgress all = p;  // under MPI: every rank's rows as rank 0 has them
      all.done = p.done + received.load();
      all.total = total;
      print_progress(all, tty, all.done == all.total);
    };
    if (already > 0)
      std::cerr << "sweep: resuming, " << already << " points already in " << out << '\n';
  }
  // Rows are collected and appended in batches of whole lines (at most 64 KiB or 50 ms of
  // rows per write): one write per row would serialize the threads on the kernel. A kill
  // loses at most the rows not yet written (--resume computes them again) and cuts at most
  // the last line (--resume drops it).
  std::mutex write_mutex;  // guards `pending`; rank 0: its own rows and the received ones
  std::string pending;
  auto last_flush = std::chrono::steady_clock::now();
  auto flush = [&] {
    if (!pending.empty()) append_whole(fd, pending, out);
    pending.clear();
    last_flush = std::chrono::steady_clock::now();
  };
  auto add_row = [&](const std::string& line) {
    std::lock_guard lock(write_mutex);
    pending += line;
    if (pending.size() >= (64u << 10) ||
        std::chrono::steady_clock::now() - last_flush >= std::chrono::milliseconds(50))
      flush();
  };
  struct FlushAtExit {
    std::function<void()> f;
    ~FlushAtExit() {
      try {
        f();
      } catch (...) {
      }
    }
  } flush_at_exit{[&] {
    std::lock_guard lock(write_mutex);
    if (fd >= 0) flush();
  }};
  std::function<void(std::int64_t, std::string &&)> on_row = [&](std::int64_t, std::string&& line) {
    add_row(line);
  };
  auto work = [&](std::int64_t i) {
    return io::render_sweep_row(spec, evaluate(spec, point_options, i, internal_errors),
                                setup.format);
  };

  if (!mpi.active()) {
    sim::run_sweep(mine, work, on_row, run);
  } else {
#ifdef MOESIM_HAVE_MPI
    try {
      if (root) {
        // The receiver: rows from the other ranks, appended whole as they arrive, until each
        // rank says it is done. It polls (with a short sleep) so that it does not spin a core
        // that rank 0's own workers need.
        std::atomic<int> remote_errors{0};
        std::thread receiver([&] {
          int remaining = mpi.size() - 1;
          std::string buffer;
          while (remaining > 0) {
            int flag = 0;
            MPI_Status status;
            MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
            if (!flag) {
              std::this_thread::sleep_for(std::chrono::microseconds(200));
              continue;
            }
            int n = 0;
            MPI_Get_count(&status, MPI_CHAR, &n);
            buffer.resize(static_cast<std::size_t>(n));
            MPI_Recv(buffer.data(), n, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            if (status.MPI_TAG == kTagDone) {
              remote_errors += std::atoi(buffer.c_str());
              --remaining;
            } else {
              add_row(buffer);
              ++received;
            }
          }
        });
        try {
          sim::run_sweep(mine, work, on_row, run);
        } catch (...) {
          receiver.detach();
          throw;
        }
        receiver.join();
        internal_errors += remote_errors.load();
        if (run.progress) {
          sim::SweepProgress p;
          p.done = total;
          p.total = total;
          print_progress(p, tty, true);
        }
      } else {
        // Worker threads send (serialized by run_sweep), then the main thread says done.
        on_row = [](std::int64_t, std::string&& line) {
          MPI_Send(line.data(), static_cast<int>(line.size()), MPI_CHAR, 0, kTagRow,
                   MPI_COMM_WORLD);
        };
        sim::run_sweep(mine, work, on_row, run);
        const std::string errors = std::to_string(internal_errors.load());
        MPI_Send(errors.data(), static_cast<int>(errors.size()), MPI_CHAR, 0, kTagDone,
                 MPI_COMM_WORLD);
      }
    } catch (const std::exception& e) {
      // A rank that cannot go on (e.g. rank 0 cannot write) stops them all.
      std::cerr << "internal error: sweep rank " << mpi.rank() << ": " << e.what() << '\n';
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
#endif
  }
  if (root) {
    std::lock_guard lock(write_mutex);
    flush();  // here, so that a failed write is an error rather than swallowed at exit
  }
  if (!root) return internal_errors > 0 ? 1 : 0;
  if (internal_errors > 0) {
    std::cerr << "error: " << internal_errors << " points failed with an internal error (see "
              << out << ", status invalid, reason 'internal error')\n";
    return 1;
  }
  return 0;
}

}  // namespace moesim::cli
