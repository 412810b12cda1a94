#pragma once
// Which layers each pipeline stage holds (shared by the memory and the step models).
#include <cstdint>
#include <vector>

#include "sim/layout.hpp"

namespace moesim::sim {

// Layer indices (0 .. n_layers-1) per stage. Interleaved (V > 1, n divisible by p*V): chunk
// c of n/(pV) layers sits on stage c mod p (Narayanan et al. 2021 Sec. 2.2.2). Otherwise
// consecutive blocks of n/p, the last n mod p stages taking one more layer (docs/memory.md).
std::vector<std::vector<std::int64_t>> stage_layers(std::int64_t n_layers, const Layout& layout);

}  // namespace moesim::sim
