#include "io/sweep_spec.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/errors.hpp"
#include "io/json_check.hpp"
#include "sim/estimate.hpp"

namespace moesim::io {
namespace {

using ojson = nlohmann::ordered_json;
constexpr std::int64_t kMaxPoints = 100'000'000;
constexpr std::size_t kMaxAxisValues = 1'000'000;

std::string hint(const std::string& word, const std::vector<std::string>& options) {
  const std::string s = did_you_mean(word, options);
  return s.empty() ? std::string() : "; did you mean '" + s + "'?";
}

std::string describe_o(const ojson& v) {
  return detail::describe(detail::json::parse(v.dump()));
}

ReportValue scalar(const ojson& v, const std::string& source, const std::string& path) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > INT64_MAX)
      throw InputError(source, path, "integer too large");
    return v.get<std::int64_t>();
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) throw InputError(source, path, "must be finite");
    return d;
  }
  if (v.is_string()) return v.get<std::string>();
  throw InputError(source, path,
                   describe_o(v) + " is not a number, string or boolean (or a range object)");
}

double range_number(const ojson& r, const std::string& key, const std::string& source,
                    const std::string& path) {
  const std::string p = path + "." + key;
  if (!r.contains(key)) throw InputError(source, p, "required key missing");
  const ojson& v = r.at(key);
  if (!v.is_number()) throw InputError(source, p, describe_o(v) + " is not a number");
  const double d = v.get<double>();
  if (!std::isfinite(d)) throw InputError(source, p, "must be finite");
  return d;
}

// {"from","to","times"} or {"from","to","step"}: values from `from` up to `to` inclusive.
std::vector<ReportValue> expand_range(const ojson& r, const std::string& source,
                                      const std::string& path) {
  for (auto it = r.begin(); it != r.end(); ++it)
    if (it.key() != "from" && it.key() != "to" && it.key() != "times" && it.key() != "step")
      throw InputError(source, path + "." + it.key(),
                       "unknown key" + hint(it.key(), {"from", "to", "times", "step"}));
  const bool times = r.contains("times"), step = r.contains("step");
  if (times == step)
    throw InputError(source, path, "a range needs exactly one of 'times' and 'step'");
  const std::string by = times ? "times" : "step";
  const double from = range_number(r, "from", source, path);
  const double to = range_number(r, "to", source, path);
  const double k = range_number(r, by, source, path);
  const bool integral = r.at("from").is_number_integer() && r.at(by).is_number_integer();
  std::vector<ReportValue> out;
  for (double v : range_values(from, to, times, k, source, path)) {
    if (integral)
      out.push_back(static_cast<std::int64_t>(std::llround(v)));
    else
      out.push_back(v);
  }
  return out;
}

void check_key(const std::string& key, const std::string& source, const std::string& path,
               const std::vector<std::string>& allowed) {
  if (key.rfind("set:", 0) == 0) {
    if (key.size() == 4 || key.find('=') != std::string::npos)
      throw InputError(source, path, "'set:' needs a model field path, e.g. set:moe.experts");
    return;
  }
  for (const auto& a : allowed)
    if (a == key) return;
  std::vector<std::string> options = allowed;
  options.push_back("set:moe.experts");
  throw InputError(source, path, "unknown key" + hint(key, options));
}

std::vector<SweepAxis> read_axes(const ojson& block, const std::string& name,
                                 const std::string& source,
                                 const std::vector<std::string>& allowed) {
  if (!block.is_object()) throw InputError(source, name, describe_o(block) + " is not an object");
  std::vector<SweepAxis> axes;
  for (auto it = block.begin(); it != block.end(); ++it) {
    const std::string path = name + "." + it.key();
    check_key(it.key(), source, path, allowed);
    SweepAxis axis{it.key(), {}};
    const ojson& v = it.value();
    if (v.is_object()) {
      axis.values = expand_range(v, source, path);
    } else if (v.is_array()) {
      if (v.size() > kMaxAxisValues) throw InputError(source, path, "more than 1000000 values");
      for (std::size_t i = 0; i < v.size(); ++i)
        axis.values.push_back(scalar(v[i], source, path + "[" + std::to_string(i) + "]"));
    } else {
      throw InputError(source, path, describe_o(v) + " is not a list of values or a range object");
    }
    if (axis.values.empty()) throw InputError(source, path, "has no values");
    axes.push_back(std::move(axis));
  }
  return axes;
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n' || c == '\r') c = ' ';  // a row is always one line
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

ojson to_ojson(const ReportValue& v) {
  return std::visit([](const auto& x) { return ojson(x); }, v);
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

std::int64_t SweepSpec::count() const {
  std::int64_t n = zip.empty() ? 1 : static_cast<std::int64_t>(zip.front().values.size());
  for (const auto& a : grid) n *= static_cast<std::int64_t>(a.values.size());
  return n;
}

std::vector<std::string> SweepSpec::axis_keys() const {
  std::vector<std::string> keys;
  for (const auto& a : grid) keys.push_back(a.key);
  for (const auto& a : zip) keys.push_back(a.key);
  return keys;
}

std::vector<ReportValue> SweepSpec::point(std::int64_t index) const {
  std::vector<ReportValue> values(grid.size() + zip.size());
  std::int64_t rest = index;
  if (!zip.empty()) {
    const auto n = static_cast<std::int64_t>(zip.front().values.size());
    const std::int64_t z = rest % n;
    rest /= n;
    for (std::size_t j = 0; j < zip.size(); ++j) values[grid.size() + j] = zip[j].values[z];
  }
  for (std::size_t j = grid.size(); j-- > 0;) {
    const auto n = static_cast<std::int64_t>(grid[j].values.size());
    values[j] = grid[j].values[rest % n];
    rest /= n;
  }
  return values;
}

std::vector<std::string> SweepSpec::point_args(std::int64_t index) const {
  std::vector<std::string> args;
  auto add = [&args](const std::string& key, const ReportValue& v) {
    if (key.rfind("set:", 0) == 0) {
      args.push_back("--set");
      args.push_back(key.substr(4) + "=" + sweep_value_text(v));
    } else {
      args.push_back("--" + key);
      args.push_back(sweep_value_text(v));
    }
  };
  for (const auto& [k, v] : base) add(k, v);
  const auto keys = axis_keys();
  const auto values = point(index);
  for (std::size_t i = 0; i < keys.size(); ++i) add(keys[i], values[i]);
  return args;
}

std::string sweep_value_text(const ReportValue& value) {
  struct Visitor {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    // nlohmann's shortest round-trip form, as every JSON and CSV report writes it
    // ("1.0", "0.25", "1e+20"), without building a JSON value per number.
    std::string operator()(double d) const {
      if (!std::isfinite(d)) return ojson(d).dump();  // "null"; callers reject it first
      char buf[64];
      char* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, d);
      return std::string(buf, end);
    }
    std::string operator()(const std::string& s) const { return s; }
  };
  return std::visit(Visitor{}, value);
}

namespace {
SweepSpec parse_spec(const std::string& text, const std::string& source,
                     const std::vector<std::string>* fixed_keys,
                     const std::map<std::string, std::vector<std::string>>* keys_by_verb);
}  // namespace

SweepSpec parse_sweep_spec(const std::string& text, const std::string& source,
                           const std::vector<std::string>& allowed_keys) {
  return parse_spec(text, source, &allowed_keys, nullptr);
}

SweepSpec parse_sweep_spec(const std::string& text, const std::string& source,
                           const std::map<std::string, std::vector<std::string>>& keys_by_verb) {
  return parse_spec(text, source, nullptr, &keys_by_verb);
}

namespace {
SweepSpec parse_spec(const std::string& text, const std::string& source,
                     const std::vector<std::string>* fixed_keys,
                     const std::map<std::string, std::vector<std::string>>* keys_by_verb) {
  detail::parse_json(text, source);  // syntax errors and duplicate keys, with positions
  const ojson doc = ojson::parse(text);
  if (!doc.is_object()) throw InputError(source, "(document)", "is not a JSON object");
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (it.key() != "verb" && it.key() != "base" && it.key() != "grid" && it.key() != "zip")
      throw InputError(source, it.key(),
                       "unknown key" + hint(it.key(), {"verb", "base", "grid", "zip"}));
  SweepSpec spec;
  spec.source = source;
  if (!doc.contains("verb")) throw InputError(source, "verb", "required key missing");
  if (!doc.at("verb").is_string())
    throw InputError(source, "verb", describe_o(doc.at("verb")) + " is not a string");
  spec.verb = doc.at("verb").get<std::string>();
  if (keys_by_verb && !keys_by_verb->count(spec.verb)) {
    std::vector<std::string> verbs;
    std::string list;
    for (const auto& [v, keys] : *keys_by_verb) {
      verbs.push_back(v);
      list += (list.empty() ? "" : ", ") + v;
    }
    throw InputError(
        source, "verb",
        "'" + spec.verb + "' cannot be swept (sweep verbs: " + list + ")" + hint(spec.verb, verbs));
  }
  const std::vector<std::string>& allowed_keys =
      keys_by_verb ? keys_by_verb->at(spec.verb) : *fixed_keys;
  if (doc.contains("base")) {
    const ojson& b = doc.at("base");
    if (!b.is_object()) throw InputError(source, "base", describe_o(b) + " is not an object");
    for (auto it = b.begin(); it != b.end(); ++it) {
      const std::string path = "base." + it.key();
      check_key(it.key(), source, path, allowed_keys);
      spec.base.emplace_back(it.key(), scalar(it.value(), source, path));
    }
  }
  if (doc.contains("grid")) spec.grid = read_axes(doc.at("grid"), "grid", source, allowed_keys);
  if (doc.contains("zip")) spec.zip = read_axes(doc.at("zip"), "zip", source, allowed_keys);
  for (std::size_t i = 1; i < spec.zip.size(); ++i)
    if (spec.zip[i].values.size() != spec.zip[0].values.size())
      throw InputError(source, "zip." + spec.zip[i].key,
                       "has " + std::to_string(spec.zip[i].values.size()) + " values but zip." +
                           spec.zip[0].key + " has " + std::to_string(spec.zip[0].values.size()) +
                           " (zip axes need equal lengths)");
  // A key is given once: in base or in one axis.
  std::vector<std::pair<std::string, std::string>> seen;
  for (const auto& [k, v] : spec.base) seen.emplace_back(k, "base");
  auto claim = [&](const std::string& key, const std::string& block) {
    for (const auto& [k, where] : seen)
      if (k == key) throw InputError(source, block + "." + key, "also given in " + where);
    seen.emplace_back(key, block);
  };
  for (const auto& a : spec.grid) claim(a.key, "grid");
  for (const auto& a : spec.zip) claim(a.key, "zip");
  long double n = 1;
  for (const auto& a : spec.grid) n *= static_cast<long double>(a.values.size());
  if (!spec.zip.empty()) n *= static_cast<long double>(spec.zip[0].values.size());
  if (n > kMaxPoints)
    throw InputError(source, "grid", "more than 100000000 points; split the sweep");
  return spec;
}
}  // namespace

namespace {
std::string read_spec_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "(file)", "cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

SweepSpec load_sweep_spec(const std::string& path, const std::vector<std::string>& allowed_keys) {
  return parse_sweep_spec(read_spec_file(path), path, allowed_keys);
}

SweepSpec load_sweep_spec(const std::string& path,
                          const std::map<std::string, std::vector<std::string>>& keys_by_verb) {
  return parse_sweep_spec(read_spec_file(path), path, keys_by_verb);
}

std::pair<std::int64_t, std::int64_t> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  auto num = [&](std::string_view s, std::int64_t& v) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
  };
  std::int64_t i = -1, n = 0;
  if (slash == std::string::npos || !num(std::string_view(text).substr(0, slash), i) ||
      !num(std::string_view(text).substr(slash + 1), n))
    throw InputError("--shard", "value", "'" + text + "' is not i/n, e.g. 0/4");
  if (n < 1 || i < 0 || i >= n)
    throw InputError("--shard", "value", "'" + text + "': need 0 <= i < n");
  return {i, n};
}

std::vector<std::string> sweep_report_columns() {
  static const std::vector<std::string> columns = [] {
    sim::Estimate e;  // every optional part present, so every path appears
    e.step = sim::StepResult{};
    e.training = sim::TrainingTotals{};
    std::vector<std::string> c;
    for (const auto& f : make_report(e).fields) c.push_back(f.path);
    c.push_back("notes");
    return c;
  }();
  return columns;
}

std::vector<std::string> sweep_columns(const SweepSpec& spec) {
  std::vector<std::string> c{"point"};
  for (const auto& k : spec.axis_keys()) c.push_back(k);
  c.push_back("status");
  c.push_back("reason");
  for (const auto& k : spec.report_columns.empty() ? sweep_report_columns() : spec.report_columns)
    c.push_back(k);
  return c;
}

std::string render_sweep_header(const SweepSpec& spec, SweepFormat format) {
  if (format == SweepFormat::jsonl) return {};
  std::string h;
  for (const auto& c : sweep_columns(spec)) {
    if (!h.empty()) h += ',';
    h += csv_escape(c);
  }
  return h + "\n";
}

std::string render_sweep_row(const SweepSpec& spec, const SweepRow& row, SweepFormat format) {
  const auto keys = spec.axis_keys();
  std::string notes;
  for (const auto& n : row.report.notes) {
    if (!notes.empty()) notes += "; ";
    notes += n;
  }
  if (format == SweepFormat::jsonl) {
    ojson o;
    o["point"] = row.point;
    for (std::size_t i = 0; i < keys.size() && i < row.axes.size(); ++i)
      o[keys[i]] = to_ojson(row.axes[i]);
    o["status"] = row.status;
    o["reason"] = one_line(row.reason);
    for (const auto& f : row.report.fields) {
      if (const double* d = std::get_if<double>(&f.value); d && !std::isfinite(*d))
        throw std::logic_error("sweep: " + f.path + " is not finite");
      o[f.path] = to_ojson(f.value);
    }
    if (!row.report.fields.empty()) o["notes"] = notes;
    return o.dump() + "\n";
  }
  std::string line = std::to_string(row.point);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    line += ',';
    if (i < row.axes.size()) line += csv_escape(sweep_value_text(row.axes[i]));
  }
  line += ',';
  line += csv_escape(row.status);
  line += ',';
  line += csv_escape(row.reason);
  // The report's fields come in (nearly) the columns' order: look from where the last one
  // was found, so a row costs one pass instead of columns x fields comparisons.
  const auto& fields = row.report.fields;
  std::size_t hint = 0;
  for (const auto& c : spec.report_columns.empty() ? sweep_report_columns() : spec.report_columns) {
    line += ",";
    if (c == "notes") {
      if (!fields.empty()) line += csv_escape(notes);
      continue;
    }
    for (std::size_t k = 0; k < fields.size(); ++k) {
      const std::size_t j = (hint + k) % fields.size();
      const ReportField& f = fields[j];
      if (f.path != c) continue;
      if (const double* d = std::get_if<double>(&f.value); d && !std::isfinite(*d))
        throw std::logic_error("sweep: " + f.path + " is not finite");
      line += csv_escape(sweep_value_text(f.value));
      hint = j + 1;
      break;
    }
  }
  return line + "\n";
}

std::set<std::int64_t> resume_sweep_output(const std::string& path, const std::string& header,
                                           SweepFormat format, std::int64_t count) {
  namespace fs = std::filesystem;
  std::set<std::int64_t> done;
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      if (fs::exists(path)) throw InputError(path, "(file)", "cannot be read");
      std::ofstream(path, std::ios::binary) << header;
      return done;
    }
    std::ostringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  // Rows are written whole, so only the last line can be cut short: drop it.
  const auto last_nl = text.rfind('\n');
  const std::size_t keep = last_nl == std::string::npos ? 0 : last_nl + 1;
  if (keep != text.size()) {
    text.resize(keep);
    fs::resize_file(path, keep);
  }
  std::size_t pos = 0;
  if (format == SweepFormat::csv) {
    if (text.empty()) {
      std::ofstream(path, std::ios::binary | std::ios::trunc) << header;
      return done;
    }
    if (text.compare(0, header.size(), header) != 0)
      throw InputError(path, "line 1",
                       "the header is not this sweep's columns (another spec?); "
                       "use a new --out file");
    pos = header.size();
  }
  std::int64_t line_no = format == SweepFormat::csv ? 1 : 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.empty()) continue;
    std::int64_t point = -1;
    bool ok = false;
    if (format == SweepFormat::csv) {
      const auto comma = line.find(',');
      const std::string_view f = std::string_view(line).substr(0, comma);
      auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), point);
      ok = ec == std::errc() && end == f.data() + f.size();
    } else {
      const ojson o = ojson::parse(line, nullptr, false);
      if (o.is_object() && o.contains("point") && o.at("point").is_number_integer()) {
        point = o.at("point").get<std::int64_t>();
        ok = true;
      }
    }
    if (!ok || point < 0 || point >= count)
      throw InputError(path, "line " + std::to_string(line_no),
                       "is not a row of this sweep (point index missing or out of range)");
    done.insert(point);
  }
  return done;
}

std::vector<double> range_values(double from, double to, bool geometric, double by,
                                 const std::string& source, const std::string& path) {
  std::vector<double> out;
  auto push = [&](double v) {
    if (out.size() >= kMaxAxisValues) throw InputError(source, path, "more than 1000000 values");
    // 15 significant digits drop the rounding of the repeated products and sums
    // (1e21 * 10 * 10 is 9.999999999999999e+22, 0.1 + 0.2 is 0.30000000000000004).
    char text[32];
    std::snprintf(text, sizeof text, "%.15g", v);
    out.push_back(std::strtod(text, nullptr));
  };
  const double eps = 1e-9 * std::max({std::fabs(from), std::fabs(to), 1.0});
  if (geometric) {
    if (!(from > 0)) throw InputError(source, path + ".from", "must be positive with 'times'");
    if (!(by > 1)) throw InputError(source, path + ".times", "must be greater than 1");
    if (to < from) throw InputError(source, path + ".to", "must be at least 'from'");
    for (double v = from; v <= to + eps; v *= by) push(v);
  } else {
    if (by == 0) throw InputError(source, path + ".step", "must not be 0");
    if ((to - from) * by < 0) throw InputError(source, path + ".step", "goes away from 'to'");
    const double n = std::floor((to - from) / by + 1e-9);
    if (n + 1 > static_cast<double>(kMaxAxisValues))
      throw InputError(source, path, "more than 1000000 values");
    for (std::int64_t i = 0; i <= static_cast<std::int64_t>(n); ++i) push(from + i * by);
  }
  return out;
}

}  // namespace moesim::io
