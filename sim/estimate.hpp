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
#include "sim/optimizer.hpp"
#include "sim/step.hpp"

namespace moesim::sim {

struct EstimateInput {
  model::ModelSpec model;
  hw::ClusterSpec cluster;
  std::optional<Layout> layout;                     // nullopt: pick one (see choose_layout)
  std::optional<double> tokens;                     // training tokens, for the training totals
  std::optional<double> price_per_device_hour_usd;  // overrides the accelerator's
  StepOptions step_options;
  Objective objective = Objective::time;  // how the automatic layout is ranked
  bool flash_attention = true;            // kernel choice for the automatic layout
};

// Totals for training on `tokens` (CLI.md training.*).
struct TrainingTotals {
  double tokens = 0;
  double wall_s = 0;
  double device_hours = 0;
  double cost_usd = 0;
  double energy_kwh = 0;
  double price_per_device_hour_usd = 0;
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
  std::optional<StepResult> step;          // absent when no valid layout exists
  std::optional<TrainingTotals> training;  // with --tokens and a step
  std::int64_t layouts_searched = 0;       // automatic layout: how many fitted
  // Modelling choices and caveats the reader should see (flagged in every output).
  std::vector<std::string> notes;
};

// Infeasible configurations are answers (fits = false), not errors; an explicit layout must
// have passed validate() first.
Estimate estimate(const EstimateInput& input);
// The same on a network already built for input.cluster by make_network (a sweep evaluating
// many layouts on one cluster builds it once).
Estimate estimate(const EstimateInput& input, const std::shared_ptr<const Network>& network);

// The network model for a cluster, built once (topology and collective structures cached).
std::shared_ptr<const Network> make_network(const hw::ClusterSpec& cluster);

// Training totals for `tokens` at the step's throughput: wall time, device-hours, cost at
// `price` per device-hour, energy with the step's average power times the PUE.
TrainingTotals training_totals(const StepResult& step, std::int64_t devices, double tokens,
                               double price, double pue);

}  // namespace moesim::sim
