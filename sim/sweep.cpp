#include "sim/sweep.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

namespace moesim::sim {

int default_sweep_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

std::vector<std::int64_t> sweep_todo(std::int64_t count, std::int64_t shard_index,
                                     std::int64_t shard_count,
                                     const std::function<bool(std::int64_t)>& done) {
  std::vector<std::int64_t> todo;
  if (shard_count < 1) shard_count = 1;
  for (std::int64_t i = shard_index; i < count; i += shard_count)
    if (!done || !done(i)) todo.push_back(i);
  return todo;
}

void run_sweep(const std::vector<std::int64_t>& points,
               const std::function<std::string(std::int64_t)>& work,
               const std::function<void(std::int64_t, std::string&&)>& on_row,
               const SweepRunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t total = static_cast<std::int64_t>(points.size());
  int threads = options.threads > 0 ? options.threads : default_sweep_threads();
  threads = static_cast<int>(std::min<std::int64_t>(threads, std::max<std::int64_t>(total, 1)));

  std::atomic<std::int64_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;  // guards on_row, done, error, finished_workers
  std::condition_variable cv;
  std::int64_t done = 0;
  int finished_workers = 0;
  std::exception_ptr error;

  auto worker = [&] {
    while (!stop.load()) {
      const std::int64_t k = next.fetch_add(1);
      if (k >= total) break;
      const std::int64_t point = points[static_cast<std::size_t>(k)];
      try {
        std::string row = work(point);
        std::lock_guard lock(mutex);
        if (!error) on_row(point, std::move(row));
        ++done;
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!error) error = std::current_exception();
        stop = true;
      }
    }
    std::lock_guard lock(mutex);
    ++finished_workers;
    cv.notify_all();
  };

  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);

  auto report = [&] {
    if (!options.progress) return;
    SweepProgress p;
    {
      std::lock_guard lock(mutex);
      p.done = done;
    }
    p.total = total;
    p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    options.progress(p);
  };
  {
    std::unique_lock lock(mutex);
    while (finished_workers < threads) {
      const bool all =
          cv.wait_for(lock, options.progress_interval, [&] { return finished_workers >= threads; });
      if (all) break;
      lock.unlock();
      report();
      lock.lock();
    }
  }
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  report();
}

}  // namespace moesim::sim
