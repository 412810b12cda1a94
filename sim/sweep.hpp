#pragma once
// moesim sweep's engine: runs independent points on worker threads and hands each finished
// row to one callback, never two at once. No I/O here: the caller renders and writes rows.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace moesim::sim {

struct SweepProgress {
  std::int64_t done = 0;
  std::int64_t total = 0;
  double elapsed_s = 0;
};

struct SweepRunOptions {
  int threads = 0;  // 0: all cores (std::thread::hardware_concurrency)
  std::chrono::milliseconds progress_interval{2000};
  // Called from the calling thread every progress_interval and once at the end.
  std::function<void(const SweepProgress&)> progress;
};

// Computes work(i) for every i in `points` on the worker threads and calls on_row(i, row)
// for each, serialized, in completion order. `work` should not throw; if it does, no new
// points start, the running ones finish, and the first exception is rethrown here.
void run_sweep(const std::vector<std::int64_t>& points,
               const std::function<std::string(std::int64_t)>& work,
               const std::function<void(std::int64_t, std::string&&)>& on_row,
               const SweepRunOptions& options = {});

// The points of shard i of n (index % n == i) in [0, count) that are not in `done`
// (sorted ascending).
std::vector<std::int64_t> sweep_todo(std::int64_t count, std::int64_t shard_index,
                                     std::int64_t shard_count,
                                     const std::function<bool(std::int64_t)>& done = {});

int default_sweep_threads();

}  // namespace moesim::sim
