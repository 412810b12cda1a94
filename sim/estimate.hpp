#pragma once
// The analytic estimate for one (model, cluster, layout): the struct every front end renders.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hardware/cluster.hpp"
#include "model/spec.hpp"
#include "model/workload.hpp"
#include "sim/layout.hpp"
#include "sim/memory.hpp"

namespace moesim::sim {

struct EstimateInput {
  model::ModelSpec model;
  hw::ClusterSpec cluster;
  std::optional<Layout> layout;  // nullopt: pick one (see choose_layout)
  std::optional<double> tokens;  // training tokens, for the training totals
  std::optional<double> price_per_device_hour_usd;  // overrides the accelerator's
};

struct Estimate {
  std::string model_name;
  std::string cluster_name;
  std::string accelerator_name;
  std::int64_t devices = 0;
  model::ModelTotals model;
  Layout layout;
  bool layout_chosen = false;  // true when moesim picked the layout
  MemoryBreakdown memory;
  double hbm_bytes = 0;
  bool fits = false;
  std::optional<double> tokens;
  // Modelling choices and caveats the reader should see (flagged in every output).
  std::vector<std::string> notes;
};

// Throws nothing for infeasible configurations (they report fits = false); layout rules
// broken by an explicit layout come back as FieldErrors from validate() before this.
Estimate estimate(const EstimateInput& input);

// Until the step model exists, the automatic layout is the one that fits with the least
// model parallelism (tp, then pp), ep as large as the experts allow; see docs/layout.md.
std::optional<Layout> choose_layout(const model::ModelSpec& spec, const hw::ClusterSpec& cluster,
                                    std::int64_t global_batch);

}  // namespace moesim::sim
