#include "sim/pipeline.hpp"

#include <algorithm>

namespace moesim::sim {

std::vector<std::vector<std::int64_t>> stage_layers(std::int64_t n, const Layout& layout) {
  const std::int64_t p = std::max<std::int64_t>(1, layout.pp);
  const std::int64_t v = std::max(1, layout.schedule.virtual_stages);
  std::vector<std::vector<std::int64_t>> out(static_cast<std::size_t>(p));
  if (v > 1 && n % (p * v) == 0) {
    const std::int64_t chunk = n / (p * v);
    for (std::int64_t c = 0; c < p * v; ++c)
      for (std::int64_t j = c * chunk; j < (c + 1) * chunk; ++j)
        out[static_cast<std::size_t>(c % p)].push_back(j);
    return out;
  }
  const std::int64_t base = n / p, rem = n % p;
  std::int64_t next = 0;
  for (std::int64_t i = 0; i < p; ++i) {
    const std::int64_t count = base + (i >= p - rem ? 1 : 0);
    for (std::int64_t j = 0; j < count; ++j) out[static_cast<std::size_t>(i)].push_back(next++);
  }
  return out;
}

}  // namespace moesim::sim
