#include "sim/event/routing.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

namespace moesim::sim::event {

std::string RoutingSpec::text() const {
  std::ostringstream out;
  switch (kind) {
    case RoutingKind::balanced:
      return "balanced";
    case RoutingKind::uniform:
      return "uniform";
    case RoutingKind::zipf:
      out << "zipf:" << parameter;
      return out.str();
    case RoutingKind::dirichlet:
      out << "dirichlet:" << parameter;
      return out.str();
    case RoutingKind::histogram:
      out << "histogram of " << weights.size() << " experts";
      return out.str();
  }
  return "?";
}

std::optional<RoutingSpec> parse_routing(const std::string& text, FieldErrors& errors) {
  RoutingSpec spec;
  if (text == "balanced") return spec;
  if (text == "uniform") {
    spec.kind = RoutingKind::uniform;
    return spec;
  }
  const auto colon = text.find(':');
  const std::string head = text.substr(0, colon);
  if (colon == std::string::npos || (head != "zipf" && head != "dirichlet")) {
    errors.push_back({"routing", "'" + text +
                                     "' is not one of balanced, uniform, zipf:S, dirichlet:A, "
                                     "file:PATH"});
    return std::nullopt;
  }
  const std::string value = text.substr(colon + 1);
  double x = 0;
  std::size_t used = 0;
  try {
    x = std::stod(value, &used);
  } catch (...) {
    used = 0;
  }
  if (used == 0 || used != value.size() || !std::isfinite(x) || x <= 0) {
    errors.push_back({"routing", head + " parameter '" + value + "' must be a number > 0"});
    return std::nullopt;
  }
  spec.kind = head == "zipf" ? RoutingKind::zipf : RoutingKind::dirichlet;
  spec.parameter = x;
  return spec;
}

FieldErrors validate(const RoutingSpec& spec, std::int64_t experts) {
  FieldErrors errors;
  if (spec.kind == RoutingKind::histogram) {
    if (static_cast<std::int64_t>(spec.weights.size()) != experts)
      errors.push_back({"routing", "histogram has " + std::to_string(spec.weights.size()) +
                                       " experts, the model has " + std::to_string(experts)});
    double total = 0;
    for (double w : spec.weights) total += w;
    if (!(total > 0)) errors.push_back({"routing", "histogram has no tokens"});
  }
  if ((spec.kind == RoutingKind::zipf || spec.kind == RoutingKind::dirichlet) &&
      !(spec.parameter > 0 && std::isfinite(spec.parameter)))
    errors.push_back({"routing", "parameter must be a number > 0"});
  return errors;
}

double Rng::normal() {
  // Box-Muller (Box & Muller 1958): two uniforms give two independent standard normals.
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = uniform();
  while (u1 <= 0) u1 = uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2 * std::log(u1));
  const double angle = 2 * M_PI * u2;
  spare_ = r * std::sin(angle);
  has_spare_ = true;
  return r * std::cos(angle);
}

double Rng::gamma(double shape) {
  if (shape < 1) {
    // Gamma(a) = Gamma(a + 1) * U^(1/a) (Stuart 1962; Marsaglia & Tsang 2000 Sec. 8).
    double u = uniform();
    while (u <= 0) u = uniform();
    return gamma(shape + 1) * std::pow(u, 1 / shape);
  }
  // Marsaglia & Tsang 2000, "A simple method for generating gamma variables", Sec. 6.
  const double d = shape - 1.0 / 3;
  const double c = 1 / std::sqrt(9 * d);
  for (;;) {
    double x, v;
    do {
      x = normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = uniform();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (u > 0 && std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v;
  }
}

std::vector<double> popularity(const RoutingSpec& spec, std::int64_t experts, Rng& rng) {
  const auto E = static_cast<std::size_t>(std::max<std::int64_t>(1, experts));
  std::vector<double> p(E, 1.0 / static_cast<double>(E));
  switch (spec.kind) {
    case RoutingKind::balanced:
    case RoutingKind::uniform:
      break;
    case RoutingKind::zipf: {
      // Zipf's law: the r-th most popular expert gets 1/r^S (Zipf 1949), over a ranking
      // drawn per layer (Fisher-Yates shuffle; Knuth TAOCP Vol. 2 Alg. 3.4.2P).
      std::vector<std::size_t> order(E);
      std::iota(order.begin(), order.end(), 0);
      for (std::size_t i = E; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
      double total = 0;
      for (std::size_t r = 0; r < E; ++r) {
        p[order[r]] = std::pow(static_cast<double>(r + 1), -spec.parameter);
        total += p[order[r]];
      }
      for (double& x : p) x /= total;
      break;
    }
    case RoutingKind::dirichlet: {
      // A Dirichlet(A, ..., A) draw is independent Gamma(A) draws normalised (Devroye 1986
      // Ch. XI.4).
      double total = 0;
      for (double& x : p) total += (x = rng.gamma(spec.parameter));
      if (total > 0)
        for (double& x : p) x /= total;
      else
        std::fill(p.begin(), p.end(), 1.0 / static_cast<double>(E));
      break;
    }
    case RoutingKind::histogram: {
      double total = 0;
      for (std::size_t e = 0; e < E && e < spec.weights.size(); ++e)
        total += (p[e] = std::max(0.0, spec.weights[e]));
      if (total > 0)
        for (double& x : p) x /= total;
      break;
    }
  }
  return p;
}

std::vector<double> inclusion_probability(const std::vector<double>& p, int top_k) {
  const std::size_t E = p.size();
  std::vector<double> pi(E, 0.0);
  if (top_k <= 1) return p;
  if (top_k == 2) {
    // P(e first) + P(e second) = p_e + sum_{j != e} p_j * p_e / (1 - p_j).
    for (std::size_t e = 0; e < E; ++e) {
      double second = 0;
      for (std::size_t j = 0; j < E; ++j)
        if (j != e && p[j] < 1) second += p[j] * p[e] / (1 - p[j]);
      pi[e] = p[e] + second;
    }
    return pi;
  }
  // k > 2 (approximation): at step t an expert not yet picked is drawn with probability
  // p_e / R_t, R_t the expected popularity still unpicked.
  std::vector<double> not_yet(E, 1.0);
  for (int t = 0; t < top_k; ++t) {
    double R = 0;
    for (std::size_t e = 0; e < E; ++e) R += not_yet[e] * p[e];
    if (R <= 0) break;
    for (std::size_t e = 0; e < E; ++e) not_yet[e] *= 1 - std::min(1.0, p[e] / R);
  }
  for (std::size_t e = 0; e < E; ++e) pi[e] = 1 - not_yet[e];
  return pi;
}

std::vector<double> sample_expert_loads(const std::vector<double>& p, double tokens, int top_k,
                                        Rng& rng, double max_sampled) {
  const std::size_t E = p.size();
  std::vector<double> loads(E, 0.0);
  if (E == 0 || tokens <= 0) return loads;
  std::size_t positive = 0;
  double total = 0;
  for (double x : p) positive += x > 0, total += std::max(0.0, x);
  const int k = std::clamp<int>(top_k, 1, static_cast<int>(std::max<std::size_t>(1, positive)));
  if (!(total > 0)) return loads;
  // Walker's alias table (Vose 1991, "A linear algorithm for generating random numbers with
  // a given distribution"): one draw is one uniform index and one comparison.
  std::vector<double> prob(E);
  std::vector<std::uint32_t> alias(E, 0);
  {
    std::vector<double> scaled(E);
    std::vector<std::uint32_t> small, large;
    for (std::size_t e = 0; e < E; ++e) {
      scaled[e] = std::max(0.0, p[e]) / total * static_cast<double>(E);
      (scaled[e] < 1 ? small : large).push_back(static_cast<std::uint32_t>(e));
    }
    while (!small.empty() && !large.empty()) {
      const std::uint32_t s = small.back(), l = large.back();
      small.pop_back();
      prob[s] = scaled[s];
      alias[s] = l;
      scaled[l] -= 1 - scaled[s];
      if (scaled[l] < 1) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (std::uint32_t l : large) prob[l] = 1;
    for (std::uint32_t s : small) prob[s] = 1;  // rounding leftovers
  }
  const auto n = static_cast<std::int64_t>(std::min(std::floor(tokens), std::floor(max_sampled)));
  // Counts per expert in integers (exact, then scaled once); `taken[e]` holds the number
  // (i + 1) of the last token that picked e, so "already picked" is one comparison.
  std::vector<std::int64_t> count(E, 0);
  std::vector<std::int64_t> taken(E, 0);
  for (std::int64_t i = 0; i < n; ++i) {
    // Successive sampling without replacement: draw from p, redraw experts already picked
    // (the same law as renormalising over the rest).
    for (int picked = 0; picked < k;) {
      const std::uint64_t x = rng.raw();
      const auto col = static_cast<std::uint32_t>(((x >> 32) * E) >> 32);
      const double u = static_cast<double>(x & 0xffffffffu) * 0x1.0p-32;
      const std::uint32_t e = u < prob[col] ? col : alias[col];
      if (taken[e] == i + 1) continue;
      taken[e] = i + 1;
      ++count[e];
      ++picked;
    }
  }
  for (std::size_t e = 0; e < E; ++e) loads[e] = static_cast<double>(count[e]);
  const double scale = n > 0 ? tokens / static_cast<double>(n) : 0;
  for (double& x : loads) x *= scale;
  return loads;
}

double dropped(const std::vector<double>& loads, double capacity) {
  double out = 0;
  for (double x : loads) out += std::max(0.0, x - capacity);
  return out;
}

}  // namespace moesim::sim::event
