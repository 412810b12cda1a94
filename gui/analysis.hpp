#pragma once
// The window's slower views, as plain functions over sim/ and model/ (no widgets): the loss law
// along the expert count, the loss/cost frontier of `moesim plan` around the current model,
// and the sweep panel's grid. Each runs on a worker thread; none computes a number itself.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gui/estimate_request.hpp"
#include "sim/plan.hpp"

namespace moesim::gui {

// The loss law evaluated for the current model with the expert count replaced, E = 1, 2, 4,
// ..., 512 (everything else kept; top-k is capped at E where it would exceed it).
struct LossPoint {
  std::int64_t experts = 0;
  double loss = 0;
  bool top_k_capped = false;
};
struct LossCurve {
  std::vector<LossPoint> points;
  std::string law;
  std::string error;  // why there is no curve ("" when there is one)
};
LossCurve loss_vs_experts(const EstimateRequest& request);

// `moesim plan` on a small grid around the current model (docs/gui.md): the budget is the
// current configuration's device-hours, the law the chosen one.
struct Frontier {
  sim::PlanResult plan;
  std::vector<std::string> cli_args;  // `moesim plan` arguments that give the same plan
  std::string error;
};
// `device_hours`: the current configuration's training.device_hours.
Frontier loss_cost_frontier(const EstimateRequest& request, double device_hours);

// The sweep panel: up to two axes over the form's request.
struct SweepAxisChoice {
  std::string key;  // one of sweep_axis_keys()
  double from = 1;
  double to = 1;
  double times = 2;  // > 1: geometric (from, from*times, ...); else `step` is used
  double step = 0;
};
// "experts", "top_k", "d_ff_expert", "moe_every", "first_dense_layers", "shared_experts",
// "devices", "tokens".
const std::vector<std::string>& sweep_axis_keys();
// The values of an axis; throws std::invalid_argument for a range that is empty or longer
// than 4096 points.
std::vector<double> axis_values(const SweepAxisChoice& axis);
// The request at one point (the axis value written the way the CLI flag takes it).
EstimateRequest request_at(const EstimateRequest& base, const std::string& key, double value);

struct SweepPoint {
  std::vector<double> axes;  // one value per axis
  std::string status;        // "ok", "infeasible" (does not fit), "invalid", "cancelled"
  EstimateOutcome outcome;
};
struct SweepResult {
  std::vector<std::string> keys;
  std::vector<SweepPoint> points;  // grid order, last axis fastest
  bool cancelled = false;
};
// Runs every point on `threads` worker threads (sim::run_sweep). `done` counts finished
// points; setting `cancel` makes the remaining points "cancelled" quickly.
SweepResult run_gui_sweep(const EstimateRequest& base, const std::vector<SweepAxisChoice>& axes,
                          int threads, std::atomic<std::int64_t>& done,
                          const std::atomic<bool>& cancel);

}  // namespace moesim::gui
