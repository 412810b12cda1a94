#pragma once
// A broken rule in user input, named by its field path ("moe.top_k") and the rule
// ("4 exceeds moe.experts (2)"). io/ adds the file name; front ends print it and exit 2.
#include <string>
#include <vector>

namespace moesim {

struct FieldError {
  std::string path;  // dotted field path, e.g. "moe.experts" or the flag "--ep"
  std::string rule;  // what is wrong, e.g. "60 is not divisible by ep=16"
};

using FieldErrors = std::vector<FieldError>;

}  // namespace moesim
