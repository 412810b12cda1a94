// Collective cost predictions (hardware/collective.hpp); figures in docs/hardware.md.
//   build/bench/bench_collective_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
// Goals: one prediction for a 4096-device group on a built topology under 10 us; the
// step model's fast path (CollectiveModel::cost on a cached group shape) under 0.5 us.
#include <benchmark/benchmark.h>

#include <numeric>
#include <vector>

#include "hardware/collective.hpp"
#include "io/loaders.hpp"

namespace {

using namespace moesim;

std::vector<int> first(int n) {
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

// One all-reduce over an explicit list of 4096 GPUs (512 DGX H100 nodes): reads every
// device's location once, then evaluates each applicable algorithm.
void BM_Explicit4096Gpus(benchmark::State& state) {
  const hw::Topology topo(io::load_cluster("dgx-h100", 4096));
  const auto group = first(4096);
  double bytes = 1e9;
  for (auto _ : state) {
    auto c = hw::collective_cost(topo, hw::CollectiveOp::all_reduce, group, bytes);
    benchmark::DoNotOptimize(c);
    bytes += 1;
  }
}
BENCHMARK(BM_Explicit4096Gpus);

// The same on a 4096-chip TPU v4 pod (16x16x16 torus).
void BM_Explicit4096TorusChips(benchmark::State& state) {
  const hw::Topology topo(io::load_cluster("tpu-v4-pod"));
  const auto group = first(4096);
  double bytes = 1e9;
  for (auto _ : state) {
    auto c = hw::collective_cost(topo, hw::CollectiveOp::all_reduce, group, bytes);
    benchmark::DoNotOptimize(c);
    bytes += 1;
  }
}
BENCHMARK(BM_Explicit4096TorusChips);

// The fast path: ten calls per iteration, the mix a step model makes for one layout (TP
// all-reduce, EP all-to-all, DP reduce-scatter / all-gather, PP p2p) on 4096 GPUs.
void BM_FastPathTenCalls(benchmark::State& state) {
  const hw::CollectiveModel model(io::load_cluster("dgx-h100", 4096));
  const hw::GroupShape tp{8, 1}, ep{64, 8}, dp{512, 8}, pp{2, 2048};
  double bytes = 1e8;
  // Warm-up: the first call per shape computes and caches its structure.
  for (auto s : {tp, ep, dp, pp}) model.cost(hw::CollectiveOp::all_reduce, s, bytes);
  for (auto _ : state) {
    double t = 0;
    t += model.time_s(hw::CollectiveOp::all_reduce, tp, bytes);
    t += model.time_s(hw::CollectiveOp::all_gather, tp, bytes);
    t += model.time_s(hw::CollectiveOp::reduce_scatter, tp, bytes);
    t += model.time_s(hw::CollectiveOp::all_to_all, ep, bytes);
    t += model.time_s(hw::CollectiveOp::all_to_all, ep, bytes / 2);
    t += model.time_s(hw::CollectiveOp::reduce_scatter, dp, bytes);
    t += model.time_s(hw::CollectiveOp::all_gather, dp, bytes);
    t += model.time_s(hw::CollectiveOp::all_reduce, dp, bytes / 4);
    t += model.time_s(hw::CollectiveOp::p2p, pp, bytes / 8);
    t += model.time_s(hw::CollectiveOp::p2p, pp, bytes / 16);
    benchmark::DoNotOptimize(t);
    bytes += 1;
  }
  state.SetItemsProcessed(state.iterations() * 10);
}
BENCHMARK(BM_FastPathTenCalls);

// Building the graph once per cluster.
void BM_BuildDgxH100_4096(benchmark::State& state) {
  const hw::ClusterSpec spec = io::load_cluster("dgx-h100", 4096);
  for (auto _ : state) {
    hw::Topology t(spec);
    benchmark::DoNotOptimize(t.link_count());
  }
}
BENCHMARK(BM_BuildDgxH100_4096)->Unit(benchmark::kMillisecond);

void BM_BuildTpuV5pPod_8960(benchmark::State& state) {
  const hw::ClusterSpec spec = io::load_cluster("tpu-v5p-pod");
  for (auto _ : state) {
    hw::Topology t(spec);
    benchmark::DoNotOptimize(t.link_count());
  }
}
BENCHMARK(BM_BuildTpuV5pPod_8960)->Unit(benchmark::kMillisecond);

// The flow-level reference, for scale: a 64-GPU all-to-all routed message by message.
void BM_GraphPath64GpuAllToAll(benchmark::State& state) {
  const hw::Topology topo(io::load_cluster("dgx-h100", 64));
  const std::vector<std::vector<int>> groups = {first(64)};
  for (auto _ : state) {
    auto c = hw::graph_collective_cost(topo, hw::CollectiveOp::all_to_all, groups, 1e9);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_GraphPath64GpuAllToAll)->Unit(benchmark::kMillisecond);

}  // namespace
