// Topology generators against closed forms: vertex and link counts, degrees, diameter,
// bisection bandwidth (computed as a max-flow over the graph), routing hop counts, and
// build time at pod scale.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <queue>
#include <random>
#include <set>
#include <tuple>

#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <boost/property_map/transform_value_property_map.hpp>

#include "hardware/topology.hpp"
#include "io/loaders.hpp"

namespace moesim::hw {
namespace {

ClusterSpec switched(int devices, int per_domain, ScaleUpKind kind, double up_Bps,
                     ScaleOutKind out = ScaleOutKind::none, int tiers = 2,
                     double oversubscription = 1, int radix = 64) {
  ClusterSpec c;
  c.name = "test";
  c.devices = devices;
  c.scale_up.kind = kind;
  c.scale_up.devices_per_domain = per_domain;
  c.scale_up.link = {up_Bps, 1e-6, 0.8};
  c.scale_out.kind = out;
  c.scale_out.nics_per_domain = out == ScaleOutKind::none ? 0 : per_domain;
  c.scale_out.tiers = tiers;
  c.scale_out.oversubscription = oversubscription;
  c.scale_out.switch_radix = radix;
  c.scale_out.link = {50e9, 2e-6, 0.96};
  return c;
}

ClusterSpec torus(int x, int y, int z, bool wrap, double link_Bps = 100e9) {
  ClusterSpec c;
  c.name = "torus";
  c.devices = x * y * z;
  c.scale_up.kind = z > 1 ? ScaleUpKind::torus3d : ScaleUpKind::torus2d;
  c.scale_up.torus_dims = {x, y, z};
  c.scale_up.devices_per_domain = x * y * z;
  c.scale_up.wraparound = wrap;
  c.scale_up.link = {link_Bps, 1e-6, 1.0};
  c.scale_out.kind = ScaleOutKind::none;
  return c;
}

TEST(NvSwitchDomain, EightGpuNode) {
  // 8 devices + 1 switch vertex, one link per device; any two GPUs are 2 links apart; half
  // the GPUs reach the other half through their own 450 GB/s ports: 4 x 450 GB/s.
  Topology t(switched(8, 8, ScaleUpKind::nvswitch, 450e9));
  EXPECT_EQ(t.vertex_count(), 9u);
  EXPECT_EQ(t.link_count(), 8u);
  EXPECT_EQ(t.count(NodeKind::switch_node), 1u);
  for (int d = 0; d < 8; ++d) EXPECT_EQ(t.out_degree(d), 1);
  EXPECT_EQ(t.out_degree(8), 8);
  EXPECT_EQ(t.diameter(), 2);
  EXPECT_NEAR(t.bisection_bandwidth_Bps(), 4 * 450e9, 1);
  EXPECT_EQ(t.hops(0, 7), 2);
}

TEST(NvSwitchDomain, Gb200Nvl72FromPreset) {
  // One 72-GPU NVLink 5 domain per rack, 8 racks: 576 GPUs, 8 switch vertices; one NIC per
  // GPU on a rail-optimized two-tier tree (72 rails).
  Topology t(io::load_cluster("gb200-nvl72"));
  EXPECT_EQ(t.domains(), 8);
  EXPECT_EQ(t.domain_size(), 72);
  EXPECT_EQ(t.count_at_tier(1) - static_cast<std::size_t>(t.leaves()), 8u);
  EXPECT_EQ(t.hops(0, 71), 2);  // same rack: through its NVLink switch
  // Rack 0 GPU 0 to rack 1 GPU 0: same rail, same leaf.
  EXPECT_EQ(t.hops(0, 72), 2);
}

TEST(FullMesh, Mi300xNode) {
  // One link per pair: 8*7/2 = 28 links, degree 7, diameter 1; the bisection cuts the
  // 4 x 4 = 16 links between the halves: 16 x 64 GB/s.
  Topology t(switched(8, 8, ScaleUpKind::full_mesh, 64e9));
  EXPECT_EQ(t.vertex_count(), 8u);
  EXPECT_EQ(t.link_count(), 28u);
  for (int d = 0; d < 8; ++d) EXPECT_EQ(t.out_degree(d), 7);
  EXPECT_EQ(t.diameter(), 1);
  EXPECT_NEAR(t.bisection_bandwidth_Bps(), 16 * 64e9, 1);
}

TEST(Torus, ThreeDimensionalWithWraparound) {
  // k x k x k with wraparound: 3k^3 links, degree 6, diameter 3 floor(k/2); cutting one
  // dimension in half crosses 2k^2 links (the middle and the wraparound).
  for (int k : {4, 6}) {
    Topology t(torus(k, k, k, true));
    EXPECT_EQ(t.link_count(), static_cast<std::size_t>(3 * k * k * k)) << k;
    for (int d = 0; d < t.devices(); ++d) ASSERT_EQ(t.out_degree(d), 6);
    EXPECT_EQ(t.diameter(), 3 * (k / 2)) << k;
    EXPECT_NEAR(t.bisection_bandwidth_Bps(), 2.0 * k * k * 100e9, 1) << k;
  }
}

TEST(Torus, ThreeDimensionalWithoutWraparound) {
  // A k^3 mesh: 3 k^2 (k-1) links, degree 3 (corners) to 6 (inside), diameter 3(k-1),
  // bisection k^2 links.
  const int k = 4;
  Topology t(torus(k, k, k, false));
  EXPECT_EQ(t.link_count(), static_cast<std::size_t>(3 * k * k * (k - 1)));
  EXPECT_EQ(t.out_degree(0), 3);
  EXPECT_EQ(t.out_degree(1 + k + k * k), 6);
  EXPECT_EQ(t.diameter(), 3 * (k - 1));
  EXPECT_NEAR(t.bisection_bandwidth_Bps(), k * k * 100e9, 1);
}

TEST(Torus, TwoDimensionalPods) {
  // TPU v5e / v6e: 16 x 16 with wraparound: 2 * 256 links, diameter 16, bisection 2k = 32
  // links.
  Topology t(io::load_cluster("tpu-v6e-256"));
  EXPECT_EQ(t.devices(), 256);
  EXPECT_EQ(t.link_count() - static_cast<std::size_t>(t.nic_endpoints()), 512u);
  Topology bare(torus(16, 16, 1, true));
  EXPECT_EQ(bare.diameter(), 16);
  EXPECT_NEAR(bare.bisection_bandwidth_Bps(), 32 * 100e9, 1);
  // A dimension of 2 gets no second, parallel wraparound link.
  Topology small(torus(2, 2, 1, true));
  EXPECT_EQ(small.link_count(), 4u);
}

TEST(Torus, SubSliceFromPresetHasNoWraparound) {
  // tpu-v5e-256 with --devices 64: an 8 x 8 sub-slice without wraparound (the preset says
  // sub-slices have none), so the diameter is 14 and the bisection 8 links.
  ClusterSpec c = io::load_cluster("tpu-v5e-256", 64);
  c.scale_out.kind = ScaleOutKind::none;
  Topology t(c);
  EXPECT_EQ(t.torus_dims()[0] * t.torus_dims()[1], 64);
  EXPECT_FALSE(t.wraparound());
  EXPECT_EQ(t.diameter(), 14);
  EXPECT_NEAR(t.bisection_bandwidth_Bps(), 8 * c.scale_up.link.bandwidth_Bps, 1);
}

TEST(Torus, DimensionOrderRoutingHopCounts) {
  // Hops = sum over dimensions of the shorter way around each ring; x is corrected first.
  Topology t(torus(8, 8, 8, true));
  auto id = [](int x, int y, int z) { return x + 8 * (y + 8 * z); };
  EXPECT_EQ(t.hops(id(0, 0, 0), id(3, 0, 0)), 3);
  EXPECT_EQ(t.hops(id(0, 0, 0), id(7, 0, 0)), 1);  // the wraparound link
  EXPECT_EQ(t.hops(id(1, 2, 3), id(6, 6, 6)), 3 + 4 + 3);
  const auto path = t.route(id(0, 0, 0), id(2, 2, 0));
  ASSERT_EQ(path.size(), 4u);
  EXPECT_EQ(t.link_target(path[1]), id(2, 0, 0));  // x first
  Topology mesh(torus(8, 8, 8, false));
  EXPECT_EQ(mesh.hops(id(0, 0, 0), id(7, 0, 0)), 7);
}

TEST(Torus, HalfwayTrafficSplitsBetweenDirections) {
  // On a ring of 8 the node 4 away can go either way; even sources go +, odd sources go -.
  Topology t(torus(8, 1, 1, true));
  const auto even = t.route(0, 4), odd = t.route(1, 5);
  ASSERT_EQ(even.size(), 4u);
  ASSERT_EQ(odd.size(), 4u);
  EXPECT_EQ(t.link_target(even[0]), 1);
  EXPECT_EQ(t.link_target(odd[0]), 0);
}

TEST(FatTree, DgxH100SuperPodCounts) {
  // 1024 GPUs, 128 nodes, one NDR NIC per GPU, rail-optimized two-tier tree of 64-port
  // switches at 1:1: each rail's 128 NICs fill 4 leaves of 32 down-ports; 32 leaves with 32
  // up-ports each, so 32 spines. Links: 1024 NVLink + 1024 NIC + 32 x 32 leaf-spine.
  Topology t(io::load_cluster("dgx-h100"));
  EXPECT_EQ(t.leaves(), 32);
  EXPECT_EQ(t.leaf_down_ports(), 32);
  EXPECT_EQ(t.leaf_up_ports(), 32);
  EXPECT_EQ(t.count_at_tier(2), 32u);
  EXPECT_EQ(t.vertex_count(), 1024u + 128 + 32 + 32);
  EXPECT_EQ(t.link_count(), 1024u + 1024 + 32 * 32);
  EXPECT_EQ(t.diameter(), 4);
  // Full bisection: half of the 1024 NICs at 50 GB/s (the SuperPOD's 400 GB/s per node).
  EXPECT_NEAR(t.bisection_bandwidth_Bps(), 512 * 50e9, 1e3);
}

TEST(FatTree, RoutingHops) {
  Topology t(io::load_cluster("dgx-h100"));
  EXPECT_EQ(t.hops(0, 1), 2);       // same node: GPU, NVSwitch, GPU
  EXPECT_EQ(t.hops(0, 8), 2);       // next node, same rail, same leaf
  EXPECT_EQ(t.hops(0, 9), 4);       // next node, other rail: NVLink to rail 1, then its leaf
  EXPECT_EQ(t.hops(0, 8 * 64), 4);  // same rail, other leaf: leaf, spine, leaf
  // Equal-cost paths over the spines are spread by the flow hash (ECMP).
  std::set<int> spines;
  for (int src = 0; src < 32 * 8; src += 8) {
    const auto path = t.route(src, 8 * 64 + src);
    ASSERT_EQ(path.size(), 4u);
    spines.insert(t.link_target(path[1]));
  }
  EXPECT_GT(spines.size(), 8u);
}

TEST(FatTree, OversubscriptionCutsTheBisection) {
  // Radix 8 at 3:1: 6 down and 2 up ports per leaf. 12 single-device domains fill two
  // leaves; the halves are the leaves, joined by 2 up-links each: 2 x 50 GB/s, a third of
  // the 6 x 50 GB/s a non-blocking tree would give.
  Topology t(switched(12, 1, ScaleUpKind::none, 0, ScaleOutKind::fat_tree, 2, 3, 8));
  EXPECT_EQ(t.leaf_down_ports(), 6);
  EXPECT_EQ(t.leaf_up_ports(), 2);
  EXPECT_EQ(t.leaves(), 2);
  EXPECT_NEAR(t.bisection_bandwidth_Bps(), 2 * 50e9, 1);
  Topology full(switched(12, 1, ScaleUpKind::none, 0, ScaleOutKind::fat_tree, 2, 1, 8));
  EXPECT_NEAR(full.bisection_bandwidth_Bps(), 6 * 50e9, 1);
}

TEST(FatTree, ThreeTiers) {
  // Radix 8 at 1:1 (4 down, 4 up), 32 single-device domains: 8 leaves, pods of radix/2 = 4
  // leaves with 4 spines each, 4 core planes. Inside a leaf 2 links, inside a pod 4 (leaf,
  // spine, leaf), across pods 6 (leaf, spine, core, spine, leaf).
  Topology t(switched(32, 1, ScaleUpKind::none, 0, ScaleOutKind::fat_tree, 3, 1, 8));
  EXPECT_EQ(t.leaves(), 8);
  EXPECT_EQ(t.count_at_tier(2), 8u);
  EXPECT_EQ(t.count_at_tier(3), 4u);
  // Links: 32 endpoints, 2 pods x 4 leaves x 4 spines, and one aggregated link from each
  // of the 8 spines to its core plane (its 4 up-ports).
  EXPECT_EQ(t.link_count(), 32u + 2 * 4 * 4 + 8);
  EXPECT_EQ(t.hops(0, 3), 2);
  EXPECT_EQ(t.hops(0, 15), 4);
  const auto path = t.route(0, 31);
  ASSERT_EQ(path.size(), 6u);
  EXPECT_EQ(t.graph()[t.link_target(path[2])].tier, 3);
  EXPECT_EQ(t.diameter(), 6);
  // Non-blocking: half of the 32 endpoints at 50 GB/s.
  EXPECT_NEAR(t.bisection_bandwidth_Bps(), 16 * 50e9, 1);
}

TEST(FatTree, DgxA100SuperPodHasARailPodEach) {
  // DGX A100 SuperPOD preset: 140 nodes, 8 HDR rails, three tiers. Each rail's 140 NICs
  // fill ceil(140 / down-ports) leaves under the rail's own spines; cores join the rails.
  Topology t(io::load_cluster("dgx-a100"));
  const int down = t.leaf_down_ports();
  EXPECT_EQ(t.leaves(), 8 * ((140 + down - 1) / down));
  EXPECT_EQ(t.count_at_tier(3), static_cast<std::size_t>(t.leaf_up_ports()));
  EXPECT_EQ(t.hops(0, 8), 2);     // same rail, same leaf
  EXPECT_EQ(t.hops(0, 1119), 6);  // NVLink to rail 7, then leaf, spine, leaf of rail 7
}

TEST(FatTree, SharedNicsGetTheirOwnVertices) {
  // 8 devices per domain, 2 NICs: each NIC serves 4 devices.
  ClusterSpec c = switched(32, 8, ScaleUpKind::nvswitch, 450e9, ScaleOutKind::fat_tree);
  c.scale_out.nics_per_domain = 2;
  Topology t(c);
  EXPECT_EQ(t.devices_per_nic(), 4);
  EXPECT_EQ(t.count(NodeKind::nic), 8u);
  EXPECT_EQ(t.location(5).nic, 1);
}

// The equal-cost split as Router::spread first computed it: Boost's Dijkstra from the
// destination, a whole-graph amount array, vertices in order of decreasing distance.
std::vector<std::pair<int, double>> reference_spread(const Topology& t, int a, int b) {
  const auto& g = t.graph();
  const auto n = boost::num_vertices(g);
  std::vector<double> dist(n);
  auto weight = boost::make_transform_value_property_map(
      [](const LinkInfo& l) { return l.latency_s + 1e-9; }, boost::get(boost::edge_bundle, g));
  boost::dijkstra_shortest_paths(g, static_cast<TopologyGraph::vertex_descriptor>(b),
                                 boost::weight_map(weight)
                                     .distance_inf(std::numeric_limits<double>::infinity())
                                     .distance_map(boost::make_iterator_property_map(
                                         dist.begin(), boost::get(boost::vertex_index, g))));
  std::vector<std::pair<int, double>> out;
  if (a == b || !std::isfinite(dist[a])) return out;
  std::vector<double> amount(n, 0);
  auto farther = [&](int u, int v) { return dist[u] < dist[v]; };
  std::vector<int> heap = {a}, next;
  amount[a] = 1;
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), farther);
    const int u = heap.back();
    heap.pop_back();
    if (u == b) continue;
    next.clear();
    bool scale_up = false;
    for (auto e : boost::make_iterator_range(boost::out_edges(u, g))) {
      const LinkInfo& l = g[e];
      const int v = static_cast<int>(boost::target(e, g));
      if (std::abs(dist[v] + l.latency_s + 1e-9 - dist[u]) < 1e-12) {
        next.push_back(l.id);
        scale_up = scale_up || l.kind == LinkKind::scale_up;
      }
    }
    if (scale_up)
      std::erase_if(next, [&](int id) { return t.link(id).kind != LinkKind::scale_up; });
    const double share = amount[u] / std::max<std::size_t>(1, next.size());
    for (int id : next) {
      out.emplace_back(id, share);
      const int v = t.link_target(id);
      if (amount[v] == 0) {
        heap.push_back(v);
        std::push_heap(heap.begin(), heap.end(), farther);
      }
      amount[v] += share;
    }
    amount[u] = 0;
  }
  return out;
}

TEST(Router, SpreadsExactlyAsAReferenceDijkstraOnRandomClusters) {
  // Router shares Dijkstra runs between destinations and memoises next hops; its splits,
  // link order and latencies must be bit for bit those of a plain Dijkstra per destination.
  std::mt19937_64 rng(7);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto latency = [&](double typical) {
    return pick(0, 1) ? typical : std::uniform_real_distribution<double>(0, 3 * typical)(rng);
  };
  for (int trial = 0; trial < 60; ++trial) {
    ClusterSpec c;
    c.name = "random";
    const int kind = pick(0, 2);
    if (kind == 2) {
      c = torus(pick(2, 4), pick(1, 4), 1, pick(0, 1) == 1);
      c.devices *= pick(1, 6);  // whole slices
      c.scale_up.link.latency_s = latency(1e-6);
    } else {
      c = switched(0, pick(1, 8), kind == 0 ? ScaleUpKind::nvswitch : ScaleUpKind::full_mesh,
                   400e9);
      c.devices = c.scale_up.devices_per_domain * pick(1, 24) - pick(0, 1);
      c.devices = std::max(c.devices, 1);
      c.scale_up.link.latency_s = latency(1e-6);
    }
    const int out = pick(0, 2);
    c.scale_out.kind = out == 0   ? ScaleOutKind::fat_tree
                       : out == 1 ? ScaleOutKind::rail_optimized_fat_tree
                                  : ScaleOutKind::dcn;
    c.scale_out.nics_per_domain = pick(1, std::max(1, c.scale_up.devices_per_domain));
    c.scale_out.tiers = pick(1, 3);
    c.scale_out.oversubscription = pick(1, 3);
    c.scale_out.switch_radix = pick(4, 24);
    c.scale_out.link = {50e9, latency(2e-6), 0.96};
    Topology t(c);
    Router router(t);
    for (int i = 0; i < 300; ++i) {
      const int a = pick(0, c.devices - 1), b = pick(0, c.devices - 1);
      std::vector<std::pair<int, double>> got;
      const double lat = router.spread(a, b, [&](int id, double f) { got.emplace_back(id, f); });
      const bool in_slice = t.torus() && t.location(a).domain == t.location(b).domain;
      if (!in_slice) {
        EXPECT_EQ(got, reference_spread(t, a, b)) << "trial " << trial;
      }
      EXPECT_EQ(lat, t.path_latency_s(a, b)) << "trial " << trial;
      EXPECT_EQ(router.route(a, b), t.route(a, b)) << "trial " << trial;
    }
  }
}

// A random switched cluster under a 1-3 tier (rail-optimized) fat tree: NVSwitch domains
// (full mesh one time in `full_mesh_one_in` + 1), sometimes a partial last domain (less often
// when `rarely_partial`), random NICs, oversubscription, radix and network latency.
ClusterSpec random_switched_tree(std::mt19937_64& rng, int full_mesh_one_in, bool rarely_partial) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  ClusterSpec c =
      switched(0, pick(1, 8),
               pick(0, full_mesh_one_in) ? ScaleUpKind::nvswitch : ScaleUpKind::full_mesh, 400e9);
  c.devices = std::max(1, c.scale_up.devices_per_domain * pick(1, 24) -
                              (rarely_partial ? pick(0, 1) * pick(0, 1) : pick(0, 1)));
  c.scale_out.kind = pick(0, 1) ? ScaleOutKind::fat_tree : ScaleOutKind::rail_optimized_fat_tree;
  c.scale_out.nics_per_domain = pick(1, std::max(1, c.scale_up.devices_per_domain));
  c.scale_out.tiers = pick(1, 3);
  c.scale_out.oversubscription = pick(1, 3);
  c.scale_out.switch_radix = pick(4, 24);
  if (pick(0, 1)) c.scale_out.link.latency_s = 1.7e-6;
  return c;
}

TEST(Router, ParallelLinksAreCrossedAlikeOnRandomClusters) {
  // Topology::parallel_links (twin switches, topology.cpp): every route crosses every link of
  // a class with the same fraction, bit for bit, or none of them; the links of a class have
  // one capacity. And the classes are not empty where the argument applies: a two-tier fat
  // tree's leaf uplinks (and the spines' downlinks into a leaf) each form one class.
  std::mt19937_64 rng(11);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int merged_trials = 0;
  for (int trial = 0; trial < 80; ++trial) {
    const ClusterSpec c = random_switched_tree(rng, 1, false);
    const Topology t(c);
    const std::vector<int> cls = t.parallel_links();
    ASSERT_EQ(cls.size(), t.directed_link_count());
    std::vector<int> size(cls.size(), 0);
    for (std::size_t l = 0; l < cls.size(); ++l) {
      ASSERT_LE(cls[l], static_cast<int>(l));  // the class's lowest id
      ASSERT_EQ(cls[static_cast<std::size_t>(cls[l])], cls[l]);
      EXPECT_EQ(t.link(static_cast<int>(l)).effective_Bps(), t.link(cls[l]).effective_Bps());
      ++size[static_cast<std::size_t>(cls[l])];
    }
    if (std::any_of(size.begin(), size.end(), [](int k) { return k > 1; })) ++merged_trials;
    if (c.scale_out.tiers == 2 && t.leaves() > 1 && t.leaf_up_ports() > 1) {
      const int leaf = t.location(0).leaf;
      for (int e = 0; e < static_cast<int>(t.directed_link_count()); ++e)
        if (t.link_source(e) == leaf &&
            t.graph()[static_cast<std::size_t>(t.link_target(e))].tier == 2) {
          EXPECT_EQ(size[static_cast<std::size_t>(cls[static_cast<std::size_t>(e)])],
                    t.leaf_up_ports())
              << "trial " << trial;
        }
    }
    Router router(t);
    std::vector<double> seen(cls.size());
    std::vector<int> count(cls.size(), 0);
    for (int i = 0; i < 300; ++i) {
      const int a = pick(0, c.devices - 1), b = pick(0, c.devices - 1);
      std::vector<std::pair<int, double>> got;
      router.spread(a, b, [&](int id, double f) { got.emplace_back(id, f); });
      for (const auto& [id, f] : got) {
        const auto k = static_cast<std::size_t>(cls[static_cast<std::size_t>(id)]);
        if (count[k]++ == 0) seen[k] = f;
        EXPECT_EQ(f, seen[k]) << "trial " << trial << " link " << id;
      }
      for (const auto& [id, f] : got) {
        const auto k = static_cast<std::size_t>(cls[static_cast<std::size_t>(id)]);
        if (count[k] > 0) {
          EXPECT_EQ(count[k], size[k]) << "trial " << trial << " link " << id;
        }
        count[k] = 0;
      }
    }
  }
  EXPECT_GT(merged_trials, 10);
}

// Dijkstra from `source` started at `offset`, on the graph itself (any correct Dijkstra
// gives the same bits: topology.cpp).
std::vector<double> reference_key(const Topology& t, int source, double offset) {
  const auto& g = t.graph();
  std::vector<double> dist(boost::num_vertices(g), std::numeric_limits<double>::infinity());
  using Entry = std::pair<double, int>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  dist[static_cast<std::size_t>(source)] = offset;
  heap.emplace(offset, source);
  while (!heap.empty()) {
    const auto [du, u] = heap.top();
    heap.pop();
    if (du > dist[static_cast<std::size_t>(u)]) continue;
    for (auto e : boost::make_iterator_range(boost::out_edges(u, g))) {
      const auto v = boost::target(e, g);
      const double dv = du + (g[e].latency_s + 1e-9);
      if (dv < dist[v]) dist[v] = dv, heap.emplace(dv, static_cast<int>(v));
    }
  }
  return dist;
}

TEST(Router, KeysBySymmetryAreDijkstrasOnRandomClusters) {
  // Router moves a key's distances from an earlier key by a guessed automorphism and keeps
  // them only if they are the fixed point: bit for bit Dijkstra's. A corrupted guess (one
  // distance a unit in the last place off, or two distances swapped) is rejected.
  std::mt19937_64 rng(13);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int by_symmetry = 0, keys = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const ClusterSpec c = random_switched_tree(rng, 3, true);
    const Topology t(c);
    Router router(t);
    const int n = static_cast<int>(t.vertex_count());
    std::set<std::pair<int, double>> seen;
    // The keys distances_to makes: every vertex, at the weight of each of its links.
    for (int v = 0; v < n; ++v) {
      for (auto e : boost::make_iterator_range(boost::out_edges(v, t.graph()))) {
        const double offset = 0.0 + (t.graph()[e].latency_s + 1e-9);
        const int source = static_cast<int>(boost::target(e, t.graph()));
        bool sym = false;
        const std::span<const double> got = router.key_distances(source, offset, &sym);
        const std::vector<double> want = reference_key(t, source, offset);
        ASSERT_TRUE(std::equal(got.begin(), got.end(), want.begin(), want.end()))
            << "trial " << trial << " source " << source;
        if (seen.emplace(source, offset).second) ++keys, by_symmetry += sym ? 1 : 0;
        EXPECT_TRUE(router.is_fixed_point(source, offset, want));
        std::vector<double> bad = want;
        const int w = pick(0, n - 1);
        if (w != source && std::isfinite(bad[static_cast<std::size_t>(w)])) {
          bad[static_cast<std::size_t>(w)] =
              std::nextafter(bad[static_cast<std::size_t>(w)], pick(0, 1) ? 1.0 : 0.0);
          EXPECT_FALSE(router.is_fixed_point(source, offset, bad));
          bad = want;
        }
        const int x = pick(0, n - 1);
        if (bad[static_cast<std::size_t>(w)] != bad[static_cast<std::size_t>(x)]) {
          std::swap(bad[static_cast<std::size_t>(w)], bad[static_cast<std::size_t>(x)]);
          EXPECT_FALSE(router.is_fixed_point(source, offset, bad));
        }
      }
    }
  }
  EXPECT_GT(by_symmetry, keys / 5);  // a quarter here: small trees, keys at every vertex
  // Two-tier fat trees, plain and rail-optimized, of whole leaf groups: only the first key of
  // each kind (a GPU's NVSwitch, its leaf) needs Dijkstra.
  for (const ScaleOutKind out : {ScaleOutKind::fat_tree, ScaleOutKind::rail_optimized_fat_tree}) {
    const Topology t(switched(512, 8, ScaleUpKind::nvswitch, 450e9, out, 2, 1, 16));
    Router router(t);
    std::set<std::pair<int, double>> seen;
    int dijkstra = 0;
    for (int b = 0; b < t.devices(); ++b)
      for (auto e : boost::make_iterator_range(boost::out_edges(b, t.graph()))) {
        const int source = static_cast<int>(boost::target(e, t.graph()));
        const double offset = 0.0 + (t.graph()[e].latency_s + 1e-9);
        bool sym = false;
        const std::span<const double> got = router.key_distances(source, offset, &sym);
        const std::vector<double> want = reference_key(t, source, offset);
        ASSERT_TRUE(std::equal(got.begin(), got.end(), want.begin(), want.end()));
        if (seen.emplace(source, offset).second && !sym) ++dijkstra;
      }
    EXPECT_EQ(seen.size(), 128u);  // 64 NVSwitches and 64 leaves
    EXPECT_EQ(dijkstra, 2);
  }
}

TEST(Router, AutomorphismCheckAgreesWithTheWholeGraph) {
  // Router::is_automorphism looks only at the vertices a map moves and their neighbours; on
  // random clusters it must agree with comparing every link's image (the oracle below), and
  // an automorphism must carry Dijkstra's distances from s onto those from sigma(s).
  std::mt19937_64 rng(17);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int accepted = 0, rejected = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const ClusterSpec c = random_switched_tree(rng, 3, false);
    const Topology t(c);
    Router router(t);
    const auto& g = t.graph();
    const int n = static_cast<int>(t.vertex_count());
    using Link = std::tuple<int, int, double>;
    std::vector<Link> all;
    for (auto e : boost::make_iterator_range(boost::edges(g)))
      all.emplace_back(static_cast<int>(boost::source(e, g)), static_cast<int>(boost::target(e, g)),
                       g[e].latency_s + 1e-9);
    std::sort(all.begin(), all.end());
    for (int i = 0; i < 60; ++i) {
      // A transposition of two vertices of the same kind and degree (twin switches, GPUs of
      // a node under one switch: often automorphisms), else of any two.
      std::vector<int> sigma(static_cast<std::size_t>(n));
      std::iota(sigma.begin(), sigma.end(), 0);
      const int u = pick(0, n - 1);
      int v = pick(0, n - 1);
      for (int tries = 0; tries < 50 && i % 2 == 0; ++tries) {
        v = pick(0, n - 1);
        if (v != u && g[static_cast<std::size_t>(v)].kind == g[static_cast<std::size_t>(u)].kind &&
            t.out_degree(v) == t.out_degree(u))
          break;
      }
      std::swap(sigma[static_cast<std::size_t>(u)], sigma[static_cast<std::size_t>(v)]);
      std::vector<Link> image;
      for (const auto& [a, b, w] : all)
        image.emplace_back(sigma[static_cast<std::size_t>(a)], sigma[static_cast<std::size_t>(b)],
                           w);
      std::sort(image.begin(), image.end());
      const bool want = image == all;
      ASSERT_EQ(router.is_automorphism(sigma), want) << "trial " << trial << " " << u << "<->" << v;
      if (u != v && want) {
        ++accepted;
        const int s = pick(0, n - 1);
        const std::vector<double> from_s = reference_key(t, s, 2e-9);
        const std::vector<double> from_image =
            reference_key(t, sigma[static_cast<std::size_t>(s)], 2e-9);
        for (int x = 0; x < n; ++x)
          ASSERT_EQ(from_image[static_cast<std::size_t>(sigma[static_cast<std::size_t>(x)])],
                    from_s[static_cast<std::size_t>(x)]);
        EXPECT_FALSE(router.is_automorphism(sigma, 0));  // over the budget: not looked at
      } else if (u != v) {
        ++rejected;
      }
    }
  }
  EXPECT_GT(accepted, 100);
  EXPECT_GT(rejected, 100);
}

TEST(Router, SpreadsMoveWithAutomorphismsWhenSharesAreUniform) {
  // A block of domains mapped onto another (Topology::domain_image_map), checked as an
  // automorphism of the network (links alike), carries every spread whose vertices receive
  // equal shares only onto the spread between the images, bit for bit: the simulator builds
  // a pipeline stage's flow patterns from another stage's this way.
  std::mt19937_64 rng(23);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int checked = 0, automorphisms = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const ClusterSpec c = random_switched_tree(rng, 3, true);
    const Topology t(c);
    const int size = c.scale_up.devices_per_domain, domains = t.devices() / size;
    if (domains < 2) continue;
    const int k = pick(1, std::max(1, domains / 2));
    const int shift = pick(1, domains - k);
    std::vector<int> from, to;
    for (int d = 0; d < k * size; ++d) from.push_back(d), to.push_back(d + shift * size);
    std::vector<int> sigma;
    if (!t.domain_image_map(from, to, sigma)) continue;
    Router router(t);
    if (!router.is_automorphism(sigma, std::numeric_limits<std::size_t>::max(), true)) continue;
    ++automorphisms;
    for (int i = 0; i < 40; ++i) {
      const int a = from[static_cast<std::size_t>(pick(0, static_cast<int>(from.size()) - 1))];
      const int b = pick(0, t.devices() - 1);
      auto want = router.spread_shares(sigma[static_cast<std::size_t>(a)],
                                       sigma[static_cast<std::size_t>(b)]);
      auto got = router.spread_shares(a, b);
      if (!router.last_spread_uniform()) continue;
      for (auto& [l, f] : got) {
        l = t.link_image(l, sigma);
        ASSERT_GE(l, 0);
      }
      std::sort(got.begin(), got.end());
      std::sort(want.begin(), want.end());
      ASSERT_EQ(got, want) << "trial " << trial << " " << a << "->" << b;
      ++checked;
    }
  }
  EXPECT_GT(automorphisms, 10);
  EXPECT_GT(checked, 400);
}

TEST(Router, UnreachablePairsGetNoRoute) {
  // Two torus slices and no network between them: no path, no links, no latency.
  ClusterSpec c = torus(4, 4, 1, true);
  c.devices = 32;
  Topology t(c);
  Router router(t);
  int links = 0;
  EXPECT_EQ(router.spread(0, 17, [&](int, double) { ++links; }), 0);
  EXPECT_EQ(links, 0);
  EXPECT_TRUE(router.route(0, 17).empty());
  EXPECT_TRUE(t.route(17, 0).empty());
  EXPECT_EQ(router.spread(0, 5, [&](int, double) { ++links; }), 2e-6);  // inside the slice
}

TEST(Build, PodScaleClustersBuildFast) {
  // TPU v5p pod (16 x 20 x 28 = 8960 chips, every side wraps: 3 x 8960 links) and 4096
  // DGX H100 GPUs: each well under a second (milliseconds in practice).
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  ClusterSpec v5p = io::load_cluster("tpu-v5p-pod");
  v5p.scale_out.kind = ScaleOutKind::none;
  Topology pod(v5p);
  auto t1 = clock::now();
  Topology gpus(io::load_cluster("dgx-h100", 4096));
  auto t2 = clock::now();
  EXPECT_EQ(pod.devices(), 8960);
  EXPECT_EQ(pod.link_count(), 3u * 8960);
  EXPECT_EQ(gpus.devices(), 4096);
  EXPECT_LT(std::chrono::duration<double>(t1 - t0).count(), 0.5);
  EXPECT_LT(std::chrono::duration<double>(t2 - t1).count(), 0.5);
}

TEST(Build, MultisliceJoinsSlicesOverTheDataCenterNetwork) {
  // Two v5e-256 slices; a chip reaches the other slice through its own DCN port: 2 links.
  Topology t(io::load_cluster("tpu-v5e-256", 512));
  EXPECT_EQ(t.domains(), 2);
  EXPECT_EQ(t.hops(0, 256 + 17), 2);
  EXPECT_EQ(t.hops(0, 17), 2);  // inside the slice: (1,1) is 2 ICI hops away
}

}  // namespace
}  // namespace moesim::hw
