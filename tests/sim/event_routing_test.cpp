// Expert load sampling (docs/simulate.md): the random numbers are portable, the busiest
// expert under Zipf routing matches its analytic expectation, and a capacity factor drops
// the expected share of tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "sim/event/routing.hpp"

namespace moesim::sim::event {
namespace {

// std::mt19937_64's 10000th output from the default seed is fixed by the C++ standard
// ([rand.predef]): 9981545732273789042. Our uniforms come from its bits, so they are the
// same everywhere.
TEST(Rng, BuiltOnTheStandardsFixedEngine) {
  std::mt19937_64 e;
  e.discard(9999);
  EXPECT_EQ(e(), 9981545732273789042ull);
  Rng a(7), b(7);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.uniform(), b.uniform());
}

// Gamma(a) has mean a and variance a (Marsaglia & Tsang's method, by hand).
TEST(Rng, GammaMoments) {
  Rng rng(3);
  for (double shape : {0.3, 1.0, 4.0}) {
    double sum = 0, sq = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
      const double x = rng.gamma(shape);
      sum += x, sq += x * x;
    }
    const double mean = sum / n, var = sq / n - mean * mean;
    EXPECT_NEAR(mean, shape, 0.02 * shape + 0.005) << shape;
    EXPECT_NEAR(var, shape, 0.05 * shape + 0.01) << shape;
  }
}

TEST(Routing, ParsesTheFlag) {
  FieldErrors errors;
  EXPECT_EQ(parse_routing("balanced", errors)->kind, RoutingKind::balanced);
  EXPECT_EQ(parse_routing("uniform", errors)->kind, RoutingKind::uniform);
  auto z = parse_routing("zipf:1.2", errors);
  ASSERT_TRUE(z);
  EXPECT_EQ(z->kind, RoutingKind::zipf);
  EXPECT_DOUBLE_EQ(z->parameter, 1.2);
  EXPECT_TRUE(errors.empty());
  EXPECT_FALSE(parse_routing("zipf:-1", errors));
  EXPECT_FALSE(parse_routing("zipf:x", errors));
  EXPECT_FALSE(parse_routing("pareto:2", errors));
  EXPECT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].path, "routing");
}

// Zipf(1.2) over 64 experts, top-2: the most popular expert (p_1 = 1/H, H = sum r^-1.2) is
// in a token's top-2 with probability pi_1 = p_1 + sum_{j>1} p_j p_1 / (1 - p_j), so it
// expects tokens * pi_1 assignments; the busiest expert is that one (its lead over the
// second is many standard deviations). Over 64 seeds the mean busiest load is within 2%.
TEST(Routing, ZipfBusiestExpertMatchesItsExpectation) {
  RoutingSpec spec;
  spec.kind = RoutingKind::zipf;
  spec.parameter = 1.2;
  const int E = 64, k = 2;
  const double tokens = 8192;
  double H = 0;
  for (int r = 1; r <= E; ++r) H += std::pow(r, -1.2);
  std::vector<double> p(E);
  for (int r = 0; r < E; ++r) p[r] = std::pow(r + 1, -1.2) / H;
  const double expected = tokens * inclusion_probability(p, k)[0];
  double mean_busiest = 0;
  const int seeds = 64;
  for (int seed = 1; seed <= seeds; ++seed) {
    Rng rng(static_cast<std::uint64_t>(seed));
    const auto pop = popularity(spec, E, rng);
    const auto loads = sample_expert_loads(pop, tokens, k, rng);
    EXPECT_DOUBLE_EQ(std::accumulate(loads.begin(), loads.end(), 0.0), tokens * k);
    mean_busiest += *std::max_element(loads.begin(), loads.end()) / seeds;
  }
  EXPECT_NEAR(mean_busiest / expected, 1.0, 0.02)
      << "busiest " << mean_busiest << " expected " << expected;
}

// Capacity factor 1.0 (Fedus et al. 2021 Eq. 3): capacity C = tokens * k / E per expert;
// the expected drop is sum_e max(0, tokens * pi_e - C) / (tokens * k) for the popularity
// drawn. Within 2% of it, relative, averaged over seeds.
TEST(Routing, CapacityFactorOneDropsTheExpectedFraction) {
  RoutingSpec spec;
  spec.kind = RoutingKind::zipf;
  spec.parameter = 1.2;
  const int E = 64, k = 2;
  const double tokens = 16384, C = tokens * k / E;
  double sim = 0, expected = 0;
  for (int seed = 1; seed <= 32; ++seed) {
    Rng rng(static_cast<std::uint64_t>(seed));
    const auto pop = popularity(spec, E, rng);
    const auto pi = inclusion_probability(pop, k);
    double want = 0;
    for (double x : pi) want += std::max(0.0, tokens * x - C);
    expected += want / (tokens * k);
    sim += dropped(sample_expert_loads(pop, tokens, k, rng), C) / (tokens * k);
  }
  EXPECT_GT(expected, 0.3);  // Zipf(1.2) is heavily skewed: a large share is dropped
  EXPECT_NEAR(sim / expected, 1.0, 0.02);
}

// Uniform routing drops only what sampling noise puts past capacity; balanced nothing.
TEST(Routing, BalancedDropsNothing) {
  Rng rng(1);
  const auto pop = popularity(RoutingSpec{}, 8, rng);
  for (double x : pop) EXPECT_DOUBLE_EQ(x, 1.0 / 8);
  EXPECT_DOUBLE_EQ(dropped(std::vector<double>(8, 100.0), 100.0), 0.0);
}

TEST(Routing, DirichletDrawsSumToOne) {
  RoutingSpec spec;
  spec.kind = RoutingKind::dirichlet;
  spec.parameter = 0.5;
  Rng rng(11);
  const auto p = popularity(spec, 16, rng);
  EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-12);
  EXPECT_GT(*std::max_element(p.begin(), p.end()), 1.5 / 16);
}

}  // namespace
}  // namespace moesim::sim::event
