#pragma once
// Reports out: one flattened list of (dotted path, value) per result, rendered as JSON,
// CSV or a human table, so every format shows the same numbers (CLI.md's report keys).
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "sim/estimate.hpp"
#include "sim/optimizer.hpp"

namespace moesim::io {

using ReportValue = std::variant<bool, std::int64_t, double, std::string>;

struct ReportField {
  std::string path;  // CLI.md dotted path, e.g. "memory.per_device_bytes"
  ReportValue value;
};

struct Report {
  std::vector<ReportField> fields;
  std::vector<std::string> notes;  // modelling choices and caveats, flagged in every format
};

Report make_report(const sim::Estimate& estimate);

// JSON object nested by the dotted paths, with "notes": [...]. Throws std::logic_error if a
// value is not finite (an internal error: no NaN or inf ever reaches an output).
std::string render_json(const Report& report);
// A header row of dotted paths and one row of values (notes joined by "; ").
std::string render_csv(const Report& report);
// For people: sections with human units (GB, TFLOP, B params).
std::string render_estimate_table(const sim::Estimate& estimate);

// moesim optimize: the ranked layouts with their step-time breakdown and the reason.
std::string render_optimize_table(const sim::OptimizerResult& result, const std::string& title);
std::string render_optimize_json(const sim::OptimizerResult& result, sim::Objective objective);
std::string render_optimize_csv(const sim::OptimizerResult& result);

}  // namespace moesim::io
