// Collective cost models: closed forms at both ends of the size curve, algorithm choice,
// the fast path against the explicit-group path and against the flow-level graph
// reference, all-to-all-v, and never a NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <thread>

#include "hardware/collective.hpp"
#include "io/loaders.hpp"

namespace moesim::hw {
namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;

ClusterSpec dgx(int devices, double nvlink_eff = 0.8, double nvls = 0.69) {
  ClusterSpec c;
  c.name = "dgx";
  c.devices = devices;
  c.scale_up.kind = ScaleUpKind::nvswitch;
  c.scale_up.devices_per_domain = 8;
  c.scale_up.link = {450e9, 1e-6, nvlink_eff};
  c.scale_up.switch_reduction_efficiency = nvls;
  c.scale_out.kind = ScaleOutKind::rail_optimized_fat_tree;
  c.scale_out.nics_per_domain = 8;
  c.scale_out.tiers = 2;
  c.scale_out.link = {50e9, 2e-6, 0.96};
  return c;
}

ClusterSpec torus(int x, int y, int z, bool wrap) {
  ClusterSpec c;
  c.name = "torus";
  c.devices = x * y * z;
  c.scale_up.kind = z > 1 ? ScaleUpKind::torus3d : ScaleUpKind::torus2d;
  c.scale_up.torus_dims = {x, y, z};
  c.scale_up.devices_per_domain = x * y * z;
  c.scale_up.wraparound = wrap;
  c.scale_up.link = {100e9, 1e-6, 1.0};
  c.scale_out.kind = ScaleOutKind::none;
  return c;
}

std::vector<int> strided(int size, int stride, int offset = 0) {
  std::vector<int> v(size);
  for (int i = 0; i < size; ++i) v[i] = offset + i * stride;
  return v;
}

// Every sibling of a (size, stride) group in a cluster of `devices`.
std::vector<std::vector<int>> siblings(int size, int stride, int devices) {
  std::vector<std::vector<int>> groups;
  const int span = size * stride;
  for (int block = 0; block + span <= devices; block += span)
    for (int off = 0; off < stride; ++off) groups.push_back(strided(size, stride, block + off));
  return groups;
}

TEST(BusBandwidth, NcclTestsFactors) {
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(CollectiveOp::all_reduce, 8), 2.0 * 7 / 8);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(CollectiveOp::all_gather, 8), 7.0 / 8);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(CollectiveOp::reduce_scatter, 8), 7.0 / 8);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(CollectiveOp::all_to_all, 8), 7.0 / 8);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(CollectiveOp::broadcast, 8), 1.0);
  EXPECT_DOUBLE_EQ(bus_bandwidth_factor(CollectiveOp::p2p, 2), 1.0);
}

TEST(Names, RoundTrip) {
  for (auto n : collective_op_names()) EXPECT_EQ(name(*parse_collective_op(n)), n);
  for (auto n : algorithm_names()) EXPECT_EQ(name(*parse_algorithm(n)), n);
  EXPECT_FALSE(parse_collective_op("allreduce"));
  EXPECT_FALSE(parse_algorithm("rings"));
}

TEST(Ring, LargeMessagesReachTheLinkBandwidth) {
  // Ring busbw -> effective per-GPU NVLink bandwidth 0.8 x 450 GB/s = 360 GB/s as S grows:
  // time = base + 2(n-1)(alpha + S/(n B)), busbw = S/time * 2(n-1)/n.
  Topology t(dgx(8));
  const auto g = strided(8, 1);
  const auto big = collective_cost(t, CollectiveOp::all_reduce, g, 64 * kGiB, Algorithm::ring);
  EXPECT_NEAR(big.busbw_Bps / 360e9, 1, 1e-3);
  const double S = 1e9, B = 360e9;
  const auto mid = collective_cost(t, CollectiveOp::all_reduce, g, S, Algorithm::ring);
  EXPECT_NEAR(mid.time_s, mid.latency_s + 14 * S / 8 / B, 1e-12);
  EXPECT_NEAR(mid.latency_s - 14 * 1e-6, 3.6e-6, 1e-12);  // launch + 14 steps x 1 us
}

TEST(Ring, SmallMessagesApproachTheLatencyTerm) {
  Topology t(dgx(8));
  const auto g = strided(8, 1);
  for (CollectiveOp op : {CollectiveOp::all_reduce, CollectiveOp::all_gather,
                          CollectiveOp::all_to_all, CollectiveOp::broadcast}) {
    const auto c = collective_cost(t, op, g, 8);
    EXPECT_GT(c.latency_s, 0.99 * c.time_s) << name(op);
    EXPECT_LT(c.busbw_Bps, 1e7) << name(op);
  }
  // 8 bytes over 2 nodes: each of the 15 ring steps waits for the message that crosses to
  // the other node: an NVLink hop to the GPU on the right rail (PXN, 1 us) and the network
  // through one leaf (2 us).
  Topology two(dgx(16));
  const auto c = collective_cost(two, CollectiveOp::all_gather, strided(16, 1), 8, Algorithm::ring);
  EXPECT_NEAR(c.latency_s, 3.6e-6 + 15 * (1e-6 + 2e-6), 1e-9);
}

TEST(Nvls, AllReduceThroughTheSwitch) {
  // NVLS moves S (k+1)/k per GPU each way at the in-switch efficiency: on 8 GPUs with
  // 0.69 x 450 GB/s, algbw -> 0.69 x 450 x 8/9 = 276 GB/s, busbw x 7/4 = 483 GB/s.
  Topology t(dgx(8));
  const auto c = collective_cost(t, CollectiveOp::all_reduce, strided(8, 1), 64 * kGiB);
  EXPECT_EQ(c.algorithm, Algorithm::nvls);
  EXPECT_NEAR(c.algbw_Bps / (0.69 * 450e9 * 8 / 9), 1, 1e-3);
  // Without in-switch reduction (A100's NVSwitch) the ring is the answer.
  Topology a100(dgx(8, 0.8, 0));
  EXPECT_EQ(collective_cost(a100, CollectiveOp::all_reduce, strided(8, 1), kGiB).algorithm,
            Algorithm::ring);
}

TEST(Automatic, PicksTheFastestApplicable) {
  Topology t(dgx(128));
  for (int n : {8, 16, 128})
    for (double bytes : {8.0, 1e5, 1e8, 4e9})
      for (CollectiveOp op :
           {CollectiveOp::all_reduce, CollectiveOp::all_gather, CollectiveOp::reduce_scatter,
            CollectiveOp::all_to_all, CollectiveOp::broadcast}) {
        const GroupStructure g = analyze_group(t, strided(n, 1));
        const auto best = collective_cost(g, op, bytes);
        ASSERT_TRUE(best.feasible);
        for (Algorithm a : applicable_algorithms(g, op)) {
          const auto c = collective_cost(g, op, bytes, a);
          ASSERT_TRUE(c.feasible) << name(a);
          EXPECT_LE(best.time_s, c.time_s * (1 + 1e-12)) << name(op) << " " << name(a);
        }
      }
}

TEST(Automatic, TreeOrHierarchicalWinsSmallMultiNodeAllReduce) {
  // 128 GPUs, 8 KiB: a ring pays 2 x 127 network steps; tree and hierarchical pay log and
  // per-domain steps.
  Topology t(dgx(128));
  const auto g = strided(128, 1);
  const auto best = collective_cost(t, CollectiveOp::all_reduce, g, 8192);
  EXPECT_NE(best.algorithm, Algorithm::ring);
  EXPECT_LT(best.time_s,
            0.25 * collective_cost(t, CollectiveOp::all_reduce, g, 8192, Algorithm::ring).time_s);
}

TEST(Algorithms, InapplicableRequestIsInfeasible) {
  Topology t(dgx(8));
  EXPECT_FALSE(
      collective_cost(t, CollectiveOp::all_to_all, strided(8, 1), 1e6, Algorithm::ring).feasible);
  EXPECT_FALSE(
      collective_cost(t, CollectiveOp::all_reduce, strided(8, 1), 1e6, Algorithm::torus).feasible);
  EXPECT_EQ(collective_cost(t, CollectiveOp::all_reduce, strided(1, 1), 1e6).algorithm,
            Algorithm::none);
}

TEST(AllToAll, NicLimitedAcrossNodes) {
  // n = 8N ranks, each sends (n-8)/n S over its NIC (0.96 x 50 GB/s): busbw -> NIC x
  // (n-1)/(n-8), close to the N/(N-1) x NIC of the nccl-tests maintainers.
  for (int nodes : {2, 4, 8}) {
    Topology t(dgx(8 * nodes));
    const int n = 8 * nodes;
    const auto c =
        collective_cost(t, CollectiveOp::all_to_all, strided(n, 1), 64 * kGiB, Algorithm::direct);
    EXPECT_NEAR(c.busbw_Bps / (48e9 * (n - 1) / (n - 8)), 1, 2e-3) << nodes;
  }
}

TEST(AllToAll, HierarchicalWinsAtScaleForSmallMessages) {
  // DeepSpeed-MoE: direct pays one latency per peer (O(p)), 2D hierarchical O(G + p/G).
  Topology t(dgx(512));
  const auto g = strided(512, 1);
  const auto small_direct =
      collective_cost(t, CollectiveOp::all_to_all, g, 1 << 20, Algorithm::direct);
  const auto small_hier =
      collective_cost(t, CollectiveOp::all_to_all, g, 1 << 20, Algorithm::hierarchical);
  EXPECT_LT(small_hier.time_s, small_direct.time_s / 4);
  // Two nodes and a large message: the extra NVLink phase costs more than it saves.
  Topology two(dgx(16));
  const auto g2 = strided(16, 1);
  EXPECT_LT(
      collective_cost(two, CollectiveOp::all_to_all, g2, 8 * kGiB, Algorithm::direct).time_s,
      collective_cost(two, CollectiveOp::all_to_all, g2, 8 * kGiB, Algorithm::hierarchical).time_s);
}

TEST(AllToAll, OversubscribedLeavesSlowItDown) {
  // Plain fat tree of 8-port switches at 3:1 (6 down, 2 up), one device per domain: 12
  // ranks on two leaves, 6 of 11 peers behind the other leaf. The up-links carry 2 x 50 of
  // the 6 x 50 x 6/11 GB/s that would leave: factor 11/18.
  ClusterSpec c;
  c.devices = 12;
  c.scale_up.kind = ScaleUpKind::none;
  c.scale_up.devices_per_domain = 1;
  c.scale_out.kind = ScaleOutKind::fat_tree;
  c.scale_out.nics_per_domain = 1;
  c.scale_out.oversubscription = 3;
  c.scale_out.switch_radix = 8;
  c.scale_out.link = {50e9, 2e-6, 1.0};
  Topology t(c);
  const GroupStructure g = analyze_group(t, strided(12, 1));
  EXPECT_NEAR(g.a2a_net_factor, 11.0 / 18.0, 1e-12);
  const std::vector<std::vector<int>> groups = {strided(12, 1)};
  const auto graph = graph_collective_cost(t, CollectiveOp::all_to_all, groups, 16 * kGiB);
  const auto formula = collective_cost(g, CollectiveOp::all_to_all, 16 * kGiB);
  EXPECT_NEAR(formula.time_s / graph.time_s, 1, 0.02);
}

TEST(Torus, PerDimensionAllReduceUsesEveryLink) {
  // Scaling book: on a k^3 torus with wraparound, all-reduce moves 2 S (n-1)/n over 2 x 3
  // links per chip at once: bandwidth term ~ 2 S (n-1)/n / (6 B) for equal extents.
  Topology t(torus(8, 8, 8, true));
  const auto g = strided(512, 1);
  const auto c = collective_cost(t, CollectiveOp::all_reduce, g, 64 * kGiB, Algorithm::torus);
  const double expect = 2 * 64 * kGiB * (511.0 / 512) / (6 * 100e9);
  EXPECT_NEAR((c.time_s - c.latency_s) / expect, 1, 1e-9);
  // A single ring over the same chips has 2 links per chip instead of 6.
  const auto r = collective_cost(t, CollectiveOp::all_reduce, g, 64 * kGiB, Algorithm::ring);
  EXPECT_NEAR((r.time_s - r.latency_s) / (c.time_s - c.latency_s), 3, 0.01);
}

TEST(Torus, AllToAllIsBisectionLimitedAndGrowsAsSqrtOn2D) {
  // GShard: the bisection of a k x k torus is 2k links each way while n S / 4 crosses it,
  // so the time with S per rank grows as k = sqrt(n).
  const double S = 1e9;
  Topology small(torus(8, 8, 1, true)), big(torus(16, 16, 1, true));
  const auto a = collective_cost(small, CollectiveOp::all_to_all, strided(64, 1), S);
  const auto b = collective_cost(big, CollectiveOp::all_to_all, strided(256, 1), S);
  EXPECT_NEAR((a.time_s - a.latency_s) / (64 * S / 4 / (2 * 8 * 100e9)), 1, 1e-9);
  EXPECT_NEAR((b.time_s - b.latency_s) / (a.time_s - a.latency_s), 2, 1e-9);
}

TEST(Torus, RingWithoutWraparoundHasHalfTheBandwidth) {
  // Scaling book: a ring closed by a wraparound link uses both directions of every link
  // for two counter-rotating rings; without it, the return hop takes the other direction.
  Topology wrap(torus(8, 1, 1, true)), line(torus(8, 1, 1, false));
  const auto g = strided(8, 1);
  const auto a = collective_cost(wrap, CollectiveOp::all_gather, g, 16 * kGiB);
  const auto b = collective_cost(line, CollectiveOp::all_gather, g, 16 * kGiB);
  EXPECT_NEAR((b.time_s - b.latency_s) / (a.time_s - a.latency_s), 2, 1e-9);
}

// The fast path must equal the explicit-group path on the same members.
TEST(FastPath, EqualsExplicitGroups) {
  struct Case {
    ClusterSpec spec;
    GroupShape shape;
  };
  const std::vector<Case> cases = {{dgx(64), {8, 1, false}},
                                   {dgx(64), {64, 1, false}},
                                   {dgx(64), {8, 8, false}},
                                   {dgx(64), {4, 2, false}},
                                   {dgx(64), {16, 4, false}},
                                   {torus(4, 4, 4, true), {64, 1, false}},
                                   {torus(4, 4, 4, true), {4, 16, false}},
                                   {torus(8, 8, 1, true), {4, 2, false}}};
  for (const Case& c : cases) {
    CollectiveModel model(c.spec);
    const auto members = strided(c.shape.size, c.shape.stride);
    for (CollectiveOp op : {CollectiveOp::all_reduce, CollectiveOp::all_gather,
                            CollectiveOp::all_to_all, CollectiveOp::broadcast, CollectiveOp::p2p})
      for (double bytes : {8.0, 1e6, 1e9}) {
        const auto fast = model.cost(op, c.shape, bytes);
        const auto full = collective_cost(model.topology(), op, members, bytes);
        EXPECT_EQ(fast.algorithm, full.algorithm);
        EXPECT_DOUBLE_EQ(fast.time_s, full.time_s)
            << c.spec.name << " " << c.shape.size << "/" << c.shape.stride << " " << name(op);
      }
  }
}

// The structural formulas against the flow-level graph reference (every message routed,
// shared links split), at a size where bandwidth dominates and at one where latency does.
TEST(FastPath, AgreesWithTheGraphPath) {
  struct Case {
    const char* what;
    ClusterSpec spec;
    GroupShape shape;
    CollectiveOp op;
    Algorithm algorithm;
  };
  const std::vector<Case> cases = {
      {"node ring", dgx(32), {8, 1, false}, CollectiveOp::all_reduce, Algorithm::ring},
      {"4-node ring", dgx(32), {32, 1, false}, CollectiveOp::all_reduce, Algorithm::ring},
      {"rail ring", dgx(32), {4, 8, true}, CollectiveOp::all_gather, Algorithm::ring},
      {"half-node rings", dgx(32), {16, 2, true}, CollectiveOp::reduce_scatter, Algorithm::ring},
      {"node all-to-all", dgx(32), {8, 1, true}, CollectiveOp::all_to_all, Algorithm::direct},
      {"4-node all-to-all", dgx(32), {32, 1, false}, CollectiveOp::all_to_all, Algorithm::direct},
      {"rail all-to-all", dgx(32), {4, 8, true}, CollectiveOp::all_to_all, Algorithm::direct},
      {"p2p across nodes", dgx(32), {2, 8, false}, CollectiveOp::p2p, Algorithm::direct},
      {"torus cube",
       torus(4, 4, 4, true),
       {64, 1, false},
       CollectiveOp::all_reduce,
       Algorithm::torus},
      {"torus x ring",
       torus(4, 4, 4, true),
       {4, 1, true},
       CollectiveOp::all_gather,
       Algorithm::ring},
      {"torus z ring",
       torus(4, 4, 4, true),
       {4, 16, true},
       CollectiveOp::all_reduce,
       Algorithm::ring},
      {"torus interleaved",
       torus(8, 8, 1, true),
       {4, 2, true},
       CollectiveOp::all_reduce,
       Algorithm::ring},
      {"mesh plane",
       torus(4, 4, 1, false),
       {16, 1, false},
       CollectiveOp::all_gather,
       Algorithm::torus},
      {"torus all-to-all",
       torus(4, 4, 4, true),
       {64, 1, false},
       CollectiveOp::all_to_all,
       Algorithm::direct},
      {"torus 2D all-to-all",
       torus(8, 8, 1, true),
       {64, 1, false},
       CollectiveOp::all_to_all,
       Algorithm::direct},
  };
  for (const Case& c : cases) {
    CollectiveModel model(c.spec);
    const auto groups = c.shape.siblings
                            ? siblings(c.shape.size, c.shape.stride, c.spec.devices)
                            : std::vector<std::vector<int>>{strided(c.shape.size, c.shape.stride)};
    const auto fast = model.cost(c.op, c.shape, 4 * kGiB, c.algorithm);
    const auto graph = graph_collective_cost(model.topology(), c.op, groups, 4 * kGiB, c.algorithm);
    ASSERT_TRUE(fast.feasible && graph.feasible) << c.what;
    EXPECT_NEAR(fast.time_s / graph.time_s, 1, 0.02) << c.what;
    // Small messages: the latency terms agree within a quarter (the graph takes the actual
    // path of each message, the formula the group's worst).
    const auto fast_small = model.cost(c.op, c.shape, 64, c.algorithm);
    const auto graph_small = graph_collective_cost(model.topology(), c.op, groups, 64, c.algorithm);
    EXPECT_NEAR(fast_small.time_s / graph_small.time_s, 1, 0.25) << c.what;
  }
}

TEST(FastPath, SiblingsShareNicsAndTorusLinks) {
  // Four devices per NIC: a rank alone gets the whole NIC, with its siblings a quarter.
  ClusterSpec c = dgx(32);
  c.scale_out.nics_per_domain = 2;
  CollectiveModel model(c);
  const auto& alone = model.structure({4, 8, false});
  const auto& shared = model.structure({4, 8, true});
  EXPECT_NEAR(alone.net_bw_rank_Bps, 48e9, 1);
  EXPECT_NEAR(shared.net_bw_rank_Bps, 12e9, 1);
  // Every second chip of an 8-ring: siblings interleave on the same links.
  CollectiveModel ring(torus(8, 8, 1, true));
  EXPECT_NEAR(ring.structure({4, 2, false}).dim_ring_bw_Bps[0], 200e9, 1);
  EXPECT_NEAR(ring.structure({4, 2, true}).dim_ring_bw_Bps[0], 100e9, 1);
}

TEST(FastPath, RejectsShapesThatDoNotFitAndIsThreadSafe) {
  CollectiveModel model(dgx(64));
  EXPECT_THROW(model.cost(CollectiveOp::all_reduce, {16, 8}, 1e6), std::out_of_range);
  EXPECT_THROW(model.cost(CollectiveOp::all_reduce, {0, 1}, 1e6), std::out_of_range);
  std::vector<double> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      double sum = 0;
      for (int r = 0; r < 2000; ++r)
        sum += model.cost(CollectiveOp::all_to_all, {1 << (r % 7), 1}, 1e6 + r).time_s;
      results[i] = sum;
    });
  for (auto& th : threads) th.join();
  for (int i = 1; i < 4; ++i) EXPECT_DOUBLE_EQ(results[i], results[0]);
}

TEST(AllToAllV, UniformMatrixEqualsAllToAll) {
  Topology t(dgx(32));
  const int n = 32;
  const double S = 1e9;
  std::vector<double> m(n * n, S / n);
  const auto v = all_to_all_v_cost(t, strided(n, 1), m);
  const auto u = collective_cost(t, CollectiveOp::all_to_all, strided(n, 1), S, Algorithm::direct);
  EXPECT_NEAR(v.time_s / u.time_s, 1, 1e-9);
  EXPECT_NEAR(v.busbw_Bps / u.busbw_Bps, 1, 1e-9);
}

TEST(AllToAllV, HotRankSetsTheTime) {
  // Rank 5 receives 4x as much from every peer: its NIC carries 4x, so the NIC-bound time
  // grows 4x while the mean bytes (and so algbw) grow only 1 + 3/32.
  Topology t(dgx(32));
  const int n = 32;
  const double S = 8e9;
  std::vector<double> m(n * n, S / n);
  for (int i = 0; i < n; ++i) m[i * n + 5] *= 4;
  const auto v = all_to_all_v_cost(t, strided(n, 1), m);
  const auto u = collective_cost(t, CollectiveOp::all_to_all, strided(n, 1), S, Algorithm::direct);
  EXPECT_NEAR((v.time_s - v.latency_s) / (u.time_s - u.latency_s), 4, 1e-6);
  // The summary form for the step model: the busiest rank at max_over_mean.
  CollectiveModel model(dgx(32));
  const auto s = model.all_to_all_v({32, 1, false}, S, 4);
  EXPECT_NEAR((s.time_s - s.latency_s) / (u.time_s - u.latency_s), 4, 1e-6);
}

TEST(Robustness, NeverNanOrInfinite) {
  for (const ClusterSpec& spec :
       {dgx(64), torus(4, 4, 4, true), io::load_cluster("mi300x", 64),
        io::load_cluster("tpu-v5e-256", 512), io::load_cluster("gb200-nvl72")}) {
    CollectiveModel model(spec);
    for (int size : {1, 2, 8, 16, 64})
      for (double bytes : {0.0, 8.0, 1e6, 8 * kGiB})
        for (auto op :
             {CollectiveOp::all_reduce, CollectiveOp::all_gather, CollectiveOp::reduce_scatter,
              CollectiveOp::all_to_all, CollectiveOp::broadcast, CollectiveOp::p2p}) {
          if (size > spec.devices) continue;
          const auto c = model.cost(op, {size, 1}, bytes);
          ASSERT_TRUE(std::isfinite(c.time_s) && std::isfinite(c.busbw_Bps) &&
                      std::isfinite(c.algbw_Bps))
              << spec.name << " " << size << " " << name(op);
          ASSERT_TRUE(c.feasible);
        }
  }
}

TEST(Mesh, Mi300xAllToAllUsesEveryPairLink) {
  // Full mesh: each pair has its own 64 GB/s link, so all-to-all busbw -> 7 x 64 GB/s at
  // the preset's efficiency.
  Topology t(io::load_cluster("mi300x", 8));
  const double eff = t.spec().scale_up.link.efficiency;
  const auto c = collective_cost(t, CollectiveOp::all_to_all, strided(8, 1), 64 * kGiB);
  EXPECT_NEAR(c.busbw_Bps / (7 * 64e9 * eff), 1, 1e-3);
}

}  // namespace
}  // namespace moesim::hw
