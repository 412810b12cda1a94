#pragma once
// `--routing`'s text and its histogram file (the expert load of a real run) into a
// sim::event::RoutingSpec.
#include <string>

#include "sim/event/routing.hpp"

namespace moesim::io {

// A histogram CSV: one row per expert, "expert,tokens" (an optional header row of text
// first), or a single column of token counts in expert order. Throws InputError naming the
// file, the line and the rule.
sim::event::RoutingSpec parse_routing_histogram(const std::string& text, const std::string& source);
sim::event::RoutingSpec read_routing_histogram(const std::string& path);

// "balanced", "uniform", "zipf:S", "dirichlet:A" or "file:PATH"; errors name `flag`.
sim::event::RoutingSpec parse_routing_flag(const std::string& text, const std::string& flag);

}  // namespace moesim::io
