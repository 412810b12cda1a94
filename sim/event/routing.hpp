#pragma once
// Expert load: how a MoE layer's tokens spread over its experts (docs/simulate.md).
//  - balanced: every expert gets exactly the mean (the analytic model's assumption);
//  - uniform: each token picks its top-k experts uniformly at random;
//  - zipf:S: expert popularity p_r ~ 1/r^S over a random ranking per layer (Zipf 1949);
//  - dirichlet:A: popularity drawn per layer from a symmetric Dirichlet(A);
//  - file:PATH: popularity from a histogram of a real run (parsed by io/routing_io).
// Each token draws top-k distinct experts by successive sampling proportional to the
// popularity (sampling without replacement). The random numbers come from std::mt19937_64
// (its output is fixed by the C++ standard) turned into uniforms, normals and gammas by the
// functions below, not by <random>'s distributions, whose algorithms differ between
// standard libraries: the same seed gives the same loads everywhere.
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "model/field_error.hpp"

namespace moesim::sim::event {

enum class RoutingKind { balanced, uniform, zipf, dirichlet, histogram };

struct RoutingSpec {
  RoutingKind kind = RoutingKind::balanced;
  double parameter = 0;         // zipf exponent S or Dirichlet concentration A
  std::vector<double> weights;  // histogram: tokens per expert (any positive scale)
  std::string text() const;     // "zipf:1.2", ...
};

// Parses "balanced", "uniform", "zipf:S" (S > 0) and "dirichlet:A" (A > 0); "file:PATH" is
// io's (it reads the file). Errors name the field `routing`.
std::optional<RoutingSpec> parse_routing(const std::string& text, FieldErrors& errors);
// Rules the spec breaks for a model with `experts` experts (histogram length).
FieldErrors validate(const RoutingSpec& spec, std::int64_t experts);

// Random variates from a mt19937_64, by hand (portable across standard libraries).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n) (Lemire's multiply-shift; bias below 2^-32 for n < 2^32).
  std::uint64_t below(std::uint64_t n) { return (engine_() >> 32) * n >> 32; }
  double normal();             // Box-Muller (Box & Muller 1958)
  double gamma(double shape);  // Marsaglia & Tsang 2000; shape < 1 by Stuart's boost
  std::uint64_t raw() { return engine_(); }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0;
};

// Expert popularity (sums to 1) of one layer: balanced/uniform flat; zipf over a random
// ranking; dirichlet drawn; histogram normalised.
std::vector<double> popularity(const RoutingSpec& spec, std::int64_t experts, Rng& rng);

// Probability that expert e is among a token's top-k picks under successive sampling
// without replacement proportional to `p`, to second order: pi_e = p_e + sum_{j != e} p_j
// p_e / (1 - p_j) for k = 2 (exact), and the k-step recursion on the expected remaining
// mass for k > 2 (an approximation). Expected tokens on expert e = tokens * pi_e.
std::vector<double> inclusion_probability(const std::vector<double>& p, int top_k);

// Assignments per expert for `tokens` tokens choosing `top_k` distinct experts each.
// Samples `min(tokens, max_sampled)` tokens one by one and scales the counts to `tokens`
// (the noise of the scaled counts is that of the sample: a deliberate cap on cost).
std::vector<double> sample_expert_loads(const std::vector<double>& p, double tokens, int top_k,
                                        Rng& rng, double max_sampled = 16384);

// Tokens dropped at a capacity of `capacity` assignments per expert: sum_e max(0, load - C)
// (Fedus et al. 2021 Sec. 2.2: tokens past an expert's capacity skip it).
double dropped(const std::vector<double>& loads, double capacity);

}  // namespace moesim::sim::event
