// moesim collective: the cost of one collective on a cluster, or its curve over message
// sizes (nccl-tests style), from the hardware layer's collective models.
#include <charconv>
#include <cstdio>
#include <iostream>
#include <span>
#include <sstream>

#include "cli/common.hpp"
#include "cli/hardware_verbs.hpp"
#include "hardware/collective.hpp"
#include "io/errors.hpp"
#include "io/loaders.hpp"
#include "io/report.hpp"
#include "io/units.hpp"

namespace moesim::cli {
namespace {

const char* kUsage =
    "usage: moesim collective --cluster NAME|FILE [--devices N] --op OP [--group N]\n"
    "                         --bytes SIZE | --sweep-bytes [2|4]\n"
    "                         [--placement packed|strided:S] [--algorithm NAME] [--siblings]\n"
    "                         [--format table|json|csv]\n\n"
    "Predicts time, algorithm bandwidth and bus bandwidth (nccl-tests conventions) of one\n"
    "collective on the cluster's topology. OP: all-reduce, all-gather, reduce-scatter,\n"
    "all-to-all, broadcast, p2p (between the group's first two ranks). The group is N ranks\n"
    "on devices 0, S, 2S, ... (rank order is node-major; packed: S = 1). --bytes is the whole\n"
    "buffer as nccl-tests counts it (the gathered output of all-gather, each rank's send\n"
    "buffer for all-to-all). --sweep-bytes prints the curve from 8 B to 8 GiB in powers of 2\n"
    "(or 4). Algorithms: auto (the fastest, as NCCL picks), ring, tree, hierarchical, nvls,\n"
    "torus, direct.";

std::string join_names(std::span<const std::string_view> names) {
  std::string s;
  for (auto n : names) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

std::string hint(const std::string& word, std::span<const std::string_view> names) {
  std::vector<std::string> candidates(names.begin(), names.end());
  const std::string h = io::did_you_mean(word, candidates);
  return h.empty() ? "" : "; did you mean '" + h + "'?";
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  return (b == static_cast<long long>(b) ? fixed(b, 0) : fixed(b, 2)) + " " + units[u];
}

std::string human_time(double s) {
  if (s < 1e-3) return fixed(s * 1e6, 2) + " us";
  if (s < 1) return fixed(s * 1e3, 3) + " ms";
  return fixed(s, 3) + " s";
}

struct Request {
  hw::ClusterSpec cluster;
  hw::CollectiveOp op = hw::CollectiveOp::all_reduce;
  hw::Algorithm algorithm = hw::Algorithm::automatic;
  int group = 0;
  int stride = 1;
  bool siblings = false;
  std::string placement = "packed";
};

Request read_request(const po::variables_map& vm) {
  Request r;
  if (!vm.count("cluster")) throw io::InputError("--cluster", "value", "is required");
  if (!vm.count("op")) throw io::InputError("--op", "value", "is required");
  std::optional<int> devices;
  if (vm.count("devices"))
    devices =
        static_cast<int>(parse_positive(vm["devices"].as<std::string>(), "--devices", 1 << 24));
  r.cluster = io::load_cluster(vm["cluster"].as<std::string>(), devices);

  const std::string op = vm["op"].as<std::string>();
  const auto parsed_op = hw::parse_collective_op(op);
  if (!parsed_op)
    throw io::InputError("--op", "value",
                         "'" + op + "' is not one of " + join_names(hw::collective_op_names()) +
                             hint(op, hw::collective_op_names()));
  r.op = *parsed_op;

  const std::string algo = vm["algorithm"].as<std::string>();
  const auto parsed_algo = hw::parse_algorithm(algo);
  if (!parsed_algo || *parsed_algo == hw::Algorithm::none)
    throw io::InputError("--algorithm", "value",
                         "'" + algo + "' is not one of " + join_names(hw::algorithm_names()) +
                             hint(algo, hw::algorithm_names()));
  r.algorithm = *parsed_algo;

  const std::string placement = vm["placement"].as<std::string>();
  const std::string prefix = "strided:";
  if (placement == "packed") {
    r.stride = 1;
  } else if (placement.rfind(prefix, 0) == 0) {
    r.stride =
        static_cast<int>(parse_positive(placement.substr(prefix.size()), "--placement", 1 << 24));
  } else {
    throw io::InputError("--placement", "value", "'" + placement + "' is not packed or strided:S");
  }
  r.placement = placement;
  r.siblings = vm["siblings"].as<bool>();

  const int n = r.cluster.devices;
  const int default_group = r.op == hw::CollectiveOp::p2p ? 2 : std::max(1, n / r.stride);
  r.group =
      vm.count("group")
          ? static_cast<int>(parse_positive(vm["group"].as<std::string>(), "--group", 1 << 24))
          : default_group;
  if (r.op == hw::CollectiveOp::p2p && r.group < 2)
    throw io::InputError("--group", "value", "p2p needs a group of at least 2 ranks");
  if (static_cast<long long>(r.group - 1) * r.stride >= n)
    throw io::InputError(vm.count("group") ? "--group" : "--placement", "value",
                         std::to_string(r.group) + " ranks " +
                             (r.stride > 1 ? std::to_string(r.stride) + " apart " : "") +
                             "do not fit the " + std::to_string(n) + " devices of " +
                             r.cluster.name);
  return r;
}

hw::CollectiveCost evaluate(const hw::CollectiveModel& model, const Request& r, double bytes) {
  const hw::GroupShape shape{r.group, r.stride, r.siblings};
  const hw::CollectiveCost c = model.cost(r.op, shape, bytes, r.algorithm);
  if (!c.feasible) {
    std::string ok;
    for (hw::Algorithm a : hw::applicable_algorithms(model.structure(shape), r.op))
      ok += (ok.empty() ? "" : ", ") + std::string(hw::name(a));
    throw io::InputError("--algorithm", "value",
                         "'" + std::string(hw::name(r.algorithm)) + "' does not apply to " +
                             std::string(hw::name(r.op)) + " on this group; applicable: " + ok);
  }
  return c;
}

io::Report make_report(const Request& r, double bytes, const hw::CollectiveCost& c) {
  io::Report rep;
  rep.fields = {{"time_s", c.time_s},
                {"algorithm", std::string(hw::name(c.algorithm))},
                {"algbw_Bps", c.algbw_Bps},
                {"busbw_Bps", c.busbw_Bps},
                {"latency_s", c.latency_s},
                {"op", std::string(hw::name(r.op))},
                {"bytes", bytes},
                {"group", static_cast<std::int64_t>(r.group)},
                {"stride", static_cast<std::int64_t>(r.stride)},
                {"cluster", r.cluster.name},
                {"devices", static_cast<std::int64_t>(r.cluster.devices)}};
  if (!r.cluster.notes.empty()) rep.notes.push_back(r.cluster.notes);
  if (r.op == hw::CollectiveOp::p2p)
    rep.notes.push_back("p2p: from the group's first rank to its second");
  return rep;
}

std::string render_single_table(const Request& r, double bytes, const hw::CollectiveCost& c) {
  std::ostringstream o;
  o << "collective  " << hw::name(r.op) << " on " << r.cluster.name << ": " << r.group << " of "
    << r.cluster.devices << " devices, " << r.placement
    << (r.siblings ? ", with sibling groups" : "") << "\n"
    << "bytes       " << human_bytes(bytes) << " (" << fixed(bytes, 0) << " B)\n"
    << "algorithm   " << hw::name(c.algorithm) << "\n"
    << "time        " << human_time(c.time_s) << " (latency " << human_time(c.latency_s) << ")\n"
    << "algbw       " << fixed(c.algbw_Bps / 1e9, 2) << " GB/s\n"
    << "busbw       " << fixed(c.busbw_Bps / 1e9, 2) << " GB/s\n";
  if (!r.cluster.notes.empty()) o << "note        " << r.cluster.notes << "\n";
  return o.str();
}

}  // namespace

int run_collective(const std::vector<std::string>& args) {
  po::options_description options("Collective");
  options.add_options()("cluster", po::value<std::string>(), "cluster preset name or JSON file")(
      "devices", po::value<std::string>(), "override the number of accelerators")(
      "op", po::value<std::string>(),
      "all-reduce|all-gather|reduce-scatter|all-to-all|broadcast|p2p")(
      "group", po::value<std::string>(), "ranks in the group (default: all devices; p2p: 2)")(
      "bytes", po::value<std::string>(), "buffer size: 256MiB, 8GB, 1e9")(
      "placement", po::value<std::string>()->default_value("packed"), "packed|strided:S")(
      "algorithm", po::value<std::string>()->default_value("auto"),
      "auto|ring|tree|hierarchical|nvls|torus|direct")(
      "siblings", po::bool_switch(), "every group of this shape runs at once (a layout's groups)")(
      "sweep-bytes", po::value<std::string>()->implicit_value("2"),
      "print the curve from 8 B to 8 GiB in powers of 2 (or 4)")(
      "format", po::value<std::string>()->default_value("table"), "table|json|csv");
  auto vm = parse_verb_args(args, options, kUsage);
  if (!vm) return 0;
  const Format format = read_format(*vm);
  const Request r = read_request(*vm);
  const hw::CollectiveModel model(r.cluster);

  if (vm->count("sweep-bytes")) {
    if (vm->count("bytes"))
      throw io::InputError("--bytes", "value", "give either --bytes or --sweep-bytes");
    const std::string f = (*vm)["sweep-bytes"].as<std::string>();
    if (f != "2" && f != "4")
      throw io::InputError("--sweep-bytes", "value", "'" + f + "' is not 2 or 4");
    const double factor = f == "2" ? 2 : 4;
    std::vector<std::pair<double, hw::CollectiveCost>> points;
    for (double b = 8; b <= 8.0 * 1024 * 1024 * 1024; b *= factor)
      points.emplace_back(b, evaluate(model, r, b));
    // Render fully before printing anything.
    std::string out;
    if (format == Format::csv) {
      out = "bytes,time_s,algorithm,algbw_Bps,busbw_Bps,latency_s\n";
      char line[256];
      for (const auto& [b, c] : points) {
        std::snprintf(line, sizeof line, "%.0f,%.9g,%s,%.9g,%.9g,%.9g\n", b, c.time_s,
                      std::string(hw::name(c.algorithm)).c_str(), c.algbw_Bps, c.busbw_Bps,
                      c.latency_s);
        out += line;
      }
    } else if (format == Format::json) {
      out = "[";
      for (std::size_t i = 0; i < points.size(); ++i) {
        std::string obj = io::render_json(make_report(r, points[i].first, points[i].second));
        while (!obj.empty() && (obj.back() == '\n' || obj.back() == ' ')) obj.pop_back();
        out += (i ? ",\n" : "\n") + obj;
      }
      out += "\n]\n";
    } else {
      std::ostringstream o;
      o << "# " << hw::name(r.op) << " on " << r.cluster.name << ": " << r.group << " of "
        << r.cluster.devices << " devices, " << r.placement << "\n";
      char line[256];
      std::snprintf(line, sizeof line, "%14s %12s %-13s %12s %12s\n", "size (B)", "time (us)",
                    "algorithm", "algbw (GB/s)", "busbw (GB/s)");
      o << line;
      for (const auto& [b, c] : points) {
        std::snprintf(line, sizeof line, "%14.0f %12.2f %-13s %12.2f %12.2f\n", b, c.time_s * 1e6,
                      std::string(hw::name(c.algorithm)).c_str(), c.algbw_Bps / 1e9,
                      c.busbw_Bps / 1e9);
        o << line;
      }
      if (!r.cluster.notes.empty()) o << "# note: " << r.cluster.notes << "\n";
      out = o.str();
    }
    std::cout << out;
    return 0;
  }

  if (!vm->count("bytes")) throw io::InputError("--bytes", "value", "is required");
  const double bytes = io::parse_bytes((*vm)["bytes"].as<std::string>(), "--bytes");
  if (!(bytes > 0)) throw io::InputError("--bytes", "value", "must be positive");
  const hw::CollectiveCost c = evaluate(model, r, bytes);
  std::string out;
  switch (format) {
    case Format::table:
      out = render_single_table(r, bytes, c);
      break;
    case Format::json:
      out = io::render_json(make_report(r, bytes, c));
      break;
    case Format::csv:
      out = io::render_csv(make_report(r, bytes, c));
      break;
  }
  std::cout << out;
  return 0;
}

}  // namespace moesim::cli
