#include "io/sweep_spec.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "io/errors.hpp"

namespace moesim::io {
namespace {

const std::vector<std::string> kKeys = {"model", "cluster", "devices", "tokens", "tp",
                                        "pp",    "ep",      "dp",      "zero"};

SweepSpec parse(const std::string& text) {
  return parse_sweep_spec(text, "spec.json", kKeys);
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string texts(const std::vector<ReportValue>& values) {
  std::string s;
  for (const auto& v : values) s += (s.empty() ? "" : " ") + sweep_value_text(v);
  return s;
}

TEST(SweepSpec, GridIsCartesianInSpecOrderLastAxisFastest) {
  const SweepSpec s = parse(R"({"verb": "estimate", "base": {"model": "mixtral-8x7b"},
      "grid": {"tp": [1, 2, 4], "ep": [8, 1]}})");
  EXPECT_EQ(s.count(), 6);
  EXPECT_EQ(s.axis_keys(), (std::vector<std::string>{"tp", "ep"}));
  EXPECT_EQ(texts(s.point(0)), "1 8");
  EXPECT_EQ(texts(s.point(1)), "1 1");
  EXPECT_EQ(texts(s.point(2)), "2 8");
  EXPECT_EQ(texts(s.point(5)), "4 1");
}

TEST(SweepSpec, ZipAdvancesTogetherAfterTheGrid) {
  const SweepSpec s = parse(R"({"verb": "estimate",
      "grid": {"set:moe.experts": [8, 16]}, "zip": {"tp": [1, 2, 4], "pp": [1, 2, 8]}})");
  EXPECT_EQ(s.count(), 6);
  EXPECT_EQ(texts(s.point(0)), "8 1 1");
  EXPECT_EQ(texts(s.point(2)), "8 4 8");
  EXPECT_EQ(texts(s.point(3)), "16 1 1");
  const SweepSpec z = parse(R"({"verb": "estimate", "zip": {"tp": [1, 2], "pp": [2, 1]}})");
  EXPECT_EQ(z.count(), 2);
  EXPECT_EQ(texts(z.point(1)), "2 1");
}

TEST(SweepSpec, NoAxesIsOnePoint) {
  const SweepSpec s = parse(R"({"verb": "estimate", "base": {"tp": 2}})");
  EXPECT_EQ(s.count(), 1);
  EXPECT_EQ(s.point_args(0), (std::vector<std::string>{"--tp", "2"}));
}

TEST(SweepSpec, Ranges) {
  const SweepSpec s = parse(R"({"verb": "estimate", "grid": {
      "set:moe.experts": {"from": 8, "to": 256, "times": 2},
      "tp": {"from": 1, "to": 4, "step": 1},
      "set:moe.capacity_factor": {"from": 1.0, "to": 2.0, "step": 0.25},
      "pp": {"from": 4, "to": 1, "step": -1}}})");
  EXPECT_EQ(texts(s.grid[0].values), "8 16 32 64 128 256");
  EXPECT_EQ(texts(s.grid[1].values), "1 2 3 4");
  EXPECT_EQ(texts(s.grid[2].values), "1.0 1.25 1.5 1.75 2.0");
  EXPECT_EQ(texts(s.grid[3].values), "4 3 2 1");
  EXPECT_EQ(s.count(), 6 * 4 * 5 * 4);
}

TEST(SweepSpec, PointArgsMatchTheCommandLine) {
  const SweepSpec s = parse(R"({"verb": "estimate",
      "base": {"model": "mixtral-8x7b", "devices": 64, "tokens": "1T"},
      "grid": {"set:moe.experts": [8, 16], "ep": [2]}})");
  EXPECT_EQ(s.point_args(1),
            (std::vector<std::string>{"--model", "mixtral-8x7b", "--devices", "64", "--tokens",
                                      "1T", "--set", "moe.experts=16", "--ep", "2"}));
}

TEST(SweepSpec, BadSpecsNameThePathAndRule) {
  EXPECT_EQ(error_of(R"({"grid": {"tp": [1]}})"), "spec.json: verb: required key missing");
  EXPECT_EQ(error_of(R"({"verb": "estimate", "zip": {"tp": [1, 2], "pp": [1]}})"),
            "spec.json: zip.pp: has 1 values but zip.tp has 2 (zip axes need equal lengths)");
  EXPECT_EQ(error_of(R"({"verb": "estimate", "grid": {"devcies": [1]}})"),
            "spec.json: grid.devcies: unknown key; did you mean 'devices'?");
  EXPECT_EQ(error_of(R"({"verb": "estimate", "base": {"clustr": "dgx-h100"}})"),
            "spec.json: base.clustr: unknown key; did you mean 'cluster'?");
  EXPECT_EQ(error_of(R"({"verb": "estimate", "gird": {}})"),
            "spec.json: gird: unknown key; did you mean 'grid'?");
  EXPECT_EQ(error_of(R"({"verb": "estimate", "grid": {"tp": []}})"),
            "spec.json: grid.tp: has no values");
  EXPECT_EQ(error_of(R"({"verb": "estimate", "base": {"tp": 1}, "grid": {"tp": [2]}})"),
            "spec.json: grid.tp: also given in base");
  EXPECT_EQ(error_of(R"({"verb": "estimate", "grid": {"tp": {"from": 1, "to": 4}}})"),
            "spec.json: grid.tp: a range needs exactly one of 'times' and 'step'");
  EXPECT_EQ(error_of(R"({"verb": "estimate", "grid": {"tp": {"from": 1, "to": 4, "stp": 1}}})"),
            "spec.json: grid.tp.stp: unknown key; did you mean 'step'?");
  EXPECT_EQ(
      error_of(R"({"verb": "estimate", "grid": {"tp": [[1]]}})"),
      "spec.json: grid.tp[0]: an array is not a number, string or boolean (or a range object)");
  EXPECT_NE(error_of(R"({"verb": "estimate", "grid": {"tp": [1, 2]})"),  // missing brace
            "(no error)");
  EXPECT_NE(error_of(R"({"verb": "estimate", "verb": "estimate"})").find("duplicate key"),
            std::string::npos);
}

TEST(SweepSpec, Shard) {
  EXPECT_EQ(parse_shard("1/4"), (std::pair<std::int64_t, std::int64_t>{1, 4}));
  EXPECT_THROW(parse_shard("4/4"), InputError);
  EXPECT_THROW(parse_shard("x"), InputError);
  EXPECT_THROW(parse_shard("1/0"), InputError);
}

SweepRow row_for(const SweepSpec& s, std::int64_t i) {
  SweepRow r;
  r.point = i;
  r.axes = s.point(i);
  r.status = i % 3 == 0 ? "invalid" : "ok";
  r.reason = i % 3 == 0 ? "--tp: value: must be, at \"least\" 1" : "";
  if (i % 3 != 0) {
    r.report.fields.push_back({"time.step_s", 0.5 * static_cast<double>(i)});
    r.report.fields.push_back({"memory.fits", true});
    r.report.notes = {"a note, with a comma"};
  }
  return r;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SweepOutput, RowsHaveEveryColumn) {
  const SweepSpec s = parse(R"({"verb": "estimate", "grid": {"tp": [1, 2, 4]}})");
  const auto columns = sweep_columns(s);
  ASSERT_GE(columns.size(), 5u);
  EXPECT_EQ(columns[0], "point");
  EXPECT_EQ(columns[1], "tp");
  EXPECT_EQ(columns[2], "status");
  EXPECT_EQ(columns[3], "reason");
  for (const char* path : {"model.params_total", "memory.fits", "time.step_s", "throughput.mfu",
                           "training.cost_usd", "notes"})
    EXPECT_NE(std::find(columns.begin(), columns.end(), path), columns.end()) << path;
  // Every CSV row has as many cells as the header (quoted commas included).
  auto cells = [](const std::string& line) {
    int n = 1;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) ++n;
    }
    return n;
  };
  for (std::int64_t i = 0; i < 3; ++i) {
    const std::string line = render_sweep_row(s, row_for(s, i), SweepFormat::csv);
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    EXPECT_EQ(cells(line.substr(0, line.size() - 1)), static_cast<int>(columns.size()));
  }
  const std::string json = render_sweep_row(s, row_for(s, 1), SweepFormat::jsonl);
  EXPECT_EQ(json.find('\n'), json.size() - 1);
  EXPECT_NE(json.find("\"point\":1"), std::string::npos);
  EXPECT_NE(json.find("\"time.step_s\":0.5"), std::string::npos);
}

class SweepResume : public ::testing::TestWithParam<SweepFormat> {};

TEST_P(SweepResume, DropsTheCutOffLineAndFinishesWithTheFullSet) {
  const SweepFormat format = GetParam();
  const SweepSpec s = parse(R"({"verb": "estimate", "grid": {"tp": [1, 2, 4], "pp": [1, 2]},
      "zip": {"ep": [1, 2]}})");
  const std::string header = render_sweep_header(s, format);
  std::string full = header;
  std::vector<std::string> lines;
  for (std::int64_t i = 0; i < s.count(); ++i) {
    lines.push_back(render_sweep_row(s, row_for(s, i), format));
    full += lines.back();
  }
  const auto path = (std::filesystem::temp_directory_path() /
                     ("moesim_sweep_resume_test_" + std::to_string(static_cast<int>(format)) + "_" +
                      std::to_string(::testing::UnitTest::GetInstance()->random_seed())))
                        .string();
  // Killed mid-run: rows finished out of order, the last one cut in half.
  std::string partial = header + lines[3] + lines[0] + lines[7];
  partial += lines[5].substr(0, lines[5].size() / 2);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << partial;

  const auto done = resume_sweep_output(path, header, format, s.count());
  EXPECT_EQ(done, (std::set<std::int64_t>{0, 3, 7}));
  EXPECT_EQ(read_all(path), header + lines[3] + lines[0] + lines[7]);
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    for (std::int64_t i = 0; i < s.count(); ++i)
      if (!done.count(i)) out << lines[static_cast<std::size_t>(i)];
  }
  const auto again = resume_sweep_output(path, header, format, s.count());
  EXPECT_EQ(static_cast<std::int64_t>(again.size()), s.count());
  EXPECT_EQ(read_all(path).size(), full.size());

  // Killed before the header was complete.
  std::ofstream(path, std::ios::binary | std::ios::trunc) << header.substr(0, header.size() / 2);
  EXPECT_TRUE(resume_sweep_output(path, header, format, s.count()).empty());
  EXPECT_EQ(read_all(path), header);

  // A missing file starts fresh; another sweep's file is refused.
  std::filesystem::remove(path);
  EXPECT_TRUE(resume_sweep_output(path, header, format, s.count()).empty());
  EXPECT_EQ(read_all(path), header);
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      << (format == SweepFormat::csv ? "point,other\n" : "") << "99,x\n";
  EXPECT_THROW(resume_sweep_output(path, header, format, s.count()), InputError);
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Formats, SweepResume,
                         ::testing::Values(SweepFormat::csv, SweepFormat::jsonl));

TEST(SweepSpec, KeysFollowTheVerb) {
  const std::map<std::string, std::vector<std::string>> by_verb = {
      {"estimate", {"model", "tp"}}, {"loss", {"law", "params", "tokens"}}};
  const SweepSpec s = parse_sweep_spec(
      R"({"verb": "loss", "base": {"law": "joint"}, "grid": {"params": ["1B", "10B"]}})",
      "spec.json", by_verb);
  EXPECT_EQ(s.count(), 2);
  EXPECT_EQ(s.point_args(1), (std::vector<std::string>{"--law", "joint", "--params", "10B"}));
  auto error = [&](const std::string& text) {
    try {
      parse_sweep_spec(text, "spec.json", by_verb);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(error(R"({"verb": "loss", "grid": {"tp": [1, 2]}})"),
            "spec.json: grid.tp: unknown key");  // a key of another verb
  EXPECT_EQ(error(R"({"verb": "simulate", "grid": {"tp": [1]}})"),
            "spec.json: verb: 'simulate' cannot be swept (sweep verbs: estimate, loss)");
  EXPECT_EQ(error(R"({"verb": "los"})"),
            "spec.json: verb: 'los' cannot be swept (sweep verbs: estimate, loss); did you mean "
            "'loss'?");
}

TEST(SweepSpec, FloatRangesHaveNoRoundingTails) {
  const SweepSpec s = parse(R"({"verb": "estimate", "grid": {
      "tokens": {"from": 1.0, "to": 1.331, "times": 1.1},
      "set:moe.capacity_factor": {"from": 0.1, "to": 0.5, "step": 0.1}}})");
  // 1.1 * 1.1 is 1.2100000000000002 and 1.1^3 is 1.3310000000000004 in doubles.
  EXPECT_EQ(texts(s.grid[0].values), "1.0 1.1 1.21 1.331");
  EXPECT_EQ(texts(s.grid[1].values), "0.1 0.2 0.3 0.4 0.5");
}

TEST(SweepSpec, ReportColumnsFollowTheSpec) {
  SweepSpec s = parse(R"({"verb": "estimate", "grid": {"tp": [1, 2]}})");
  EXPECT_EQ(sweep_columns(s).back(), "notes");
  EXPECT_EQ(sweep_columns(s).size(), 4 + sweep_report_columns().size());
  s.report_columns = {"loss.value", "notes"};
  EXPECT_EQ(render_sweep_header(s, SweepFormat::csv), "point,tp,status,reason,loss.value,notes\n");
  SweepRow row;
  row.point = 1;
  row.axes = s.point(1);
  row.status = "ok";
  row.report.fields = {{"loss.value", 2.5}, {"loss.law", std::string("joint")}};
  // A path that is not a column stays out of the CSV row (the columns are the contract).
  EXPECT_EQ(render_sweep_row(s, row, SweepFormat::csv), "1,2,ok,,2.5,\n");
}

}  // namespace
}  // namespace moesim::io
