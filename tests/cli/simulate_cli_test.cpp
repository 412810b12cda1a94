// `moesim simulate` as a user runs it: the report keys of CLI.md (the estimate's plus
// events.* and imbalance.*), the trace file, and bad input as one line on stderr with exit
// code 2 naming the flag or file and the rule.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/cli/cli_runner.hpp"

namespace {

using moesim::test::CliRun;
using moesim::test::expect_input_error;
using moesim::test::moesim;
using moesim::test::read_file;
using moesim::test::temp;

const std::string kBase =
    "simulate --model mixtral-8x7b --cluster dgx-h100 --devices 16 --pp 2 --ep 8 --zero 1 "
    "--global-batch 32";

TEST(SimulateCli, ReportKeysInCsvAndJson) {
  const CliRun csv = moesim(kBase + " --routing zipf:1.2 --seed 3 --format csv --tokens 1T");
  ASSERT_EQ(csv.code, 0) << csv.err;
  const std::string header = csv.out.substr(0, csv.out.find('\n'));
  for (const char* key :
       {"time.step_s", "time.breakdown.compute_s", "time.breakdown.exposed_communication_s",
        "time.breakdown.pipeline_bubble_s", "throughput.tokens_per_s", "throughput.mfu",
        "memory.per_device_bytes", "layout.ep", "training.wall_s", "events.count", "events.wall_s",
        "events.simulated_s", "imbalance.max_over_mean", "imbalance.slowdown",
        "imbalance.tokens_dropped"})
    EXPECT_NE(header.find(key), std::string::npos) << key;
  const CliRun json = moesim(kBase + " --format json");
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_NE(json.out.find("\"events\""), std::string::npos);
  EXPECT_NE(json.out.find("\"imbalance\""), std::string::npos);
  for (const char* bad : {"nan", "NaN", "inf", "Infinity"})
    EXPECT_EQ(json.out.find(bad), std::string::npos) << bad;
  const CliRun table = moesim(kBase);
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("moesim simulate:"), std::string::npos);
  EXPECT_NE(table.out.find("Simulation"), std::string::npos);
}

TEST(SimulateCli, TraceFileIsChromeTraceJsonAndDeterministic) {
  const std::string a = temp("a.json"), b = temp("b.json");
  ASSERT_EQ(moesim(kBase + " --routing dirichlet:0.5 --seed 9 --trace " + a).code, 0);
  ASSERT_EQ(moesim(kBase + " --routing dirichlet:0.5 --seed 9 --trace " + b).code, 0);
  const std::string ta = read_file(a);
  EXPECT_EQ(ta.rfind("{\"displayTimeUnit\"", 0), 0u);
  EXPECT_NE(ta.find("\"traceEvents\""), std::string::npos);
  EXPECT_NE(ta.find("\"ph\":\"X\""), std::string::npos);
  EXPECT_NE(ta.find("thread_name"), std::string::npos);
  EXPECT_EQ(ta, read_file(b));
}

TEST(SimulateCli, HistogramFile) {
  const std::string h = temp("hist.csv");
  std::ofstream(h) << "expert,tokens\n0,100\n1,10\n2,10\n3,10\n4,10\n5,10\n6,10\n7,10\n";
  const CliRun r = moesim(kBase + " --routing file:" + h + " --format csv");
  EXPECT_EQ(r.code, 0) << r.err;
  const std::string bad = temp("bad.csv");
  std::ofstream(bad) << "expert,tokens\n0,100\n1,x\n";
  expect_input_error(kBase + " --routing file:" + bad, "line 3");
  const std::string short_hist = temp("short.csv");
  std::ofstream(short_hist) << "5\n6\n";
  expect_input_error(kBase + " --routing file:" + short_hist, "the model has 8");
  expect_input_error(kBase + " --routing file:/nonexistent/x.csv", "cannot open");
}

TEST(SimulateCli, BadInputIsOneLineExitTwo) {
  expect_input_error(kBase + " --routing pareto:2", "--routing");
  expect_input_error(kBase + " --routing zipf:-1", "must be a number > 0");
  expect_input_error(kBase + " --seed abc", "--seed");
  expect_input_error(kBase + " --contention maybe", "--contention");
  expect_input_error(kBase + " --network-model packets", "--network-model");
  expect_input_error(kBase + " --trace /nonexistent/dir/t.json", "--trace");
  expect_input_error(kBase + " --ep 3", "ep");
}

}  // namespace
