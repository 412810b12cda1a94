#include "model/laws/law.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "model/workload.hpp"

namespace moesim::model::laws {

namespace {

const std::vector<std::string> kFormNames = {"kaplan", "chinchilla", "clark", "krajewski", "joint"};
const std::vector<std::string> kParamCountNames = {"total",         "active",
                                                   "non_embedding", "active_non_embedding",
                                                   "dense_base",    "dense_base_non_embedding"};

bool is_dense_form(Form form) {
  return form == Form::kaplan || form == Form::chinchilla;
}

std::string describe_range(const Range& r) {
  std::string out = "[";
  out += r.min ? short_number(*r.min) : std::string("-");
  out += ", ";
  out += r.max ? short_number(*r.max) : std::string("-");
  out += "]";
  return out;
}

}  // namespace

const char* to_string(Form form) {
  return kFormNames[static_cast<std::size_t>(form)].c_str();
}

const char* to_string(ParamCount count) {
  return kParamCountNames[static_cast<std::size_t>(count)].c_str();
}

std::optional<Form> form_from_string(std::string_view name) {
  for (std::size_t i = 0; i < kFormNames.size(); ++i)
    if (kFormNames[i] == name) return static_cast<Form>(i);
  return std::nullopt;
}

std::optional<ParamCount> param_count_from_string(std::string_view name) {
  for (std::size_t i = 0; i < kParamCountNames.size(); ++i)
    if (kParamCountNames[i] == name) return static_cast<ParamCount>(i);
  return std::nullopt;
}

std::vector<std::string> form_names() {
  return kFormNames;
}
std::vector<std::string> param_count_names() {
  return kParamCountNames;
}

const std::vector<std::string>& coefficient_names(Form form) {
  static const std::vector<std::string> kaplan = {"Nc", "Dc", "alpha_N", "alpha_D"};
  static const std::vector<std::string> chinchilla = {"E", "A", "B", "alpha", "beta"};
  static const std::vector<std::string> clark = {"a", "b", "c", "d", "E_start", "E_max"};
  static const std::vector<std::string> krajewski = {"a", "alpha", "b", "beta", "g", "gamma", "c"};
  static const std::vector<std::string> joint = {"a",     "alpha", "delta",   "gamma", "b", "beta",
                                                 "omega", "zeta",  "E_start", "E_max", "c"};
  switch (form) {
    case Form::kaplan:
      return kaplan;
    case Form::chinchilla:
      return chinchilla;
    case Form::clark:
      return clark;
    case Form::krajewski:
      return krajewski;
    case Form::joint:
      return joint;
  }
  return chinchilla;
}

bool uses_tokens(Form form) {
  return form != Form::clark;
}
bool uses_experts(Form form) {
  return form == Form::clark || form == Form::joint;
}
bool uses_granularity(Form form) {
  return form == Form::krajewski;
}

bool Range::contains(double v) const {
  // A relative slack of 1e-9 keeps the published end points themselves inside.
  if (min && v < *min * (1 - 1e-9)) return false;
  if (max && v > *max * (1 + 1e-9)) return false;
  return true;
}

FieldErrors validate(const Law& law, bool require_coefficients) {
  FieldErrors errors;
  if (law.name.empty()) errors.push_back({"name", "must not be empty"});
  const auto& names = coefficient_names(law.form);
  for (const auto& [key, value] : law.coefficients) {
    if (std::find(names.begin(), names.end(), key) == names.end())
      errors.push_back({"coefficients." + key, std::string("is not a coefficient of the ") +
                                                   to_string(law.form) + " form"});
    else if (!std::isfinite(value))
      errors.push_back({"coefficients." + key, "must be a finite number"});
  }
  if (require_coefficients) {
    for (const auto& n : names) {
      if (law.coefficients.count(n) == 0) {
        errors.push_back(
            {"coefficients." + n,
             std::string("is not set") +
                 (law.form == Form::clark
                      ? " (Clark et al. fit one law per router; give the coefficients with "
                        "--coef NAME=VALUE, a law file, or moesim fit)"
                      : "")});
      }
    }
  }
  auto coef = [&](const std::string& n) -> std::optional<double> {
    auto it = law.coefficients.find(n);
    if (it == law.coefficients.end() || !std::isfinite(it->second)) return std::nullopt;
    return it->second;
  };
  auto positive = [&](const std::string& n) {
    if (auto v = coef(n); v && !(*v > 0))
      errors.push_back({"coefficients." + n, "must be positive (got " + short_number(*v) + ")"});
  };
  auto non_negative = [&](const std::string& n) {
    if (auto v = coef(n); v && *v < 0)
      errors.push_back(
          {"coefficients." + n, "must not be negative (got " + short_number(*v) + ")"});
  };
  auto saturation = [&] {
    positive("E_start");
    auto s = coef("E_start"), m = coef("E_max");
    if (s && m && !(*m > *s))
      errors.push_back({"coefficients.E_max", "must exceed E_start (" + short_number(*s) + ")"});
  };
  switch (law.form) {
    case Form::kaplan:
      for (const char* n : {"Nc", "Dc", "alpha_N", "alpha_D"}) positive(n);
      break;
    case Form::chinchilla:
      non_negative("E");
      for (const char* n : {"A", "B", "alpha", "beta"}) positive(n);
      break;
    case Form::clark:
      saturation();
      break;
    case Form::krajewski:
      for (const char* n : {"a", "g", "c"}) non_negative(n);
      for (const char* n : {"b", "alpha", "beta"}) positive(n);
      break;
    case Form::joint:
      positive("a");
      positive("b");
      non_negative("c");
      saturation();
      break;
  }
  if (!(law.expansion_rate >= 1))
    errors.push_back(
        {"expansion_rate", "must be at least 1 (got " + short_number(law.expansion_rate) + ")"});
  if (!(law.moe_every >= 1))
    errors.push_back({"moe_every", "must be at least 1 (got " + short_number(law.moe_every) + ")"});
  const std::pair<const char*, const Range*> ranges[] = {
      {"fitted_range.params", &law.range.params},
      {"fitted_range.tokens", &law.range.tokens},
      {"fitted_range.experts", &law.range.experts},
      {"fitted_range.granularity", &law.range.granularity}};
  for (const auto& [path, r] : ranges) {
    if (r->min && r->max && *r->min > *r->max)
      errors.push_back({std::string(path) + ".min", "exceeds max (" + short_number(*r->max) + ")"});
  }
  return errors;
}

double saturating_experts(double experts, double e_start, double e_max) {
  // Clark et al. 2022 (2202.01169): 1/Ehat = 1/(E - 1 + (1/E_start - 1/E_max)^-1) + 1/E_max.
  const double shift = 1.0 / (1.0 / e_start - 1.0 / e_max);
  return 1.0 / (1.0 / (experts - 1.0 + shift) + 1.0 / e_max);
}

double predict(Form form, const std::vector<double>& c, const LawPoint& p) {
  const double n = p.params, d = p.tokens;
  switch (form) {
    case Form::kaplan: {
      // Kaplan et al. 2020 Eq. 1.5: L = [(Nc/N)^(aN/aD) + Dc/D]^aD.
      const double nc = c[0], dc = c[1], an = c[2], ad = c[3];
      return std::pow(std::pow(nc / n, an / ad) + dc / d, ad);
    }
    case Form::chinchilla:
      // Hoffmann et al. 2022 Eq. 2 (approach 3): L = E + A/N^alpha + B/D^beta.
      return c[0] + c[1] / std::pow(n, c[3]) + c[2] / std::pow(d, c[4]);
    case Form::clark: {
      // Clark et al. 2022: log L = a log N + b log Ehat + c log N log Ehat + d (base-10 logs,
      // docs/laws.md).
      const double ehat = saturating_experts(p.experts, c[4], c[5]);
      const double ln = std::log10(n), le = std::log10(ehat);
      return std::pow(10.0, c[0] * ln + c[1] * le + c[2] * ln * le + c[3]);
    }
    case Form::krajewski:
      // Krajewski et al. 2024: L = c + (g/G^gamma + a) N^-alpha + b D^-beta.
      return c[6] + (c[4] / std::pow(p.granularity, c[5]) + c[0]) * std::pow(n, -c[1]) +
             c[2] * std::pow(d, -c[3]);
    case Form::joint: {
      // Ludziejewski et al. 2025 (2502.05172) App. B: L = a Ehat^delta N^(alpha + gamma ln
      // Ehat) + b Ehat^omega D^(beta + zeta ln Ehat) + c.
      const double ehat = saturating_experts(p.experts, c[8], c[9]);
      const double le = std::log(ehat);
      return c[0] * std::pow(ehat, c[2]) * std::pow(n, c[1] + c[3] * le) +
             c[4] * std::pow(ehat, c[6]) * std::pow(d, c[5] + c[7] * le) + c[10];
    }
  }
  return 0;
}

std::vector<double> coefficient_vector(const Law& law) {
  std::vector<double> out;
  for (const auto& n : coefficient_names(law.form)) {
    const auto it = law.coefficients.find(n);
    if (it == law.coefficients.end())
      throw std::invalid_argument("law " + law.name + ": coefficient " + n + " is not set");
    out.push_back(it->second);
  }
  return out;
}

double loss(const Law& law, const LawPoint& p) {
  return predict(law.form, coefficient_vector(law), p);
}

ModelVariables model_variables(const ModelSpec& spec) {
  ModelVariables v;
  const ModelTotals t = totals(spec);
  v.params_total = t.params_total;
  v.params_active = t.params_active;
  v.params_non_embedding = t.params_non_embedding;
  v.params_active_non_embedding = t.params_active_non_embedding;
  // Clark et al. 2022's N: the dense model the routed one is built from (every FFN dense).
  ModelSpec base = spec;
  base.moe = MoeSpec{};
  const ModelTotals tb = totals(base);
  v.params_dense_base = tb.params_total;
  v.params_dense_base_non_embedding = tb.params_non_embedding;
  v.granularity = t.granularity;
  v.experts = spec.is_moe() ? static_cast<double>(spec.moe.experts) : 1.0;
  v.top_k = spec.is_moe() ? static_cast<double>(spec.moe.top_k) : 1.0;
  v.shared_experts = spec.is_moe() ? static_cast<double>(spec.moe.shared_experts) : 0.0;
  v.moe_layers = t.moe_layers;
  v.layers = t.moe_layers + t.dense_layers;
  for (const LayerCost& c : layer_costs(spec)) {
    v.ffn_active +=
        c.kind == LayerKind::moe ? c.expert_params_active + c.shared_expert_params : c.ffn_params;
  }
  return v;
}

double effective_experts(const ModelVariables& v, double law_every) {
  if (!v.is_moe() || !(v.ffn_active > 0)) return 1.0;
  // docs/laws.md "Expert-layer frequency": the law's model has experts in one layer of
  // every `law_every`; its inactive parameters are (E - 1) x the active FFN of those layers.
  const double law_ffn_active = v.ffn_active / law_every;
  return 1.0 + (v.params_total - v.params_active) / law_ffn_active;
}

LawEvaluation law_point(const Law& law, const ModelSpec& spec, double tokens) {
  LawEvaluation ev;
  ev.law = law.name;
  const ModelVariables v = model_variables(spec);
  switch (law.params_counted) {
    case ParamCount::total:
      ev.point.params = v.params_total;
      break;
    case ParamCount::active:
      ev.point.params = v.params_active;
      break;
    case ParamCount::non_embedding:
      ev.point.params = v.params_non_embedding;
      break;
    case ParamCount::active_non_embedding:
      ev.point.params = v.params_active_non_embedding;
      break;
    case ParamCount::dense_base:
      ev.point.params = v.params_dense_base;
      break;
    case ParamCount::dense_base_non_embedding:
      ev.point.params = v.params_dense_base_non_embedding;
      break;
  }
  ev.point.tokens = tokens;
  const double e_eff = effective_experts(v, law.moe_every);
  if (is_dense_form(law.form)) {
    if (v.is_moe()) {
      ev.extrapolated = true;
      ev.warnings.push_back(std::string("extrapolated: ") + law.name +
                            " was fitted on dense models; for this MoE model N counts " +
                            to_string(law.params_counted) + " parameters (" +
                            short_number(ev.point.params) + ")");
    }
    return ev;
  }
  // Krajewski et al. and Ludziejewski et al. activate one dense FFN's worth of experts per
  // token; moesim reads a model in those terms (docs/laws.md): its active expert width is the
  // dense-equivalent FFN, so G' = top_k + shared experts and E = total / active.
  const double g_active = v.is_moe() ? v.top_k + v.shared_experts : 1.0;
  ev.point.granularity = law.form == Form::krajewski ? g_active : v.granularity;
  ev.point.experts = law.form == Form::krajewski ? g_active * e_eff : e_eff;
  if (!v.is_moe()) return ev;

  // Expert-layer placement: the law's runs had experts in one layer of every moe_every.
  const double model_fraction =
      static_cast<double>(v.moe_layers) / static_cast<double>(std::max<std::int64_t>(1, v.layers));
  const double law_fraction = 1.0 / law.moe_every;
  if (std::fabs(model_fraction - law_fraction) > 1e-9) {
    ev.extrapolated = true;
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "extrapolated: experts in %lld of %lld layers, but %s was fitted with experts "
                  "in %s; the expert count is mapped by parameter count to E = %.3g "
                  "(docs/laws.md, expert-layer frequency)",
                  static_cast<long long>(v.moe_layers), static_cast<long long>(v.layers),
                  law.name.c_str(),
                  law.moe_every == 1 ? "every layer"
                                     : ("one layer in " + short_number(law.moe_every)).c_str(),
                  e_eff);
    ev.warnings.emplace_back(buf);
  }
  if (std::fabs(g_active - v.granularity) > 1e-9 * v.granularity) {
    ev.warnings.push_back(
        "top-" + short_number(v.top_k) +
        (v.shared_experts > 0 ? " + " + short_number(v.shared_experts) + " shared" : "") +
        " experts of width d_ff/" + short_number(v.granularity) + " read as one dense FFN of " +
        short_number(g_active) + " experts: G = " + short_number(g_active) +
        ", E = " + short_number(e_eff) + " (docs/laws.md)");
  }
  if (law.form == Form::krajewski && std::fabs(e_eff / law.expansion_rate - 1) > 0.1) {
    // Krajewski et al. fit one law per expansion rate.
    ev.in_fitted_range = false;
    ev.warnings.push_back("expansion rate " + short_number(e_eff) + " differs from the " +
                          short_number(law.expansion_rate) + " that " + law.name +
                          " was fitted at");
  }
  return ev;
}

bool check_range(const Law& law, const LawPoint& p, std::vector<std::string>& out) {
  bool inside = true;
  auto check = [&](const char* what, const Range& r, double v) {
    if (!r.set() || r.contains(v)) return;
    inside = false;
    out.push_back(std::string(what) + " " + short_number(v) + " outside the range " + law.name +
                  " was fitted on " + describe_range(r));
  };
  check("N", law.range.params, p.params);
  if (uses_tokens(law.form)) check("D", law.range.tokens, p.tokens);
  if (law.form != Form::kaplan && law.form != Form::chinchilla)
    check("E", law.range.experts, p.experts);
  if (uses_granularity(law.form)) check("G", law.range.granularity, p.granularity);
  return inside;
}

LawEvaluation evaluate(const Law& law, const LawPoint& point) {
  LawEvaluation ev;
  ev.law = law.name;
  ev.point = point;
  ev.in_fitted_range = check_range(law, point, ev.warnings);
  ev.loss = loss(law, point);
  return ev;
}

LawEvaluation evaluate(const Law& law, const ModelSpec& spec, double tokens) {
  LawEvaluation ev = law_point(law, spec, tokens);
  ev.in_fitted_range = check_range(law, ev.point, ev.warnings) && ev.in_fitted_range;
  ev.loss = loss(law, ev.point);
  return ev;
}

const std::vector<LawEntry>& law_registry() {
  static const std::vector<LawEntry> registry = {
      {"kaplan", Form::kaplan,
       "Kaplan et al. 2020: L(N,D) = [(Nc/N)^(aN/aD) + Dc/D]^aD, N non-embedding",
       "Kaplan et al. 2020 (2001.08361) Eq. 1.5, Table 2"},
      {"chinchilla", Form::chinchilla,
       "Hoffmann et al. 2022 approach 3: L(N,D) = E + A/N^alpha + B/D^beta, N with embeddings",
       "Hoffmann et al. 2022 (2203.15556) Sec. 3.3, approach 3"},
      {"chinchilla-replication", Form::chinchilla,
       "Besiroglu et al. 2024 refit of Chinchilla approach 3: L(N,D) = E + A/N^alpha + B/D^beta",
       "Besiroglu et al. 2024 (2404.10102)"},
      {"clark", Form::clark,
       "Clark et al. 2022 routed form: log L = a log N + b log Ehat + c log N log Ehat + d "
       "(coefficients from the user or moesim fit)",
       "Clark et al. 2022 (2202.01169)"},
      {"krajewski-e64", Form::krajewski,
       "Krajewski et al. 2024 fine-grained MoE: L(N,D,G) = c + (g/G^gamma + a) N^-alpha + "
       "b D^-beta, expansion rate 64",
       "Krajewski et al. 2024 (2402.07871) Tables 1 and 8"},
      {"krajewski-e16", Form::krajewski,
       "Krajewski et al. 2024 fine-grained MoE: L(N,D,G) = c + (g/G^gamma + a) N^-alpha + "
       "b D^-beta, expansion rate 16",
       "Krajewski et al. 2024 (2402.07871) Tables 1 and 8"},
      {"krajewski-dense", Form::krajewski,
       "Krajewski et al. 2024 dense baseline: L(N,D) = c + a N^-alpha + b D^-beta",
       "Krajewski et al. 2024 (2402.07871) Tables 1 and 8"},
      {"joint", Form::joint,
       "Ludziejewski et al. 2025 joint MoE law: L(N_act, D, Ehat), N_act with embeddings",
       "Ludziejewski et al. 2025 (2502.05172) App. B, Table 3"},
  };
  return registry;
}

const LawEntry* find_law_entry(std::string_view name) {
  for (const auto& e : law_registry())
    if (name == e.name) return &e;
  return nullptr;
}

std::string short_number(double v) {
  char buf[48];
  const double a = std::fabs(v);
  if (a >= 1e3 && a < 1e15) {
    const char* suffix[] = {"K", "M", "B", "T"};
    int i = 0;
    double s = v / 1e3;
    while (std::fabs(s) >= 1e3 && i < 3) {
      s /= 1e3;
      ++i;
    }
    std::snprintf(buf, sizeof buf, "%.3g%s", s, suffix[i]);
  } else {
    std::snprintf(buf, sizeof buf, "%.4g", v);
  }
  return buf;
}

}  // namespace moesim::model::laws
