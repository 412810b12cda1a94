// `moesim sweep` across processes: under `mpirun -n 2` (rank 0 writes the file) and with
// --shard, the rows are exactly the single-process rows as a set (issue 8's acceptance).
// Skipped when this build has no MPI or mpirun is not installed (scripts/install-deps.sh
// installs OpenMPI, so CI runs it).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli/cli_runner.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines_of(const fs::path& path) {
  return moesim::test::lines_of(path.string());
}

// The header (CSV) first, then the rows sorted: a sweep writes rows in completion order.
std::vector<std::string> as_set(std::vector<std::string> lines, bool header = true) {
  if (!lines.empty()) std::sort(lines.begin() + (header ? 1 : 0), lines.end());
  return lines;
}

// Equal as sets, without printing two whole files when they are not.
::testing::AssertionResult same_rows(const std::vector<std::string>& a,
                                     const std::vector<std::string>& b) {
  if (a == b) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a.size() << " lines against " << b.size()
                                       << " lines, or the same count with different rows";
}

int shell(const std::string& cmd) {
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// mpirun as root needs its consent; --oversubscribe lets two ranks run on any core count;
// shared memory and self are the only transports one machine needs.
const char* kMpirun =
    "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader "
    "mpirun --oversubscribe -n 2 ";

class SweepMpi : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef MOESIM_HAVE_MPI
    GTEST_SKIP() << "moesim was built without MPI (MOESIM_WITH_MPI=OFF)";
#endif
    if (shell("command -v mpirun >/dev/null 2>&1") != 0) GTEST_SKIP() << "mpirun is not installed";
    dir_ = fs::path(::testing::TempDir()) /
           ("moesim_sweep_mpi_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    spec_ = dir_ / "spec.json";
    // 3 x 4 x 3 x 5 = 180 points: fitting, infeasible and invalid (ep = 3) ones.
    std::ofstream(spec_) << R"({"verb": "estimate",
      "base": {"model": "mixtral-8x7b", "cluster": "dgx-h100", "devices": 64, "tokens": "1T"},
      "grid": {"set:moe.experts": [8, 16, 32], "ep": [1, 2, 8, 3], "zero": [0, 1, 3]},
      "zip": {"tp": [1, 2, 4, 8, 2], "pp": [1, 2, 1, 1, 4]}})";
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string sweep(const std::string& out, const std::string& extra) const {
    return std::string(MOESIM_CLI_PATH) + " sweep " + spec_.string() + " --out " +
           (dir_ / out).string() + " --quiet " + extra + " >/dev/null 2>" +
           (dir_ / (out + ".err")).string();
  }
  fs::path dir_, spec_;
};

TEST_F(SweepMpi, TwoRanksEqualOneProcess) {
  ASSERT_EQ(shell(sweep("single.csv", "--threads 2")), 0);
  ASSERT_EQ(shell(kMpirun + sweep("mpi.csv", "--threads 1")), 0)
      << lines_of(dir_ / "mpi.csv.err").size() << " lines on stderr";
  const auto single = lines_of(dir_ / "single.csv");
  ASSERT_EQ(single.size(), 181u);
  EXPECT_TRUE(same_rows(as_set(lines_of(dir_ / "mpi.csv")), as_set(single)));

  // JSONL as well, and a shard under mpirun is that shard alone.
  ASSERT_EQ(shell(sweep("single.jsonl", "--threads 2")), 0);
  ASSERT_EQ(shell(kMpirun + sweep("mpi.jsonl", "--threads 2")), 0);
  EXPECT_TRUE(same_rows(as_set(lines_of(dir_ / "mpi.jsonl"), false),
                        as_set(lines_of(dir_ / "single.jsonl"), false)));
  ASSERT_EQ(shell(sweep("shard.csv", "--shard 1/3")), 0);
  ASSERT_EQ(shell(kMpirun + sweep("mpi_shard.csv", "--shard 1/3")), 0);
  EXPECT_TRUE(
      same_rows(as_set(lines_of(dir_ / "mpi_shard.csv")), as_set(lines_of(dir_ / "shard.csv"))));
  EXPECT_EQ(lines_of(dir_ / "shard.csv").size(), 61u);
}

TEST_F(SweepMpi, ResumeUnderMpiCompletesACutFile) {
  ASSERT_EQ(shell(sweep("single.csv", "--threads 2")), 0);
  const auto single = lines_of(dir_ / "single.csv");
  // A killed run: the header, 17 rows and half of the 18th.
  {
    std::ofstream cut(dir_ / "cut.csv", std::ios::binary);
    for (std::size_t i = 0; i < 18; ++i) cut << single[i] << '\n';
    cut << single[18].substr(0, single[18].size() / 2);
  }
  ASSERT_EQ(shell(kMpirun + sweep("cut.csv", "--resume --threads 1")), 0);
  EXPECT_TRUE(same_rows(as_set(lines_of(dir_ / "cut.csv")), as_set(single)));
  // Without --resume the existing file is an input error, reported once, by rank 0.
  EXPECT_NE(shell(kMpirun + sweep("cut.csv", "--threads 1")), 0);
  std::ifstream err(dir_ / "cut.csv.err");
  std::stringstream text;
  text << err.rdbuf();
  const std::string s = text.str();
  std::size_t errors = 0;
  for (std::size_t at = s.find("error: --out"); at != std::string::npos;
       at = s.find("error: --out", at + 1))
    ++errors;
  EXPECT_EQ(errors, 1u) << s;
  EXPECT_TRUE(same_rows(as_set(lines_of(dir_ / "cut.csv")), as_set(single)));  // untouched
}

// A bad spec fails on every rank alike: one line from rank 0, exit 2, no output file.
TEST_F(SweepMpi, BadSpecIsReportedOnceByRankZero) {
  std::ofstream(spec_) << R"({"verb": "estimate", "grid": {"tp": [1, 2]}, "bogus": 1})";
  EXPECT_EQ(shell(kMpirun + sweep("bad.csv", "--threads 1")), 2);
  const auto err = lines_of(dir_ / "bad.csv.err");
  std::size_t errors = 0;
  for (const auto& l : err) errors += l.rfind("error: ", 0) == 0 ? 1 : 0;
  EXPECT_EQ(errors, 1u) << err.size() << " lines on stderr";
  EXPECT_FALSE(fs::exists(dir_ / "bad.csv"));
}

}  // namespace
