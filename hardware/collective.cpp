#include "hardware/collective.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

namespace moesim::hw {
namespace {

// Launch latency of one collective: the base latency of NCCL 2.7's tuning model for the
// ring LL protocol (src/graph/tuning.cc, 3.6 us; reference/hardware.md). There is no
// published TPU figure; the same value is used there (docs/hardware.md).
constexpr double kBaseLatency_s = 3.6e-6;
constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr std::array<std::string_view, 6> kOpNames = {"all-reduce", "all-gather", "reduce-scatter",
                                                      "all-to-all", "broadcast",  "p2p"};
constexpr std::array<std::string_view, 8> kAlgorithmNames = {
    "auto", "ring", "tree", "hierarchical", "nvls", "torus", "direct", "none"};

double div_or_inf(double a, double b) noexcept {
  return b > 0 ? a / b : kInf;
}
int ceil_log2(int x) noexcept {
  int r = 0;
  while ((1 << r) < x && r < 31) ++r;
  return r;
}

// One algorithm's estimate before the launch latency: a latency part and a transfer part.
struct Estimate {
  double latency_s = 0;
  double transfer_s = 0;
  double total() const noexcept { return latency_s + transfer_s; }
  bool finite() const noexcept { return std::isfinite(latency_s) && std::isfinite(transfer_s); }
};

// ---- formulas on a GroupStructure -------------------------------------------------------

// Bandwidth of a flat ring over the whole group: inside a domain the rank's scale-up share;
// across domains NCCL runs one ring (channel) per NIC, so each domain boundary is crossed
// once per channel and a domain's NICs together carry the ring (NCCL channels, PXN).
double ring_bw(const GroupStructure& g) noexcept {
  if (g.domains <= 1) return g.local_bw_Bps;
  const double local = g.per_domain > 1 ? g.local_bw_Bps : kInf;
  return std::min(local, g.net_bw_domain_Bps);
}
double ring_step_latency(const GroupStructure& g) noexcept {
  if (g.domains <= 1) return g.local_latency_s;
  return std::max(g.net_latency_s, g.per_domain > 1 ? g.local_latency_s : 0.0);
}

// Ring all-reduce 2(n-1) steps of S/n, all-gather and reduce-scatter n-1 steps (Patarasuk
// and Yuan 2009; formulas.md "Ring all-reduce 2(n-1)/n S/BW").
Estimate ring(const GroupStructure& g, CollectiveOp op, double bytes) noexcept {
  const int n = g.ranks;
  const double bw = ring_bw(g), alpha = ring_step_latency(g);
  if (op == CollectiveOp::broadcast) {
    // Pipelined chain: n-1 hops of latency, every link carries the buffer once.
    return {(n - 1) * alpha, div_or_inf(bytes, bw)};
  }
  const int steps = op == CollectiveOp::all_reduce ? 2 * (n - 1) : n - 1;
  return {steps * alpha, steps * div_or_inf(bytes / n, bw)};
}

// Per-dimension torus collective: D shards, each walking the dimensions in a rotated order
// with bidirectional rings, so every dimension's links are busy at once (scaling book,
// "sharded matmuls": time = V / (2 * num_axes * W_ici) for equal extents, wraparound).
// One phase (reduce-scatter or all-gather) of `bytes`.
Estimate torus_phase(const GroupStructure& g, double bytes) noexcept {
  std::array<int, 3> active{};
  int d = 0;
  for (int i = 0; i < 3; ++i)
    if (g.extent[i] > 1) active[d++] = i;
  if (d == 0) return {};
  std::array<double, 3> load = {0, 0, 0};
  for (int shard = 0; shard < d; ++shard) {
    double prefix = 1;
    for (int r = 0; r < d; ++r) {
      const int dim = active[(shard + r) % d];
      const double m = g.extent[dim];
      load[dim] += bytes / d * (m - 1) / m / prefix;
      prefix *= m;
    }
  }
  Estimate e;
  for (int r = 0; r < d; ++r) {
    const int dim = active[r];
    e.transfer_s = std::max(e.transfer_s, div_or_inf(load[dim], g.dim_ring_bw_Bps[dim]));
    e.latency_s += (g.extent[dim] - 1) * g.step_hops[dim] * g.hop_latency_s;
  }
  return e;
}

// All-to-all among the ranks of one torus slice, `pair_bytes` per ordered pair: the busiest
// middle cut (bisection) or the ranks' own links (injection), whichever is slower (GShard,
// Lepikhin et al. 2020: O(sqrt(D)) on a 2D torus); latency of the diameter.
Estimate torus_all_to_all(const GroupStructure& g, int ranks, double pair_bytes) noexcept {
  Estimate e;
  const double k = ranks;
  for (int i = 0; i < 3; ++i) {
    const int m = g.extent[i];
    if (m < 2) continue;
    // Ranks on either side of the middle of dimension i exchange across it.
    const double frac = std::floor(m / 2.0) * std::ceil(m / 2.0) / (double(m) * m);
    e.transfer_s =
        std::max(e.transfer_s, div_or_inf(frac * k * k * pair_bytes, g.dim_bisection_Bps[i]));
  }
  e.transfer_s = std::max(e.transfer_s, div_or_inf((k - 1) * pair_bytes, g.injection_bw_Bps));
  e.latency_s = g.diameter_hops * g.hop_latency_s;
  return e;
}

bool torus_local(const GroupStructure& g) noexcept {
  return g.torus && g.box && g.torus_dims_used > 0;
}

// Inside-domain all-to-all among k ranks with `pair_bytes` per pair.
Estimate local_all_to_all(const GroupStructure& g, double pair_bytes) noexcept {
  const int k = g.per_domain;
  if (k <= 1) return {};
  if (g.torus) return torus_all_to_all(g, k, pair_bytes);
  // One message per peer (DeepSpeed-MoE, Rajbhandari et al. 2022 Sec. 5: O(p) latency).
  return {(k - 1) * g.local_latency_s, div_or_inf((k - 1) * pair_bytes, g.local_bw_Bps)};
}

// Direct all-to-all: every rank sends S/n to every other, all at once. Inside a domain the
// scale-up links carry (k-1) S/n, the NIC (n-k) S/n; the slower sets the time; one message
// latency per peer (DeepSpeed-MoE's O(p)).
Estimate direct_all_to_all(const GroupStructure& g, double bytes) noexcept {
  const int n = g.ranks, k = g.per_domain;
  const double pair = bytes / n;
  Estimate local = local_all_to_all(g, pair);
  Estimate e = local;
  if (n > k) {
    e.latency_s += (n - k) * g.net_latency_s;
    e.transfer_s =
        std::max(e.transfer_s, div_or_inf((n - k) * pair, g.net_bw_rank_Bps * g.a2a_net_factor));
  }
  return e;
}

// Hierarchical (2D) all-to-all (Tutel 2DH, DeepSpeed-MoE): an all-to-all inside each domain
// that gathers what goes to each peer domain, then one across domains among the ranks with
// the same local index; two separate calls, so the phases add.
Estimate hierarchical_all_to_all(const GroupStructure& g, double bytes) noexcept {
  const int k = g.per_domain, d = g.domains;
  Estimate local = local_all_to_all(g, bytes / k);
  Estimate e = local;
  e.latency_s += (d - 1) * g.net_latency_s;
  e.transfer_s += div_or_inf((d - 1) * bytes / d, g.net_bw_rank_Bps * g.a2a_net_factor);
  return e;
}

// NVLS all-reduce inside one domain: each rank's buffer goes into the switch, which reduces
// it; each rank reads back and multicasts its reduced share: S (k+1)/k each way per rank at
// the in-switch efficiency (NCCL's NVLS algorithm; docs/hardware.md derives the traffic).
Estimate nvls(const GroupStructure& g, double bytes) noexcept {
  const int k = g.per_domain;
  return {2 * g.local_latency_s, div_or_inf(bytes * (k + 1) / k, g.nvls_bw_Bps)};
}

// Inside-domain reduce-scatter + all-gather (all-reduce) or one of them, on `bytes`.
Estimate local_reduce(const GroupStructure& g, CollectiveOp op, double bytes) noexcept {
  const int k = g.per_domain;
  const double phases = op == CollectiveOp::all_reduce ? 2 : 1;
  Estimate best{phases * (k - 1) * g.local_latency_s,
                phases * div_or_inf((k - 1) * bytes / k, g.local_bw_Bps)};
  if (torus_local(g)) {
    Estimate t = torus_phase(g, bytes);
    t.latency_s *= phases, t.transfer_s *= phases;
    if (t.total() < best.total()) best = t;
  }
  if (op == CollectiveOp::all_reduce && g.nvls_bw_Bps > 0) {
    const Estimate t = nvls(g, bytes);
    if (t.total() < best.total()) best = t;
  }
  return best;
}

// Hierarchical: inside each domain, then across the domains among ranks with the same
// local index (S/k each), then inside again; pipelined in chunks, so the slower stage sets
// the transfer time and the latencies add (NCCL NVLS-tree; 2D hierarchical all-reduce).
Estimate hierarchical(const GroupStructure& g, CollectiveOp op, double bytes) noexcept {
  const int k = g.per_domain, d = g.domains;
  const Estimate local = local_reduce(g, op, bytes);
  const double shard = bytes / k;
  Estimate net;
  if (op == CollectiveOp::all_reduce) {
    const Estimate ring_net{2.0 * (d - 1) * g.net_latency_s,
                            div_or_inf(2.0 * (d - 1) / d * shard, g.net_bw_rank_Bps)};
    const Estimate tree_net{2.0 * ceil_log2(d) * g.net_latency_s,
                            div_or_inf(2 * shard, g.net_bw_rank_Bps)};
    net = ring_net.total() <= tree_net.total() ? ring_net : tree_net;
  } else {
    net = {(d - 1) * g.net_latency_s, div_or_inf((d - 1.0) / d * shard, g.net_bw_rank_Bps)};
  }
  return {local.latency_s + net.latency_s, std::max(local.transfer_s, net.transfer_s)};
}

// NCCL double binary tree across domains, chain inside (Sanders, Speck and Traeff 2009;
// NCCL tuning.cc gives tree all-reduce half the bus bandwidth of its links: 2S / BW).
Estimate tree(const GroupStructure& g, CollectiveOp op, double bytes) noexcept {
  const int k = g.per_domain, d = g.domains;
  const double bw = std::min(k > 1 ? g.local_bw_Bps : kInf, g.net_bw_domain_Bps);
  if (op == CollectiveOp::broadcast)
    return {ceil_log2(g.ranks) * ring_step_latency(g), div_or_inf(bytes, ring_bw(g))};
  return {2 * (ceil_log2(d) * g.net_latency_s + (k - 1) * g.local_latency_s),
          div_or_inf(2 * bytes, bw)};
}

Estimate evaluate(const GroupStructure& g, CollectiveOp op, double bytes, Algorithm a) noexcept {
  switch (a) {
    case Algorithm::ring:
      return ring(g, op, bytes);
    case Algorithm::tree:
      return tree(g, op, bytes);
    case Algorithm::hierarchical:
      if (op == CollectiveOp::all_to_all) return hierarchical_all_to_all(g, bytes);
      return hierarchical(g, op, bytes);
    case Algorithm::nvls:
      return nvls(g, bytes);
    case Algorithm::torus: {
      Estimate e = torus_phase(g, bytes);
      if (op == CollectiveOp::all_reduce) e.latency_s *= 2, e.transfer_s *= 2;
      return e;
    }
    case Algorithm::direct:
      if (op == CollectiveOp::p2p) return {g.p2p_latency_s, div_or_inf(bytes, g.p2p_bw_Bps)};
      return direct_all_to_all(g, bytes);
    case Algorithm::automatic:
    case Algorithm::none:
      break;
  }
  return {kInf, kInf};
}

CollectiveCost finish(CollectiveOp op, int ranks, double bytes, Algorithm a, Estimate e) noexcept {
  CollectiveCost c;
  c.algorithm = a;
  if (!e.finite()) {
    c.feasible = false;
    return c;
  }
  c.latency_s = kBaseLatency_s + e.latency_s;
  c.time_s = c.latency_s + e.transfer_s;
  c.algbw_Bps = c.time_s > 0 ? std::max(0.0, bytes) / c.time_s : 0;
  c.busbw_Bps = c.algbw_Bps * bus_bandwidth_factor(op, ranks);
  return c;
}

int torus_distance(const Topology& topo, int a, int b) {
  const auto& ca = topo.location(a).coord;
  const auto& cb = topo.location(b).coord;
  const auto& dims = topo.torus_dims();
  int hops = 0;
  for (int i = 0; i < 3; ++i) {
    const int d = std::abs(ca[i] - cb[i]);
    hops += topo.wraparound() && dims[i] > 2 ? std::min(d, dims[i] - d) : d;
  }
  return hops;
}

// Switch tiers a message between two devices' network endpoints climbs: 1 through a leaf,
// 2 through a spine, 3 through a core; each costs the link latency (half per edge).
int network_level(const Topology& topo, int a, int b) {
  const DeviceLocation& la = topo.location(a);
  const DeviceLocation& lb = topo.location(b);
  if (topo.leaves() <= 1 || la.leaf_group == lb.leaf_group) return 1;
  return la.pod == lb.pod ? 2 : 3;
}

void analyze_torus(const Topology& topo, std::span<const int> devices, int domain, bool siblings,
                   GroupStructure& g) {
  const Link& l = topo.spec().scale_up.link;
  const double b = l.bandwidth_Bps * l.efficiency;
  const auto& dims = topo.torus_dims();
  const bool wrap = topo.wraparound();
  g.torus = true;
  g.hop_latency_s = l.latency_s;
  std::array<std::vector<char>, 3> seen;
  for (int i = 0; i < 3; ++i) seen[i].assign(std::max(1, dims[i]), 0);
  int members = 0;
  for (int dev : devices) {
    const DeviceLocation& loc = topo.location(dev);
    if (loc.domain != domain) continue;
    ++members;
    for (int i = 0; i < 3; ++i) seen[i][loc.coord[i]] = 1;
  }
  bool regular = true;
  long long product = 1;
  for (int i = 0; i < 3; ++i) {
    int m = 0, first = -1, last = -1, gap = 0;
    for (int c = 0; c < dims[i]; ++c) {
      if (!seen[i][c]) continue;
      if (last >= 0) {
        if (gap == 0) gap = c - last;
        if (c - last != gap) regular = false;
      }
      if (first < 0) first = c;
      last = c;
      ++m;
    }
    g.extent[i] = std::max(1, m);
    g.spacing[i] = std::max(1, gap);
    product *= g.extent[i];
  }
  g.box = regular && product == members;
  if (!g.box) {
    // Not a (strided) box: a line of `members` ranks whose neighbours sit as far apart as
    // the farthest consecutive pair in rank order; one link each way.
    int far = 1, prev = -1, head = -1;
    for (int dev : devices) {
      if (topo.location(dev).domain != domain) continue;
      if (prev >= 0) far = std::max(far, torus_distance(topo, prev, dev));
      if (head < 0) head = dev;
      prev = dev;
    }
    const int closing = std::max(far, torus_distance(topo, prev, head));
    g.extent = {members, 1, 1};
    g.spacing = {far, 1, 1};
    g.step_hops = {closing, 1, 1};
    const double share = siblings ? far : 1;
    g.dim_ring_bw_Bps = {b / share, 0, 0};
    g.dim_bisection_Bps = {b / share, 0, 0};
    g.injection_bw_Bps = 2 * b / share;
    g.torus_dims_used = members > 1 ? 1 : 0;
    g.diameter_hops = (members - 1) * far;
    g.local_bw_Bps = b / share;
    g.local_latency_s = closing * l.latency_s;
    return;
  }
  int used = 0, max_share = 1;
  bool hamiltonian = false;
  g.diameter_hops = 0;
  g.injection_bw_Bps = 0;
  for (int i = 0; i < 3; ++i) {
    const int m = g.extent[i], s = g.spacing[i];
    if (m < 2) continue;
    ++used;
    // A ring closes over nearest-neighbour links when the ranks cover the whole wrapped
    // dimension evenly; otherwise it is a line and its return hop uses the other direction
    // (scaling book: a ring without wraparound has half the bandwidth).
    const bool closes = wrap && dims[i] > 2 && m * s == dims[i];
    const double share = siblings ? s : 1;  // sibling groups interleave on the same links
    max_share = std::max(max_share, static_cast<int>(share));
    g.dim_ring_bw_Bps[i] = (closes ? 2 : 1) * b / share;
    g.dim_bisection_Bps[i] = (members / m) * (closes ? 2 : 1) * b / share;
    g.injection_bw_Bps += (closes || m > 2 ? 2 : 1) * b / share;
    g.diameter_hops += (closes ? m / 2 : m - 1) * s;
    // A step of a ring that does not close waits for its return message across the line.
    g.step_hops[i] = closes ? s : (m - 1) * s;
    hamiltonian = hamiltonian || closes || m % 2 == 0;
  }
  g.torus_dims_used = used;
  int max_spacing = 1;
  for (int i = 0; i < 3; ++i)
    if (g.extent[i] > 1) max_spacing = std::max(max_spacing, g.spacing[i]);
  g.local_latency_s = max_spacing * l.latency_s;
  if (used == 1) {
    for (int i = 0; i < 3; ++i)
      if (g.extent[i] > 1) {
        g.local_bw_Bps = g.dim_ring_bw_Bps[i];
        g.local_latency_s = g.step_hops[i] * l.latency_s;
      }
  } else if (used > 1) {
    // A Hamiltonian cycle over nearest neighbours exists when a side is even or wraps; two
    // counter-rotating copies then use both directions of every link on it. Otherwise the
    // ring closes with a hop across the box.
    g.local_bw_Bps = (hamiltonian ? 2 : 1) * b / max_share;
    if (!hamiltonian) {
      int across = 0;
      for (int i = 0; i < 3; ++i) across = std::max(across, (g.extent[i] - 1) * g.spacing[i]);
      g.local_latency_s = across * l.latency_s;
    }
  }
}

}  // namespace

std::string_view name(CollectiveOp op) noexcept {
  return kOpNames[static_cast<int>(op)];
}
std::string_view name(Algorithm a) noexcept {
  return kAlgorithmNames[static_cast<int>(a)];
}

std::optional<CollectiveOp> parse_collective_op(std::string_view text) noexcept {
  for (std::size_t i = 0; i < kOpNames.size(); ++i)
    if (kOpNames[i] == text) return static_cast<CollectiveOp>(i);
  return std::nullopt;
}

std::optional<Algorithm> parse_algorithm(std::string_view text) noexcept {
  if (text == "automatic") return Algorithm::automatic;
  for (std::size_t i = 0; i + 1 < kAlgorithmNames.size(); ++i)
    if (kAlgorithmNames[i] == text) return static_cast<Algorithm>(i);
  return std::nullopt;
}

std::span<const std::string_view> collective_op_names() noexcept {
  return kOpNames;
}
std::span<const std::string_view> algorithm_names() noexcept {
  return std::span<const std::string_view>(kAlgorithmNames.data(), kAlgorithmNames.size() - 1);
}

double bus_bandwidth_factor(CollectiveOp op, int ranks) noexcept {
  // nccl-tests doc/PERFORMANCE.md.
  const double n = std::max(1, ranks);
  switch (op) {
    case CollectiveOp::all_reduce:
      return 2 * (n - 1) / n;
    case CollectiveOp::all_gather:
    case CollectiveOp::reduce_scatter:
    case CollectiveOp::all_to_all:
      return (n - 1) / n;
    case CollectiveOp::broadcast:
    case CollectiveOp::p2p:
      return 1;
  }
  return 1;
}

GroupStructure analyze_group(const Topology& topo, std::span<const int> devices, bool siblings) {
  GroupStructure g;
  const int n = static_cast<int>(devices.size());
  g.ranks = std::max(1, n);
  const unsigned total = static_cast<unsigned>(topo.devices());
  auto bad = [&](int d) {
    return std::out_of_range("analyze_group: device " + std::to_string(d) + " is not in a " +
                             std::to_string(total) + "-device cluster");
  };
  if (n == 1 && static_cast<unsigned>(devices[0]) >= total) throw bad(devices[0]);
  if (n <= 1) return g;
  if (static_cast<unsigned>(devices[0]) >= total) throw bad(devices[0]);
  const ClusterSpec& spec = topo.spec();
  const ScaleUp& su = spec.scale_up;
  const double up = su.link.bandwidth_Bps * su.link.efficiency;
  const DeviceLocation* loc = topo.locations().data();
  const bool network = topo.has_network();

  // One pass over runs of ranks that share a domain and a leaf group: ranks per scale-up
  // domain, switch tiers between the group's endpoints, and ranks and domains per leaf
  // group (for all-to-all through oversubscribed leaves).
  std::vector<int> per(topo.domains(), 0);
  const int groups = network ? std::max(1, topo.leaves()) : 0;
  std::vector<int> in_group(groups, 0), domains_in_group(groups, 0);
  const int* domain_of = topo.domain_of().data();
  const int* group_of = topo.leaf_group_of().data();
  const DeviceLocation& first = loc[devices[0]];
  int level = 1, last_domain = -1;
  int run_domain = domain_of[devices[0]], run_group = group_of[devices[0]], run_start = devices[0];
  int run = 0;
  auto flush = [&] {
    per[run_domain] += run;
    if (!network || run_group < 0 || run_group >= groups) return;
    if (run_group != first.leaf_group && topo.leaves() > 1)
      level = std::max(level, loc[run_start].pod == first.pod ? 2 : 3);
    in_group[run_group] += run;
    if (run_domain != last_domain) ++domains_in_group[run_group];
    last_domain = run_domain;
  };
  for (int d : devices) {
    if (static_cast<unsigned>(d) >= total) throw bad(d);
    const int dom = domain_of[d], grp = group_of[d];
    if (dom == run_domain && grp == run_group) {
      ++run;
      continue;
    }
    flush();
    run_domain = dom, run_group = grp, run_start = d, run = 1;
  }
  flush();
  int k = 0, touched = 0, fullest = 0, first_count = -1;
  bool uniform = true;
  for (int dom = 0; dom < topo.domains(); ++dom) {
    const int c = per[dom];
    if (c == 0) continue;
    ++touched;
    if (c > k) k = c, fullest = dom;
    if (first_count < 0) first_count = c;
    if (c != first_count) uniform = false;
  }
  g.domains = touched;
  g.per_domain = k;
  g.uniform = uniform;
  g.local_latency_s = su.link.latency_s;
  switch (su.kind) {
    case ScaleUpKind::nvswitch:
      g.local_bw_Bps = up;  // each device has its own port into the switch
      if (su.switch_reduction_efficiency > 0 && k >= 2)
        g.nvls_bw_Bps = su.link.bandwidth_Bps * su.switch_reduction_efficiency;
      break;
    case ScaleUpKind::full_mesh:
      // k-1 links per rank among the group's ranks of a domain; the complete graph splits
      // into edge-disjoint Hamiltonian cycles (Walecki), so rings use them all, as
      // all-to-all does.
      g.local_bw_Bps = std::max(1, k - 1) * up;
      break;
    case ScaleUpKind::torus2d:
    case ScaleUpKind::torus3d:
      analyze_torus(topo, devices, fullest, siblings, g);
      break;
    case ScaleUpKind::none:
      g.local_bw_Bps = 0;
      break;
  }

  // Across domains.
  if (network) {
    const ScaleOut& so = spec.scale_out;
    const double nic = topo.nic_bandwidth_Bps() * so.link.efficiency;
    int active = 1;  // devices sharing the busiest NIC
    if (topo.devices_per_nic() > 1) {
      if (siblings) {
        active = topo.devices_per_nic();
      } else {
        std::vector<int> on_nic(topo.nic_endpoints(), 0);
        for (int d : devices)
          if (loc[d].nic >= 0) active = std::max(active, ++on_nic[loc[d].nic]);
      }
    }
    g.net_bw_rank_Bps = nic / active;
    g.net_bw_domain_Bps = k * g.net_bw_rank_Bps;
    g.net_latency_s = level * so.link.latency_s;
    // On a rail-optimized tree a message to another rail first crosses the scale-up fabric
    // to the GPU on the destination's rail (NCCL PXN).
    const bool rails = so.kind == ScaleOutKind::rail_optimized_fat_tree;
    if (rails && k > 1) g.net_latency_s += su.link.latency_s;
    // All-to-all through oversubscribed leaves: what leaves a leaf group must fit its
    // up-links (leaf_up ports) when every active endpoint under it sends at NIC rate.
    if (touched > 1 && level >= 2 && topo.leaf_up_ports() > 0 && n > k) {
      const double up_capacity = topo.leaf_up_ports() * so.link.bandwidth_Bps * so.link.efficiency;
      double factor = 1;
      for (int grp = 0; grp < groups; ++grp) {
        if (in_group[grp] == 0) continue;
        const double leaving = double(n - in_group[grp]) / (n - k);
        // Active endpoints under one leaf of the group: one per domain and rail on a rail
        // tree, the member NICs otherwise; with siblings, every port of the leaf.
        const double endpoints =
            siblings ? topo.leaf_down_ports()
                     : (rails ? domains_in_group[grp]
                              : std::ceil(double(in_group[grp]) / std::max(1, active)));
        const double demand = endpoints * leaving * nic;
        if (demand > 0) factor = std::min(factor, up_capacity / demand);
      }
      g.a2a_net_factor = std::min(1.0, factor);
    }
  }

  // Point-to-point between the first two ranks.
  const int a = devices[0], b = devices[1];
  if (topo.location(a).domain == topo.location(b).domain) {
    if (g.torus) {
      const int hops = torus_distance(topo, a, b);
      g.p2p_bw_Bps = up;
      g.p2p_latency_s = hops * su.link.latency_s;
    } else {
      g.p2p_bw_Bps = up;
      g.p2p_latency_s = su.link.latency_s;
    }
  } else {
    g.p2p_bw_Bps = g.net_bw_rank_Bps;
    g.p2p_latency_s = network_level(topo, a, b) * spec.scale_out.link.latency_s;
    const int per_nic = topo.devices_per_nic();
    if (spec.scale_out.kind == ScaleOutKind::rail_optimized_fat_tree &&
        loc[a].local / per_nic != loc[b].local / per_nic)
      g.p2p_latency_s += su.link.latency_s;  // PXN hop to the destination's rail
  }
  return g;
}

std::vector<Algorithm> applicable_algorithms(const GroupStructure& g, CollectiveOp op) {
  std::vector<Algorithm> out;
  if (g.ranks <= 1) return {Algorithm::none};
  const bool multi = g.domains > 1;
  switch (op) {
    case CollectiveOp::all_reduce:
      out.push_back(Algorithm::ring);
      if (multi) out.push_back(Algorithm::tree);
      if (multi && g.per_domain > 1) out.push_back(Algorithm::hierarchical);
      if (!multi && g.nvls_bw_Bps > 0) out.push_back(Algorithm::nvls);
      if (!multi && torus_local(g)) out.push_back(Algorithm::torus);
      break;
    case CollectiveOp::all_gather:
    case CollectiveOp::reduce_scatter:
      out.push_back(Algorithm::ring);
      if (multi && g.per_domain > 1) out.push_back(Algorithm::hierarchical);
      if (!multi && torus_local(g)) out.push_back(Algorithm::torus);
      break;
    case CollectiveOp::all_to_all:
      out.push_back(Algorithm::direct);
      if (multi && g.per_domain > 1) out.push_back(Algorithm::hierarchical);
      break;
    case CollectiveOp::broadcast:
      out.push_back(Algorithm::ring);
      out.push_back(Algorithm::tree);
      break;
    case CollectiveOp::p2p:
      out.push_back(Algorithm::direct);
      break;
  }
  return out;
}

CollectiveCost collective_cost(const GroupStructure& g, CollectiveOp op, double bytes,
                               Algorithm algorithm) noexcept {
  if (!(bytes >= 0) || !std::isfinite(bytes)) bytes = 0;
  if (g.ranks <= 1) {
    CollectiveCost c;
    c.algorithm = Algorithm::none;
    return c;
  }
  // The same applicability rules as applicable_algorithms, without allocating.
  const bool multi = g.domains > 1;
  auto applies = [&](Algorithm a) {
    switch (a) {
      case Algorithm::ring:
        return op != CollectiveOp::all_to_all && op != CollectiveOp::p2p;
      case Algorithm::tree:
        return op == CollectiveOp::broadcast || (op == CollectiveOp::all_reduce && multi);
      case Algorithm::hierarchical:
        return multi && g.per_domain > 1 && op != CollectiveOp::broadcast &&
               op != CollectiveOp::p2p;
      case Algorithm::nvls:
        return op == CollectiveOp::all_reduce && !multi && g.nvls_bw_Bps > 0;
      case Algorithm::torus:
        return !multi && torus_local(g) &&
               (op == CollectiveOp::all_reduce || op == CollectiveOp::all_gather ||
                op == CollectiveOp::reduce_scatter);
      case Algorithm::direct:
        return op == CollectiveOp::all_to_all || op == CollectiveOp::p2p;
      default:
        return false;
    }
  };
  if (algorithm != Algorithm::automatic) {
    if (!applies(algorithm)) {
      CollectiveCost c;
      c.algorithm = algorithm;
      c.feasible = false;
      return c;
    }
    return finish(op, g.ranks, bytes, algorithm, evaluate(g, op, bytes, algorithm));
  }
  constexpr Algorithm kOrder[] = {Algorithm::nvls, Algorithm::ring,         Algorithm::torus,
                                  Algorithm::tree, Algorithm::hierarchical, Algorithm::direct};
  Algorithm best = Algorithm::none;
  Estimate best_e{kInf, kInf};
  for (Algorithm a : kOrder) {
    if (!applies(a)) continue;
    const Estimate e = evaluate(g, op, bytes, a);
    if (e.finite() && e.total() < best_e.total()) best = a, best_e = e;
  }
  return finish(op, g.ranks, bytes, best, best_e);
}

CollectiveCost collective_cost(const Topology& topology, CollectiveOp op,
                               std::span<const int> devices, double bytes, Algorithm algorithm) {
  return collective_cost(analyze_group(topology, devices, false), op, bytes, algorithm);
}

CollectiveCost all_to_all_v_cost(const GroupStructure& g, double mean_bytes,
                                 double max_over_mean) noexcept {
  const double skew = std::isfinite(max_over_mean) ? std::max(1.0, max_over_mean) : 1.0;
  CollectiveCost c = collective_cost(g, CollectiveOp::all_to_all, mean_bytes * skew);
  if (c.time_s > 0) {
    c.algbw_Bps = std::max(0.0, mean_bytes) / c.time_s;
    c.busbw_Bps = c.algbw_Bps * bus_bandwidth_factor(CollectiveOp::all_to_all, g.ranks);
  }
  return c;
}

CollectiveCost all_to_all_v_cost(const Topology& topology, std::span<const int> devices,
                                 std::span<const double> send_bytes) {
  const int n = static_cast<int>(devices.size());
  if (send_bytes.size() != static_cast<std::size_t>(n) * n)
    throw std::invalid_argument("all_to_all_v_cost: send_bytes must hold n*n entries");
  const GroupStructure g = analyze_group(topology, devices, false);
  if (n <= 1) return collective_cost(g, CollectiveOp::all_to_all, 0);
  // Per rank: bytes out and in, inside the rank's domain and across domains.
  std::vector<double> local_out(n), local_in(n), net_out(n), net_in(n);
  double total = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      if (i == j) continue;
      const double v = std::max(0.0, send_bytes[static_cast<std::size_t>(i) * n + j]);
      total += v;
      const bool same =
          topology.location(devices[i]).domain == topology.location(devices[j]).domain;
      (same ? local_out[i] : net_out[i]) += v;
      (same ? local_in[j] : net_in[j]) += v;
    }
  double local_max = 0, net_max = 0, rank_max = 0;
  for (int i = 0; i < n; ++i) {
    local_max = std::max({local_max, local_out[i], local_in[i]});
    net_max = std::max({net_max, net_out[i], net_in[i]});
    rank_max = std::max({rank_max, local_out[i] + net_out[i], local_in[i] + net_in[i]});
  }
  const double mean = total / n * n / (n - 1);  // the equivalent uniform send buffer
  CollectiveCost c;
  if (g.torus) {
    // Torus links are shared by all pairs: scale the uniform all-to-all to the busiest rank.
    c = collective_cost(g, CollectiveOp::all_to_all, rank_max * n / (n - 1), Algorithm::direct);
  } else {
    Estimate e;
    const int k = g.per_domain;
    e.latency_s = (k - 1) * g.local_latency_s + (n - k) * g.net_latency_s;
    e.transfer_s =
        std::max(k > 1 ? div_or_inf(local_max, g.local_bw_Bps) : 0.0,
                 n > k ? div_or_inf(net_max, g.net_bw_rank_Bps * g.a2a_net_factor) : 0.0);
    c = finish(CollectiveOp::all_to_all, n, mean, Algorithm::direct, e);
  }
  if (c.time_s > 0) {
    c.algbw_Bps = mean / c.time_s;
    c.busbw_Bps = c.algbw_Bps * bus_bandwidth_factor(CollectiveOp::all_to_all, n);
  }
  return c;
}

// ---- the flow-level reference ----------------------------------------------------------

namespace {

struct Flow {
  int src, dst;
  double bytes;
};

// One step: every flow routed (split evenly over equal-cost paths); flows on the same link
// share it. Returns the step's time: slowest link (bytes / effective bandwidth) plus the
// longest path latency.
class StepEvaluator {
 public:
  explicit StepEvaluator(const Topology& t)
      : topo_(t), router_(t), load_(t.directed_link_count(), 0) {}
  Estimate step(const std::vector<Flow>& flows) {
    touched_.clear();
    double latency = 0;
    for (const Flow& f : flows) {
      if (f.src == f.dst || f.bytes <= 0) continue;
      const double lat = router_.spread(f.src, f.dst, [&](int id, double fraction) {
        if (load_[id] == 0) touched_.push_back(id);
        load_[id] += f.bytes * fraction;
      });
      latency = std::max(latency, lat);
    }
    double transfer = 0;
    for (int id : touched_) {
      transfer = std::max(transfer, div_or_inf(load_[id], topo_.link(id).effective_Bps()));
      load_[id] = 0;
    }
    return {latency, transfer};
  }
  double path_latency(int a, int b) {
    double lat = 0;
    for (int id : router_.route(a, b)) lat += topo_.link(id).latency_s;
    return lat;
  }

 private:
  const Topology& topo_;
  Router router_;
  std::vector<double> load_;
  std::vector<int> touched_;
};

// NCCL-style rings: C channels; channel c visits each domain's ranks starting at local
// position c, so every channel enters and leaves a domain through different ranks' NICs.
std::vector<std::vector<int>> ring_orders(const Topology& topo, const std::vector<int>& group) {
  std::vector<std::vector<int>> by_domain;
  int last = -1;
  for (int d : group) {
    const int dom = topo.location(d).domain;
    if (dom != last) by_domain.emplace_back(), last = dom;
    by_domain.back().push_back(d);
  }
  if (by_domain.size() == 1) return {group};
  std::size_t k = 0;
  for (auto& v : by_domain) k = std::max(k, v.size());
  std::vector<std::vector<int>> rings;
  for (std::size_t c = 0; c < k; ++c) {
    std::vector<int> order;
    for (auto& v : by_domain)
      for (std::size_t i = 0; i < v.size(); ++i) order.push_back(v[(c + i) % v.size()]);
    rings.push_back(std::move(order));
  }
  return rings;
}

Estimate graph_ring(const Topology& topo, CollectiveOp op, std::span<const std::vector<int>> groups,
                    double bytes) {
  StepEvaluator ev(topo);
  std::vector<Flow> flows;
  int n = 0;
  for (const auto& grp : groups) {
    n = static_cast<int>(grp.size());
    if (topo.torus() && analyze_group(topo, grp).domains == 1) {
      // Two counter-rotating rings over the group in rank order, half the data each.
      for (int i = 0; i < n; ++i) {
        const int next = grp[(i + 1) % n], prev = grp[(i + n - 1) % n];
        flows.push_back({grp[i], next, bytes / n / 2});
        flows.push_back({grp[i], prev, bytes / n / 2});
      }
      continue;
    }
    const auto rings = ring_orders(topo, grp);
    const double per = bytes / n / rings.size();
    for (const auto& r : rings)
      for (int i = 0; i < n; ++i) flows.push_back({r[i], r[(i + 1) % n], per});
  }
  const Estimate one = ev.step(flows);
  if (op == CollectiveOp::broadcast) {
    // Pipelined chain: the buffer crosses each link once; (n-1) hops of latency.
    return {(n - 1) * one.latency_s, one.transfer_s * n};
  }
  const int steps = op == CollectiveOp::all_reduce ? 2 * (n - 1) : n - 1;
  return {steps * one.latency_s, steps * one.transfer_s};
}

Estimate graph_direct(const Topology& topo, std::span<const std::vector<int>> groups,
                      double bytes) {
  StepEvaluator ev(topo);
  std::vector<Flow> flows;
  double latency = 0;
  for (const auto& grp : groups) {
    const int n = static_cast<int>(grp.size());
    for (int i = 0; i < n; ++i) {
      double lat = 0;  // one message latency per peer, as the structural model charges
      for (int j = 0; j < n; ++j) {
        if (i == j) continue;
        flows.push_back({grp[i], grp[j], bytes / n});
        lat += ev.path_latency(grp[i], grp[j]);
      }
      latency = std::max(latency, lat);
    }
  }
  Estimate e = ev.step(flows);
  e.latency_s = latency;
  // A torus routes all messages in hardware at once: latency of the longest path.
  if (topo.torus()) {
    double far = 0;
    for (const auto& grp : groups)
      for (int a : grp)
        for (int b : grp) far = std::max(far, ev.path_latency(a, b));
    e.latency_s = far;
  }
  return e;
}

Estimate graph_torus(const Topology& topo, CollectiveOp op,
                     std::span<const std::vector<int>> groups, double bytes) {
  StepEvaluator ev(topo);
  // The structure of the first group gives the extents (all groups share the shape).
  const GroupStructure g = analyze_group(topo, groups[0]);
  std::array<int, 3> active{};
  int d = 0;
  for (int i = 0; i < 3; ++i)
    if (g.extent[i] > 1) active[d++] = i;
  Estimate phase;
  // Per round r, shard j works on dimension active[(j + r) % d] with its current size.
  std::array<double, 3> prefix = {1, 1, 1};
  for (int r = 0; r < d; ++r) {
    std::vector<Flow> flows;
    int steps = 0;
    for (int shard = 0; shard < d; ++shard) {
      const int dim = active[(shard + r) % d];
      const int m = g.extent[dim];
      steps = std::max(steps, m - 1);
      const double chunk = bytes / d / prefix[shard] / m;
      for (const auto& grp : groups) {
        // Lines along `dim`: ranks that agree on the other coordinates.
        for (int dev : grp) {
          const auto& c = topo.location(dev).coord;
          // Neighbours in the line: the next and previous rank along dim (cyclically).
          int next = -1, prev = -1, best_next = 1 << 30, best_prev = 1 << 30;
          for (int other : grp) {
            const auto& o = topo.location(other).coord;
            bool same_line = true;
            for (int i = 0; i < 3; ++i)
              if (i != dim && o[i] != c[i]) same_line = false;
            if (!same_line || other == dev) continue;
            const int len = topo.torus_dims()[dim];
            const int fwd = ((o[dim] - c[dim]) % len + len) % len;
            const int bwd = ((c[dim] - o[dim]) % len + len) % len;
            if (fwd < best_next) best_next = fwd, next = other;
            if (bwd < best_prev) best_prev = bwd, prev = other;
          }
          if (next < 0) continue;
          flows.push_back({dev, next, chunk / 2});
          flows.push_back({dev, prev, chunk / 2});
        }
      }
      prefix[shard] *= m;
    }
    const Estimate one = ev.step(flows);
    phase.latency_s += steps * one.latency_s;
    phase.transfer_s += steps * one.transfer_s;
  }
  const double phases = op == CollectiveOp::all_reduce ? 2 : 1;
  return {phase.latency_s * phases, phase.transfer_s * phases};
}

}  // namespace

CollectiveCost graph_collective_cost(const Topology& topology, CollectiveOp op,
                                     std::span<const std::vector<int>> groups, double bytes,
                                     Algorithm algorithm) {
  if (groups.empty() || groups[0].size() <= 1) return collective_cost(GroupStructure{}, op, 0);
  const int n = static_cast<int>(groups[0].size());
  const GroupStructure g = analyze_group(topology, groups[0]);
  auto run = [&](Algorithm a) -> Estimate {
    switch (a) {
      case Algorithm::ring:
        if (op == CollectiveOp::all_to_all || op == CollectiveOp::p2p) break;
        return graph_ring(topology, op, groups, bytes);
      case Algorithm::direct:
        if (op == CollectiveOp::all_to_all) return graph_direct(topology, groups, bytes);
        if (op == CollectiveOp::p2p) {
          StepEvaluator ev(topology);
          std::vector<Flow> flows;
          for (const auto& grp : groups) flows.push_back({grp[0], grp[1], bytes});
          return ev.step(flows);
        }
        break;
      case Algorithm::torus:
        if (!torus_local(g) || g.domains > 1) break;
        if (op != CollectiveOp::all_reduce && op != CollectiveOp::all_gather &&
            op != CollectiveOp::reduce_scatter)
          break;
        return graph_torus(topology, op, groups, bytes);
      default:
        break;
    }
    return {kInf, kInf};
  };
  if (algorithm != Algorithm::automatic) return finish(op, n, bytes, algorithm, run(algorithm));
  Algorithm best = Algorithm::none;
  Estimate best_e{kInf, kInf};
  for (Algorithm a : {Algorithm::ring, Algorithm::torus, Algorithm::direct}) {
    const Estimate e = run(a);
    if (e.finite() && e.total() < best_e.total()) best = a, best_e = e;
  }
  return finish(op, n, bytes, best, best_e);
}

// ---- the fast path ---------------------------------------------------------------------

CollectiveModel::CollectiveModel(const ClusterSpec& spec)
    : topology_(std::make_shared<const Topology>(spec)) {}

CollectiveModel::CollectiveModel(std::shared_ptr<const Topology> topology)
    : topology_(std::move(topology)) {
  if (!topology_) throw std::invalid_argument("CollectiveModel: no topology");
}

const GroupStructure& CollectiveModel::structure(GroupShape shape) const {
  const int devices = topology_->devices();
  if (shape.size < 1 || shape.stride < 1 ||
      static_cast<long long>(shape.size - 1) * shape.stride >= devices)
    throw std::out_of_range("CollectiveModel: a group of " + std::to_string(shape.size) +
                            " ranks with stride " + std::to_string(shape.stride) +
                            " does not fit " + std::to_string(devices) + " devices");
  const std::uint64_t key = (static_cast<std::uint64_t>(shape.size) << 32) |
                            (static_cast<std::uint64_t>(shape.stride) << 1) |
                            (shape.siblings ? 1u : 0u);
  {
    std::shared_lock lock(mutex_);
    if (auto it = cache_.find(key); it != cache_.end()) return *it->second;
  }
  std::vector<int> members(shape.size);
  for (int i = 0; i < shape.size; ++i) members[i] = i * shape.stride;
  auto made = std::make_unique<GroupStructure>(analyze_group(*topology_, members, shape.siblings));
  std::unique_lock lock(mutex_);
  auto [it, inserted] = cache_.try_emplace(key, std::move(made));
  return *it->second;
}

CollectiveCost CollectiveModel::cost(CollectiveOp op, GroupShape shape, double bytes,
                                     Algorithm algorithm) const {
  return collective_cost(structure(shape), op, bytes, algorithm);
}

CollectiveCost CollectiveModel::all_to_all_v(GroupShape shape, double mean_bytes,
                                             double max_over_mean) const {
  return all_to_all_v_cost(structure(shape), mean_bytes, max_over_mean);
}

}  // namespace moesim::hw
