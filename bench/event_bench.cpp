// The event-driven simulator (docs/simulate.md, "Performance"). Goal from the issue: one
// training step of DeepSeek-V3 on 2048 H800s (pp 16, ep 64, ZeRO-1) simulated in under 5 s
// and 2 GiB; the rate in events per second; how wall time grows from 256 to 1024 to 4096
// devices (goal: close to linear in events).
//
//   build-event/bench/bench_event_bench --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include "io/loaders.hpp"
#include "sim/estimate.hpp"
#include "sim/event/simulator.hpp"
#include "sim/network.hpp"

namespace {

using namespace moesim;

// Peak resident memory of this process so far (Linux reports kilobytes).
double peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) * 1024.0;
}

// DeepSeek-V3 on `devices` H800s: pp 16, ep as given, ZeRO-1, the default global batch
// (about 4 Mi tokens: 1024 sequences), balanced routing unless `zipf`.
void run(benchmark::State& state, int devices, int ep, sim::event::NetworkModel network, bool zipf,
         std::int64_t global_batch = 0) {
  const model::ModelSpec spec = io::load_model("deepseek-v3");
  const hw::ClusterSpec cluster = io::load_cluster("h800", devices);
  const sim::ClusterNetwork net(cluster);  // topology built once, outside the timing
  sim::Layout l;
  l.pp = 16, l.dp = devices / 16, l.ep = ep, l.zero = 1;
  l.global_batch =
      global_batch > 0 ? global_batch : sim::default_global_batch(spec.seq_len, l.dp, 1);
  sim::event::SimulateOptions opt;
  opt.network = network;
  opt.compare_balanced = false;
  if (zipf) {
    opt.routing.kind = sim::event::RoutingKind::zipf;
    opt.routing.parameter = 1.2;
  }
  sim::event::SimulationStats stats;
  for (auto _ : state) {
    const auto r = sim::event::simulate_step(spec, cluster, net, l, {}, opt);
    stats = r.stats;
    benchmark::DoNotOptimize(r.step.step_s);
  }
  state.counters["events"] = static_cast<double>(stats.events);
  state.counters["events_per_s"] = benchmark::Counter(
      static_cast<double>(stats.events), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["flows"] = static_cast<double>(stats.flows);
  state.counters["ranks"] = static_cast<double>(stats.ranks);
  state.counters["routes"] = static_cast<double>(stats.routes);
  state.counters["routes_moved"] = static_cast<double>(stats.routes_by_symmetry);
  state.counters["step_s"] = stats.simulated_s;
  // Host time split: setup (expert-load sampling; routes and flow patterns, with Dijkstra
  // per destination in hw::Router, growing with the devices), and the rest, per event.
  state.counters["setup_s"] = stats.setup_s;
  state.counters["loop_us_per_event"] =
      stats.events > 0 ? 1e6 * (stats.wall_s - stats.setup_s) / static_cast<double>(stats.events)
                       : 0;
  state.counters["peak_rss_MiB"] = peak_rss_bytes() / (1024.0 * 1024.0);
}

void BM_DeepSeekV3_2048_H800(benchmark::State& state) {
  run(state, 2048, 64, sim::event::NetworkModel::automatic, false);
}
BENCHMARK(BM_DeepSeekV3_2048_H800)->Unit(benchmark::kSecond)->Iterations(1);

void BM_DeepSeekV3_2048_H800_Zipf(benchmark::State& state) {
  run(state, 2048, 64, sim::event::NetworkModel::automatic, true);
}
BENCHMARK(BM_DeepSeekV3_2048_H800_Zipf)->Unit(benchmark::kSecond)->Iterations(1);

// Strong scaling: devices = state.range(0), ep = min(64, dp), coflows throughout (the same
// network model at every size), the default global batch (about 4 Mi tokens) at every size:
// micro-batches per replica fall as dp grows, and so do the events.
void BM_DeepSeekV3_Scaling(benchmark::State& state) {
  const int devices = static_cast<int>(state.range(0));
  run(state, devices, std::min(64, devices / 16), sim::event::NetworkModel::coflows, false);
}
BENCHMARK(BM_DeepSeekV3_Scaling)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

// Weak scaling: every device simulated (ep = dp, up to DeepSeek-V3's 256 experts), eight
// micro-batches per replica (global batch 8 * dp sequences): the events grow with the devices,
// and an all-to-all's flows with its group (n * (k - 1 + D - 1), docs/simulate.md).
void BM_DeepSeekV3_WeakScaling(benchmark::State& state) {
  const int devices = static_cast<int>(state.range(0));
  run(state, devices, devices / 16, sim::event::NetworkModel::coflows, false, 8 * (devices / 16));
}
BENCHMARK(BM_DeepSeekV3_WeakScaling)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

// Events at a fixed cluster: 1024 H800s (pp 16, ep 64, dp 64), the global batch 256 to 2048
// sequences, so 4 to 32 micro-batches per replica and events in proportion: the wall time
// should follow the events (loop_us_per_event flat).
void BM_DeepSeekV3_1024_Events(benchmark::State& state) {
  run(state, 1024, 64, sim::event::NetworkModel::coflows, false, state.range(0));
}
BENCHMARK(BM_DeepSeekV3_1024_Events)
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

// Per-flow max-min at the smallest size, for the cost of the exact network model.
void BM_DeepSeekV3_256_Flows(benchmark::State& state) {
  run(state, 256, 16, sim::event::NetworkModel::flows, false);
}
BENCHMARK(BM_DeepSeekV3_256_Flows)->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace
