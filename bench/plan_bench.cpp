// The budget planner over a grid of at least 100,000 candidates (docs/plan.md, "Speed"): the
// worked example's cluster (100 H100s, dgx-h100) and budget (2000 GPU-hours), the default
// laws (chinchilla for dense, joint for MoE), the fast layout search.
#include <benchmark/benchmark.h>

#include "io/law_io.hpp"
#include "io/loaders.hpp"
#include "sim/plan.hpp"

namespace {

moesim::sim::PlanOptions bench_options() {
  moesim::sim::PlanOptions o;
  o.budget = {moesim::sim::BudgetKind::gpu_hours, 2000};
  o.dense_law = moesim::io::load_law("chinchilla");
  o.moe_law = moesim::io::load_law("joint");
  o.deadline_s = 30 * 86400.0;
  o.serve_cluster = moesim::io::load_cluster("dgx-h100", 8);
  // 38 depths x 6 widths x 55 expert layouts x 8 token fractions = 100,320 candidates.
  o.grid.n_blocks.clear();
  for (std::int64_t n = 4; n <= 78; n += 2) o.grid.n_blocks.push_back(n);
  o.grid.width_factors = {0.5, 0.75, 1, 1.25, 1.5, 2};
  o.grid.experts = {1, 8, 16, 32, 64, 128, 256};
  o.grid.granularities = {1, 2, 4, 8, 16};
  o.grid.moe_every = {1, 2};
  o.grid.token_fractions = {1, 0.75, 0.5, 0.375, 0.25, 0.1875, 0.125, 0.0625};
  return o;
}

void BM_Plan100k(benchmark::State& state) {
  const auto cluster = moesim::io::load_cluster("dgx-h100", 100);
  moesim::sim::PlanOptions o = bench_options();
  o.threads = static_cast<int>(state.range(0));
  std::int64_t candidates = 0, kept = 0;
  for (auto _ : state) {
    const moesim::sim::PlanResult r = moesim::sim::plan(cluster, o);
    candidates = r.candidates;
    kept = r.kept_count;
    benchmark::DoNotOptimize(r.best);
  }
  state.counters["candidates"] = static_cast<double>(candidates);
  state.counters["kept"] = static_cast<double>(kept);
}
BENCHMARK(BM_Plan100k)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace
