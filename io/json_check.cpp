#include "io/json_check.hpp"

#include <cmath>
#include <set>

#include "io/errors.hpp"

namespace moesim::io::detail {

namespace {

// Line and column (1-based) of byte offset `offset` in `text`.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// nlohmann's message without its "[json.exception.parse_error.101] parse error at line 3,
// column 5: " prefix.
std::string parse_error_reason(const std::string& what) {
  const std::size_t column = what.find("column ");
  if (column != std::string::npos) {
    const std::size_t colon = what.find(": ", column);
    if (colon != std::string::npos) return what.substr(colon + 2);
  }
  const std::size_t bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

// Tracks where the parser is, to name the path of a duplicated key.
struct Frame {
  bool is_object = true;
  std::set<std::string> keys;
  std::string key;        // last key seen (objects)
  std::size_t index = 0;  // next element index (arrays)
};

std::string frames_path(const std::vector<Frame>& frames) {
  std::string path;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto& f = frames[i];
    if (f.is_object) {
      path = join_path(path, f.key);
    } else {
      path += "[" + std::to_string(f.index) + "]";
    }
  }
  return path;
}

struct DuplicateKey {
  std::string path;
};

}  // namespace

json parse_json(std::string_view text, const std::string& source) {
  std::vector<Frame> frames;
  // The callback sees every event; a key seen twice in one object is an error (nlohmann
  // would otherwise keep the last one silently).
  auto callback = [&frames](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        frames.push_back(Frame{true, {}, "", 0});
        break;
      case json::parse_event_t::array_start:
        frames.push_back(Frame{false, {}, "", 0});
        break;
      case json::parse_event_t::key: {
        auto& f = frames.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second) throw DuplicateKey{frames_path(frames)};
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        if (!frames.empty() && !frames.back().is_object) ++frames.back().index;
        break;
      case json::parse_event_t::value:
        if (!frames.empty() && !frames.back().is_object) ++frames.back().index;
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback);
  } catch (const DuplicateKey& d) {
    throw InputError(source, d.path, "duplicate key");
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based offset of the character the parser stopped at.
    const auto [line, column] = line_column(text, e.byte > 0 ? e.byte - 1 : 0);
    throw InputError(source, "line " + std::to_string(line) + ", column " + std::to_string(column),
                     "malformed JSON: " + parse_error_reason(e.what()));
  }
}

std::string join_path(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string: {
      std::string s = value.dump();
      if (s.size() > 40) s = s.substr(0, 37) + "...\"";
      return "the string " + s;
    }
    default:
      return value.dump();
  }
}

std::string Checker::source_for(const std::string& path) const {
  // The longest blamed path that is `path` or a parent of it.
  std::string best_path, best_source = source_;
  for (const auto& [p, s] : blamed_) {
    const bool covers = path == p || (path.size() > p.size() && path.compare(0, p.size(), p) == 0 &&
                                      path[p.size()] == '.');
    if (covers && p.size() >= best_path.size()) {
      best_path = p;
      best_source = s;
    }
  }
  return best_source;
}

void Checker::fail(const std::string& path, const std::string& rule) const {
  throw InputError(source_for(path), path, rule);
}

void Checker::require_object(const json& value, const std::string& path) const {
  if (!value.is_object())
    fail(path.empty() ? "(top level)" : path, "expected an object, got " + describe(value));
}

void Checker::check_keys(const json& object, const std::string& path,
                         const std::vector<std::string>& allowed) const {
  for (const auto& item : object.items()) {
    const std::string& key = item.key();
    bool known = false;
    for (const auto& a : allowed) known = known || a == key;
    if (known) continue;
    std::string rule = "unknown key";
    const std::string hint = did_you_mean(key, allowed);
    if (!hint.empty()) {
      rule += "; did you mean '" + hint + "'?";
    } else {
      rule += "; expected one of ";
      for (std::size_t i = 0; i < allowed.size(); ++i) rule += (i ? ", " : "") + allowed[i];
    }
    fail(join_path(path, key), rule);
  }
}

std::int64_t Checker::integer(const json& value, const std::string& path, std::int64_t min,
                              std::int64_t max) const {
  std::int64_t v = 0;
  if (value.is_number_integer() && !value.is_number_unsigned()) {
    v = value.get<std::int64_t>();
  } else if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) fail(path, value.dump() + " is too large");
    v = static_cast<std::int64_t>(u);
  } else if (value.is_number_float()) {
    // 1.2e4 is an integer written in exponent form; 3.5 is not.
    const double d = value.get<double>();
    if (!std::isfinite(d) || d != std::floor(d))
      fail(path, "expected an integer, got " + value.dump());
    if (std::fabs(d) >= 9.2e18) fail(path, value.dump() + " is too large");
    v = static_cast<std::int64_t>(d);
  } else {
    fail(path, "expected an integer, got " + describe(value));
  }
  if (v < min) {
    if (min == 1) fail(path, "must be positive (got " + std::to_string(v) + ")");
    if (min == 0) fail(path, "must not be negative (got " + std::to_string(v) + ")");
    fail(path, "must be at least " + std::to_string(min) + " (got " + std::to_string(v) + ")");
  }
  if (v > max)
    fail(path, "must be at most " + std::to_string(max) + " (got " + std::to_string(v) + ")");
  return v;
}

double Checker::number(const json& value, const std::string& path, bool allow_zero) const {
  if (!value.is_number()) fail(path, "expected a number, got " + describe(value));
  const double v = value.get<double>();
  if (!std::isfinite(v)) fail(path, "expected a finite number");
  if (v < 0) fail(path, "must not be negative (got " + value.dump() + ")");
  if (v == 0 && !allow_zero) fail(path, "must be positive (got " + value.dump() + ")");
  return v;
}

bool Checker::boolean(const json& value, const std::string& path) const {
  if (!value.is_boolean()) fail(path, "expected true or false, got " + describe(value));
  return value.get<bool>();
}

std::string Checker::string(const json& value, const std::string& path) const {
  if (!value.is_string()) fail(path, "expected a string, got " + describe(value));
  return value.get<std::string>();
}

std::size_t Checker::choice(const json& value, const std::string& path,
                            const std::vector<std::string>& names) const {
  if (!value.is_string()) fail(path, "expected a string, got " + describe(value));
  const std::string s = value.get<std::string>();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == s) return i;
  std::string rule = "'" + s + "' is not one of ";
  for (std::size_t i = 0; i < names.size(); ++i) rule += (i ? ", " : "") + names[i];
  const std::string hint = did_you_mean(s, names);
  if (!hint.empty()) rule += "; did you mean '" + hint + "'?";
  fail(path, rule);
}

double Checker::quantity(const json& value, const std::string& path, UnitParser parse,
                         bool allow_zero) const {
  double v = 0;
  if (value.is_string()) {
    v = parse(value.get<std::string>(), source_for(path), path);
  } else if (value.is_number()) {
    v = value.get<double>();
    if (!std::isfinite(v)) fail(path, "expected a finite number");
    if (v < 0) fail(path, "must not be negative (got " + value.dump() + ")");
  } else {
    fail(path, "expected a number or a string with a unit, got " + describe(value));
  }
  if (v == 0 && !allow_zero) fail(path, "must be positive (got " + value.dump() + ")");
  return v;
}

const json* Checker::find(const json& object, const std::string& key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

const json& Checker::require(const json& object, const std::string& prefix,
                             const std::string& key) const {
  const json* v = find(object, key);
  if (v == nullptr) fail(join_path(prefix, key), "required key missing");
  return *v;
}

}  // namespace moesim::io::detail
