#include "gui/estimate_request.hpp"

#include <charconv>
#include <cmath>
#include <exception>

#include "io/errors.hpp"
#include "io/law_io.hpp"
#include "io/loaders.hpp"
#include "io/units.hpp"
#include "model/laws/law.hpp"
#include "sim/estimate.hpp"

namespace moesim::gui {
namespace {

namespace laws = model::laws;

// The MoE shorthands of the CLI (cli/common.cpp model_sets), for a shorter command line.
const std::pair<const char*, const char*> kShorthands[] = {{"moe.experts", "--experts"},
                                                           {"moe.top_k", "--top-k"},
                                                           {"moe.d_ff_expert", "--expert-ff"},
                                                           {"moe.every", "--moe-every"}};

void add_model_arguments(const EstimateRequest& request, std::vector<std::string>& args) {
  args.push_back("--model");
  args.push_back(request.model_json.empty() ? request.model : std::string("MODEL.json"));
  for (const std::string& s : request.sets) {
    const auto eq = s.find('=');
    const std::string path = s.substr(0, eq);
    const char* flag = nullptr;
    for (auto [p, f] : kShorthands)
      if (path == p) flag = f;
    if (flag && eq != std::string::npos) {
      args.push_back(flag);
      args.push_back(s.substr(eq + 1));
    } else {
      args.push_back("--set");
      args.push_back(s);
    }
  }
}

// --tokens as the CLI reads it (cli/common.cpp read_estimate_input).
std::optional<double> parse_tokens(const std::string& text) {
  if (text.empty()) return std::nullopt;
  const double t = io::parse_count(text, "--tokens");
  if (!(t > 0)) throw io::InputError("--tokens", "value", "must be positive");
  return t;
}

void evaluate_loss(const EstimateRequest& request, const model::ModelSpec& spec,
                   std::optional<double> tokens, EstimateOutcome& out) {
  if (request.law.empty()) return;
  try {
    // As `moesim loss --law L --model M [--tokens D]` (cli/laws_verbs.cpp run_loss).
    const laws::Law law = io::load_law(request.law);
    double d = 0;
    if (laws::uses_tokens(law.form)) {
      if (!tokens)
        throw io::InputError("--tokens", "value", "is required: " + law.name + " depends on D");
      d = *tokens;
    }
    const laws::LawEvaluation ev = laws::evaluate(law, spec, d);
    for (double v : {ev.loss, ev.point.params, ev.point.experts})
      if (!std::isfinite(v))
        throw io::InputError("--law", law.name,
                             "the law gives a non-finite result at these inputs; check its "
                             "coefficients");
    out.loss = io::make_loss_report(law, ev, spec.name);
    out.loss_warnings = ev.warnings;
  } catch (const io::InputError& e) {
    out.loss_error = std::string("error: ") + e.what();
  } catch (const std::exception& e) {
    out.loss_error = std::string("internal error: ") + e.what();
  }
}

}  // namespace

std::string format_number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string format_tokens(double v) {
  const std::pair<double, const char*> scales[] = {{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}};
  for (auto [scale, suffix] : scales) {
    if (!(v >= scale)) continue;
    const std::string text = format_number(v / scale) + suffix;
    try {
      if (io::parse_count(text, "--tokens") == v) return text;
    } catch (const std::exception&) {
    }
  }
  return format_number(v);
}

std::string error_field(const std::string& source, const std::string& path) {
  if (path.rfind("--", 0) == 0) return path;  // "command line: --ep: ..."
  if (source.rfind("--", 0) == 0 && source != "--set" && (path.empty() || path == "value"))
    return source;  // "--tokens: value: ..."
  return path;      // "--set: moe.top_k: ..." or "preset x: moe.top_k: ..."
}

model::ModelSpec load_request_model(const EstimateRequest& request,
                                    const std::vector<std::string>& extra_sets) {
  std::vector<std::string> sets = request.sets;
  sets.insert(sets.end(), extra_sets.begin(), extra_sets.end());
  if (!request.model_json.empty())
    return io::parse_model(request.model_json, request.model_source, sets);
  return io::load_model(request.model, sets);
}

sim::EstimateInput estimate_input(const EstimateRequest& request) {
  sim::EstimateInput in;
  // Same order as cli/common.cpp read_estimate_input, so the first error reported for a
  // request with several problems is the one the CLI reports.
  in.model = load_request_model(request);
  std::optional<int> devices;
  if (request.devices > 0) devices = request.devices;
  in.cluster = io::load_cluster(request.cluster, devices);
  if (request.layout) {
    const FieldErrors errors = sim::validate(*request.layout, in.model, in.cluster.devices);
    if (!errors.empty()) io::throw_first("command line", errors);
    in.layout = request.layout;
  }
  in.tokens = parse_tokens(request.tokens);
  return in;
}

EstimateOutcome run_estimate(const EstimateRequest& request) {
  EstimateOutcome out;
  try {
    const sim::EstimateInput in = estimate_input(request);
    out.model = in.model;
    out.report = io::make_report(sim::estimate(in));
    evaluate_loss(request, in.model, in.tokens, out);
  } catch (const io::InputError& e) {
    out.error = std::string("error: ") + e.what();
    out.error_field = error_field(e.source(), e.path());
    out.report.reset();
  } catch (const std::exception& e) {
    out.error = std::string("internal error: ") + e.what();
    out.report.reset();
  }
  return out;
}

std::vector<std::string> cli_arguments(const EstimateRequest& request) {
  std::vector<std::string> args;
  add_model_arguments(request, args);
  args.push_back("--cluster");
  args.push_back(request.cluster);
  if (request.devices > 0) {
    args.push_back("--devices");
    args.push_back(std::to_string(request.devices));
  }
  auto flag = [&args](const char* name, const std::string& value) {
    args.push_back(name);
    args.push_back(value);
  };
  if (const auto& l = request.layout) {
    flag("--dp", std::to_string(l->dp));
    flag("--tp", std::to_string(l->tp));
    flag("--pp", std::to_string(l->pp));
    flag("--ep", std::to_string(l->ep));
    flag("--zero", std::to_string(l->zero));
    flag("--recompute", sim::to_string(l->recompute));
    flag("--micro-batch", std::to_string(l->micro_batch));
    if (l->global_batch > 0) flag("--global-batch", std::to_string(l->global_batch));
  }
  if (!request.tokens.empty()) flag("--tokens", request.tokens);
  return args;
}

std::vector<std::string> loss_cli_arguments(const EstimateRequest& request) {
  if (request.law.empty()) return {};
  std::vector<std::string> args = {"--law", request.law};
  add_model_arguments(request, args);
  bool tokens = !request.tokens.empty();
  try {
    tokens = tokens && laws::uses_tokens(io::load_law(request.law).form);
  } catch (const std::exception&) {
  }
  if (tokens) {
    args.push_back("--tokens");
    args.push_back(request.tokens);
  }
  return args;
}

}  // namespace moesim::gui
