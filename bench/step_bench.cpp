// The analytic step model and the layout optimizer (docs/benchmarks.md, "Step model and
// optimizer"). Goals from the issue: evaluating one layout (step + memory) of DeepSeek-V3
// on 2048 H800s in at most 5 microseconds on one core; optimize() over every valid layout
// of DeepSeek-V3 on 4096 H800s in under 1 second on 2 cores.
//
//   build-step/bench/bench_step_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "io/loaders.hpp"
#include "model/workload.hpp"
#include "sim/estimate.hpp"
#include "sim/layout.hpp"
#include "sim/memory.hpp"
#include "sim/optimizer.hpp"
#include "sim/step.hpp"

namespace {

using namespace moesim;

// DeepSeek-V3 on a cluster of H800s, with everything that depends only on the model and the
// cluster prepared once (as the optimizer and the GUI do).
struct Problem {
  model::ModelSpec spec;
  hw::ClusterSpec cluster;
  std::vector<model::LayerCost> layers;
  model::ModelTotals totals;
  sim::StepModel step;
  explicit Problem(int devices)
      : spec(io::load_model("deepseek-v3")),
        cluster(io::load_cluster("h800", devices)),
        layers(model::layer_costs(spec)),
        totals(model::totals(spec)),
        step(spec, cluster, sim::make_network(cluster)) {}
};

const Problem& h800_2048() {
  static const Problem p(2048);
  return p;
}

const Problem& h800_4096() {
  static const Problem p(4096);
  return p;
}

// DeepSeek-V3's own training layout (2412.19437 Sec. 3.2): pp 16, ep 64, tp 1, dp 128,
// ZeRO-1; micro-batch 1 and the default ~4 Mi-token batch (1024 sequences, m = 8).
sim::Layout deepseek_layout() {
  sim::Layout l;
  l.dp = 128, l.tp = 1, l.pp = 16, l.ep = 64, l.zero = 1;
  l.micro_batch = 1;
  l.global_batch = 1024;
  return l;
}

// One layout through the step model and the prepared memory model (what the optimizer does
// per fitting layout).
void BM_EvaluateLayout(benchmark::State& state) {
  const Problem& p = h800_2048();
  const sim::Layout l = deepseek_layout();
  for (auto _ : state) {
    sim::StepResult r = p.step.evaluate(l);
    sim::MemoryBreakdown m = sim::memory_per_device(p.spec, p.layers, p.totals, l);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_EvaluateLayout)->Unit(benchmark::kMicrosecond);

// The step model alone.
void BM_EvaluateStepOnly(benchmark::State& state) {
  const Problem& p = h800_2048();
  const sim::Layout l = deepseek_layout();
  for (auto _ : state) {
    sim::StepResult r = p.step.evaluate(l);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_EvaluateStepOnly)->Unit(benchmark::kMicrosecond);

// The prepared memory model alone (for the split of BM_EvaluateLayout).
void BM_MemoryOnly(benchmark::State& state) {
  const Problem& p = h800_2048();
  const sim::Layout l = deepseek_layout();
  for (auto _ : state) {
    sim::MemoryBreakdown m = sim::memory_per_device(p.spec, p.layers, p.totals, l);
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_MemoryOnly)->Unit(benchmark::kMicrosecond);

// optimize() over every layout of DeepSeek-V3 on 4096 H800s (the default search: ZeRO 0-3,
// three recompute policies, micro-batch 1-8, V <= 4; --top 10), with state.range(0) threads
// on a step model whose network cache is warm. Wall time (UseRealTime) since it is threaded.
void BM_OptimizeAll(benchmark::State& state) {
  const Problem& p = h800_4096();
  sim::OptimizerOptions o;
  o.threads = static_cast<int>(state.range(0));
  sim::OptimizerResult r;
  for (auto _ : state) {
    r = sim::optimize(p.spec, p.cluster, p.step, o, p.cluster.accelerator.price_per_hour_usd);
    benchmark::DoNotOptimize(r);
  }
  state.counters["enumerated"] = static_cast<double>(r.enumerated);
  state.counters["valid"] = static_cast<double>(r.valid);
  state.counters["fitting"] = static_cast<double>(r.fitting);
}
BENCHMARK(BM_OptimizeAll)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same from nothing, as `moesim optimize` runs it: build the cluster's network (topology
// and collective cache) and the step model, then search.
void BM_OptimizeAllCold(benchmark::State& state) {
  const model::ModelSpec spec = io::load_model("deepseek-v3");
  const hw::ClusterSpec cluster = io::load_cluster("h800", 4096);
  sim::OptimizerOptions o;
  o.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    const sim::StepModel step(spec, cluster, sim::make_network(cluster));
    sim::OptimizerResult r =
        sim::optimize(spec, cluster, step, o, cluster.accelerator.price_per_hour_usd);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_OptimizeAllCold)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
