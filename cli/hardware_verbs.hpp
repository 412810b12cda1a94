#pragma once
// Verbs over the hardware layer alone (no model): `moesim collective`.
#include <string>
#include <vector>

namespace moesim::cli {

// moesim collective --cluster NAME|FILE [--devices N] --op OP [--group N] --bytes SIZE
//   [--placement packed|strided:S] [--algorithm auto|ring|...] [--siblings]
//   [--sweep-bytes [2|4]] [--format table|json|csv]
int run_collective(const std::vector<std::string>& args);

}  // namespace moesim::cli
