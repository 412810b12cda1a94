#pragma once
// A minimal parallel-for over std::thread: `threads` workers pull item indices from a shared
// atomic counter (dynamic scheduling), so uneven experts balance themselves. No global pool:
// each call starts and joins its own workers, which keeps the kernels free of hidden state.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace moesim::kernels {

// Calls fn(i) for every i in [0, items) on up to `threads` threads (inline when 1). The order
// of calls is unspecified; fn must write only to data owned by item i.
template <class Fn>
void parallel_for(std::size_t items, int threads, Fn&& fn) {
  const std::size_t workers =
      std::min<std::size_t>(items, static_cast<std::size_t>(std::max(1, threads)));
  if (workers <= 1) {
    for (std::size_t i = 0; i < items; ++i) fn(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next.fetch_add(1); i < items; i = next.fetch_add(1)) fn(i);
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();  // the calling thread is worker 0
  for (std::thread& t : pool) t.join();
}

}  // namespace moesim::kernels
