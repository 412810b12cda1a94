#pragma once
// The layout optimizer: enumerate every valid layout of a model on a cluster, prune by
// memory, rank by time, cost or energy per token (docs/step_model.md, "Optimizer").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hardware/cluster.hpp"
#include "model/spec.hpp"
#include "sim/layout.hpp"
#include "sim/memory.hpp"
#include "sim/step.hpp"

namespace moesim::sim {

enum class Objective { time, cost, energy };

struct OptimizerOptions {
  Objective objective = Objective::time;
  std::size_t top = 10;
  // Sequences per step; 0 = about 4 Mi tokens (docs/layout.md), rounded up per layout to a
  // multiple of dp * micro_batch.
  std::int64_t global_batch = 0;
  MatrixDtype dtype = MatrixDtype::bf16;
  bool flash_attention = true;
  std::vector<std::int64_t> micro_batches = {1, 2, 4, 8};
  std::vector<int> zero_stages = {0, 1, 2, 3};
  std::vector<Recompute> recompute = {Recompute::none, Recompute::selective, Recompute::full};
  int max_virtual_stages = 4;
  // Fixed by the user (flags given): only layouts that match.
  std::optional<std::int64_t> dp, tp, pp, ep;
  std::optional<int> zero;
  std::optional<Recompute> fixed_recompute;
  std::optional<std::int64_t> micro_batch;
  std::optional<int> virtual_stages;
  int threads = 0;  // 0 = all hardware threads
};

struct RankedLayout {
  Layout layout;
  StepResult step;
  MemoryBreakdown memory;
  double objective_per_token = 0;  // seconds, USD or joules per token
};

struct OptimizerResult {
  std::vector<RankedLayout> top;  // best first
  std::int64_t enumerated = 0;    // layouts considered
  std::int64_t valid = 0;         // passing validate()
  std::int64_t fitting = 0;       // fitting in HBM
  std::string why;                // one paragraph: why the winner wins
};

// Seconds, dollars or joules per trained token for one evaluated layout.
double objective_per_token(Objective objective, const StepResult& step, const Layout& layout,
                           const hw::ClusterSpec& cluster, double price_per_device_hour_usd,
                           double pue);

OptimizerResult optimize(const model::ModelSpec& spec, const hw::ClusterSpec& cluster,
                         const StepModel& step_model, const OptimizerOptions& options,
                         double price_per_device_hour_usd);

const char* to_string(Objective o);

}  // namespace moesim::sim
