#include "cli/plan_verb.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "cli/common.hpp"
#include "io/errors.hpp"
#include "io/law_io.hpp"
#include "io/loaders.hpp"
#include "io/units.hpp"
#include "sim/plan.hpp"

namespace moesim::cli {

namespace {

namespace laws = model::laws;

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

double parse_number(const std::string& text, const std::string& flag) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    throw io::InputError(flag, "value", "'" + text + "' is not a number");
  return v;
}

std::vector<std::int64_t> int_list(const po::variables_map& vm, const char* flag,
                                   std::int64_t max) {
  std::vector<std::int64_t> out;
  for (const std::string& s : split(text_of(vm, flag)))
    out.push_back(parse_positive(s, std::string("--") + flag, max));
  if (out.empty()) throw io::InputError(std::string("--") + flag, "value", "is empty");
  return out;
}

std::vector<double> real_list(const po::variables_map& vm, const char* flag, double max) {
  std::vector<double> out;
  for (const std::string& s : split(text_of(vm, flag))) {
    const double v = parse_number(s, std::string("--") + flag);
    if (!(v > 0) || v > max)
      throw io::InputError(std::string("--") + flag, "value",
                           "'" + s + "' must be in (0, " + laws::short_number(max) + "]");
    out.push_back(v);
  }
  if (out.empty()) throw io::InputError(std::string("--") + flag, "value", "is empty");
  return out;
}

sim::Budget parse_budget(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos)
    throw io::InputError("--budget", "value",
                         "'" + text + "' is not KIND=VALUE (gpu-hours=N, flops=N or usd=N)");
  const std::string kind = text.substr(0, eq);
  const std::string value = text.substr(eq + 1);
  sim::Budget b;
  if (kind == "gpu-hours")
    b.kind = sim::BudgetKind::gpu_hours;
  else if (kind == "flops")
    b.kind = sim::BudgetKind::flops;
  else if (kind == "usd")
    b.kind = sim::BudgetKind::usd;
  else
    throw io::InputError("--budget", kind, "is not gpu-hours, flops or usd");
  b.value = io::parse_count(value, "--budget", kind);
  if (!(b.value > 0)) throw io::InputError("--budget", kind, "must be positive");
  return b;
}

laws::Law plan_law(const std::string& name) {
  laws::Law law = io::load_law(name);
  if (!laws::uses_tokens(law.form))
    throw io::InputError("--law", law.name,
                         "the plan needs a law with a token term (clark has none)");
  return law;
}

std::string num(double v) {
  if (!std::isfinite(v)) throw std::logic_error("plan: non-finite value in the output");
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string layout_text(const sim::Layout& l) {
  return "dp" + std::to_string(l.dp) + " tp" + std::to_string(l.tp) + " pp" + std::to_string(l.pp) +
         " ep" + std::to_string(l.ep) + " zero" + std::to_string(l.zero) + " mb" +
         std::to_string(l.micro_batch) + " " + sim::to_string(l.recompute);
}

std::string point_json(const sim::PlanCandidate& c) {
  const sim::Layout& l = c.layout;
  std::string s = "{";
  s += "\"experts\": " + std::to_string(c.experts);
  s += ", \"granularity\": " + std::to_string(c.granularity);
  s += ", \"moe_every\": " + std::to_string(c.moe_every);
  s += ", \"top_k\": " + std::to_string(c.top_k);
  s += ", \"layers\": " + std::to_string(c.layers);
  s += ", \"d_model\": " + std::to_string(c.d_model);
  s += ", \"d_ff\": " + std::to_string(c.d_ff);
  s += ", \"d_ff_expert\": " + std::to_string(c.d_ff_expert);
  s += ", \"params_total\": " + num(c.params_total);
  s += ", \"params_active\": " + num(c.params_active);
  s += ", \"flops_per_token\": " + num(c.flops_per_token);
  s += ", \"tokens\": " + num(c.tokens);
  s += ", \"token_fraction\": " + num(c.token_fraction);
  s += ", \"loss\": " + num(c.loss);
  s += ", \"law\": " + quote(c.law);
  s += std::string(", \"extrapolated\": ") + (c.extrapolated ? "true" : "false");
  s += std::string(", \"in_fitted_range\": ") + (c.in_fitted_range ? "true" : "false");
  s += ", \"wall_s\": " + num(c.wall_s);
  s += ", \"device_hours\": " + num(c.device_hours);
  s += ", \"cost_usd\": " + num(c.cost_usd);
  s += ", \"tokens_per_s\": " + num(c.tokens_per_s);
  s += ", \"mfu\": " + num(c.mfu);
  s += ", \"layout\": {\"dp\": " + std::to_string(l.dp) + ", \"tp\": " + std::to_string(l.tp) +
       ", \"pp\": " + std::to_string(l.pp) + ", \"ep\": " + std::to_string(l.ep) +
       ", \"zero\": " + std::to_string(l.zero) +
       ", \"micro_batch\": " + std::to_string(l.micro_batch) +
       ", \"global_batch\": " + std::to_string(l.effective_global_batch()) +
       ", \"recompute\": " + quote(sim::to_string(l.recompute)) + "}";
  return s + "}";
}

std::string render_json(const sim::PlanResult& r, const sim::PlanOptions& o,
                        const hw::ClusterSpec& cluster) {
  std::string s = "{\n  \"plan\": {";
  s += "\"budget\": {\"kind\": " + quote(sim::to_string(o.budget.kind)) +
       ", \"value\": " + num(o.budget.value) + "}";
  s +=
      ", \"cluster\": " + quote(cluster.name) + ", \"devices\": " + std::to_string(cluster.devices);
  s += ", \"price_per_device_hour_usd\": " + num(r.price_per_device_hour_usd);
  s += ", \"candidates\": " + std::to_string(r.candidates);
  s += ", \"architectures\": " + std::to_string(r.architectures);
  s += ", \"kept\": " + std::to_string(r.kept_count);
  s += ", \"dropped\": {";
  for (std::size_t i = 0; i < r.dropped.size(); ++i) {
    if (i) s += ", ";
    s += quote(sim::to_string(static_cast<sim::DropReason>(i))) + ": " +
         std::to_string(r.dropped[i]);
  }
  s += "}},\n  \"best\": " + (r.best ? point_json(*r.best) : std::string("null"));
  auto list = [&](const char* key, const std::vector<sim::PlanCandidate>& pts) {
    s += std::string(",\n  \"") + key + "\": [";
    for (std::size_t i = 0; i < pts.size(); ++i)
      s += std::string(i ? ",\n    " : "\n    ") + point_json(pts[i]);
    s += pts.empty() ? "]" : "\n  ]";
  };
  list("frontier", r.frontier_cost);
  list("frontier_time", r.frontier_time);
  s += ",\n  \"notes\": [";
  for (std::size_t i = 0; i < r.notes.size(); ++i) s += (i ? ", " : "") + quote(r.notes[i]);
  return s + "]\n}\n";
}

const char* kCsvHeader =
    "set,experts,granularity,moe_every,top_k,layers,d_model,d_ff_expert,params_total,"
    "params_active,tokens,token_fraction,loss,law,extrapolated,in_fitted_range,wall_s,"
    "device_hours,cost_usd,tokens_per_s,mfu,layout\n";

std::string point_csv(const char* set, const sim::PlanCandidate& c) {
  return std::string(set) + "," + std::to_string(c.experts) + "," + std::to_string(c.granularity) +
         "," + std::to_string(c.moe_every) + "," + std::to_string(c.top_k) + "," +
         std::to_string(c.layers) + "," + std::to_string(c.d_model) + "," +
         std::to_string(c.d_ff_expert) + "," + num(c.params_total) + "," + num(c.params_active) +
         "," + num(c.tokens) + "," + num(c.token_fraction) + "," + num(c.loss) + "," + c.law + "," +
         (c.extrapolated ? "true" : "false") + "," + (c.in_fitted_range ? "true" : "false") + "," +
         num(c.wall_s) + "," + num(c.device_hours) + "," + num(c.cost_usd) + "," +
         num(c.tokens_per_s) + "," + num(c.mfu) + "," + layout_text(c.layout) + "\n";
}

std::string render_csv(const sim::PlanResult& r) {
  std::string s = kCsvHeader;
  if (r.best) s += point_csv("best", *r.best);
  for (const auto& c : r.frontier_cost) s += point_csv("frontier", c);
  for (const auto& c : r.frontier_time) s += point_csv("frontier_time", c);
  return s;
}

std::string human(double v, const char* unit = "") {
  char buf[48];
  const double a = std::fabs(v);
  if (a >= 1e12)
    std::snprintf(buf, sizeof buf, "%.2fT%s", v / 1e12, unit);
  else if (a >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2fB%s", v / 1e9, unit);
  else if (a >= 1e6)
    std::snprintf(buf, sizeof buf, "%.1fM%s", v / 1e6, unit);
  else if (a >= 1e4)
    std::snprintf(buf, sizeof buf, "%.1fK%s", v / 1e3, unit);
  else
    std::snprintf(buf, sizeof buf, "%.4g%s", v, unit);
  return buf;
}

std::string duration(double s) {
  char buf[32];
  if (s >= 86400)
    std::snprintf(buf, sizeof buf, "%.1fd", s / 86400);
  else if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%.1fh", s / 3600);
  else
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  return buf;
}

std::string row(const sim::PlanCandidate& c) {
  char buf[320];
  std::snprintf(buf, sizeof buf, "%6.4f%s %4lld %3lld %3lld %4lld %6lld %9s %9s %9s %7s %10s  %s\n",
                c.loss, c.extrapolated || !c.in_fitted_range ? "*" : " ",
                static_cast<long long>(c.experts), static_cast<long long>(c.granularity),
                static_cast<long long>(c.moe_every), static_cast<long long>(c.layers),
                static_cast<long long>(c.d_model), human(c.params_total).c_str(),
                human(c.params_active).c_str(), human(c.tokens).c_str(), duration(c.wall_s).c_str(),
                ("$" + human(c.cost_usd)).c_str(), layout_text(c.layout).c_str());
  return buf;
}

std::string render_table(const sim::PlanResult& r, const sim::PlanOptions& o,
                         const hw::ClusterSpec& cluster, std::size_t top) {
  std::string s = "moesim plan: budget " + std::string(sim::to_string(o.budget.kind)) + "=" +
                  laws::short_number(o.budget.value) + " on " + cluster.name + " (" +
                  std::to_string(cluster.devices) + " x " + cluster.accelerator.name + ", $" +
                  num(r.price_per_device_hour_usd) + "/device-hour)\n";
  s += "candidates " + std::to_string(r.candidates) + " (" + std::to_string(r.architectures) +
       " architectures), kept " + std::to_string(r.kept_count) + ", dropped " +
       std::to_string(r.dropped_total()) + ":";
  for (std::size_t i = 0; i < r.dropped.size(); ++i)
    s += std::string(i ? ", " : " ") + sim::to_string(static_cast<sim::DropReason>(i)) + " " +
         std::to_string(r.dropped[i]);
  s += "\n\n";
  const char* header =
      "  loss     E   G  every layers d_model  params   active    tokens    wall       cost  "
      "layout\n";
  if (!r.best) {
    s += "no candidate fits the budget, the deadline and the memory limits\n";
  } else {
    s += "best (lowest loss within budget and deadline):\n";
    s += header;
    s += row(*r.best);
  }
  auto section = [&](const char* title, const std::vector<sim::PlanCandidate>& pts) {
    if (pts.empty()) return;
    s += std::string("\n") + title + " (" + std::to_string(pts.size()) + " points" +
         (pts.size() > top ? ", showing " + std::to_string(top) : std::string()) + "):\n";
    s += header;
    // The cheapest/fastest and the lowest-loss ends both shown when truncated.
    for (std::size_t i = 0; i < pts.size(); ++i) {
      if (pts.size() > top && i >= top / 2 && i < pts.size() - (top - top / 2)) {
        if (i == top / 2) s += "  ...\n";
        continue;
      }
      s += row(pts[i]);
    }
  };
  section("Pareto frontier, loss vs cost", r.frontier_cost);
  section("Pareto frontier, loss vs wall time", r.frontier_time);
  s += "\n* extrapolated or outside the law's fitted range\n";
  for (const std::string& n : r.notes) s += "note: " + n + "\n";
  return s;
}

const char* kUsage =
    "usage: moesim plan --budget gpu-hours=N|flops=N|usd=N --cluster NAME|FILE [--devices N]\n"
    "                   [--model NAME|FILE] [--law auto|NAME|FILE] [--dense-law NAME|FILE]\n"
    "                   [--deadline 30d] [--serve-cluster NAME [--serve-devices N]\n"
    "                   --serve-memory-fraction F] [--experts 1,8,16,32,64,128]\n"
    "                   [--granularity 1,2,4,8] [--moe-every 1,2] [--blocks 4,8,...]\n"
    "                   [--depth-factors 0.5,1,2] [--widths 0.75,1,1.5]\n"
    "                   [--token-fractions 1,0.5,0.25,0.125] [--full-layout-search]\n"
    "                   [--threads N] [--top N] [--format table|json|csv]\n\n"
    "Scores every architecture of the grid by the law (default: chinchilla for dense, joint\n"
    "for MoE) and by the step model at its best layout; see docs/plan.md.";

}  // namespace

po::options_description plan_options() {
  po::options_description own("Plan");
  own.add_options()("budget", po::value<std::string>(), "gpu-hours=N, flops=N or usd=N (required)")(
      "cluster", po::value<std::string>(), "cluster preset or JSON file (required)")(
      "devices", po::value<std::string>(), "resize the cluster to N devices")(
      "model", po::value<std::string>(),
      "base model whose depth and width the grid scales (default: the Krajewski family)")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "with --model: override a base model field, repeatable")(
      "law", po::value<std::string>()->default_value("auto"),
      "loss law for every candidate (auto: chinchilla for dense, joint for MoE)")(
      "dense-law", po::value<std::string>(), "loss law for the dense candidates")(
      "deadline", po::value<std::string>(), "drop candidates training longer (30d, 12h)")(
      "serve-cluster", po::value<std::string>(), "drop models whose weights do not fit it")(
      "serve-devices", po::value<std::string>(), "resize the serving cluster")(
      "serve-memory-fraction", po::value<std::string>(),
      "share of the serving cluster's HBM for bf16 weights (default 0.5)")(
      "price", po::value<std::string>(), "USD per device-hour (default: the accelerator's)")(
      "experts", po::value<std::string>(), "expert counts, 1 = dense (default 1,8,16,32,64,128)")(
      "granularity", po::value<std::string>(), "granularities G = d_ff/d_expert (default 1,2,4,8)")(
      "moe-every", po::value<std::string>(), "an expert layer every K layers (default 1,2)")(
      "blocks", po::value<std::string>(), "family depths n_blocks (d_model = 64 n_blocks)")(
      "depth-factors", po::value<std::string>(),
      "with --model: layer-count factors (default 0.5,0.75,1,1.5,2)")(
      "widths", po::value<std::string>(), "d_model (and d_ff) factors (default 0.75,1,1.5)")(
      "token-fractions", po::value<std::string>(),
      "shares of the budget also planned (default 1,0.5,0.25,0.125)")(
      "full-layout-search", po::bool_switch(), "search every layout (slower)")(
      "threads", po::value<std::string>()->default_value("0"), "worker threads (0 = all)")(
      "top", po::value<std::string>()->default_value("20"), "table: frontier rows shown")(
      "format", po::value<std::string>()->default_value("table"), "table|json|csv");
  po::options_description options;
  options.add(own).add(step_options());
  return options;
}

namespace {

// `moesim plan`'s inputs from parsed flags.
struct PlanRequest {
  hw::ClusterSpec cluster;
  sim::PlanOptions o;
  std::size_t top = 20;
};

PlanRequest read_plan_request(const po::variables_map& vm) {
  PlanRequest req;
  sim::PlanOptions& o = req.o;
  if (!has(vm, "budget")) throw io::InputError("--budget", "value", "is required");
  if (!has(vm, "cluster")) throw io::InputError("--cluster", "value", "is required");

  o.budget = parse_budget(text_of(vm, "budget"));
  std::optional<int> devices;
  if (has(vm, "devices"))
    devices = static_cast<int>(parse_positive(text_of(vm, "devices"), "--devices", 1 << 24));
  req.cluster = io::load_cluster(text_of(vm, "cluster"), devices);
  const hw::ClusterSpec& cluster = req.cluster;
  if (has(vm, "model")) {
    std::vector<std::string> sets;
    if (has(vm, "set")) sets = vm["set"].as<std::vector<std::string>>();
    o.base = io::load_model(text_of(vm, "model"), sets);
  } else if (has(vm, "set")) {
    throw io::InputError("--set", "", "applies with --model only");
  }
  const std::string law = text_of(vm, "law");
  if (law == "auto") {
    o.dense_law = plan_law("chinchilla");
    o.moe_law = plan_law("joint");
  } else {
    o.moe_law = plan_law(law);
    // A Krajewski MoE law pairs with the paper's dense fit.
    const bool krajewski_moe =
        o.moe_law.form == laws::Form::krajewski && o.moe_law.expansion_rate > 1;
    o.dense_law = krajewski_moe ? plan_law("krajewski-dense") : o.moe_law;
  }
  if (has(vm, "dense-law")) o.dense_law = plan_law(text_of(vm, "dense-law"));
  if (has(vm, "deadline")) {
    o.deadline_s = io::parse_duration_s(text_of(vm, "deadline"), "--deadline");
    if (!(*o.deadline_s > 0)) throw io::InputError("--deadline", "value", "must be positive");
  }
  if (has(vm, "serve-cluster")) {
    std::optional<int> serve_devices;
    if (has(vm, "serve-devices"))
      serve_devices = static_cast<int>(
          parse_positive(text_of(vm, "serve-devices"), "--serve-devices", 1 << 24));
    o.serve_cluster = io::load_cluster(text_of(vm, "serve-cluster"), serve_devices);
  } else if (has(vm, "serve-devices") || has(vm, "serve-memory-fraction")) {
    throw io::InputError("--serve-cluster", "value",
                         "is required with --serve-devices or --serve-memory-fraction");
  }
  if (has(vm, "serve-memory-fraction")) {
    o.serve_memory_fraction =
        parse_number(text_of(vm, "serve-memory-fraction"), "--serve-memory-fraction");
    if (!(o.serve_memory_fraction > 0) || o.serve_memory_fraction > 1)
      throw io::InputError("--serve-memory-fraction", "value", "must be in (0, 1]");
  }
  if (has(vm, "price")) {
    o.price_per_device_hour_usd = parse_number(text_of(vm, "price"), "--price");
    if (*o.price_per_device_hour_usd < 0)
      throw io::InputError("--price", "value", "must not be negative");
  }
  if (has(vm, "experts")) o.grid.experts = int_list(vm, "experts", 1 << 20);
  if (has(vm, "granularity")) o.grid.granularities = int_list(vm, "granularity", 1 << 12);
  if (has(vm, "moe-every")) o.grid.moe_every = int_list(vm, "moe-every", 1 << 10);
  if (has(vm, "blocks")) {
    if (o.base) throw io::InputError("--blocks", "", "with --model, use --depth-factors");
    o.grid.n_blocks = int_list(vm, "blocks", 4096);
  }
  if (has(vm, "depth-factors")) {
    if (!o.base) throw io::InputError("--depth-factors", "", "applies with --model only");
    o.grid.depth_factors = real_list(vm, "depth-factors", 64);
  }
  if (has(vm, "widths")) o.grid.width_factors = real_list(vm, "widths", 64);
  if (has(vm, "token-fractions")) o.grid.token_fractions = real_list(vm, "token-fractions", 1);
  if (vm["full-layout-search"].as<bool>()) o.search = sim::PlanSearch::full;
  const std::string threads = text_of(vm, "threads");
  o.threads = threads == "0" ? 0 : static_cast<int>(parse_positive(threads, "--threads", 1024));
  req.top = static_cast<std::size_t>(parse_positive(text_of(vm, "top"), "--top", 1 << 20));
  o.step_options = read_step_options(vm);
  if (o.budget.kind == sim::BudgetKind::usd &&
      !(o.price_per_device_hour_usd.value_or(cluster.accelerator.price_per_hour_usd) > 0))
    throw io::InputError("--price", "value",
                         "a usd budget needs a price: the accelerator preset has none");

  return req;
}

}  // namespace

io::Report plan_report(const sim::PlanResult& r) {
  io::Report rep;
  auto add = [&rep](std::string path, io::ReportValue v) {
    if (const double* d = std::get_if<double>(&v); d && !std::isfinite(*d))
      throw std::logic_error("plan: " + path + " is not finite");
    rep.fields.push_back({std::move(path), std::move(v)});
  };
  add("plan.candidates", static_cast<std::int64_t>(r.candidates));
  add("plan.architectures", static_cast<std::int64_t>(r.architectures));
  add("plan.kept", static_cast<std::int64_t>(r.kept_count));
  add("plan.frontier_points", static_cast<std::int64_t>(r.frontier_cost.size()));
  add("plan.price_per_device_hour_usd", r.price_per_device_hour_usd);
  if (r.best) {
    const sim::PlanCandidate& c = *r.best;
    add("best.experts", static_cast<std::int64_t>(c.experts));
    add("best.granularity", static_cast<std::int64_t>(c.granularity));
    add("best.moe_every", static_cast<std::int64_t>(c.moe_every));
    add("best.top_k", static_cast<std::int64_t>(c.top_k));
    add("best.layers", static_cast<std::int64_t>(c.layers));
    add("best.d_model", static_cast<std::int64_t>(c.d_model));
    add("best.d_ff", static_cast<std::int64_t>(c.d_ff));
    add("best.d_ff_expert", static_cast<std::int64_t>(c.d_ff_expert));
    add("best.params_total", c.params_total);
    add("best.params_active", c.params_active);
    add("best.flops_per_token", c.flops_per_token);
    add("best.tokens", c.tokens);
    add("best.token_fraction", c.token_fraction);
    add("best.loss", c.loss);
    add("best.law", c.law);
    add("best.extrapolated", c.extrapolated);
    add("best.in_fitted_range", c.in_fitted_range);
    add("best.wall_s", c.wall_s);
    add("best.device_hours", c.device_hours);
    add("best.cost_usd", c.cost_usd);
    add("best.tokens_per_s", c.tokens_per_s);
    add("best.mfu", c.mfu);
    const sim::Layout& l = c.layout;
    add("best.layout.dp", l.dp);
    add("best.layout.tp", l.tp);
    add("best.layout.pp", l.pp);
    add("best.layout.ep", l.ep);
    add("best.layout.zero", static_cast<std::int64_t>(l.zero));
    add("best.layout.micro_batch", l.micro_batch);
    add("best.layout.global_batch", l.effective_global_batch());
    add("best.layout.recompute", std::string(sim::to_string(l.recompute)));
  }
  rep.notes = r.notes;
  return rep;
}

sim::PlanResult plan_result(const po::variables_map& vm) {
  const PlanRequest req = read_plan_request(vm);
  return sim::plan(req.cluster, req.o);
}

int run_plan(const std::vector<std::string>& args) {
  const po::options_description options = plan_options();
  auto parsed = parse_verb_args(args, options, kUsage);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const Format format = read_format(vm);
  const PlanRequest req = read_plan_request(vm);
  const sim::PlanOptions& o = req.o;
  const hw::ClusterSpec& cluster = req.cluster;
  const std::size_t top = req.top;
  const sim::PlanResult r = sim::plan(cluster, o);
  std::string out;
  switch (format) {
    case Format::table:
      out = render_table(r, o, cluster, top);
      break;
    case Format::json:
      out = render_json(r, o, cluster);
      break;
    case Format::csv:
      out = render_csv(r);
      break;
  }
  std::cout << out;
  return 0;
}

}  // namespace moesim::cli
