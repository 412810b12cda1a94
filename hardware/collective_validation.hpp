#pragma once
// Collective predictions against measured nccl-tests figures (reference/hardware.md), as
// rows for `moesim validate` (docs/validation.md) and the validation tests. Every row says
// where the measurement comes from; a row whose figure also set a model parameter is marked
// `calibration` and is not evidence for the model.
#include <functional>
#include <string>
#include <vector>

#include "hardware/cluster.hpp"

namespace moesim::hw {

struct CollectiveValidationRow {
  std::string case_name;     // e.g. "8x H100 all-gather, ring, 8 GiB: bus bandwidth"
  std::string cluster;       // preset the prediction used
  double measured_GBps = 0;  // published figure, GB/s (1e9 B/s)
  double predicted_GBps = 0;
  double error = 0;          // (predicted - measured) / measured
  std::string source;        // where the measured figure comes from
  bool calibration = false;  // the measured figure set a parameter of the prediction
  std::string note;          // caveats worth printing next to the row
};

// Loads a cluster preset by name with a device count (io::load_cluster in practice; the
// hardware layer does not read files).
using ClusterLoader = std::function<ClusterSpec(const std::string& preset, int devices)>;

// The rows, in a fixed order. Presets used: dgx-h100, dgx-a100, h800.
std::vector<CollectiveValidationRow> collective_validation_rows(const ClusterLoader& load);

}  // namespace moesim::hw
