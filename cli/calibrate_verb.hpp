#pragma once
// moesim calibrate: time the reference kernels on this host, fit the efficiency curves and
// write an accelerator preset for it plus the residual report (docs/kernels.md).
#include <string>
#include <vector>

namespace moesim::cli {

int run_calibrate(const std::vector<std::string>& args);

}  // namespace moesim::cli
