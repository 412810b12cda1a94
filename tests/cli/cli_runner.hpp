#pragma once
// Running the built `moesim` binary (MOESIM_CLI_PATH) from a test as a user would: exit
// code, stdout and stderr apart, and the one-line error contract of CLI.md. Shared by the
// CLI test files.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace moesim::test {

struct CliRun {
  int code = -1;
  std::string out, err;
};

inline std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// A file name of this test process (CTest runs tests as parallel processes: the pid keeps
// their files apart).
inline std::string temp(const std::string& name) {
  return ::testing::TempDir() + "moesim_cli_" + std::to_string(::getpid()) + "_" + name;
}

// Runs the CLI with `args` (shell words), capturing stdout and stderr separately.
inline CliRun moesim(const std::string& args) {
  static int counter = 0;
  const std::string base = temp("run" + std::to_string(++counter));
  const std::string cmd = std::string(MOESIM_CLI_PATH) + " " + args + " >" + base + ".out 2>" +
                          base + ".err </dev/null";
  const int status = std::system(cmd.c_str());
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(base + ".out");
  r.err = read_file(base + ".err");
  return r;
}

// The lines of a file, without their newlines (a sweep's output, one row a line).
inline std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

inline std::size_t lines(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Bad input: exit code 2, nothing on stdout, exactly one line on stderr that starts with
// "error: " and names `field`.
inline void expect_input_error(const std::string& args, const std::string& field) {
  SCOPED_TRACE(args);
  const CliRun r = moesim(args);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(field), std::string::npos) << r.err;
}

}  // namespace moesim::test
