#pragma once
// Collective cost models: all-reduce, all-gather, reduce-scatter, all-to-all(-v), broadcast
// and point-to-point for a group of devices placed on a Topology, per algorithm, in
// nccl-tests conventions (docs/hardware.md has every formula with its source).
//
// Three ways to ask, sharing one set of formulas:
//  - collective_cost(topology, op, devices, bytes): any explicit group. analyze_group reads
//    the devices' locations once (O(group size), no graph walk) into a GroupStructure: how
//    many ranks share a scale-up domain, the bandwidth each rank gets inside and across
//    domains, the torus extents; the cost formulas read only that structure.
//  - CollectiveModel::cost(op, GroupShape{size, stride}, bytes): the fast path for the step
//    model. The topology is built once; each group shape's structure is computed once and
//    cached, so a call is a hash lookup and a few dozen floating-point operations.
//  - graph_collective_cost(topology, op, groups, bytes): the flow-level reference. Every
//    message of every algorithm step is routed over the graph (shortest paths, or
//    dimension-order on tori); flows of the step that cross the same link share it; the
//    step takes its slowest link plus its longest path latency. Slow; tests check that the
//    structural formulas agree with it.
//
// Sizes follow nccl-tests: `bytes` is the whole buffer (the gathered output of all-gather,
// the input of reduce-scatter, each rank's send buffer for all-to-all); algbw = bytes /
// time; busbw = algbw * 2(n-1)/n for all-reduce, * (n-1)/n for all-gather, reduce-scatter
// and all-to-all, * 1 for broadcast and p2p (nccl-tests doc/PERFORMANCE.md).
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hardware/cluster.hpp"
#include "hardware/topology.hpp"

namespace moesim::hw {

enum class CollectiveOp : std::uint8_t {
  all_reduce,
  all_gather,
  reduce_scatter,
  all_to_all,
  broadcast,
  p2p
};

enum class Algorithm : std::uint8_t {
  automatic,     // the fastest that applies, as NCCL's tuner picks
  ring,          // NCCL ring (one channel per NIC across domains); pipelined chain for broadcast
  tree,          // NCCL double binary tree across domains, chain inside
  hierarchical,  // inside each domain, then across (NVLS-tree / 2D all-to-all of Tutel)
  nvls,          // NVLink SHARP: the switch reduces (one domain)
  torus,         // per-dimension bidirectional rings on a torus, all dimensions at once
  direct,        // every pair at once (all-to-all, p2p)
  none           // nothing to do: one rank
};

std::string_view name(CollectiveOp op) noexcept;
std::string_view name(Algorithm a) noexcept;
std::optional<CollectiveOp> parse_collective_op(std::string_view text) noexcept;
std::optional<Algorithm> parse_algorithm(std::string_view text) noexcept;
std::span<const std::string_view> collective_op_names() noexcept;
std::span<const std::string_view> algorithm_names() noexcept;

// nccl-tests bus-bandwidth factor: busbw = algbw * factor.
double bus_bandwidth_factor(CollectiveOp op, int ranks) noexcept;

struct CollectiveCost {
  double time_s = 0;
  Algorithm algorithm = Algorithm::none;
  double algbw_Bps = 0;
  double busbw_Bps = 0;
  double latency_s = 0;  // the part of time_s that does not scale with bytes
  bool feasible = true;  // false: the requested algorithm does not apply to this group
};

// What the formulas read about a group. Bandwidths are effective (line rate times the
// link's efficiency), per rank and per direction unless said otherwise.
struct GroupStructure {
  int ranks = 1;
  int domains = 1;      // scale-up domains the group touches
  int per_domain = 1;   // ranks in the fullest domain (k)
  bool uniform = true;  // every touched domain holds per_domain ranks

  // Inside a domain (switched or full mesh).
  double local_bw_Bps = 0;     // per rank, for rings and all-to-all
  double local_latency_s = 0;  // one transfer inside a domain
  double nvls_bw_Bps = 0;      // per rank through a reducing switch (0: no NVLS)

  // Inside a domain that is a torus slice.
  bool torus = false;
  bool box = false;                                   // the ranks of a slice form a (strided) box
  int torus_dims_used = 0;                            // dimensions with extent > 1
  std::array<int, 3> extent = {1, 1, 1};              // ranks along each dimension
  std::array<int, 3> spacing = {1, 1, 1};             // links between neighbouring ranks
  std::array<int, 3> step_hops = {1, 1, 1};           // links a ring step's longest message crosses
  std::array<double, 3> dim_ring_bw_Bps = {0, 0, 0};  // bidirectional ring per dimension
  std::array<double, 3> dim_bisection_Bps = {0, 0, 0};  // across the middle, one direction
  double injection_bw_Bps = 0;  // all of a rank's torus links, one direction
  double hop_latency_s = 0;
  int diameter_hops = 0;

  // Across domains.
  double net_bw_rank_Bps = 0;    // a rank's share of its NIC
  double net_bw_domain_Bps = 0;  // all NICs the group uses in one domain
  double net_latency_s = 0;      // worst transfer between two of the group's domains
  double a2a_net_factor = 1;     // share of NIC rate left after leaf up-link oversubscription

  // Point-to-point between the group's first two ranks.
  double p2p_bw_Bps = 0;
  double p2p_latency_s = 0;
};

// Reads the devices' locations into a GroupStructure; O(devices.size()). `siblings`: every
// other group of the same shape runs the same collective at once (a parallel layout's
// groups), so links and NICs that siblings share are shared.
GroupStructure analyze_group(const Topology& topology, std::span<const int> devices,
                             bool siblings = false);

// The algorithms that apply to `op` on this group, fastest-first order not implied.
std::vector<Algorithm> applicable_algorithms(const GroupStructure& g, CollectiveOp op);

CollectiveCost collective_cost(const GroupStructure& g, CollectiveOp op, double bytes,
                               Algorithm algorithm = Algorithm::automatic) noexcept;
CollectiveCost collective_cost(const Topology& topology, CollectiveOp op,
                               std::span<const int> devices, double bytes,
                               Algorithm algorithm = Algorithm::automatic);

// All-to-all with uneven sizes. `send_bytes` is n x n, row-major: [i * n + j] = bytes rank
// i sends to rank j. The busiest rank's sends and receives, inside and across domains, set
// the time (direct algorithm); busbw uses the mean bytes per rank.
CollectiveCost all_to_all_v_cost(const Topology& topology, std::span<const int> devices,
                                 std::span<const double> send_bytes);
// Summary form for the step model: ranks send `mean_bytes` on average and the busiest
// sends and receives `max_over_mean` times that, spread evenly over its peers.
CollectiveCost all_to_all_v_cost(const GroupStructure& g, double mean_bytes,
                                 double max_over_mean) noexcept;

// Flow-level reference over the graph for ring, direct, torus and p2p (automatic: the
// fastest of those that apply). `groups` run the collective at the same time.
CollectiveCost graph_collective_cost(const Topology& topology, CollectiveOp op,
                                     std::span<const std::vector<int>> groups, double bytes,
                                     Algorithm algorithm = Algorithm::automatic);

// A group of `size` ranks spaced `stride` apart in rank order (rank r on device r), with
// all its sibling groups (same shape, other offsets) running at once unless `siblings` is
// false.
struct GroupShape {
  int size = 1;
  int stride = 1;
  bool siblings = true;
};

// The fast path: one topology per cluster, one structure per group shape (cached).
// Thread-safe: concurrent cost() calls share the cache under a reader-writer lock.
class CollectiveModel {
 public:
  explicit CollectiveModel(const ClusterSpec& spec);
  explicit CollectiveModel(std::shared_ptr<const Topology> topology);

  // Throws std::out_of_range when the shape does not fit the cluster.
  CollectiveCost cost(CollectiveOp op, GroupShape shape, double bytes,
                      Algorithm algorithm = Algorithm::automatic) const;
  double time_s(CollectiveOp op, GroupShape shape, double bytes) const {
    return cost(op, shape, bytes).time_s;
  }
  CollectiveCost all_to_all_v(GroupShape shape, double mean_bytes, double max_over_mean) const;
  const GroupStructure& structure(GroupShape shape) const;
  const Topology& topology() const noexcept { return *topology_; }
  std::shared_ptr<const Topology> shared_topology() const noexcept { return topology_; }

 private:
  std::shared_ptr<const Topology> topology_;
  mutable std::shared_mutex mutex_;
  mutable std::unordered_map<std::uint64_t, std::unique_ptr<GroupStructure>> cache_;
};

}  // namespace moesim::hw
