#pragma once
// The event-driven simulator: one optimizer step of (model, cluster, layout) played out on
// a discrete-event engine, with per-device compute, communication and data-parallel
// streams, a dependency graph of micro-batch tasks, a flow-level network on the cluster's
// topology (max-min fair sharing of links) and uneven expert load. docs/simulate.md has the
// design and the modelling choices.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hardware/cluster.hpp"
#include "model/spec.hpp"
#include "sim/estimate.hpp"
#include "sim/event/routing.hpp"
#include "sim/event/timeline.hpp"
#include "sim/layout.hpp"
#include "sim/network.hpp"
#include "sim/step.hpp"

namespace moesim::sim::event {

// How collectives load the network: every flow its own max-min share (flows), or the flows of
// one collective in lockstep sharing links with other collectives by max-min (coflows:
// cheaper, for large simulations). automatic: flows up to coflow_threshold_ranks.
enum class NetworkModel { automatic, flows, coflows };

struct SimulateOptions {
  RoutingSpec routing;     // default balanced: every expert gets the mean load
  std::uint64_t seed = 1;  // seeds the routing's random numbers
  bool trace = false;      // record a Timeline
  std::size_t max_trace_spans = 4'000'000;
  // Also simulate balanced routing, for imbalance.slowdown (skipped when routing is
  // balanced: the slowdown is then 1).
  bool compare_balanced = true;
  // Sibling expert-parallel groups of a stage (the other dp/ep and tp offsets) whose
  // all-to-all flows are simulated next to the representative group's, to contend for
  // shared links.
  int max_sibling_groups = 8;
  NetworkModel network = NetworkModel::automatic;
  // false: every collective takes its time alone (no link sharing between collectives), the
  // analytic model's assumption; for validating the schedule against it.
  bool contention = true;
  std::int64_t coflow_threshold_ranks = 256;  // simulated ranks (pp * ep)
  // Build a pattern's routes from an earlier pattern's through a checked automorphism of the
  // network where they are exactly the routes the Router computes (false: compute all).
  bool routes_by_symmetry = true;
};

struct SimulationStats {
  std::int64_t events = 0;  // events processed by the engine
  double wall_s = 0;        // host seconds the simulation took
  double setup_s = 0;       // of which outside the event handling: expert-load sampling, routes
                            // and flow patterns (built on first use)
  double simulated_s = 0;   // simulated seconds (the step)
  std::int64_t ranks = 0;   // devices simulated task by task (representatives)
  std::int64_t tasks = 0;   // compute tasks run
  std::int64_t collectives = 0;         // collectives run
  std::int64_t flows = 0;               // network flows started
  std::int64_t flow_solves = 0;         // max-min recomputations
  std::int64_t routes = 0;              // distinct (source, destination) routes computed
  std::int64_t routes_by_symmetry = 0;  // routes moved from another pattern's instead
  double max_over_mean = 1;             // busiest rank's routed tokens over the mean (MoE layers)
  double slowdown = 1;                  // step time over the same simulation with balanced routing
  double tokens_dropped = 0;   // token-expert assignments past capacity, whole cluster, step
  double tokens_routed = 0;    // token-expert assignments, whole cluster, step
  double balanced_step_s = 0;  // the balanced simulation's step
  bool coflows = false;        // the network model used (NetworkModel)
};

// Collectives of one kind that ran longer than alone, summed over the step.
struct Contention {
  std::string kind;          // "ep all-to-all", ...
  double extra_s = 0;        // seconds past their time alone
  double alone_s = 0;        // their time alone
  std::string sharing_with;  // kinds of traffic that ran meanwhile
};

struct SimulationResult {
  StepResult step;  // the simulated step, in the analytic model's terms
  SimulationStats stats;
  Timeline timeline;
  std::vector<std::string> notes;
  std::vector<Contention> contention;
};

// Simulates one step; the layout must be valid (validate() empty). `network` is the cluster's
// (built once; its topology and collective costs are shared).
SimulationResult simulate_step(const model::ModelSpec& spec, const hw::ClusterSpec& cluster,
                               const ClusterNetwork& network, const Layout& layout,
                               const StepOptions& step_options, const SimulateOptions& options);

// `moesim simulate`: the analytic estimate (layout choice, memory, notes) with its step
// replaced by the simulated one, and the simulation's own figures.
struct Simulation {
  Estimate estimate;
  std::optional<StepResult> analytic_step;
  SimulationStats stats;
  Timeline timeline;
};
Simulation simulate(const EstimateInput& input, const SimulateOptions& options);

}  // namespace moesim::sim::event
