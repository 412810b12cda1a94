#include "gui/analysis.hpp"

#include "io/sweep_spec.hpp"

#include <cmath>
#include <stdexcept>

#include "gui/format.hpp"
#include "io/law_io.hpp"
#include "io/loaders.hpp"
#include "io/units.hpp"
#include "model/laws/law.hpp"
#include "sim/sweep.hpp"

namespace moesim::gui {
namespace {

namespace laws = model::laws;

std::string integer_text(double v) {
  return std::to_string(static_cast<std::int64_t>(std::llround(v)));
}

std::string join(const std::vector<std::int64_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

}  // namespace

LossCurve loss_vs_experts(const EstimateRequest& request) {
  LossCurve curve;
  try {
    if (request.law.empty()) {
      curve.error = "no loss law chosen";
      return curve;
    }
    const laws::Law law = io::load_law(request.law);
    curve.law = law.name;
    double tokens = 0;
    if (laws::uses_tokens(law.form)) {
      if (request.tokens.empty()) {
        curve.error = law.name + " needs the training tokens";
        return curve;
      }
      tokens = io::parse_count(request.tokens, "--tokens");
    }
    const model::ModelSpec base = load_request_model(request);
    for (std::int64_t e = 1; e <= 512; e *= 2) {
      std::vector<std::string> sets = {"moe.experts=" + std::to_string(e)};
      const bool capped = base.moe.top_k > e;
      if (capped) sets.push_back("moe.top_k=" + std::to_string(e));
      try {
        const model::ModelSpec spec = load_request_model(request, sets);
        const laws::LawEvaluation ev = laws::evaluate(law, spec, tokens);
        if (std::isfinite(ev.loss)) curve.points.push_back({e, ev.loss, capped});
      } catch (const std::exception&) {
        // A point the model rules refuse (e.g. experts not divisible as required) is left out.
      }
    }
    if (curve.points.empty()) curve.error = "the law gives no finite loss for this model";
  } catch (const std::exception& e) {
    curve.error = e.what();
  }
  return curve;
}

Frontier loss_cost_frontier(const EstimateRequest& request, double device_hours) {
  Frontier f;
  try {
    if (request.law.empty()) {
      f.error = "no loss law chosen";
      return f;
    }
    if (!(device_hours > 0)) {
      f.error = "no training totals (set the training tokens)";
      return f;
    }
    sim::PlanOptions o;
    o.budget = {sim::BudgetKind::gpu_hours, device_hours};
    o.base = load_request_model(request);
    // As `moesim plan --law NAME` (cli/plan_verb.cpp): a Krajewski MoE fit pairs with the
    // paper's dense fit.
    o.moe_law = io::load_law(request.law);
    if (!laws::uses_tokens(o.moe_law.form)) {
      f.error = o.moe_law.name + " has no token term, so no plan";
      return f;
    }
    const bool krajewski_moe =
        o.moe_law.form == laws::Form::krajewski && o.moe_law.expansion_rate > 1;
    o.dense_law = krajewski_moe ? io::load_law("krajewski-dense") : o.moe_law;
    // A small grid, so the frontier follows edits within a second or so.
    o.grid.experts = {1, 8, 16, 32, 64, 128, 256};
    o.grid.granularities = {1, 2, 4};
    o.grid.moe_every = {1};
    o.grid.depth_factors = {0.5, 1};
    o.grid.width_factors = {1};
    o.threads = 1;
    std::optional<int> devices;
    if (request.devices > 0) devices = request.devices;
    const hw::ClusterSpec cluster = io::load_cluster(request.cluster, devices);
    f.plan = sim::plan(cluster, o);
    f.cli_args = {"--budget", "gpu-hours=" + format_number(device_hours), "--cluster",
                  request.cluster};
    if (request.devices > 0) {
      f.cli_args.push_back("--devices");
      f.cli_args.push_back(std::to_string(request.devices));
    }
    f.cli_args.push_back("--model");
    f.cli_args.push_back(request.model_json.empty() ? request.model : "MODEL.json");
    for (const std::string& s : request.sets) {
      f.cli_args.push_back("--set");
      f.cli_args.push_back(s);
    }
    const std::vector<std::string> rest = {"--law",           request.law,
                                           "--experts",       join(o.grid.experts),
                                           "--granularity",   join(o.grid.granularities),
                                           "--moe-every",     "1",
                                           "--depth-factors", "0.5,1",
                                           "--widths",        "1"};
    f.cli_args.insert(f.cli_args.end(), rest.begin(), rest.end());
  } catch (const std::exception& e) {
    f.error = e.what();
  }
  return f;
}

const std::vector<std::string>& sweep_axis_keys() {
  static const std::vector<std::string> keys = {
      "experts",        "top_k",   "d_ff_expert", "moe_every", "first_dense_layers",
      "shared_experts", "devices", "tokens"};
  return keys;
}

std::vector<double> axis_values(const SweepAxisChoice& a) {
  if (!(a.from > 0) || !(a.to >= a.from) || !std::isfinite(a.to))
    throw std::invalid_argument("the range must go from a positive value up to 'to'");
  const bool geometric = a.times > 1;
  if (!geometric && !(a.step > 0)) throw std::invalid_argument("the step must be positive");
  const std::vector<double> v =
      io::range_values(a.from, a.to, geometric, geometric ? a.times : a.step, "sweep", a.key);
  if (v.empty() || v.size() > 4096)
    throw std::invalid_argument("a sweep axis holds 1 to 4096 values");
  return v;
}

EstimateRequest request_at(const EstimateRequest& base, const std::string& key, double value) {
  EstimateRequest r = base;
  static const std::vector<std::pair<std::string, std::string>> model_keys = {
      {"experts", "moe.experts"},
      {"top_k", "moe.top_k"},
      {"d_ff_expert", "moe.d_ff_expert"},
      {"moe_every", "moe.every"},
      {"first_dense_layers", "moe.first_dense_layers"},
      {"shared_experts", "moe.shared_experts"}};
  for (const auto& [k, path] : model_keys) {
    if (k != key) continue;
    // The axis replaces any override of the same field from the form.
    std::erase_if(r.sets, [&path](const std::string& s) { return s.rfind(path + "=", 0) == 0; });
    r.sets.push_back(path + "=" + integer_text(value));
    return r;
  }
  if (key == "devices") {
    r.devices = static_cast<int>(std::llround(value));
    // A manual layout is for one device count: the swept points pick their own.
    r.layout.reset();
  } else if (key == "tokens") {
    r.tokens = format_tokens(value);
  } else {
    throw std::invalid_argument("unknown sweep axis '" + key + "'");
  }
  return r;
}

SweepResult run_gui_sweep(const EstimateRequest& base, const std::vector<SweepAxisChoice>& axes,
                          int threads, std::atomic<std::int64_t>& done,
                          const std::atomic<bool>& cancel) {
  SweepResult result;
  std::vector<std::vector<double>> values;
  for (const auto& a : axes) {
    result.keys.push_back(a.key);
    values.push_back(axis_values(a));
  }
  std::int64_t count = 1;
  for (const auto& v : values) count *= static_cast<std::int64_t>(v.size());
  result.points.resize(static_cast<std::size_t>(count));
  std::vector<std::int64_t> todo(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    todo[static_cast<std::size_t>(i)] = i;
    // Grid order, last axis fastest (as io::SweepSpec).
    std::vector<double> point(values.size());
    std::int64_t rest = i;
    for (std::size_t a = values.size(); a-- > 0;) {
      const auto n = static_cast<std::int64_t>(values[a].size());
      point[a] = values[a][static_cast<std::size_t>(rest % n)];
      rest /= n;
    }
    result.points[static_cast<std::size_t>(i)].axes = point;
  }
  sim::SweepRunOptions options;
  options.threads = threads;
  sim::run_sweep(
      todo,
      [&](std::int64_t i) {
        SweepPoint& p = result.points[static_cast<std::size_t>(i)];
        if (cancel.load()) {
          p.status = "cancelled";
        } else {
          EstimateRequest r = base;
          for (std::size_t a = 0; a < axes.size(); ++a) r = request_at(r, axes[a].key, p.axes[a]);
          p.outcome = run_estimate(r);
          bool fits = false;
          if (p.outcome.report)
            if (const io::ReportValue* v = find_value(*p.outcome.report, "memory.fits"))
              fits = std::get_if<bool>(v) && std::get<bool>(*v);
          p.status = !p.outcome.report ? "invalid" : fits ? "ok" : "infeasible";
        }
        ++done;
        return std::string();
      },
      [](std::int64_t, std::string&&) {}, options);
  result.cancelled = cancel.load();
  return result;
}

}  // namespace moesim::gui
