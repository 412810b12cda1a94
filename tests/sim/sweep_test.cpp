#include "sim/sweep.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace moesim::sim {
namespace {

TEST(SweepRunner, EveryPointOnceWithSerializedCallbacks) {
  std::vector<std::int64_t> points;
  for (std::int64_t i = 0; i < 500; ++i) points.push_back(i * 3);
  std::multiset<std::int64_t> seen;
  std::atomic<int> inside{0};
  bool overlapped = false;
  SweepRunOptions options;
  options.threads = 4;
  int progress_calls = 0;
  options.progress = [&](const SweepProgress& p) {
    ++progress_calls;
    EXPECT_LE(p.done, p.total);
  };
  run_sweep(
      points, [](std::int64_t i) { return std::to_string(i * 2); },
      [&](std::int64_t i, std::string&& row) {
        if (inside.fetch_add(1) != 0) overlapped = true;
        EXPECT_EQ(row, std::to_string(i * 2));
        seen.insert(i);
        inside.fetch_sub(1);
      },
      options);
  EXPECT_FALSE(overlapped);
  EXPECT_EQ(seen, std::multiset<std::int64_t>(points.begin(), points.end()));
  EXPECT_GE(progress_calls, 1);
}

TEST(SweepRunner, EmptyAndSingleThread) {
  int rows = 0;
  run_sweep(
      {}, [](std::int64_t) { return std::string(); }, [&](std::int64_t, std::string&&) { ++rows; });
  EXPECT_EQ(rows, 0);
  SweepRunOptions one;
  one.threads = 1;
  std::vector<std::int64_t> order;
  run_sweep(
      {5, 1, 3}, [](std::int64_t) { return std::string("x"); },
      [&](std::int64_t i, std::string&&) { order.push_back(i); }, one);
  EXPECT_EQ(order, (std::vector<std::int64_t>{5, 1, 3}));
}

TEST(SweepRunner, RethrowsTheFirstError) {
  std::vector<std::int64_t> points(100);
  for (std::int64_t i = 0; i < 100; ++i) points[static_cast<std::size_t>(i)] = i;
  SweepRunOptions options;
  options.threads = 3;
  EXPECT_THROW(run_sweep(
                   points,
                   [](std::int64_t i) -> std::string {
                     if (i == 17) throw std::runtime_error("boom");
                     return "";
                   },
                   [](std::int64_t, std::string&&) {}, options),
               std::runtime_error);
}

TEST(SweepRunner, ShardsPartitionThePoints) {
  const std::int64_t count = 103;
  for (std::int64_t n : {1, 2, 3, 7, 200}) {
    std::set<std::int64_t> all;
    std::size_t total = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const auto part = sweep_todo(count, i, n);
      for (auto p : part) EXPECT_EQ(p % n, i);
      total += part.size();
      all.insert(part.begin(), part.end());
    }
    EXPECT_EQ(total, static_cast<std::size_t>(count)) << n;
    EXPECT_EQ(all.size(), static_cast<std::size_t>(count)) << n;
  }
  const auto rest = sweep_todo(10, 0, 1, [](std::int64_t i) { return i < 7; });
  EXPECT_EQ(rest, (std::vector<std::int64_t>{7, 8, 9}));
}

// ---- End to end through the CLI (skipped until `moesim sweep` is wired into main) -------

struct CmdResult {
  int status = -1;
  std::string out;
};

CmdResult run_cmd(const std::string& cmd) {
  CmdResult r;
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// The sweep binary: MOESIM_SWEEP_CLI overrides the moesim under test.
std::string sweep_cli() {
  const char* env = std::getenv("MOESIM_SWEEP_CLI");
  return env ? std::string(env) : std::string(MOESIM_CLI_PATH) + " sweep";
}

bool sweep_available() {
  const CmdResult r = run_cmd(sweep_cli() + " --help");
  return r.status == 0 && r.out.find("moesim sweep") != std::string::npos;
}

std::vector<std::string> csv_cells(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else {
      cells.back() += c;
    }
  }
  return cells;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class SweepCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!sweep_available()) GTEST_SKIP() << "moesim sweep is not wired into this binary yet";
    dir_ = std::filesystem::temp_directory_path() /
           ("moesim_sweep_cli_test_" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    spec_ = dir_ / "spec.json";
    std::ofstream(spec_) << R"({
      "verb": "estimate",
      "base": {"model": "mixtral-8x7b", "cluster": "dgx-h100", "devices": 64, "tokens": "1T"},
      "grid": {"set:moe.experts": [8, 16], "ep": [1, 8, 3]},
      "zip": {"tp": [1, 2], "pp": [1, 2]}
    })";
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string sweep(const std::string& out, const std::string& extra = "") {
    return sweep_cli() + " " + spec_.string() + " --out " + (dir_ / out).string() +
           " --threads 2 --quiet " + extra;
  }
  std::filesystem::path dir_, spec_;
};

TEST_F(SweepCli, RowsEqualEstimate) {
  ASSERT_EQ(run_cmd(sweep("r.csv")).status, 0);
  const auto lines = lines_of(read_all(dir_ / "r.csv"));
  ASSERT_EQ(lines.size(), 1u + 12u);
  const auto header = csv_cells(lines[0]);
  int ok = 0, invalid = 0;
  for (std::size_t l = 1; l < lines.size(); ++l) {
    const auto row = csv_cells(lines[l]);
    ASSERT_EQ(row.size(), header.size()) << lines[l];
    std::map<std::string, std::string> cell;
    for (std::size_t i = 0; i < header.size(); ++i) cell[header[i]] = row[i];
    const std::string args =
        "--model mixtral-8x7b --cluster dgx-h100 --devices 64 --tokens 1T "
        "--set moe.experts=" +
        cell["set:moe.experts"] + " --ep " + cell["ep"] + " --tp " + cell["tp"] + " --pp " +
        cell["pp"];
    const CmdResult est =
        run_cmd(std::string(MOESIM_CLI_PATH) + " estimate " + args + " --format csv");
    if (cell["status"] == "invalid") {
      ++invalid;
      EXPECT_EQ(est.status, 2) << args;
      EXPECT_FALSE(cell["reason"].empty());
      continue;
    }
    ++ok;
    ASSERT_EQ(est.status, 0) << args;
    const auto el = lines_of(est.out);
    ASSERT_EQ(el.size(), 2u);
    const auto eh = csv_cells(el[0]), ev = csv_cells(el[1]);
    ASSERT_EQ(eh.size(), ev.size());
    for (std::size_t i = 0; i < eh.size(); ++i) {
      ASSERT_TRUE(cell.count(eh[i])) << eh[i];
      EXPECT_EQ(cell[eh[i]], ev[i]) << eh[i] << " at " << args;
    }
    EXPECT_EQ(cell["status"], cell["memory.fits"] == "true" ? "ok" : "infeasible");
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(invalid, 0);  // ep = 3 does not divide dp
}

TEST_F(SweepCli, ResumeAfterAKillFinishesWithExactlyTheFullSet) {
  for (const std::string name : {"r.csv", "r.jsonl"}) {
    ASSERT_EQ(run_cmd(sweep("full." + name)).status, 0);
    const std::string full = read_all(dir_ / ("full." + name));
    auto full_lines = lines_of(full);
    // Simulate a kill: the header (CSV), some rows, and half of the next row.
    const std::size_t skip = name == "r.csv" ? 1 : 0;
    std::string partial;
    for (std::size_t i = 0; i < skip + 5; ++i) partial += full_lines[i] + "\n";
    partial += full_lines[skip + 5].substr(0, full_lines[skip + 5].size() / 2);
    std::ofstream(dir_ / name, std::ios::binary) << partial;
    EXPECT_EQ(run_cmd(sweep(name)).status, 2) << "an existing file needs --resume";
    ASSERT_EQ(run_cmd(sweep(name, "--resume")).status, 0);
    auto resumed = lines_of(read_all(dir_ / name));
    ASSERT_EQ(resumed.size(), full_lines.size());
    std::sort(resumed.begin() + static_cast<long>(skip), resumed.end());
    std::sort(full_lines.begin() + static_cast<long>(skip), full_lines.end());
    EXPECT_EQ(resumed, full_lines) << name;
    ASSERT_EQ(run_cmd(sweep(name, "--resume")).status, 0);  // nothing left: unchanged
    EXPECT_EQ(lines_of(read_all(dir_ / name)).size(), full_lines.size());
  }
}

TEST_F(SweepCli, ShardUnionEqualsTheFullSet) {
  ASSERT_EQ(run_cmd(sweep("full.csv")).status, 0);
  auto full = lines_of(read_all(dir_ / "full.csv"));
  std::vector<std::string> merged{full[0]};
  for (int i = 0; i < 3; ++i) {
    const std::string out = "shard" + std::to_string(i) + ".csv";
    ASSERT_EQ(run_cmd(sweep(out, "--shard " + std::to_string(i) + "/3")).status, 0);
    const auto lines = lines_of(read_all(dir_ / out));
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0], full[0]);
    for (std::size_t l = 1; l < lines.size(); ++l) {
      EXPECT_EQ(std::stoll(csv_cells(lines[l])[0]) % 3, i);
      merged.push_back(lines[l]);
    }
  }
  std::sort(merged.begin() + 1, merged.end());
  std::sort(full.begin() + 1, full.end());
  EXPECT_EQ(merged, full);
}

TEST_F(SweepCli, OtherVerbsAreRefused) {
  std::ofstream(spec_, std::ios::trunc) << R"({"verb": "optimize", "grid": {"tp": [1]}})";
  const CmdResult r = run_cmd(sweep_cli() + " " + spec_.string() + " --out " +
                              (dir_ / "x.csv").string() + " 2>&1 >/dev/null");
  EXPECT_EQ(r.status, 2);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.csv"));
}

// The rows of `file` as maps from column to cell, in point order.
std::vector<std::map<std::string, std::string>> rows_by_point(const std::filesystem::path& file) {
  const auto lines = lines_of(read_all(file));
  std::vector<std::map<std::string, std::string>> rows;
  if (lines.empty()) return rows;
  const auto header = csv_cells(lines[0]);
  for (std::size_t l = 1; l < lines.size(); ++l) {
    const auto cells = csv_cells(lines[l]);
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(row);
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::stoll(a.at("point")) < std::stoll(b.at("point"));
  });
  return rows;
}

TEST_F(SweepCli, SimulateRowsEqualSimulate) {
  // 2 x 2 points of the event-driven verb: every column but the host's wall time equals what
  // `moesim simulate --format csv` prints for the same flags.
  std::ofstream(spec_, std::ios::trunc) << R"({"verb": "simulate",
      "base": {"model": "mixtral-8x7b", "cluster": "dgx-h100", "devices": 16, "tp": 2, "pp": 2, "ep": 4,
               "zero": 1, "global-batch": 32},
      "grid": {"routing": ["balanced", "zipf:1.2"], "seed": [1, 2]}})";
  ASSERT_EQ(run_cmd(sweep("simulate.csv")).status, 0);
  const auto rows = rows_by_point(dir_ / "simulate.csv");
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("status"), "ok") << row.at("reason");
    const std::string args =
        "--model mixtral-8x7b --cluster dgx-h100 --devices 16 --tp 2 --pp 2 --ep 4 --zero 1 "
        "--global-batch 32 --routing " +
        row.at("routing") + " --seed " + row.at("seed") + " --format csv";
    const CmdResult sim = run_cmd(std::string(MOESIM_CLI_PATH) + " simulate " + args);
    ASSERT_EQ(sim.status, 0) << args;
    const auto l = lines_of(sim.out);
    ASSERT_EQ(l.size(), 2u);
    const auto h = csv_cells(l[0]), v = csv_cells(l[1]);
    for (std::size_t i = 0; i < h.size(); ++i) {
      ASSERT_TRUE(row.count(h[i])) << h[i];
      if (h[i] == "events.wall_s") continue;  // host time, different in every run
      EXPECT_EQ(row.at(h[i]), v[i]) << h[i] << " at " << args;
    }
  }
  // Skewed routing is slower than balanced for the same seed (points 0-1 balanced, 2-3 zipf).
  EXPECT_GT(std::stod(rows[2].at("time.step_s")), std::stod(rows[0].at("time.step_s")));
  EXPECT_GT(std::stod(rows[2].at("imbalance.max_over_mean")), 1.0);
}

TEST_F(SweepCli, LossRowsEqualLoss) {
  // 3 x 2 points: every row holds what `moesim loss --format csv` prints for its flags.
  std::ofstream(spec_, std::ios::trunc) << R"({"verb": "loss", "base": {"law": "joint"},
      "grid": {"params": ["1B", "10B", "100B"], "experts": [1, 64]}, "zip": {"tokens": ["1T"]}})";
  ASSERT_EQ(run_cmd(sweep("loss.csv")).status, 0);
  const auto rows = rows_by_point(dir_ / "loss.csv");
  ASSERT_EQ(rows.size(), 6u);
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("status"), "ok");
    const std::string args = "--law joint --params " + row.at("params") + " --experts " +
                             row.at("experts") + " --tokens 1T --format csv";
    const CmdResult loss = run_cmd(std::string(MOESIM_CLI_PATH) + " loss " + args);
    ASSERT_EQ(loss.status, 0) << args;
    const auto l = lines_of(loss.out);
    ASSERT_EQ(l.size(), 2u);
    const auto h = csv_cells(l[0]), v = csv_cells(l[1]);
    for (std::size_t i = 0; i < h.size(); ++i) {
      ASSERT_TRUE(row.count(h[i])) << h[i];
      EXPECT_EQ(row.at(h[i]), v[i]) << h[i] << " at " << args;
    }
  }
  // More experts at the same active parameters and tokens: a lower loss (Ludziejewski et al.).
  EXPECT_LT(std::stod(rows[1].at("loss.value")), std::stod(rows[0].at("loss.value")));

  // --optimal is a switch: true gives it, and the optimal.* columns fill.
  std::ofstream(spec_, std::ios::trunc) << R"({"verb": "loss",
      "base": {"law": "chinchilla", "optimal": true}, "grid": {"flops": [1e21, 1e22]}})";
  ASSERT_EQ(run_cmd(sweep("optimal.csv")).status, 0);
  const auto opt = rows_by_point(dir_ / "optimal.csv");
  ASSERT_EQ(opt.size(), 2u);
  EXPECT_EQ(opt[1].at("flops"), "1e+22");
  EXPECT_LT(std::stod(opt[0].at("optimal.params_total")),
            std::stod(opt[1].at("optimal.params_total")));
}

TEST_F(SweepCli, PlanRowsHoldTheBestPick) {
  std::ofstream(spec_, std::ios::trunc) << R"({"verb": "plan",
      "base": {"cluster": "dgx-h100", "devices": 64, "experts": "1,8,32", "granularity": "1,4",
               "moe-every": "1", "token-fractions": "1,0.5"},
      "grid": {"budget": ["gpu-hours=100", "gpu-hours=2000"]}})";
  ASSERT_EQ(run_cmd(sweep("plan.csv")).status, 0);
  const auto rows = rows_by_point(dir_ / "plan.csv");
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("status"), "ok");
    const CmdResult plan =
        run_cmd(std::string(MOESIM_CLI_PATH) + " plan --budget " + row.at("budget") +
                " --cluster dgx-h100 --devices 64 --experts 1,8,32 "
                "--granularity 1,4 --moe-every 1 --token-fractions 1,0.5 "
                "--format json");
    ASSERT_EQ(plan.status, 0);
    // The same pick: `plan` prints its loss with 10 significant digits.
    const auto at = plan.out.find("\"loss\": ", plan.out.find("\"best\""));
    ASSERT_NE(at, std::string::npos);
    EXPECT_NEAR(std::stod(plan.out.substr(at + 8)), std::stod(row.at("best.loss")), 1e-8);
    EXPECT_EQ(row.at("best.experts"),
              plan.out.substr(plan.out.find("\"experts\": ", plan.out.find("\"best\"")) + 11,
                              row.at("best.experts").size()));
  }
  // A bigger budget trains a better model.
  EXPECT_LT(std::stod(rows[1].at("best.loss")), std::stod(rows[0].at("best.loss")));
}

}  // namespace
}  // namespace moesim::sim
