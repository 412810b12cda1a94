#include "io/law_io.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "io/errors.hpp"
#include "io/json_check.hpp"
#include "io/resolve.hpp"
#include "io/units.hpp"

namespace moesim::io {

namespace {

using detail::Checker;
using detail::json;
using nlohmann::ordered_json;
namespace laws = model::laws;

const std::vector<std::string> kLawKeys = {
    "name",         "form",         "description",    "source",    "params_counted",
    "coefficients", "fitted_range", "expansion_rate", "moe_every", "checks"};
const std::vector<std::string> kRangeKeys = {"params", "tokens", "experts", "granularity"};
const std::vector<std::string> kCheckKeys = {"params", "tokens", "experts", "granularity", "loss"};
const std::vector<std::string> kColumns = {"params",  "params_active", "tokens", "loss",
                                           "experts", "granularity",   "name"};

// The N each paper counts (docs/laws.md), used when a law file does not say.
laws::ParamCount default_param_count(laws::Form form) {
  switch (form) {
    case laws::Form::kaplan:
      return laws::ParamCount::non_embedding;
    case laws::Form::chinchilla:
      return laws::ParamCount::total;
    case laws::Form::clark:
      return laws::ParamCount::dense_base;
    case laws::Form::krajewski:
      return laws::ParamCount::non_embedding;
    case laws::Form::joint:
      return laws::ParamCount::active;
  }
  return laws::ParamCount::total;
}

// Any finite number (coefficients may be negative).
double finite_number(const Checker& c, const json& v, const std::string& path) {
  if (!v.is_number()) c.fail(path, "expected a number, got " + detail::describe(v));
  const double d = v.get<double>();
  if (!std::isfinite(d)) c.fail(path, "expected a finite number");
  return d;
}

// A positive count: a JSON number or a string with a unit ("16B").
double positive_count(const Checker& c, const json& v, const std::string& path) {
  return c.quantity(v, path, &parse_count, false);
}

laws::Range parse_range(const Checker& c, const json& v, const std::string& path) {
  c.require_object(v, path);
  c.check_keys(v, path, {"min", "max"});
  laws::Range r;
  if (const json* m = Checker::find(v, "min")) r.min = positive_count(c, *m, path + ".min");
  if (const json* m = Checker::find(v, "max")) r.max = positive_count(c, *m, path + ".max");
  return r;
}

// "NAME=VALUE" from --coef into the law's coefficients.
void apply_coefficient_set(laws::Law& law, const std::string& set) {
  const auto eq = set.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError("--coef", "", "'" + set + "' is not NAME=VALUE");
  const std::string name = set.substr(0, eq);
  const std::string text = set.substr(eq + 1);
  const auto& names = laws::coefficient_names(law.form);
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string rule =
        "'" + name + "' is not a coefficient of the " + laws::to_string(law.form) + " form";
    const std::string hint = did_you_mean(name, names);
    if (!hint.empty()) {
      rule += "; did you mean '" + hint + "'?";
    } else {
      rule += " (";
      for (std::size_t i = 0; i < names.size(); ++i) rule += (i ? ", " : "") + names[i];
      rule += ")";
    }
    throw InputError("--coef", name, rule);
  }
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    throw InputError("--coef", name, "'" + text + "' is not a finite number");
  law.coefficients[name] = v;
}

std::string trim(std::string_view s) {
  std::size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) --b;
  return std::string(s.substr(a, b - a));
}

// One CSV line into fields: commas separate, double quotes quote ("" is a quote).
std::vector<std::string> split_csv_line(std::string_view line, const std::string& source,
                                        std::size_t line_number) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch == '"' && trim(field).empty()) {
      quoted = was_quoted = true;
      field.clear();
    } else if (ch == ',') {
      fields.push_back(was_quoted ? field : trim(field));
      field.clear();
      was_quoted = false;
    } else {
      field += ch;
    }
  }
  if (quoted)
    throw InputError(source, "line " + std::to_string(line_number), "unterminated quoted field");
  fields.push_back(was_quoted ? field : trim(field));
  return fields;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

// Numbers in reports must be finite (CLI.md: never NaN or inf in any output).
double checked(double v, const char* what) {
  if (!std::isfinite(v)) throw std::logic_error(std::string("non-finite value for ") + what);
  return v;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// 70e9 -> "70B", 5.76e23 -> "5.76e+23", 1.937 -> "1.937" (tables only).
std::string human(double v) {
  return laws::short_number(v);
}

void table_line(std::ostringstream& o, const std::string& key, const std::string& value) {
  o << "  " << key << std::string(key.size() < 26 ? 26 - key.size() : 1, ' ') << value << '\n';
}

void table_notes(std::ostringstream& o, const std::vector<std::string>& notes) {
  if (notes.empty()) return;
  o << "\nNotes\n";
  for (const auto& n : notes) o << "  - " << n << '\n';
}

std::string n_description(const laws::Law& law) {
  return std::string("N (") + laws::to_string(law.params_counted) + ")";
}

}  // namespace

model::laws::Law parse_law(std::string_view json_text, const std::string& source,
                           const std::vector<std::string>& coefficient_sets,
                           bool require_coefficients) {
  const json doc = detail::parse_json(json_text, source);
  const Checker c(source);
  c.require_object(doc, "");
  c.check_keys(doc, "", kLawKeys);

  laws::Law law;
  law.form =
      static_cast<laws::Form>(c.choice(c.require(doc, "", "form"), "form", laws::form_names()));
  if (const json* v = Checker::find(doc, "name")) law.name = c.string(*v, "name");
  if (law.name.empty()) law.name = detail::default_name(source);
  if (const json* v = Checker::find(doc, "description"))
    law.description = c.string(*v, "description");
  if (const json* v = Checker::find(doc, "source")) law.source = c.string(*v, "source");
  if (law.source.empty()) law.source = source;
  law.params_counted = default_param_count(law.form);
  if (const json* v = Checker::find(doc, "params_counted")) {
    law.params_counted =
        static_cast<laws::ParamCount>(c.choice(*v, "params_counted", laws::param_count_names()));
  }

  const json& coefs = c.require(doc, "", "coefficients");
  c.require_object(coefs, "coefficients");
  c.check_keys(coefs, "coefficients", laws::coefficient_names(law.form));
  for (const auto& item : coefs.items())
    law.coefficients[item.key()] = finite_number(c, item.value(), "coefficients." + item.key());

  if (const json* v = Checker::find(doc, "fitted_range")) {
    c.require_object(*v, "fitted_range");
    c.check_keys(*v, "fitted_range", kRangeKeys);
    if (const json* r = Checker::find(*v, "params"))
      law.range.params = parse_range(c, *r, "fitted_range.params");
    if (const json* r = Checker::find(*v, "tokens"))
      law.range.tokens = parse_range(c, *r, "fitted_range.tokens");
    if (const json* r = Checker::find(*v, "experts"))
      law.range.experts = parse_range(c, *r, "fitted_range.experts");
    if (const json* r = Checker::find(*v, "granularity"))
      law.range.granularity = parse_range(c, *r, "fitted_range.granularity");
  }
  if (const json* v = Checker::find(doc, "expansion_rate")) {
    if (law.form != laws::Form::krajewski)
      c.fail("expansion_rate", "applies to the krajewski form only");
    law.expansion_rate = c.number(*v, "expansion_rate", false);
  }
  if (const json* v = Checker::find(doc, "moe_every"))
    law.moe_every = c.number(*v, "moe_every", false);
  if (const json* v = Checker::find(doc, "checks")) {
    if (!v->is_array()) c.fail("checks", "expected an array, got " + detail::describe(*v));
    for (std::size_t i = 0; i < v->size(); ++i) {
      const std::string path = "checks[" + std::to_string(i) + "]";
      const json& item = (*v)[i];
      c.require_object(item, path);
      c.check_keys(item, path, kCheckKeys);
      laws::CheckValue cv;
      cv.params = positive_count(c, c.require(item, path, "params"), path + ".params");
      if (const json* t = Checker::find(item, "tokens"))
        cv.tokens = positive_count(c, *t, path + ".tokens");
      if (const json* t = Checker::find(item, "experts"))
        cv.experts = c.number(*t, path + ".experts", false);
      if (const json* t = Checker::find(item, "granularity"))
        cv.granularity = c.number(*t, path + ".granularity", false);
      cv.loss = c.number(c.require(item, path, "loss"), path + ".loss", false);
      law.checks.push_back(cv);
    }
  }

  for (const auto& set : coefficient_sets) apply_coefficient_set(law, set);
  const FieldErrors errors = laws::validate(law, require_coefficients);
  if (!errors.empty()) {
    // A coefficient that only the command line set is blamed on --coef.
    const std::string& path = errors.front().path;
    bool from_flag = false;
    for (const auto& set : coefficient_sets)
      from_flag = from_flag || path == "coefficients." + set.substr(0, set.find('='));
    throw_first(from_flag ? "--coef" : source, errors);
  }
  return law;
}

model::laws::Law load_law(const std::string& name_or_path,
                          const std::vector<std::string>& coefficient_sets,
                          bool require_coefficients) {
  const detail::Document doc = detail::resolve("laws", name_or_path, "--law");
  return parse_law(doc.text, doc.source, coefficient_sets, require_coefficients);
}

std::string render_law_json(const model::laws::Law& law) {
  ordered_json j;
  j["name"] = law.name;
  j["form"] = laws::to_string(law.form);
  if (!law.description.empty()) j["description"] = law.description;
  j["source"] = law.source;
  j["params_counted"] = laws::to_string(law.params_counted);
  ordered_json coefs = ordered_json::object();
  for (const auto& n : laws::coefficient_names(law.form)) {
    const auto it = law.coefficients.find(n);
    if (it != law.coefficients.end()) coefs[n] = checked(it->second, n.c_str());
  }
  j["coefficients"] = coefs;
  ordered_json range = ordered_json::object();
  const std::pair<const char*, const laws::Range*> ranges[] = {
      {"params", &law.range.params},
      {"tokens", &law.range.tokens},
      {"experts", &law.range.experts},
      {"granularity", &law.range.granularity}};
  for (const auto& [key, r] : ranges) {
    if (!r->set()) continue;
    ordered_json o = ordered_json::object();
    if (r->min) o["min"] = checked(*r->min, key);
    if (r->max) o["max"] = checked(*r->max, key);
    range[key] = o;
  }
  if (!range.empty()) j["fitted_range"] = range;
  if (law.form == laws::Form::krajewski) j["expansion_rate"] = law.expansion_rate;
  if (law.moe_every != 1) j["moe_every"] = law.moe_every;
  if (!law.checks.empty()) {
    ordered_json checks = ordered_json::array();
    for (const auto& cv : law.checks) {
      checks.push_back(ordered_json{{"params", cv.params},
                                    {"tokens", cv.tokens},
                                    {"experts", cv.experts},
                                    {"granularity", cv.granularity},
                                    {"loss", cv.loss}});
    }
    j["checks"] = checks;
  }
  return j.dump(2) + "\n";
}

void save_law(const std::string& path, const model::laws::Law& law) {
  const std::string text = render_law_json(law);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw InputError(path, "", "cannot open file for writing");
  out << text;
  out.close();
  if (!out) throw InputError(path, "", "error while writing the file");
}

std::vector<std::string> required_run_columns(model::laws::Form form) {
  switch (form) {
    case laws::Form::kaplan:
    case laws::Form::chinchilla:
      return {"params", "tokens"};
    case laws::Form::clark:
      return {"params", "experts"};
    case laws::Form::krajewski:
      return {"params", "tokens", "granularity"};
    case laws::Form::joint:
      return {"params_active", "tokens", "experts"};
  }
  return {};
}

RunsTable read_runs_csv(const std::string& path, model::laws::Form form) {
  const auto text = detail::read_file(path);
  if (!text) throw InputError(path, "", "no such file");
  return parse_runs_csv(*text, path, form);
}

RunsTable parse_runs_csv(std::string_view text, const std::string& source, model::laws::Form form) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
  std::vector<std::string> header;
  std::map<std::string, std::size_t> column;  // name -> index
  RunsTable table;
  std::size_t line_number = 0;
  std::size_t header_line = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string trimmed = trim(line);
    if (trimmed.empty() || trimmed[0] == '#') {
      if (end == text.size()) break;
      continue;
    }
    std::vector<std::string> fields = split_csv_line(line, source, line_number);
    const std::string where = "line " + std::to_string(line_number);
    if (header.empty()) {
      header_line = line_number;
      for (std::size_t i = 0; i < fields.size(); ++i) {
        const std::string& name = fields[i];
        const std::string col = where + ", column " + std::to_string(i + 1);
        if (std::find(kColumns.begin(), kColumns.end(), name) == kColumns.end()) {
          std::string rule = "unknown column '" + name + "'";
          const std::string hint = did_you_mean(name, kColumns);
          rule +=
              hint.empty() ? "; columns are " + join(kColumns) : "; did you mean '" + hint + "'?";
          throw InputError(source, col, rule);
        }
        if (column.count(name)) throw InputError(source, col, "column '" + name + "' given twice");
        column[name] = i;
      }
      header = fields;
      std::vector<std::string> need = required_run_columns(form);
      need.push_back("loss");
      for (const auto& n : need) {
        if (column.count(n)) continue;
        std::string rule = "missing column '" + n + "': the " + std::string(laws::to_string(form)) +
                           " form needs " + join(need);
        if (n == "params_active" && column.count("params"))
          rule += " (its N is active parameters with embeddings: name that column params_active)";
        throw InputError(source, where + " (header)", rule);
      }
      if (end == text.size()) break;
      continue;
    }
    if (fields.size() != header.size()) {
      throw InputError(source, where,
                       std::to_string(fields.size()) + " fields, but the header (line " +
                           std::to_string(header_line) + ") has " + std::to_string(header.size()));
    }
    laws::TrainingRun run;
    std::string name;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const std::string& col = header[i];
      const std::string& value = fields[i];
      const std::string path = where + ", column " + std::to_string(i + 1) + " (" + col + ")";
      if (col == "name") {
        name = value;
        continue;
      }
      if (value.empty()) throw InputError(source, path, "empty value");
      double v = 0;
      if (col == "params" || col == "params_active" || col == "tokens") {
        v = parse_count(value, source, path);  // "70B", "1.4e12"
      } else {
        const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec != std::errc() || p != value.data() + value.size() || !std::isfinite(v))
          throw InputError(source, path, "'" + value + "' is not a number");
      }
      if (col == "experts" ? !(v >= 1) : !(v > 0)) {
        throw InputError(source, path,
                         col == "experts" ? "must be at least 1 (got " + value + ")"
                                          : "must be positive (got " + value + ")");
      }
      if (col == "loss") {
        run.loss = v;
      } else if (col == "tokens") {
        run.point.tokens = v;
      } else if (col == "experts") {
        run.point.experts = v;
      } else if (col == "granularity") {
        run.point.granularity = v;
      } else if (col == (form == laws::Form::joint ? "params_active" : "params")) {
        run.point.params = v;
      }
    }
    table.runs.push_back(run);
    table.lines.push_back(line_number);
    table.names.push_back(name);
    if (end == text.size()) break;
  }
  if (header.empty()) throw InputError(source, "", "no header row: the file has no columns");
  const FieldErrors errors = laws::check_runs(form, table.runs);
  if (!errors.empty()) {
    const auto& e = errors.front();
    throw InputError(source, e.path == "rows" ? "rows" : "column " + e.path, e.rule);
  }
  return table;
}

Report make_loss_report(const model::laws::Law& law, const model::laws::LawEvaluation& ev,
                        const std::string& model_name) {
  Report r;
  r.fields.push_back({"loss.law", law.name});
  r.fields.push_back({"loss.value", checked(ev.loss, "loss.value")});
  r.fields.push_back({"loss.form", std::string(laws::to_string(law.form))});
  if (!model_name.empty()) r.fields.push_back({"loss.model", model_name});
  r.fields.push_back({"loss.params", checked(ev.point.params, "loss.params")});
  r.fields.push_back({"loss.params_counted", std::string(laws::to_string(law.params_counted))});
  if (laws::uses_tokens(law.form))
    r.fields.push_back({"loss.tokens", checked(ev.point.tokens, "loss.tokens")});
  r.fields.push_back({"loss.experts", checked(ev.point.experts, "loss.experts")});
  r.fields.push_back({"loss.granularity", checked(ev.point.granularity, "loss.granularity")});
  r.fields.push_back({"loss.extrapolated", ev.extrapolated});
  r.fields.push_back({"loss.in_fitted_range", ev.in_fitted_range});
  r.fields.push_back({"loss.source", law.source});
  r.notes = ev.warnings;
  return r;
}

Report make_optimal_report(const model::laws::Law& law, const model::laws::ComputeOptimal& o) {
  Report r;
  r.fields.push_back({"loss.law", law.name});
  r.fields.push_back({"loss.value", checked(o.loss, "loss.value")});
  r.fields.push_back({"optimal.flops", checked(o.flops, "optimal.flops")});
  r.fields.push_back({"optimal.params_active", checked(o.params_active, "optimal.params_active")});
  r.fields.push_back({"optimal.params_total", checked(o.params_total, "optimal.params_total")});
  r.fields.push_back({"optimal.tokens", checked(o.tokens, "optimal.tokens")});
  r.fields.push_back({"optimal.experts", checked(o.experts, "optimal.experts")});
  r.fields.push_back({"optimal.granularity", checked(o.granularity, "optimal.granularity")});
  r.fields.push_back({"optimal.loss", checked(o.loss, "optimal.loss")});
  r.fields.push_back({"optimal.params_counted", std::string(laws::to_string(law.params_counted))});
  r.fields.push_back({"optimal.method", std::string(o.closed_form ? "closed form" : "numeric")});
  r.fields.push_back({"optimal.in_fitted_range", o.in_fitted_range});
  r.notes = o.notes;
  r.notes.insert(r.notes.end(), o.warnings.begin(), o.warnings.end());
  return r;
}

std::string render_loss_table(const model::laws::Law& law, const model::laws::LawEvaluation& ev,
                              const std::string& model_name) {
  make_loss_report(law, ev, model_name);  // the same finiteness checks as the other formats
  std::ostringstream o;
  o << "moesim loss: " << law.name << (model_name.empty() ? "" : " on " + model_name) << "\n\n";
  table_line(o, "loss (nats/token)", fmt("%.4f", ev.loss));
  table_line(o, n_description(law), human(ev.point.params));
  if (laws::uses_tokens(law.form)) table_line(o, "D (tokens)", human(ev.point.tokens));
  if (law.form != laws::Form::kaplan && law.form != laws::Form::chinchilla) {
    table_line(o, "E (experts)", fmt("%.4g", ev.point.experts));
    table_line(o, "G (granularity)", fmt("%.4g", ev.point.granularity));
  }
  table_line(o, "extrapolated", ev.extrapolated ? "yes" : "no");
  table_line(o, "in fitted range", ev.in_fitted_range ? "yes" : "no");
  table_line(o, "law", law.description.empty() ? laws::to_string(law.form) : law.description);
  table_line(o, "source", law.source);
  table_notes(o, ev.warnings);
  return o.str();
}

std::string render_optimal_table(const model::laws::Law& law,
                                 const model::laws::ComputeOptimal& opt) {
  make_optimal_report(law, opt);
  std::ostringstream o;
  o << "moesim loss --optimal: " << law.name << " at " << human(opt.flops) << " FLOPs ("
    << (opt.closed_form ? "closed form" : "numeric search") << ")\n\n";
  table_line(o, "loss (nats/token)", fmt("%.4f", opt.loss));
  table_line(o, "params active", human(opt.params_active));
  table_line(o, "params total", human(opt.params_total));
  table_line(o, "tokens", human(opt.tokens));
  table_line(o, "tokens / active param", fmt("%.3g", opt.tokens / opt.params_active));
  table_line(o, "experts", fmt("%.4g", opt.experts));
  table_line(o, "granularity", fmt("%.4g", opt.granularity));
  table_line(o, "in fitted range", opt.in_fitted_range ? "yes" : "no");
  table_line(o, "source", law.source);
  std::vector<std::string> notes = opt.notes;
  notes.insert(notes.end(), opt.warnings.begin(), opt.warnings.end());
  table_notes(o, notes);
  return o.str();
}

std::string render_fit_json(const model::laws::FitResult& fit, const model::laws::Law& law,
                            const RunsTable& runs, const std::string& source) {
  ordered_json j;
  ordered_json f;
  f["law"] = law.name;
  f["form"] = laws::to_string(fit.form);
  f["file"] = source;
  f["runs"] = runs.runs.size();
  f["params_counted"] = laws::to_string(law.params_counted);
  f["huber_delta"] = fit.huber_delta;
  f["objective"] = checked(fit.huber_objective, "objective");
  f["rms_log_residual"] = checked(fit.rms_log_residual, "rms_log_residual");
  f["starts"] = fit.starts;
  f["bootstrap"] = ordered_json{{"samples", fit.bootstrap_samples},
                                {"failed", fit.bootstrap_failed},
                                {"confidence", fit.confidence},
                                {"seed", fit.seed}};
  j["fit"] = f;
  ordered_json coefs = ordered_json::object();
  for (const auto& c : fit.coefficients) {
    coefs[c.name] = ordered_json{{"value", checked(c.value, c.name.c_str())},
                                 {"low", checked(c.low, c.name.c_str())},
                                 {"high", checked(c.high, c.name.c_str())}};
  }
  j["coefficients"] = coefs;
  ordered_json residuals = ordered_json::array();
  for (std::size_t i = 0; i < fit.residuals.size(); ++i) {
    const auto& run = runs.runs[i];
    const auto& res = fit.residuals[i];
    ordered_json row;
    row["line"] = runs.lines[i];
    if (!runs.names[i].empty()) row["name"] = runs.names[i];
    row["params"] = run.point.params;
    if (laws::uses_tokens(fit.form)) row["tokens"] = run.point.tokens;
    if (laws::uses_experts(fit.form)) row["experts"] = run.point.experts;
    if (laws::uses_granularity(fit.form)) row["granularity"] = run.point.granularity;
    row["loss"] = res.observed;
    row["predicted"] = checked(res.predicted, "predicted");
    row["log_residual"] = checked(res.log_residual, "log_residual");
    residuals.push_back(row);
  }
  j["residuals"] = residuals;
  j["notes"] = fit.warnings;
  return j.dump(2) + "\n";
}

std::string render_fit_csv(const model::laws::FitResult& fit) {
  std::ostringstream o;
  o << "coefficient,value,ci_low,ci_high\n";
  for (const auto& c : fit.coefficients) {
    o << c.name << ',' << fmt("%.10g", checked(c.value, "value")) << ','
      << fmt("%.10g", checked(c.low, "low")) << ',' << fmt("%.10g", checked(c.high, "high"))
      << '\n';
  }
  return o.str();
}

std::string render_fit_table(const model::laws::FitResult& fit, const model::laws::Law& law,
                             const RunsTable& runs, const std::string& source) {
  render_fit_csv(fit);  // finiteness checks
  std::ostringstream o;
  o << "moesim fit: " << laws::to_string(fit.form) << " form to " << runs.runs.size() << " runs in "
    << source << "\n";
  o << "  Huber loss (delta " << fmt("%.3g", fit.huber_delta) << ") on log loss, " << fit.starts
    << " grid starts, Levenberg-Marquardt; N counts " << laws::to_string(law.params_counted)
    << " parameters\n\n";
  char buf[200];
  std::snprintf(buf, sizeof buf, "  %-10s %14s   %s\n", "coefficient", "value",
                (fmt("%.0f%%", 100 * fit.confidence) + " bootstrap interval (" +
                 std::to_string(fit.bootstrap_samples) + " resamples)")
                    .c_str());
  o << buf;
  for (const auto& c : fit.coefficients) {
    std::snprintf(buf, sizeof buf, "  %-10s %14.6g   [%.6g, %.6g]\n", c.name.c_str(), c.value,
                  c.low, c.high);
    o << buf;
  }
  o << "\n  RMS log residual " << fmt("%.4g", fit.rms_log_residual) << ", objective "
    << fmt("%.6g", fit.huber_objective) << "\n\nResiduals\n";
  std::snprintf(buf, sizeof buf, "  %6s %10s %10s %8s %6s %9s %9s %10s\n", "line", "N", "D", "E",
                "G", "loss", "predicted", "log resid");
  o << buf;
  for (std::size_t i = 0; i < fit.residuals.size(); ++i) {
    const auto& run = runs.runs[i];
    const auto& r = fit.residuals[i];
    std::snprintf(buf, sizeof buf, "  %6zu %10s %10s %8.4g %6.4g %9.4f %9.4f %+10.4f\n",
                  runs.lines[i], human(run.point.params).c_str(),
                  laws::uses_tokens(fit.form) ? human(run.point.tokens).c_str() : "-",
                  run.point.experts, run.point.granularity, r.observed, r.predicted,
                  r.log_residual);
    o << buf;
  }
  table_notes(o, fit.warnings);
  return o.str();
}

}  // namespace moesim::io
