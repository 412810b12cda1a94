#pragma once
// The budget planner (`moesim plan`): for a training budget and a cluster, a grid of candidate
// architectures (depth, width, expert count, granularity, expert-layer frequency, tokens), each
// scored by a loss law and by the step model at its best layout; infeasible candidates are
// dropped with a reason; the loss/cost and loss/time Pareto frontiers and the best pick come
// out. docs/plan.md documents the grid, the mapping to the laws and every choice.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hardware/cluster.hpp"
#include "model/laws/law.hpp"
#include "model/spec.hpp"
#include "sim/layout.hpp"
#include "sim/step.hpp"

namespace moesim::sim {

enum class BudgetKind { gpu_hours, flops, usd };

struct Budget {
  BudgetKind kind = BudgetKind::flops;
  double value = 0;  // device-hours, training FLOPs or US dollars
};

const char* to_string(BudgetKind kind);

// The candidate grid. Every axis multiplies; dense candidates (experts 1) take granularity 1 and
// moe_every 1 only; MoE candidates need experts divisible by G with at least 2 experts' worth of
// parameters per active one (experts / G >= 2).
struct PlanGrid {
  // Depth: transformer blocks. Family mode: d_model = 64 * n_blocks * width factor (Krajewski
  // et al. 2024, Ludziejewski et al. 2025). Base-model mode: the base's layers times the factor
  // in `depth_factors` (n_blocks is then unused).
  std::vector<std::int64_t> n_blocks = {4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64};
  std::vector<double> depth_factors = {0.5, 0.75, 1, 1.5, 2};
  std::vector<double> width_factors = {0.75, 1, 1.5};
  std::vector<std::int64_t> experts = {1, 8, 16, 32, 64, 128};
  std::vector<std::int64_t> granularities = {1, 2, 4, 8};
  std::vector<std::int64_t> moe_every = {1, 2};
  // Tokens: the budget buys D at full spend; each fraction f is also a candidate (f D tokens,
  // f of the budget), which is what gives the loss/cost frontier its shape.
  std::vector<double> token_fractions = {1, 0.5, 0.25, 0.125};
};

// The layout search per architecture (docs/plan.md, "Layout search").
enum class PlanSearch {
  fast,  // optimize() with ZeRO-1, selective recompute, micro-batch 1, 1F1B; when nothing
         // fits, ZeRO-3 with full recompute
  full   // optimize()'s whole space
};

struct PlanOptions {
  Budget budget;
  PlanGrid grid;
  std::optional<model::ModelSpec> base;             // nullopt: the Krajewski/Ludziejewski family
  model::laws::Law dense_law;                       // scores experts == 1
  model::laws::Law moe_law;                         // scores experts > 1
  std::optional<double> deadline_s;                 // drop candidates whose training takes longer
  std::optional<hw::ClusterSpec> serve_cluster;     // drop weights that do not fit it
  double serve_memory_fraction = 0.5;               // of the serving cluster's HBM for weights
  std::optional<double> price_per_device_hour_usd;  // else the accelerator's
  StepOptions step_options;
  PlanSearch search = PlanSearch::fast;
  int threads = 0;  // 0 = all hardware threads
};

// Why a candidate was dropped, in the order they are checked (each candidate counts once).
enum class DropReason {
  law_not_applicable,  // a Krajewski law at another expansion rate (or dense/MoE mismatch)
  training_memory,     // no layout fits the cluster's HBM
  serving_memory,      // bf16 weights exceed the serving cluster's memory share
  deadline,            // training takes longer than --deadline
  count
};
const char* to_string(DropReason reason);

struct PlanCandidate {
  // Architecture.
  std::int64_t layers = 0;
  std::int64_t d_model = 0;
  std::int64_t d_ff = 0;
  std::int64_t experts = 1;
  std::int64_t granularity = 1;
  std::int64_t top_k = 1;
  std::int64_t moe_every = 1;
  std::int64_t d_ff_expert = 0;
  double params_total = 0;
  double params_active = 0;
  double flops_per_token = 0;  // training, forward + backward, no recompute
  // Training.
  double token_fraction = 1;
  double tokens = 0;
  double loss = 0;
  std::string law;
  bool extrapolated = false;
  bool in_fitted_range = true;
  double wall_s = 0;
  double device_hours = 0;
  double cost_usd = 0;
  double tokens_per_s = 0;
  double mfu = 0;
  Layout layout;
};

struct PlanResult {
  std::int64_t candidates = 0;     // architectures x token fractions
  std::int64_t architectures = 0;  // distinct architectures (one layout search each)
  std::int64_t kept_count = 0;
  std::array<std::int64_t, static_cast<std::size_t>(DropReason::count)> dropped{};
  std::vector<PlanCandidate> kept;           // every candidate that passed, in grid order
  std::optional<PlanCandidate> best;         // lowest loss within budget and deadline
  std::vector<PlanCandidate> frontier_cost;  // loss vs cost, by cost ascending
  std::vector<PlanCandidate> frontier_time;  // loss vs wall time, by time ascending
  double price_per_device_hour_usd = 0;
  std::vector<std::string> notes;
  std::int64_t dropped_total() const;
};

// The architecture of one grid point (validate(spec) passes for every grid point plan() uses).
model::ModelSpec plan_model(const std::optional<model::ModelSpec>& base, std::int64_t n_blocks,
                            double depth_factor, double width_factor, std::int64_t experts,
                            std::int64_t granularity, std::int64_t moe_every);

// Indices of the points not dominated in (x, loss), both minimized, sorted by x ascending.
// Of equal points only the first is kept, so the result is mutually non-dominated.
std::vector<std::size_t> pareto_front(const std::vector<double>& x,
                                      const std::vector<double>& loss);

// Throws std::invalid_argument for a non-positive budget or an empty grid axis.
PlanResult plan(const hw::ClusterSpec& cluster, const PlanOptions& options);

}  // namespace moesim::sim
