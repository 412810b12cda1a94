#include "cli/laws_verbs.hpp"

#include <charconv>
#include <cmath>
#include <iostream>
#include <stdexcept>

#include "cli/common.hpp"
#include "io/errors.hpp"
#include "io/law_io.hpp"
#include "io/loaders.hpp"
#include "io/units.hpp"
#include "model/laws/fit.hpp"
#include "model/laws/law.hpp"
#include "model/laws/optimal.hpp"

namespace moesim::cli {

namespace {

namespace laws = model::laws;

// A positive count with units ("70B", "1.4T", "5.76e23").
double count_flag(const po::variables_map& vm, const char* flag) {
  const std::string source = std::string("--") + flag;
  const double v = io::parse_count(text_of(vm, flag), source);
  if (!(v > 0)) throw io::InputError(source, "value", "must be positive");
  return v;
}

// A plain number at least `min` (exclusive when `open`).
double number_flag(const po::variables_map& vm, const char* flag, double min, bool open) {
  const std::string text = text_of(vm, flag);
  const std::string source = std::string("--") + flag;
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    throw io::InputError(source, "value", "'" + text + "' is not a number");
  if (open ? !(v > min) : !(v >= min)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", min);
    throw io::InputError(
        source, "value",
        std::string(open ? "must exceed " : "must be at least ") + buf + " (got " + text + ")");
  }
  return v;
}

std::int64_t int_flag(const po::variables_map& vm, const char* flag, std::int64_t min,
                      std::int64_t max) {
  const std::string text = text_of(vm, flag);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    throw io::InputError(std::string("--") + flag, "value", "'" + text + "' is not an integer");
  if (v < min || v > max)
    throw io::InputError(std::string("--") + flag, "value",
                         "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                             " (got " + text + ")");
  return v;
}

void forbid(const po::variables_map& vm, const std::vector<const char*>& flags,
            const std::string& why) {
  for (const char* f : flags)
    if (has(vm, f)) throw io::InputError(std::string("--") + f, "", why);
}

// A law file's coefficients can overflow (10^d with a large d): bad input, not a crash.
void require_finite(const laws::Law& law, std::initializer_list<double> values) {
  for (double v : values) {
    if (!std::isfinite(v))
      throw io::InputError("--law", law.name,
                           "the law gives a non-finite result at these inputs; check its "
                           "coefficients");
  }
}

template <class T>
void print(Format format, const T& table, const io::Report& report) {
  // Render fully before printing anything, so an error never leaves half a report.
  std::string out;
  switch (format) {
    case Format::table:
      out = table();
      break;
    case Format::json:
      out = io::render_json(report);
      break;
    case Format::csv:
      out = io::render_csv(report);
      break;
  }
  std::cout << out;
}

const char* kLossUsage =
    "usage: moesim loss --law NAME|FILE (--model NAME|FILE | --params N [--experts E]\n"
    "                   [--granularity G]) [--tokens D] [--coef NAME=VALUE]... [--format F]\n"
    "       moesim loss --law NAME|FILE --optimal --flops C [--max-experts E]\n"
    "                   [--max-params-total N] [--max-granularity G] [--format F]\n\n"
    "Laws: kaplan, chinchilla, chinchilla-replication, clark (needs --coef or a law file),\n"
    "krajewski-e64, krajewski-e16, krajewski-dense, joint; see docs/laws.md. --params is N as\n"
    "the law counts it (chinchilla: all parameters, kaplan and krajewski: non-embedding,\n"
    "joint: active with embeddings, clark: the dense base model); --model lets the law count.";

const char* kFitUsage =
    "usage: moesim fit RUNS.csv --law chinchilla|kaplan|clark|krajewski|joint|LAW|FILE\n"
    "                  [--bootstrap N] [--seed S] [--confidence C] [--out LAW.json]\n"
    "                  [--name NAME] [--expansion-rate E] [--format table|json|csv]\n\n"
    "RUNS.csv columns: params, tokens, loss (every form), experts (clark, joint),\n"
    "granularity (krajewski), params_active (joint's N), name (optional); see docs/laws.md.";

}  // namespace

po::options_description loss_options() {
  po::options_description o("Loss law");
  o.add_options()("law", po::value<std::string>(), "law preset name or JSON law file (required)")(
      "coef", po::value<std::vector<std::string>>()->composing(),
      "set a coefficient, repeatable: --coef alpha=0.34")("model", po::value<std::string>(),
                                                          "model preset name or JSON file")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a model field, repeatable: --set moe.experts=64")(
      "top-k", po::value<std::string>(), "with --model: shorthand for --set moe.top_k=K")(
      "expert-ff", po::value<std::string>(), "with --model: shorthand for --set moe.d_ff_expert=F")(
      "moe-every", po::value<std::string>(), "with --model: shorthand for --set moe.every=K")(
      "params", po::value<std::string>(), "N as the law counts it (70B, 1.4e9)")(
      "experts", po::value<std::string>(),
      "experts E (with --model: shorthand for --set moe.experts=N)")(
      "granularity", po::value<std::string>(), "granularity G = d_ff / d_expert (krajewski)")(
      "tokens", po::value<std::string>(), "training tokens D (300B, 1.4T)")(
      "optimal", po::bool_switch(), "the compute-optimal model at --flops")(
      "flops", po::value<std::string>(), "training compute C in FLOPs (5.76e23)")(
      "max-experts", po::value<std::string>(), "--optimal, joint: largest expert count searched")(
      "max-params-total", po::value<std::string>(),
      "--optimal, joint: memory cap on total parameters (1T, 5e11)")(
      "max-granularity", po::value<std::string>(),
      "--optimal, krajewski: largest granularity searched (default 64)")(
      "format", po::value<std::string>()->default_value("table"), "table|json|csv");
  return o;
}

namespace {

// The answer of `moesim loss` for parsed flags: an evaluation or a compute-optimal point.
struct LossAnswer {
  laws::Law law;
  bool optimal = false;
  laws::ComputeOptimal opt;
  laws::LawEvaluation ev;
  std::string model_name;
};

LossAnswer answer_loss(const po::variables_map& vm) {
  LossAnswer a;
  if (!has(vm, "law")) throw io::InputError("--law", "value", "is required");
  std::vector<std::string> coefs;
  if (has(vm, "coef")) coefs = vm["coef"].as<std::vector<std::string>>();
  a.law = io::load_law(text_of(vm, "law"), coefs);
  const laws::Law& law = a.law;

  if (vm["optimal"].as<bool>()) {
    forbid(vm,
           {"model", "params", "tokens", "experts", "granularity", "set", "top-k", "expert-ff",
            "moe-every"},
           "--optimal chooses the model and tokens itself; give only --flops");
    if (!has(vm, "flops")) throw io::InputError("--flops", "value", "is required with --optimal");
    if (!laws::supports_compute_optimal(law.form))
      throw io::InputError("--law", law.name,
                           "the clark form has no token term, so no compute-optimal point");
    const double flops = count_flag(vm, "flops");
    if (!(flops > 6e6) || flops > 1e35)
      throw io::InputError("--flops", "value", "must be between 6e6 and 1e35");
    laws::OptimalOptions options;
    if (has(vm, "max-experts")) options.max_experts = number_flag(vm, "max-experts", 1, false);
    if (has(vm, "max-granularity"))
      options.max_granularity = number_flag(vm, "max-granularity", 1, false);
    if (has(vm, "max-params-total")) {
      if (law.form != laws::Form::joint)
        throw io::InputError("--max-params-total", law.name,
                             "applies to the joint law only (the others have no expert count)");
      const double cap = count_flag(vm, "max-params-total");
      if (!(cap >= 1e6) || cap > 1e16)
        throw io::InputError("--max-params-total", text_of(vm, "max-params-total"),
                             "must be between 1e6 and 1e16 parameters");
      options.max_params_total = cap;
    }
    // A cap of at least 1e6 always admits some model of App. B's family, so compute_optimal's
    // "nothing fits" cannot happen here.
    a.opt = laws::compute_optimal(law, flops, options);
    a.optimal = true;
    require_finite(law, {a.opt.loss, a.opt.params, a.opt.params_total, a.opt.tokens});
    return a;
  }
  forbid(vm, {"flops", "max-experts", "max-params-total", "max-granularity"},
         "applies with --optimal only");

  const bool by_model = has(vm, "model");
  if (by_model == has(vm, "params"))
    throw io::InputError("--model", "", "give either --model or --params (N as the law counts it)");
  double tokens = 0;
  if (laws::uses_tokens(law.form)) {
    if (!has(vm, "tokens"))
      throw io::InputError("--tokens", "value", "is required: " + law.name + " depends on D");
    tokens = count_flag(vm, "tokens");
  } else {
    forbid(vm, {"tokens"}, "the clark form has no token term (Clark et al. fix D)");
  }

  laws::LawEvaluation& ev = a.ev;
  std::string& model_name = a.model_name;
  if (by_model) {
    forbid(vm, {"granularity"}, "with --model, set the expert width: --expert-ff F");
    const model::ModelSpec spec = io::load_model(text_of(vm, "model"), model_sets(vm));
    model_name = spec.name;
    ev = laws::evaluate(law, spec, tokens);
  } else {
    forbid(vm, {"set", "top-k", "expert-ff", "moe-every"}, "applies with --model only");
    laws::LawPoint point;
    point.params = count_flag(vm, "params");
    point.tokens = tokens;
    const bool moe_variable = laws::uses_experts(law.form) || law.form == laws::Form::krajewski;
    if (has(vm, "experts")) {
      if (!moe_variable)
        throw io::InputError("--experts", "",
                             law.name + " has no expert term (clark, krajewski-*, joint do)");
      point.experts = number_flag(vm, "experts", 1, false);
    }
    if (has(vm, "granularity")) {
      if (!laws::uses_granularity(law.form))
        throw io::InputError("--granularity", "",
                             law.name + " has no granularity term (krajewski-* do)");
      point.granularity = number_flag(vm, "granularity", 0, true);
    }
    if (law.form == laws::Form::krajewski && !has(vm, "experts"))
      point.experts = point.granularity * law.expansion_rate;  // Krajewski et al.: experts = G E
    ev = laws::evaluate(law, point);
    if (law.form == laws::Form::krajewski && has(vm, "experts")) {
      const double expansion = point.experts / point.granularity;
      if (std::fabs(expansion / law.expansion_rate - 1) > 0.1) {
        ev.in_fitted_range = false;
        ev.warnings.push_back(
            "experts / G = " + laws::short_number(expansion) + " differs from the expansion rate " +
            laws::short_number(law.expansion_rate) + " that " + law.name + " was fitted at");
      }
    }
  }
  require_finite(law, {ev.loss, ev.point.params, ev.point.experts});
  return a;
}

io::Report report_of(const LossAnswer& a) {
  return a.optimal ? io::make_optimal_report(a.law, a.opt)
                   : io::make_loss_report(a.law, a.ev, a.model_name);
}

}  // namespace

io::Report loss_report(const po::variables_map& vm) {
  return report_of(answer_loss(vm));
}

int run_loss(const std::vector<std::string>& args) {
  const po::options_description o = loss_options();
  auto parsed = parse_verb_args(args, o, kLossUsage);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const Format format = read_format(vm);
  const LossAnswer a = answer_loss(vm);
  print(
      format,
      [&] {
        return a.optimal ? io::render_optimal_table(a.law, a.opt)
                         : io::render_loss_table(a.law, a.ev, a.model_name);
      },
      report_of(a));
  return 0;
}

int run_fit(const std::vector<std::string>& args) {
  po::options_description o("Fit");
  o.add_options()("runs", po::value<std::string>(), "the runs CSV (positional)")(
      "law", po::value<std::string>(), "form or law to fit (required)")(
      "bootstrap", po::value<std::string>(), "bootstrap resamples (default 200)")(
      "seed", po::value<std::string>(), "bootstrap seed (default 1)")(
      "confidence", po::value<std::string>(), "interval level, 0..1 (default 0.95)")(
      "out", po::value<std::string>(), "write the fitted law as a law file (loss --law FILE)")(
      "name", po::value<std::string>(), "the fitted law's name (default LAW-fit)")(
      "expansion-rate", po::value<std::string>(),
      "krajewski: the expansion rate the runs share (recorded in --out)")(
      "format", po::value<std::string>()->default_value("table"), "table|json|csv");
  po::positional_options_description positional;
  positional.add("runs", 1);
  auto parsed = parse_verb_args(args, o, kFitUsage, &positional);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const Format format = read_format(vm);
  if (!has(vm, "runs")) throw io::InputError("fit", "RUNS.csv", "the runs CSV is required");
  if (!has(vm, "law")) throw io::InputError("--law", "value", "is required");

  // --law: a form (chinchilla, kaplan, clark, krajewski, joint), a law preset or a law file;
  // a preset or file gives its form, N definition and expert placement to the fit.
  const std::string law_name = text_of(vm, "law");
  bool is_preset = false;
  for (const auto& p : io::list_presets("laws")) is_preset = is_preset || p.name == law_name;
  laws::Law base;
  const auto form = laws::form_from_string(law_name);
  if (form && !is_preset) {
    base.name = law_name;
    base.form = *form;
    base.params_counted = base.form == laws::Form::krajewski ? laws::ParamCount::non_embedding
                                                             : laws::ParamCount::total;
  } else {
    try {
      base = io::load_law(law_name, {}, false);
    } catch (const io::InputError& e) {
      if (e.source() != "--law") throw;
      // Neither a preset nor a file: name the forms too.
      std::vector<std::string> names = laws::form_names();
      for (const auto& p : io::list_presets("laws")) names.push_back(p.name);
      std::string rule = "'" + law_name +
                         "' is not a form (kaplan, chinchilla, clark, krajewski, joint), a law "
                         "preset or a law file";
      const std::string hint = io::did_you_mean(law_name, names);
      if (!hint.empty()) rule += "; did you mean '" + hint + "'?";
      throw io::InputError("--law", "", rule);
    }
  }
  if (has(vm, "expansion-rate")) {
    if (base.form != laws::Form::krajewski)
      throw io::InputError("--expansion-rate", "", "applies to the krajewski form only");
    base.expansion_rate = number_flag(vm, "expansion-rate", 1, false);
  }

  laws::FitOptions options;
  if (has(vm, "bootstrap"))
    options.bootstrap_samples = static_cast<int>(int_flag(vm, "bootstrap", 0, 100000));
  if (has(vm, "seed"))
    options.seed = static_cast<std::uint64_t>(int_flag(vm, "seed", 0, INT64_MAX));
  if (has(vm, "confidence")) {
    options.confidence = number_flag(vm, "confidence", 0, true);
    if (!(options.confidence < 1)) throw io::InputError("--confidence", "value", "must be below 1");
  }

  const std::string path = text_of(vm, "runs");
  const io::RunsTable runs = io::read_runs_csv(path, base.form);
  laws::FitResult result;
  try {
    result = laws::fit(base.form, runs.runs, options);
  } catch (const std::runtime_error& e) {
    // No start gave a finite objective: the runs do not fit this form at all.
    throw io::InputError(path, "rows", std::string("cannot be fitted: ") + e.what());
  }

  if (has(vm, "out")) {
    laws::Law fitted = laws::to_law(result, base);
    fitted.name = has(vm, "name") ? text_of(vm, "name") : base.name + "-fit";
    fitted.description = std::string(laws::to_string(base.form)) + " form fitted to " + path;
    fitted.source = "moesim fit of " + path + " (" + std::to_string(runs.runs.size()) + " runs)";
    const std::string out = text_of(vm, "out");
    io::save_law(out, fitted);
    result.warnings.push_back("fitted law written to " + out + " (moesim loss --law " + out + ")");
  }
  std::string text;
  switch (format) {
    case Format::table:
      text = io::render_fit_table(result, base, runs, path);
      break;
    case Format::json:
      text = io::render_fit_json(result, base, runs, path);
      break;
    case Format::csv:
      text = io::render_fit_csv(result);
      break;
  }
  std::cout << text;
  return 0;
}

}  // namespace moesim::cli
