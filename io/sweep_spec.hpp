#pragma once
// moesim sweep: the sweep spec JSON (CLI.md "Sweep spec"), its expansion into points, and
// the output file (CSV or JSONL, one whole line per point) with what --resume needs.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "io/report.hpp"

namespace moesim::io {

// One axis: a key ("tp", "set:moe.experts") and its values in order.
struct SweepAxis {
  std::string key;
  std::vector<ReportValue> values;
};

struct SweepSpec {
  std::string source;  // the spec file, for error messages
  std::string verb;
  std::vector<std::pair<std::string, ReportValue>> base;  // in spec order
  std::vector<SweepAxis> grid;                            // cartesian, last axis fastest
  std::vector<SweepAxis> zip;                             // advance together, innermost
  // The verb's report paths as output columns, in order (the front end sets them for its
  // verb); empty: estimate's, sweep_report_columns().
  std::vector<std::string> report_columns;

  // Number of points: product of the grid lengths times the zip length (1 for none).
  std::int64_t count() const;
  // Axis keys as output columns: grid axes in spec order, then zip axes.
  std::vector<std::string> axis_keys() const;
  // The axis values of point `index` (0 <= index < count()), in axis_keys() order.
  std::vector<ReportValue> point(std::int64_t index) const;
  // The command-line arguments for point `index`: base then axes, "--key value" each,
  // "set:PATH" as "--set PATH=value".
  std::vector<std::string> point_args(std::int64_t index) const;
};

// Parses a spec strictly. Keys of base/grid/zip must be in `allowed_keys` (flag names
// without dashes) or be "set:PATH". Throws InputError(source, path, rule).
SweepSpec parse_sweep_spec(const std::string& text, const std::string& source,
                           const std::vector<std::string>& allowed_keys);
// The same with the allowed keys chosen by the spec's verb: a verb missing from
// `keys_by_verb` is an InputError at "verb" that lists the sweepable verbs.
SweepSpec parse_sweep_spec(const std::string& text, const std::string& source,
                           const std::map<std::string, std::vector<std::string>>& keys_by_verb);
// Reads the file `path` and parses it.
SweepSpec load_sweep_spec(const std::string& path, const std::vector<std::string>& allowed_keys);
SweepSpec load_sweep_spec(const std::string& path,
                          const std::map<std::string, std::vector<std::string>>& keys_by_verb);

// A value as a command-line argument and as a CSV cell: integers as integers, doubles as
// their shortest round-trip text, booleans as true/false.
std::string sweep_value_text(const ReportValue& value);

// "--shard i/n" -> (i, n); throws InputError naming --shard.
std::pair<std::int64_t, std::int64_t> parse_shard(const std::string& text);

enum class SweepFormat { csv, jsonl };

// The report paths every row has, in a stable order (make_report's order with a step and
// training totals), plus "notes".
std::vector<std::string> sweep_report_columns();

// All columns: "point", the axis keys, "status", "reason", then the report columns
// (spec.report_columns, or sweep_report_columns() when that is empty).
std::vector<std::string> sweep_columns(const SweepSpec& spec);

// One output row. status: "ok", "infeasible" (does not fit) or "invalid" (input error).
struct SweepRow {
  std::int64_t point = 0;
  std::vector<ReportValue> axes;
  std::string status;
  std::string reason;
  Report report;  // empty for invalid points
};

// The CSV header line (with '\n'); empty for JSONL.
std::string render_sweep_header(const SweepSpec& spec, SweepFormat format);
// One whole line (with '\n'): CSV cells in sweep_columns() order, or one JSON object.
// Report paths a row lacks are empty cells (CSV) or absent (JSONL).
std::string render_sweep_row(const SweepSpec& spec, const SweepRow& row, SweepFormat format);

// --resume: reads the output at `path`, drops an incomplete last line (truncating the
// file), checks the CSV header against `header` (writing it when the file is empty) and
// returns the point indices already there. Throws InputError naming `path` when the file
// is not this sweep's output.
std::set<std::int64_t> resume_sweep_output(const std::string& path, const std::string& header,
                                           SweepFormat format, std::int64_t count);

// The values of a range from `from` up to `to` inclusive: from, from*by, ... when
// `geometric`, else from, from+by, ...; the rules of a spec's range object (CLI.md), each
// broken one an InputError naming `source` and `path`. At most 1,000,000 values, each
// rounded to 15 significant digits.
std::vector<double> range_values(double from, double to, bool geometric, double by,
                                 const std::string& source, const std::string& path);

}  // namespace moesim::io
