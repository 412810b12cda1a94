#include "io/units.hpp"

#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "io/errors.hpp"

namespace moesim::io {

namespace {

struct Unit {
  std::string text;
  double factor;  // SI value of one unit
};

// One family of units ("a size", "a duration"), with an example list for error messages.
struct UnitFamily {
  const char* what;      // "a size"
  const char* examples;  // "80GB, 256MiB or 1e9"
  std::vector<Unit> units;
};

struct Prefix {
  const char* text;
  double factor;
};

// Decimal SI prefixes (k and K both mean 1e3) and binary IEC prefixes.
const std::vector<Prefix>& decimal_prefixes() {
  static const std::vector<Prefix> p = {{"", 1},    {"k", 1e3},  {"K", 1e3},  {"M", 1e6},
                                        {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18}};
  return p;
}
const std::vector<Prefix>& binary_prefixes() {
  static const std::vector<Prefix> p = {{"Ki", 1024.0},
                                        {"Mi", 1024.0 * 1024},
                                        {"Gi", 1024.0 * 1024 * 1024},
                                        {"Ti", 1024.0 * 1024 * 1024 * 1024},
                                        {"Pi", 1024.0 * 1024 * 1024 * 1024 * 1024},
                                        {"Ei", 1024.0 * 1024 * 1024 * 1024 * 1024 * 1024}};
  return p;
}

const UnitFamily& bytes_family() {
  static const UnitFamily f = [] {
    UnitFamily u{"a size", "80GB, 256MiB or 1e9", {{"", 1}}};
    for (const auto& p : decimal_prefixes())
      u.units.push_back({std::string(p.text) + "B", p.factor});
    for (const auto& p : binary_prefixes())
      u.units.push_back({std::string(p.text) + "B", p.factor});
    // A bare decimal prefix ("80G") is a size in bytes too.
    for (const auto& p : decimal_prefixes())
      if (*p.text) u.units.push_back({p.text, p.factor});
    return u;
  }();
  return f;
}

const UnitFamily& count_family() {
  // B (billion) is the usual token and parameter unit; G is its SI spelling.
  static const UnitFamily f{"a count",
                            "300B, 14.8T, 7K or 1e12",
                            {{"", 1},
                             {"k", 1e3},
                             {"K", 1e3},
                             {"M", 1e6},
                             {"B", 1e9},
                             {"G", 1e9},
                             {"T", 1e12},
                             {"P", 1e15}}};
  return f;
}

const UnitFamily& duration_family() {
  static const UnitFamily f{"a duration",
                            "30d, 20h, 1.5ms, 2us or 3600",
                            {{"", 1},
                             {"ns", 1e-9},
                             {"us", 1e-6},
                             {"\u00b5s", 1e-6},  // micro sign
                             {"\u03bcs", 1e-6},  // Greek mu
                             {"ms", 1e-3},
                             {"s", 1},
                             {"sec", 1},
                             {"m", 60},
                             {"min", 60},
                             {"h", 3600},
                             {"hr", 3600},
                             {"d", 86400},
                             {"day", 86400},
                             {"days", 86400},
                             {"w", 7 * 86400}}};
  return f;
}

const UnitFamily& bandwidth_family() {
  static const UnitFamily f = [] {
    UnitFamily u{"a bandwidth", "450GB/s, 400Gb/s, 25GBps or 1e9 (bytes per second)", {{"", 1}}};
    // Bytes per second: "GB/s", "GBps", "GiB/s"; bits per second: "Gb/s", "Gbps", "Gbit/s".
    for (const auto& p : decimal_prefixes()) {
      const std::string s = p.text;
      u.units.push_back({s + "B/s", p.factor});
      u.units.push_back({s + "Bps", p.factor});
      u.units.push_back({s + "b/s", p.factor / 8});
      u.units.push_back({s + "bps", p.factor / 8});
      u.units.push_back({s + "bit/s", p.factor / 8});
    }
    for (const auto& p : binary_prefixes())
      u.units.push_back({std::string(p.text) + "B/s", p.factor});
    return u;
  }();
  return f;
}

const UnitFamily& flops_family() {
  static const UnitFamily f = [] {
    UnitFamily u{"a FLOP rate", "989TFLOPS, 989.4 TFLOP/s or 1e15", {{"", 1}}};
    for (const auto& p : decimal_prefixes())
      for (const char* unit : {"FLOPS", "FLOP/s", "FLOPs", "flops", "flop/s"})
        u.units.push_back({std::string(p.text) + unit, p.factor});
    return u;
  }();
  return f;
}

const UnitFamily& power_family() {
  static const UnitFamily f{
      "a power", "700W, 1.2kW or 700", {{"", 1}, {"W", 1}, {"kW", 1e3}, {"KW", 1e3}, {"MW", 1e6}}};
  return f;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

double parse_quantity(std::string_view text, const std::string& source, const std::string& path,
                      const UnitFamily& family) {
  std::string quoted = "'";
  quoted.append(text).push_back('\'');
  const std::string expected =
      std::string("expected ") + family.what + " such as " + family.examples;
  const std::string_view t = trim(text);
  if (t.empty()) throw InputError(source, path, "empty text; " + expected);

  std::string_view number = t;
  if (number.front() == '+') number.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec == std::errc::result_out_of_range)
    throw InputError(source, path, quoted + " is out of range");
  if (ec != std::errc() || end == number.data())
    throw InputError(source, path, quoted + " is not a number; " + expected);
  if (!std::isfinite(value)) throw InputError(source, path, quoted + " is not a finite number");

  const std::string_view unit = trim(std::string_view(end, number.data() + number.size() - end));
  const Unit* match = nullptr;
  for (const auto& u : family.units)
    if (u.text == unit) match = &u;
  if (match == nullptr) {
    std::vector<std::string> names;
    for (const auto& u : family.units)
      if (!u.text.empty()) names.push_back(u.text);
    std::string rule = quoted + " has an unknown unit '" + std::string(unit) + "'; " + expected;
    const std::string hint = did_you_mean(std::string(unit), names);
    if (!hint.empty()) rule += "; did you mean '" + hint + "'?";
    throw InputError(source, path, rule);
  }
  value *= match->factor;
  if (!std::isfinite(value)) throw InputError(source, path, quoted + " is out of range");
  if (value < 0 || std::signbit(value)) {
    if (value == 0) return 0.0;  // "-0" is zero
    throw InputError(source, path, quoted + " is negative");
  }
  return value;
}

}  // namespace

double parse_bytes(std::string_view text, const std::string& source, const std::string& path) {
  return parse_quantity(text, source, path, bytes_family());
}
double parse_count(std::string_view text, const std::string& source, const std::string& path) {
  return parse_quantity(text, source, path, count_family());
}
double parse_duration_s(std::string_view text, const std::string& source, const std::string& path) {
  return parse_quantity(text, source, path, duration_family());
}
double parse_bandwidth_Bps(std::string_view text, const std::string& source,
                           const std::string& path) {
  return parse_quantity(text, source, path, bandwidth_family());
}
double parse_flops(std::string_view text, const std::string& source, const std::string& path) {
  return parse_quantity(text, source, path, flops_family());
}
double parse_power_w(std::string_view text, const std::string& source, const std::string& path) {
  return parse_quantity(text, source, path, power_family());
}

}  // namespace moesim::io
