#pragma once
#include <string>
#include <vector>

namespace moesim::cli {

// moesim sweep SPEC --out FILE [--format csv|jsonl] [--threads N] [--resume] [--shard i/n]
int run_sweep(const std::vector<std::string>& args);

}  // namespace moesim::cli
