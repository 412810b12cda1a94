#pragma once
// One function per verb: takes the arguments after the verb, returns the exit code.
// Bad input throws io::InputError or a program_options error (main turns them into exit 2).
#include <string>
#include <vector>

namespace moesim::cli {

int run_estimate(const std::vector<std::string>& args);
int run_presets(const std::vector<std::string>& args);
int run_optimize(const std::vector<std::string>& args);
int run_validate(const std::vector<std::string>& args);

}  // namespace moesim::cli
