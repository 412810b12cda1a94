// moesim sweep's throughput for analytic estimates (issue 8's goal: at least 50,000 points/s
// on 2 threads, and 2 threads at least 1.8x one). Each iteration runs every point of the spec
// below through exactly what `moesim sweep` does for a point (cli::sweep_point_row: the
// point's flags, the estimate, the CSV line) on the sweep runner's threads; only the file
// write is left out (rows are counted instead). docs/benchmarks.md has the figures.
#include <benchmark/benchmark.h>

#include <atomic>
#include <numeric>
#include <stdexcept>

#include "cli/sweep_verb.hpp"
#include "sim/sweep.hpp"

namespace {

// Mixtral 8x7B with 8..128 experts on 64 H100s, every combination of pp, ep, tp, ZeRO stage,
// recompute policy and micro-batch: 5 x 4 x 4 x 4 x 4 x 3 x 5 = 19,200 points (about 60%
// do not fit, 16% are invalid layouts, the rest fit; each kind is a row).
const char* kSpec = R"({
  "verb": "estimate",
  "base": {"model": "mixtral-8x7b", "cluster": "dgx-h100", "devices": 64, "tokens": "1T"},
  "grid": {"set:moe.experts": {"from": 8, "to": 128, "times": 2}, "pp": [1, 2, 4, 8],
           "ep": [1, 2, 4, 8], "tp": [1, 2, 4, 8], "zero": [0, 1, 2, 3],
           "recompute": ["none", "selective", "full"], "micro-batch": [1, 2, 4, 8, 16]}
})";

void BM_SweepEstimate(benchmark::State& state) {
  const moesim::io::SweepSpec spec = moesim::cli::parse_cli_sweep_spec(kSpec, "bench spec");
  std::vector<std::int64_t> points(static_cast<std::size_t>(spec.count()));
  std::iota(points.begin(), points.end(), std::int64_t{0});
  moesim::sim::SweepRunOptions options;
  options.threads = static_cast<int>(state.range(0));
  std::int64_t rows = 0, bytes = 0;
  std::atomic<int> errors{0};
  for (auto _ : state) {
    moesim::sim::run_sweep(
        points,
        [&](std::int64_t i) {
          bool internal = false;
          std::string row =
              moesim::cli::sweep_point_row(spec, i, moesim::io::SweepFormat::csv, &internal);
          if (internal) ++errors;
          return row;
        },
        [&](std::int64_t, std::string&& row) {
          ++rows;
          bytes += static_cast<std::int64_t>(row.size());
        },
        options);
  }
  if (errors > 0) state.SkipWithError("a point failed with an internal error");
  state.SetItemsProcessed(rows);
  state.SetBytesProcessed(bytes);
  state.counters["points"] = static_cast<double>(points.size());
}
BENCHMARK(BM_SweepEstimate)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
