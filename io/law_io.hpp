#pragma once
// Loss-law files in and out (presets/laws/*.json or a user's JSON file), the runs CSV that
// `moesim fit` reads, and the reports of `moesim loss` and `moesim fit`. docs/laws.md
// documents the file formats. Bad input throws InputError naming the file, the field (or
// line and column) and the rule.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "io/report.hpp"
#include "model/laws/fit.hpp"
#include "model/laws/law.hpp"
#include "model/laws/optimal.hpp"

namespace moesim::io {

// `name_or_path`: a law preset name (moesim presets list --kind laws) or a JSON law file.
// `coefficient_sets`: "NAME=VALUE" overrides (--coef), applied before the law is checked.
// `require_coefficients` false accepts a law whose coefficients are not all set (a form for
// `fit` to fill in, or the clark preset).
model::laws::Law load_law(const std::string& name_or_path,
                          const std::vector<std::string>& coefficient_sets = {},
                          bool require_coefficients = true);
model::laws::Law parse_law(std::string_view json_text, const std::string& source,
                           const std::vector<std::string>& coefficient_sets = {},
                           bool require_coefficients = true);

// A law as a law file (what `fit --out` writes; parse_law reads it back), and writing it.
std::string render_law_json(const model::laws::Law& law);
void save_law(const std::string& path, const model::laws::Law& law);

// The runs CSV of `moesim fit`: a header row naming columns (params, params_active, tokens,
// loss, experts, granularity, name), one run per line, '#' comment lines.
struct RunsTable {
  std::vector<model::laws::TrainingRun> runs;
  std::vector<std::size_t> lines;  // the CSV line of each run (1-based)
  std::vector<std::string> names;  // the "name" column, or ""
};
// Columns the form needs, besides loss (e.g. joint: params_active, tokens, experts).
std::vector<std::string> required_run_columns(model::laws::Form form);
RunsTable read_runs_csv(const std::string& path, model::laws::Form form);
RunsTable parse_runs_csv(std::string_view text, const std::string& source, model::laws::Form form);

// `moesim loss`: CLI.md keys loss.law and loss.value (and optimal.* for --optimal).
Report make_loss_report(const model::laws::Law& law, const model::laws::LawEvaluation& ev,
                        const std::string& model_name = "");
Report make_optimal_report(const model::laws::Law& law, const model::laws::ComputeOptimal& o);
std::string render_loss_table(const model::laws::Law& law, const model::laws::LawEvaluation& ev,
                              const std::string& model_name = "");
std::string render_optimal_table(const model::laws::Law& law, const model::laws::ComputeOptimal& o);

// `moesim fit`: coefficients with intervals and the residual table.
std::string render_fit_json(const model::laws::FitResult& fit, const model::laws::Law& law,
                            const RunsTable& runs, const std::string& source);
std::string render_fit_csv(const model::laws::FitResult& fit);
std::string render_fit_table(const model::laws::FitResult& fit, const model::laws::Law& law,
                             const RunsTable& runs, const std::string& source);

}  // namespace moesim::io
