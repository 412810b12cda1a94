#pragma once
// Loss scaling laws: a law is data (its coefficients, source, definition of N and fitted
// range, read from presets/laws/*.json by io/law_io) plus the code of its form (here).
// Loss is in nats per token. docs/laws.md documents every form, mapping and choice.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/field_error.hpp"
#include "model/spec.hpp"

namespace moesim::model::laws {

// The functional forms. Each published law (a preset) is one form plus its coefficients.
enum class Form { kaplan, chinchilla, clark, krajewski, joint };

// Which parameter count a law's N is: each paper defines its own, and a law converts a
// model spec into it (law_point). dense_base: the same model with every MoE layer
// replaced by a dense FFN of width ffn.d_ff (Clark et al. 2022's "base model").
enum class ParamCount {
  total,
  active,
  non_embedding,
  active_non_embedding,
  dense_base,
  dense_base_non_embedding
};

const char* to_string(Form form);
const char* to_string(ParamCount count);
std::optional<Form> form_from_string(std::string_view name);
std::optional<ParamCount> param_count_from_string(std::string_view name);
std::vector<std::string> form_names();
std::vector<std::string> param_count_names();

// Coefficient names of a form, in the order predict() reads them.
const std::vector<std::string>& coefficient_names(Form form);
// Which of the law variables the form reads (N is always read).
bool uses_tokens(Form form);
bool uses_experts(Form form);
bool uses_granularity(Form form);

// A closed interval; a missing end is unbounded (the paper did not state it).
struct Range {
  std::optional<double> min;
  std::optional<double> max;
  bool set() const { return min.has_value() || max.has_value(); }
  bool contains(double v) const;
};

// The ranges of the law's own variables its coefficients were fitted on.
struct FittedRange {
  Range params;  // N as the law counts it
  Range tokens;
  Range experts;  // E as the law counts it (experts per layer for clark, E for joint)
  Range granularity;
};

// A published value to check an implementation against (validation tests, docs).
struct CheckValue {
  double params = 0;
  double tokens = 0;
  double experts = 1;
  double granularity = 1;
  double loss = 0;
};

struct Law {
  std::string name;  // "chinchilla"
  Form form = Form::chinchilla;
  std::string description;  // one line
  std::string source;       // paper, equation, table
  ParamCount params_counted = ParamCount::total;
  std::map<std::string, double> coefficients;  // by coefficient_names(form); may be partial
  FittedRange range;
  // Krajewski et al. 2024 fit one law per expansion rate E (= N_MoE / N_ff): 64, 16, 1.
  double expansion_rate = 1;
  // Experts in every `moe_every`-th layer in the runs the law was fitted on (1: every layer).
  double moe_every = 1;
  std::vector<CheckValue> checks;
};

// Semantic rules of a law: every coefficient set and finite, signs the form needs (the
// rule names the field path, e.g. "coefficients.E_max"). `require_coefficients` false
// skips the coefficients (a form to be fitted).
FieldErrors validate(const Law& law, bool require_coefficients = true);

// The law's variables, each in the law's own definition.
struct LawPoint {
  double params = 0;       // N as law.params_counted counts it
  double tokens = 0;       // D, training tokens
  double experts = 1;      // E: experts (clark), the joint law's E, experts = G E (krajewski)
  double granularity = 1;  // G = d_ff / d_expert (krajewski)
};

// Loss of the form with coefficients `c` (coefficient_names order) at point `p`.
double predict(Form form, const std::vector<double>& c, const LawPoint& p);
// The law's coefficients in coefficient_names order (throws std::invalid_argument when one
// is missing: callers validate first).
std::vector<double> coefficient_vector(const Law& law);
double loss(const Law& law, const LawPoint& p);

// Clark et al. 2022 (2202.01169) saturating transform: Ehat(1) = E_start, Ehat -> E_max.
double saturating_experts(double experts, double e_start, double e_max);

// What a model spec gives the laws: every parameter count and the effective expert count.
struct ModelVariables {
  double params_total = 0;
  double params_active = 0;
  double params_non_embedding = 0;
  double params_active_non_embedding = 0;
  double params_dense_base = 0;
  double params_dense_base_non_embedding = 0;
  double granularity = 1;
  double experts = 1;  // routed experts per MoE layer (1: dense)
  double top_k = 1;
  double shared_experts = 0;
  // Active FFN parameters per token over all layers (dense FFNs + top_k routed + shared).
  double ffn_active = 0;
  std::int64_t moe_layers = 0;
  std::int64_t layers = 0;
  bool is_moe() const { return experts > 1 && moe_layers > 0; }
};
ModelVariables model_variables(const ModelSpec& spec);

// The expert-frequency treatment (docs/laws.md): the expert count of a model with experts in
// every `law_every`-th layer that has the same total and active parameters as the model,
// E_eff = 1 + (N_total - N_active) / (F_active / law_every). Equals the experts-per-top-k
// ratio when the model's placement matches the law's.
double effective_experts(const ModelVariables& v, double law_every);

struct LawEvaluation {
  std::string law;
  double loss = 0;
  LawPoint point;
  // The law's variables rest on a mapping its paper did not fit (expert-layer frequency,
  // a dense law on an MoE model): docs/laws.md, "Expert-layer frequency".
  bool extrapolated = false;
  bool in_fitted_range = true;
  std::vector<std::string> warnings;
};

// The law's variables for `spec` trained on `tokens`, with the mapping's warnings.
LawEvaluation law_point(const Law& law, const ModelSpec& spec, double tokens);
// Evaluate the law on a model spec, or on variables given in the law's own definition.
LawEvaluation evaluate(const Law& law, const ModelSpec& spec, double tokens);
LawEvaluation evaluate(const Law& law, const LawPoint& point);
// Warnings for variables outside law.range (appended to `out`); false when any is outside.
bool check_range(const Law& law, const LawPoint& point, std::vector<std::string>& out);

// Every law moesim ships, registered in one place: the presets in presets/laws/ carry the
// same names and their coefficients.
struct LawEntry {
  const char* name;
  Form form;
  const char* description;  // one line
  const char* source;
};
const std::vector<LawEntry>& law_registry();
const LawEntry* find_law_entry(std::string_view name);

// A number as people read it: 1.94, 32.2B, 5.76e+23 (for warnings).
std::string short_number(double v);

}  // namespace moesim::model::laws
