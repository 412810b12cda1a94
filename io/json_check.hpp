#pragma once
// Internal to io/: strict reading of JSON documents. Every helper throws InputError naming
// the source, the dotted field path and the rule broken; unknown keys get a did-you-mean.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace moesim::io::detail {

using nlohmann::json;

// Parses `text`; a syntax error becomes "<source>: line L, column C: malformed JSON: ...",
// a key given twice in one object "<source>: <path>: duplicate key".
json parse_json(std::string_view text, const std::string& source);

// "moe" + "experts" -> "moe.experts"; "" + "layers" -> "layers".
std::string join_path(const std::string& prefix, const std::string& key);

// A JSON value as an error message shows it: 3.5, the string "3", true, null, an object.
std::string describe(const json& value);

// One document being read. Errors in paths that a --set flag wrote name that flag.
class Checker {
 public:
  explicit Checker(std::string source) : source_(std::move(source)) {}

  // Errors at `path` or below it come from `source` (e.g. "--set").
  void blame(const std::string& path, const std::string& source) { blamed_[path] = source; }
  const std::string& source() const { return source_; }
  std::string source_for(const std::string& path) const;

  [[noreturn]] void fail(const std::string& path, const std::string& rule) const;

  // The object at `path`, or an error.
  void require_object(const json& value, const std::string& path) const;
  // Every key of `object` must be in `allowed` ("unknown key; did you mean 'x'?").
  void check_keys(const json& object, const std::string& path,
                  const std::vector<std::string>& allowed) const;

  // Values. `min` bounds integers and numbers below ("must be positive" for 1), `max` above.
  std::int64_t integer(const json& value, const std::string& path, std::int64_t min,
                       std::int64_t max = INT64_MAX) const;
  double number(const json& value, const std::string& path, bool allow_zero) const;
  bool boolean(const json& value, const std::string& path) const;
  std::string string(const json& value, const std::string& path) const;
  // Index of the value in `names` ("'gqaa' is not one of mha, gqa, ...; did you mean 'gqa'?").
  std::size_t choice(const json& value, const std::string& path,
                     const std::vector<std::string>& names) const;
  // A quantity: a JSON number in SI units, or a string with a unit read by `parse`.
  using UnitParser = double (*)(std::string_view, const std::string&, const std::string&);
  double quantity(const json& value, const std::string& path, UnitParser parse,
                  bool allow_zero) const;

  // Keyed access: nullptr when `key` is absent from `object`.
  static const json* find(const json& object, const std::string& key);
  // The value at `key`, or "required key missing".
  const json& require(const json& object, const std::string& prefix, const std::string& key) const;

 private:
  std::string source_;
  std::map<std::string, std::string> blamed_;
};

}  // namespace moesim::io::detail
