#include "model/laws/optimal.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace moesim::model::laws {

namespace {

// Golden-section search for the minimum of f on [lo, hi]. Every f minimized here is convex
// in log N (a sum of exponentials of log N, docs/laws.md), so the minimum is unique.
template <class F>
double golden_min(F f, double lo, double hi) {
  const double r = (std::sqrt(5.0) - 1) / 2;
  double a = lo, b = hi;
  double x1 = b - r * (b - a), x2 = a + r * (b - a);
  double f1 = f(x1), f2 = f(x2);
  for (int i = 0; i < 200 && b - a > 1e-12; ++i) {
    if (f1 < f2) {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - r * (b - a);
      f1 = f(x1);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + r * (b - a);
      f2 = f(x2);
    }
  }
  return (a + b) / 2;
}

double finite_or_max(double v) {
  return std::isfinite(v) ? v : std::numeric_limits<double>::max();
}

// Ludziejewski et al. 2025 App. B: V = 50257 (the GPT-2 tokenizer of their runs).
constexpr double kJointVocab = 50257;
// Krajewski et al. 2024 (2402.07871) FLOPs model: d_model = 64 n_blocks; c_f = 6, c_r = 14.
constexpr double kAspect = 64;
constexpr double kCf = 6;
constexpr double kCr = 14;

// Powers of two 1, 2, 4, ... up to `max`.
std::vector<double> powers_of_two(double max) {
  std::vector<double> out;
  for (double v = 1; v <= max * (1 + 1e-12); v *= 2) out.push_back(v);
  return out;
}

}  // namespace

bool supports_compute_optimal(Form form) {
  return uses_tokens(form);
}

ChinchillaOptimum chinchilla_optimum(double A, double B, double alpha, double beta, double flops) {
  // Hoffmann et al. 2022 Eq. 4 with C = 6 N D.
  ChinchillaOptimum o;
  o.a = beta / (alpha + beta);
  o.b = alpha / (alpha + beta);
  const double g = std::pow(alpha * A / (beta * B), 1.0 / (alpha + beta));
  o.params = g * std::pow(flops / 6, o.a);
  o.tokens = std::pow(flops / 6, o.b) / g;
  return o;
}

double krajewski_flops_per_token(double params, double expansion_rate, double granularity) {
  // Krajewski et al. 2024 FLOPs model: N = d^2 (8E + 4) n_blocks with d = 64 n_blocks gives
  // d^3 = 64 N / (8E + 4); F/D = (12 d^2 c_f + d E G c_r) n_blocks (no router when dense).
  const double d = std::cbrt(kAspect * params / (8 * expansion_rate + 4));
  const double blocks = d / kAspect;
  const double router = expansion_rate > 1 ? d * expansion_rate * granularity * kCr : 0;
  return (12 * d * d * kCf + router) * blocks;
}

double krajewski_active_params(double params, double expansion_rate) {
  // Krajewski et al. 2024: active = attention 4 d^2 + one dense FFN's 8 d^2 per block.
  const double d = std::cbrt(kAspect * params / (8 * expansion_rate + 4));
  return 12 * d * d * (d / kAspect);
}

double joint_total_params(double params_active, double experts) {
  // Ludziejewski et al. 2025 App. B: N_act = 2 d V + 13 n d^2, N_total = 2 d V + (4 + 9E) n
  // d^2; with n = d / 64, solve N_act for d by bisection (N_act grows with d).
  auto active = [](double d) { return 2 * d * kJointVocab + 13 * d * d * d / kAspect; };
  double lo = 0, hi = 1;
  while (active(hi) < params_active) hi *= 2;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (active(mid) < params_active ? lo : hi) = mid;
  }
  const double d = (lo + hi) / 2;
  return 2 * d * kJointVocab + (4 + 9 * experts) * d * d * d / kAspect;
}

double joint_max_active_params(double params_total, double experts) {
  // Ludziejewski et al. 2025 App. B: N_total = 2 d V + (4 + 9E) n d^2 with n = d / 64 grows
  // with d; solve it for d by bisection, then N_act = 2 d V + 13 n d^2.
  auto total = [&](double d) {
    return 2 * d * kJointVocab + (4 + 9 * experts) * d * d * d / kAspect;
  };
  if (!(params_total > 0)) return 0;
  double lo = 0, hi = 1;
  while (total(hi) < params_total) hi *= 2;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (total(mid) <= params_total ? lo : hi) = mid;
  }
  return 2 * lo * kJointVocab + 13 * lo * lo * lo / kAspect;
}

ComputeOptimal compute_optimal(const Law& law, double flops, const OptimalOptions& options) {
  if (!supports_compute_optimal(law.form))
    throw std::invalid_argument(std::string("the ") + to_string(law.form) +
                                " form has no compute-optimal point");
  if (!(flops > 6e6)) throw std::invalid_argument("compute_optimal: flops must exceed 6e6");
  const std::vector<double> c = coefficient_vector(law);
  ComputeOptimal o;
  o.law = law.name;
  o.flops = flops;
  // log N searched between 100 parameters and C / 600 (at least 100 tokens).
  const double lo = std::log(1e2), hi = std::log(flops / 6 / 1e2);

  switch (law.form) {
    case Form::chinchilla: {
      o.notes.push_back("C = 6 N D (Hoffmann et al. 2022); N counts " +
                        std::string(to_string(law.params_counted)) + " parameters");
      if (!options.force_numeric) {
        const ChinchillaOptimum ch = chinchilla_optimum(c[1], c[2], c[3], c[4], flops);
        o.params = ch.params;
        o.tokens = ch.tokens;
        o.closed_form = true;
      } else {
        auto f = [&](double x) {
          const double n = std::exp(x);
          return finite_or_max(predict(law.form, c, {n, flops / (6 * n), 1, 1}));
        };
        o.params = std::exp(golden_min(f, lo, hi));
        o.tokens = flops / (6 * o.params);
      }
      o.params_active = o.params_total = o.params;
      break;
    }
    case Form::kaplan: {
      // Kaplan et al. 2020 Sec. 2.1: C = 6 N D with N non-embedding.
      o.notes.push_back("C = 6 N D (Kaplan et al. 2020 Sec. 2.1); N counts " +
                        std::string(to_string(law.params_counted)) + " parameters");
      auto f = [&](double x) {
        const double n = std::exp(x);
        return finite_or_max(predict(law.form, c, {n, flops / (6 * n), 1, 1}));
      };
      o.params = std::exp(golden_min(f, lo, hi));
      o.tokens = flops / (6 * o.params);
      o.params_active = o.params_total = o.params;
      break;
    }
    case Form::krajewski: {
      const double e = law.expansion_rate;
      const bool dense = e <= 1;
      const double max_g = dense ? 1 : options.max_granularity.value_or(64);
      o.notes.push_back(
          "N non-embedding in Krajewski et al.'s family: d_model = 64 n_blocks, N = d^2 (8E + 4) "
          "n_blocks, FLOPs (12 d^2 c_f + d E G c_r) D n_blocks with c_f = 6, c_r = 14");
      double best = std::numeric_limits<double>::max();
      const std::vector<double> grid = powers_of_two(max_g);
      for (double g : grid) {
        auto tokens_for = [&](double n) { return flops / krajewski_flops_per_token(n, e, g); };
        auto f = [&](double x) {
          const double n = std::exp(x);
          return finite_or_max(predict(law.form, c, {n, tokens_for(n), g * e, g}));
        };
        const double n = std::exp(golden_min(f, lo, hi));
        const double l = f(std::log(n));
        if (l < best) {
          best = l;
          o.params = n;
          o.tokens = tokens_for(n);
          o.granularity = g;
        }
      }
      o.experts = dense ? 1 : o.granularity * e;
      o.params_total = o.params;
      o.params_active = krajewski_active_params(o.params, e);
      if (!dense && o.granularity >= grid.back())
        o.warnings.push_back("the optimum is at the largest granularity searched (" +
                             short_number(grid.back()) + "); raise --max-granularity");
      break;
    }
    case Form::joint: {
      const double max_e =
          options.max_experts.value_or(law.range.experts.max ? *law.range.experts.max : 64);
      o.notes.push_back(
          "C = 6 N_act D, N_act with embeddings (Ludziejewski et al. 2025 App. B); params_total "
          "assumes d_model = 64 n_blocks and V = 50257 (docs/laws.md)");
      const std::optional<double> cap = options.max_params_total;
      if (cap && !(*cap > 0))
        throw std::invalid_argument("compute_optimal: max_params_total must be positive");
      if (cap)
        o.notes.push_back("memory cap: N_total <= " + short_number(*cap) +
                          " (App. B's family, as params_total)");
      double best = std::numeric_limits<double>::max();
      bool capped = false;
      const std::vector<double> grid = powers_of_two(max_e);
      for (double e : grid) {
        auto f = [&](double x) {
          const double n = std::exp(x);
          return finite_or_max(predict(law.form, c, {n, flops / (6 * n), e, 1}));
        };
        // The loss is convex in log N_act, so under the cap the optimum is the unconstrained
        // one or the cap itself; golden-section on the capped interval finds either.
        double top = hi;
        if (cap) {
          const double n_max = joint_max_active_params(*cap, e);
          if (!(n_max > std::exp(lo))) continue;  // not even the smallest model fits
          top = std::min(hi, std::log(n_max));
        }
        const double x = golden_min(f, lo, top);
        const double n = std::exp(x);
        const double l = f(std::log(n));
        if (l < best) {
          best = l;
          o.params = n;
          o.experts = e;
          capped = cap && top < hi && x > top - 1e-6;
        }
      }
      if (cap && best == std::numeric_limits<double>::max())
        throw std::invalid_argument("compute_optimal: no model fits max_params_total = " +
                                    short_number(*cap));
      if (capped)
        o.warnings.push_back("the memory cap binds: N_total is at max_params_total (" +
                             short_number(*cap) + ")");
      o.tokens = flops / (6 * o.params);
      o.params_active = o.params;
      o.params_total = joint_total_params(o.params, o.experts);
      if (o.experts >= grid.back() && grid.size() > 1)
        o.warnings.push_back("the optimum is at the largest expert count searched (" +
                             short_number(grid.back()) + "); raise --max-experts");
      break;
    }
    case Form::clark:
      break;
  }
  const LawPoint p{o.params, o.tokens, o.experts, o.granularity};
  o.loss = predict(law.form, c, p);
  o.in_fitted_range = check_range(law, p, o.warnings);
  return o;
}

}  // namespace moesim::model::laws
