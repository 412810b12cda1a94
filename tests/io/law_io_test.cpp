// Law files and the runs CSV: every preset loads and matches the registry; bad keys, bad
// coefficients and bad CSVs fail with the file, the field (or line and column) and the rule.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "io/errors.hpp"
#include "io/law_io.hpp"
#include "io/loaders.hpp"

namespace moesim::io {
namespace {

namespace laws = model::laws;

// The InputError message of `f`, or "" when it does not throw one.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

const char* kMinimalLaw = R"({
  "form": "chinchilla",
  "coefficients": {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
})";

TEST(LawPresets, EveryRegisteredLawHasAPresetThatLoads) {
  std::vector<std::string> preset_names;
  for (const auto& p : list_presets("laws")) preset_names.push_back(p.name);
  ASSERT_EQ(preset_names.size(), laws::law_registry().size());
  for (const laws::LawEntry& e : laws::law_registry()) {
    SCOPED_TRACE(e.name);
    const bool needs_coefficients = e.form != laws::Form::clark;
    const laws::Law law = load_law(e.name, {}, needs_coefficients);
    EXPECT_EQ(law.name, e.name);
    EXPECT_EQ(law.form, e.form);
    EXPECT_EQ(law.source, e.source);
    EXPECT_EQ(law.description, e.description);
    if (needs_coefficients) {
      EXPECT_TRUE(laws::validate(law).empty());
    }
  }
}

TEST(LawPresets, ClarkNeedsCoefficients) {
  const std::string e = error_of([] { load_law("clark"); });
  EXPECT_NE(e.find("preset clark: coefficients.a: is not set"), std::string::npos) << e;
  const laws::Law law =
      load_law("clark", {"a=-0.08", "b=-0.1", "c=0.01", "d=1.1", "E_start=1.8", "E_max=300"});
  EXPECT_DOUBLE_EQ(law.coefficients.at("E_max"), 300);
}

TEST(LawFiles, MinimalFileTakesTheFormsDefaults) {
  const laws::Law law = parse_law(kMinimalLaw, "my-law.json");
  EXPECT_EQ(law.name, "my-law");
  EXPECT_EQ(law.params_counted, laws::ParamCount::total);
  EXPECT_EQ(law.source, "my-law.json");
  EXPECT_FALSE(law.range.params.set());
}

TEST(LawFiles, UnknownKeysAreRejectedWithAHint) {
  std::string e = error_of([] {
    parse_law(R"({"form": "chinchilla", "coefficients": {}, "fited_range": {}})", "l.json", {},
              false);
  });
  EXPECT_EQ(e, "l.json: fited_range: unknown key; did you mean 'fitted_range'?");
  e = error_of([] {
    parse_law(R"({"form": "chinchilla", "coefficients": {"alpah": 0.3}})", "l.json", {}, false);
  });
  EXPECT_EQ(e, "l.json: coefficients.alpah: unknown key; did you mean 'alpha'?");
  e = error_of(
      [] { parse_law(R"({"form": "chinchila", "coefficients": {}})", "l.json", {}, false); });
  EXPECT_NE(e.find("l.json: form: 'chinchila' is not one of"), std::string::npos) << e;
  e = error_of([] {
    parse_law(R"({"form": "joint", "coefficients": {}, "fitted_range": {"params": {"mx": 1}}})",
              "l.json", {}, false);
  });
  EXPECT_EQ(e, "l.json: fitted_range.params.mx: unknown key; did you mean 'max'?");
}

TEST(LawFiles, BadValuesNameTheField) {
  std::string e = error_of([] {
    parse_law(R"({"form": "chinchilla", "coefficients": {"E": "big"}})", "l.json", {}, false);
  });
  EXPECT_EQ(e, "l.json: coefficients.E: expected a number, got the string \"big\"");
  e = error_of([] {
    parse_law(R"({"form": "chinchilla", "coefficients": {"E": 1.69, "A": 406.4, "B": 410.7,
                  "alpha": -0.34, "beta": 0.28}})",
              "l.json");
  });
  EXPECT_EQ(e, "l.json: coefficients.alpha: must be positive (got -0.34)");
  e = error_of([] { parse_law(R"({"form": "chinchilla"})", "l.json"); });
  EXPECT_EQ(e, "l.json: coefficients: required key missing");
  e = error_of([] {
    parse_law(R"({"form": "chinchilla", "coefficients": {}, "expansion_rate": 8})", "l.json", {},
              false);
  });
  EXPECT_EQ(e, "l.json: expansion_rate: applies to the krajewski form only");
  e = error_of([] { parse_law("{\"form\": ", "l.json"); });
  EXPECT_NE(e.find("l.json"), std::string::npos);
}

TEST(LawFiles, CoefficientFlagsOverrideAndAreChecked) {
  const laws::Law law = parse_law(kMinimalLaw, "l.json", {"E=1.8"});
  EXPECT_DOUBLE_EQ(law.coefficients.at("E"), 1.8);
  EXPECT_EQ(error_of([] { parse_law(kMinimalLaw, "l.json", {"alpah=0.3"}); }),
            "--coef: alpah: 'alpah' is not a coefficient of the chinchilla form; did you mean "
            "'alpha'?");
  EXPECT_EQ(error_of([] { parse_law(kMinimalLaw, "l.json", {"omega=0.3"}); }),
            "--coef: omega: 'omega' is not a coefficient of the chinchilla form (E, A, B, alpha, "
            "beta)");
  EXPECT_EQ(error_of([] { parse_law(kMinimalLaw, "l.json", {"alpha=x"}); }),
            "--coef: alpha: 'x' is not a finite number");
  EXPECT_EQ(error_of([] { parse_law(kMinimalLaw, "l.json", {"alpha"}); }),
            "--coef: 'alpha' is not NAME=VALUE");
  EXPECT_EQ(error_of([] { parse_law(kMinimalLaw, "l.json", {"beta=-1"}); }),
            "--coef: coefficients.beta: must be positive (got -1)");
}

TEST(LawFiles, RenderedLawReadsBack) {
  laws::Law law = load_law("joint");
  law.name = "joint-copy";
  const laws::Law back = parse_law(render_law_json(law), "copy.json");
  EXPECT_EQ(back.name, "joint-copy");
  EXPECT_EQ(back.form, law.form);
  EXPECT_EQ(back.params_counted, law.params_counted);
  EXPECT_EQ(back.coefficients, law.coefficients);
  EXPECT_EQ(back.range.params.max, law.range.params.max);
  EXPECT_EQ(back.range.experts.min, law.range.experts.min);
}

std::string runs_csv(std::size_t rows) {
  std::string csv = "# a comment\nname,params,tokens,loss\n";
  for (std::size_t i = 0; i < rows; ++i) {
    const double n = 1e8 * std::pow(2.0, static_cast<double>(i % 5));
    const double d = 1e10 * std::pow(3.0, static_cast<double>(i % 4));
    const double l = 1.69 + 406.4 / std::pow(n, 0.34) + 410.7 / std::pow(d, 0.28);
    csv += "\"run " + std::to_string(i) + "\"," + std::to_string(n) + "," + std::to_string(d) +
           "," + std::to_string(l) + "\n";
  }
  return csv;
}

TEST(RunsCsv, ReadsRunsWithLinesAndNames) {
  const RunsTable t = parse_runs_csv(runs_csv(8) + "\"run, x\",70B,1.4T,1.94\n", "runs.csv",
                                     laws::Form::chinchilla);
  ASSERT_EQ(t.runs.size(), 9u);
  EXPECT_EQ(t.lines[0], 3u);
  EXPECT_EQ(t.names[0], "run 0");
  EXPECT_EQ(t.names[8], "run, x");
  EXPECT_DOUBLE_EQ(t.runs[8].point.params, 70e9);
  EXPECT_DOUBLE_EQ(t.runs[8].point.tokens, 1.4e12);
  EXPECT_DOUBLE_EQ(t.runs[8].loss, 1.94);
}

TEST(RunsCsv, MissingColumnsNameTheFormsNeeds) {
  EXPECT_EQ(error_of([] {
              parse_runs_csv("params,loss\n1e9,2.5\n", "runs.csv", laws::Form::chinchilla);
            }),
            "runs.csv: line 1 (header): missing column 'tokens': the chinchilla form needs "
            "params, tokens, loss");
  const std::string e = error_of([] {
    parse_runs_csv("params,tokens,experts,loss\n1e9,1e10,8,2.5\n", "runs.csv", laws::Form::joint);
  });
  EXPECT_NE(e.find("missing column 'params_active'"), std::string::npos) << e;
  EXPECT_NE(e.find("name that column params_active"), std::string::npos) << e;
}

TEST(RunsCsv, BadValuesNameLineAndColumn) {
  const std::string head = "params,tokens,loss\n";
  EXPECT_EQ(error_of([&] {
              parse_runs_csv(head + "1e9,1e10,2.5\n1e9,-5,2.5\n", "runs.csv",
                             laws::Form::chinchilla);
            }).rfind("runs.csv: line 3, column 2 (tokens): ", 0),
            0u);
  EXPECT_EQ(
      error_of([&] { parse_runs_csv(head + "1e9,1e10,0\n", "runs.csv", laws::Form::chinchilla); }),
      "runs.csv: line 2, column 3 (loss): must be positive (got 0)");
  EXPECT_EQ(error_of([&] {
              parse_runs_csv(head + "1e9,1e10,abc\n", "runs.csv", laws::Form::chinchilla);
            }),
            "runs.csv: line 2, column 3 (loss): 'abc' is not a number");
  EXPECT_EQ(
      error_of([&] { parse_runs_csv(head + "1e9,1e10\n", "runs.csv", laws::Form::chinchilla); }),
      "runs.csv: line 2: 2 fields, but the header (line 1) has 3");
  EXPECT_EQ(
      error_of([&] { parse_runs_csv(head + "1e9,,2.5\n", "runs.csv", laws::Form::chinchilla); }),
      "runs.csv: line 2, column 2 (tokens): empty value");
  EXPECT_EQ(
      error_of([] { parse_runs_csv("params,tokns,loss\n", "runs.csv", laws::Form::chinchilla); }),
      "runs.csv: line 1, column 2: unknown column 'tokns'; did you mean 'tokens'?");
  EXPECT_EQ(error_of([] {
              parse_runs_csv("params,experts,loss\n1e9,0.5,2\n", "runs.csv", laws::Form::clark);
            }),
            "runs.csv: line 2, column 2 (experts): must be at least 1 (got 0.5)");
}

TEST(RunsCsv, TooFewRowsForTheLaw) {
  EXPECT_EQ(
      error_of([] { parse_runs_csv(runs_csv(4), "runs.csv", laws::Form::chinchilla); }),
      "runs.csv: rows: 4 runs, but the chinchilla form needs at least 6 (5 coefficients + 1)");
  EXPECT_EQ(error_of([] { parse_runs_csv("", "runs.csv", laws::Form::chinchilla); }),
            "runs.csv: no header row: the file has no columns");
  EXPECT_EQ(error_of([] { read_runs_csv("/nonexistent/runs.csv", laws::Form::chinchilla); }),
            "/nonexistent/runs.csv: no such file");
}

TEST(RunsCsv, FitReportsHaveNoNonFiniteNumbers) {
  const RunsTable t = parse_runs_csv(runs_csv(20), "runs.csv", laws::Form::chinchilla);
  laws::FitOptions options;
  options.bootstrap_samples = 20;
  const laws::FitResult fit = laws::fit(laws::Form::chinchilla, t.runs, options);
  const laws::Law law = load_law("chinchilla");
  const std::string json = render_fit_json(fit, law, t, "runs.csv");
  EXPECT_EQ(json.find("nan"), std::string::npos);
  EXPECT_NE(json.find("\"coefficients\""), std::string::npos);
  EXPECT_NE(json.find("\"line\": 3"), std::string::npos);
  EXPECT_EQ(render_fit_csv(fit).rfind("coefficient,value,ci_low,ci_high\nE,", 0), 0u);
  EXPECT_NE(render_fit_table(fit, law, t, "runs.csv").find("Residuals"), std::string::npos);
}

TEST(LossReport, HasTheCliKeys) {
  const laws::Law law = load_law("chinchilla");
  const laws::LawEvaluation ev = laws::evaluate(law, laws::LawPoint{70e9, 1.4e12, 1, 1});
  const std::string json = render_json(make_loss_report(law, ev));
  EXPECT_NE(json.find("\"law\": \"chinchilla\""), std::string::npos);
  EXPECT_NE(json.find("\"value\": 1.93"), std::string::npos);
  const laws::ComputeOptimal o = laws::compute_optimal(law, 5.76e23);
  const std::string opt = render_json(make_optimal_report(law, o));
  for (const char* key :
       {"params_active", "params_total", "tokens", "experts", "granularity", "\"loss\": 1.93"})
    EXPECT_NE(opt.find(key), std::string::npos) << key;
}

}  // namespace
}  // namespace moesim::io
