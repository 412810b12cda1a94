#include "model/laws/fit.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <numbers>
#include <numeric>
#include <set>
#include <stdexcept>

namespace moesim::model::laws {

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kLn10 = std::log(10.0);

// SplitMix64 (Steele et al. 2014): a tiny generator whose stream is the same on every
// platform, unlike the std:: distributions.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

// Least squares of rows scaled by `row_scale` (relative errors when it is 1/L): argmin_w
// sum_i (row_scale_i (Phi_i w - y_i))^2.
VectorXd least_squares(const MatrixXd& phi, const VectorXd& y, const VectorXd& row_scale) {
  const MatrixXd a = row_scale.asDiagonal() * phi;
  const VectorXd b = row_scale.cwiseProduct(y);
  return a.colPivHouseholderQr().solve(b);
}

double floor_positive(double v) {
  return std::isfinite(v) && v > 1e-8 ? v : 1e-8;
}

// A run's variables in logs, computed once per fit.
struct Prepared {
  double ln_n = 0, ln_d = 0, ln_g = 0, experts = 1;
};

Prepared prepare(const TrainingRun& r) {
  return {std::log(r.point.params), r.point.tokens > 0 ? std::log(r.point.tokens) : 0.0,
          std::log(r.point.granularity), r.point.experts};
}

// Softmax weights of log_sum_exp's terms, in place; returns the log-sum-exp.
template <std::size_t K>
double softmax(std::array<double, K>& x) {
  double m = -kInf;
  for (double v : x) m = std::max(m, v);
  double s = 0;
  for (double& v : x) s += (v = std::exp(v - m));
  for (double& v : x) v /= s;
  return m + std::log(s);
}

// ln Ehat (Clark et al. 2022's saturating transform) at E with E_start = exp(t_s),
// E_max = E_start + exp(t_m), and its derivatives in t_s and t_m.
struct LogEhat {
  double value = 0, d_ts = 0, d_tm = 0;
};
LogEhat log_ehat(double experts, double t_s, double t_m) {
  // Ehat = u E_max / (u + E_max), u = E - 1 + shift, shift = E_start E_max / (E_max - E_start).
  const double es = std::exp(t_s), gap = std::exp(t_m), em = es + gap;
  const double shift = es * em / gap;
  const double u = experts - 1 + shift;
  LogEhat out;
  out.value = std::log(u) + std::log(em) - std::log(u + em);
  const double d_u = em / (u * (u + em));   // d ln Ehat / d u
  const double d_em = u / (em * (u + em));  // d ln Ehat / d E_max at fixed u
  const double dshift_des = em * em / (gap * gap);
  const double dshift_dem = -es * es / (gap * gap);
  // t_s moves E_start and E_max together (d/dt_s = es); t_m moves E_max only (gap).
  out.d_ts = d_u * (dshift_des + dshift_dem) * es + d_em * es;
  out.d_tm = d_u * dshift_dem * gap + d_em * gap;
  return out;
}

// One functional form in an unconstrained parametrization theta for the optimizer.
// Positive coefficients are fitted as logarithms, as Hoffmann et al. fit log A, log B, log E.
class FormModel {
 public:
  virtual ~FormModel() = default;
  virtual int dim() const = 0;
  // log predicted loss; with `grad` non-null also its gradient in theta (dim() entries).
  virtual double log_predict(const VectorXd& t, const Prepared& r, double* grad) const = 0;
  // theta -> coefficients in coefficient_names order, and back.
  virtual std::vector<double> coefficients(const VectorXd& t) const = 0;
  virtual VectorXd theta(const std::vector<double>& c) const = 0;
  // Grid of initializations; the linear coefficients of each grid point are solved by
  // least squares (variable projection), the grid spans the exponents.
  virtual std::vector<VectorXd> starts(const std::vector<TrainingRun>& runs) const = 0;
};

VectorXd losses(const std::vector<TrainingRun>& runs) {
  VectorXd y(static_cast<Eigen::Index>(runs.size()));
  for (std::size_t i = 0; i < runs.size(); ++i) y(static_cast<Eigen::Index>(i)) = runs[i].loss;
  return y;
}

class ChinchillaModel : public FormModel {
 public:
  // theta = (ln E, ln A, ln B, alpha, beta).
  int dim() const override { return 5; }
  double log_predict(const VectorXd& t, const Prepared& r, double* grad) const override {
    // Hoffmann et al. 2022 App. D.2: log L = LSE(a - alpha log N, b - beta log D, e).
    std::array<double, 3> s = {t(0), t(1) - t(3) * r.ln_n, t(2) - t(4) * r.ln_d};
    const double v = softmax(s);
    if (grad) {
      grad[0] = s[0];
      grad[1] = s[1];
      grad[2] = s[2];
      grad[3] = -s[1] * r.ln_n;
      grad[4] = -s[2] * r.ln_d;
    }
    return v;
  }
  std::vector<double> coefficients(const VectorXd& t) const override {
    return {std::exp(t(0)), std::exp(t(1)), std::exp(t(2)), t(3), t(4)};
  }
  VectorXd theta(const std::vector<double>& c) const override {
    VectorXd t(5);
    t << std::log(c[0]), std::log(c[1]), std::log(c[2]), c[3], c[4];
    return t;
  }
  std::vector<VectorXd> starts(const std::vector<TrainingRun>& runs) const override {
    const VectorXd y = losses(runs);
    const VectorXd scale = y.cwiseInverse();
    std::vector<VectorXd> out;
    const auto n = static_cast<Eigen::Index>(runs.size());
    for (double alpha = 0.1; alpha < 0.85; alpha += 0.1) {
      for (double beta = 0.1; beta < 0.85; beta += 0.1) {
        MatrixXd phi(n, 3);
        for (Eigen::Index i = 0; i < n; ++i) {
          const auto& p = runs[static_cast<std::size_t>(i)].point;
          phi.row(i) << 1, std::pow(p.params, -alpha), std::pow(p.tokens, -beta);
        }
        const VectorXd w = least_squares(phi, y, scale);
        VectorXd t(5);
        t << std::log(floor_positive(w(0))), std::log(floor_positive(w(1))),
            std::log(floor_positive(w(2))), alpha, beta;
        out.push_back(t);
      }
    }
    return out;
  }
};

class KaplanModel : public FormModel {
 public:
  // theta = (ln Nc, ln Dc, alpha_N, alpha_D).
  int dim() const override { return 4; }
  double log_predict(const VectorXd& t, const Prepared& r, double* grad) const override {
    // Kaplan et al. 2020 Eq. 1.5: log L = aD log[(Nc/N)^(aN/aD) + Dc/D].
    if (!(t(3) > 0)) return std::numeric_limits<double>::quiet_NaN();
    const double u1 = t(2) / t(3) * (t(0) - r.ln_n);
    std::array<double, 2> s = {u1, t(1) - r.ln_d};
    const double lse = softmax(s);
    if (grad) {
      grad[0] = t(2) * s[0];
      grad[1] = t(3) * s[1];
      grad[2] = s[0] * (t(0) - r.ln_n);
      grad[3] = lse - s[0] * u1;
    }
    return t(3) * lse;
  }
  std::vector<double> coefficients(const VectorXd& t) const override {
    return {std::exp(t(0)), std::exp(t(1)), t(2), t(3)};
  }
  VectorXd theta(const std::vector<double>& c) const override {
    VectorXd t(4);
    t << std::log(c[0]), std::log(c[1]), c[2], c[3];
    return t;
  }
  std::vector<VectorXd> starts(const std::vector<TrainingRun>& runs) const override {
    // L^(1/aD) = Nc^(aN/aD) N^(-aN/aD) + Dc / D is linear in (Nc^(aN/aD), Dc).
    std::vector<VectorXd> out;
    const auto n = static_cast<Eigen::Index>(runs.size());
    for (double an : {0.04, 0.06, 0.08, 0.1, 0.13}) {
      for (double ad : {0.06, 0.08, 0.1, 0.13, 0.17}) {
        MatrixXd phi(n, 2);
        VectorXd y(n);
        for (Eigen::Index i = 0; i < n; ++i) {
          const auto& r = runs[static_cast<std::size_t>(i)];
          phi.row(i) << std::pow(r.point.params, -an / ad), 1 / r.point.tokens;
          y(i) = std::pow(r.loss, 1 / ad);
        }
        const VectorXd w = least_squares(phi, y, y.cwiseInverse());
        VectorXd t(4);
        t << std::log(floor_positive(w(0))) * ad / an, std::log(floor_positive(w(1))), an, ad;
        out.push_back(t);
      }
    }
    return out;
  }
};

class ClarkModel : public FormModel {
 public:
  // theta = (a, b, c, d, ln E_start, ln(E_max - E_start)).
  int dim() const override { return 6; }
  double log_predict(const VectorXd& t, const Prepared& r, double* grad) const override {
    // Clark et al. 2022: log10 L = a log10 N + b log10 Ehat + c log10 N log10 Ehat + d.
    const LogEhat le = log_ehat(r.experts, t(4), t(5));
    const double l10n = r.ln_n / kLn10;
    if (grad) {
      grad[0] = kLn10 * l10n;
      grad[1] = le.value;
      grad[2] = l10n * le.value;
      grad[3] = kLn10;
      const double d_le = t(1) + t(2) * l10n;  // d ln L / d ln Ehat
      grad[4] = d_le * le.d_ts;
      grad[5] = d_le * le.d_tm;
    }
    return kLn10 * (t(0) * l10n + t(3)) + (t(1) + t(2) * l10n) * le.value;
  }
  std::vector<double> coefficients(const VectorXd& t) const override {
    const double es = std::exp(t(4));
    return {t(0), t(1), t(2), t(3), es, es + std::exp(t(5))};
  }
  VectorXd theta(const std::vector<double>& c) const override {
    VectorXd t(6);
    t << c[0], c[1], c[2], c[3], std::log(c[4]), std::log(c[5] - c[4]);
    return t;
  }
  std::vector<VectorXd> starts(const std::vector<TrainingRun>& runs) const override {
    // For fixed (E_start, E_max) the form is linear in (a, b, c, d) in log space.
    std::vector<VectorXd> out;
    const auto n = static_cast<Eigen::Index>(runs.size());
    VectorXd y(n);
    for (Eigen::Index i = 0; i < n; ++i) y(i) = std::log10(runs[static_cast<std::size_t>(i)].loss);
    for (double es : {1.2, 1.6, 2.5, 4.0, 8.0}) {
      for (double em : {30.0, 100.0, 300.0, 1000.0, 3000.0}) {
        MatrixXd phi(n, 4);
        for (Eigen::Index i = 0; i < n; ++i) {
          const auto& p = runs[static_cast<std::size_t>(i)].point;
          const double ln = std::log10(p.params);
          const double le = std::log10(saturating_experts(p.experts, es, em));
          phi.row(i) << ln, le, ln * le, 1;
        }
        const VectorXd w = least_squares(phi, y, VectorXd::Ones(n));
        VectorXd t(6);
        t << w(0), w(1), w(2), w(3), std::log(es), std::log(em - es);
        out.push_back(t);
      }
    }
    return out;
  }
};

class KrajewskiModel : public FormModel {
 public:
  // theta = (ln a, alpha, ln b, beta, ln g, gamma, ln c).
  int dim() const override { return 7; }
  double log_predict(const VectorXd& t, const Prepared& r, double* grad) const override {
    // Krajewski et al. 2024: L = c + (g/G^gamma + a) N^-alpha + b D^-beta, in logs.
    std::array<double, 4> s = {t(6), t(4) - t(5) * r.ln_g - t(1) * r.ln_n, t(0) - t(1) * r.ln_n,
                               t(2) - t(3) * r.ln_d};
    const double v = softmax(s);
    if (grad) {
      grad[0] = s[2];
      grad[1] = -(s[1] + s[2]) * r.ln_n;
      grad[2] = s[3];
      grad[3] = -s[3] * r.ln_d;
      grad[4] = s[1];
      grad[5] = -s[1] * r.ln_g;
      grad[6] = s[0];
    }
    return v;
  }
  std::vector<double> coefficients(const VectorXd& t) const override {
    return {std::exp(t(0)), t(1), std::exp(t(2)), t(3), std::exp(t(4)), t(5), std::exp(t(6))};
  }
  VectorXd theta(const std::vector<double>& c) const override {
    VectorXd t(7);
    t << std::log(c[0]), c[1], std::log(c[2]), c[3], std::log(c[4]), c[5], std::log(c[6]);
    return t;
  }
  std::vector<VectorXd> starts(const std::vector<TrainingRun>& runs) const override {
    const VectorXd y = losses(runs);
    const VectorXd scale = y.cwiseInverse();
    std::vector<VectorXd> out;
    const auto n = static_cast<Eigen::Index>(runs.size());
    for (double alpha : {0.05, 0.1, 0.15, 0.2, 0.3}) {
      for (double beta : {0.05, 0.1, 0.15, 0.2, 0.3}) {
        for (double gamma : {0.25, 0.5, 1.0}) {
          MatrixXd phi(n, 4);
          for (Eigen::Index i = 0; i < n; ++i) {
            const auto& p = runs[static_cast<std::size_t>(i)].point;
            const double np = std::pow(p.params, -alpha);
            phi.row(i) << 1, std::pow(p.granularity, -gamma) * np, np, std::pow(p.tokens, -beta);
          }
          const VectorXd w = least_squares(phi, y, scale);
          VectorXd t(7);
          t << std::log(floor_positive(w(2))), alpha, std::log(floor_positive(w(3))), beta,
              std::log(floor_positive(w(1))), gamma, std::log(floor_positive(w(0)));
          out.push_back(t);
        }
      }
    }
    return out;
  }
};

class JointModel : public FormModel {
 public:
  // theta = (ln a, alpha, delta, gamma, ln b, beta, omega, zeta, ln E_start,
  //          ln(E_max - E_start), ln c).
  int dim() const override { return 11; }
  double log_predict(const VectorXd& t, const Prepared& r, double* grad) const override {
    // Ludziejewski et al. 2025 App. B, in logs: LSE(ln a + delta ln Ehat + (alpha + gamma ln
    // Ehat) ln N, ln b + omega ln Ehat + (beta + zeta ln Ehat) ln D, ln c).
    const LogEhat le = log_ehat(r.experts, t(8), t(9));
    const double e = le.value;
    std::array<double, 3> s = {t(0) + t(2) * e + (t(1) + t(3) * e) * r.ln_n,
                               t(4) + t(6) * e + (t(5) + t(7) * e) * r.ln_d, t(10)};
    const double v = softmax(s);
    if (grad) {
      grad[0] = s[0];
      grad[1] = s[0] * r.ln_n;
      grad[2] = s[0] * e;
      grad[3] = s[0] * e * r.ln_n;
      grad[4] = s[1];
      grad[5] = s[1] * r.ln_d;
      grad[6] = s[1] * e;
      grad[7] = s[1] * e * r.ln_d;
      const double d_le = s[0] * (t(2) + t(3) * r.ln_n) + s[1] * (t(6) + t(7) * r.ln_d);
      grad[8] = d_le * le.d_ts;
      grad[9] = d_le * le.d_tm;
      grad[10] = s[2];
    }
    return v;
  }
  std::vector<double> coefficients(const VectorXd& t) const override {
    const double es = std::exp(t(8));
    return {std::exp(t(0)),      t(1),           t(2), t(3), std::exp(t(4)), t(5), t(6), t(7), es,
            es + std::exp(t(9)), std::exp(t(10))};
  }
  VectorXd theta(const std::vector<double>& c) const override {
    VectorXd t(11);
    t << std::log(c[0]), c[1], c[2], c[3], std::log(c[4]), c[5], c[6], c[7], std::log(c[8]),
        std::log(c[9] - c[8]), std::log(c[10]);
    return t;
  }
  std::vector<VectorXd> starts(const std::vector<TrainingRun>& runs) const override {
    const VectorXd y = losses(runs);
    const VectorXd scale = y.cwiseInverse();
    std::vector<VectorXd> out;
    const auto n = static_cast<Eigen::Index>(runs.size());
    for (double alpha : {-0.12, -0.2, -0.3}) {
      for (double beta : {-0.12, -0.2, -0.3}) {
        for (double delta : {-0.3, 0.0}) {
          for (double omega : {0.0, 0.5}) {
            for (double es : {1.5, 3.0}) {
              for (double em : {100.0, 400.0}) {
                MatrixXd phi(n, 3);
                for (Eigen::Index i = 0; i < n; ++i) {
                  const auto& p = runs[static_cast<std::size_t>(i)].point;
                  const double ehat = saturating_experts(p.experts, es, em);
                  phi.row(i) << std::pow(ehat, delta) * std::pow(p.params, alpha),
                      std::pow(ehat, omega) * std::pow(p.tokens, beta), 1;
                }
                const VectorXd w = least_squares(phi, y, scale);
                VectorXd t(11);
                t << std::log(floor_positive(w(0))), alpha, delta, 0,
                    std::log(floor_positive(w(1))), beta, omega, 0, std::log(es), std::log(em - es),
                    std::log(floor_positive(w(2)));
                out.push_back(t);
              }
            }
          }
        }
      }
    }
    return out;
  }
};

std::unique_ptr<FormModel> make_model(Form form) {
  switch (form) {
    case Form::kaplan:
      return std::make_unique<KaplanModel>();
    case Form::chinchilla:
      return std::make_unique<ChinchillaModel>();
    case Form::clark:
      return std::make_unique<ClarkModel>();
    case Form::krajewski:
      return std::make_unique<KrajewskiModel>();
    case Form::joint:
      return std::make_unique<JointModel>();
  }
  return nullptr;
}

// The Huber objective over runs with multiplicities (1 each for the fit, bootstrap counts
// for a resample): sum_i w_i huber_delta(log predicted_i - log observed_i).
class Objective {
 public:
  Objective(const FormModel& model, const std::vector<Prepared>& runs,
            const std::vector<double>& log_loss, const std::vector<std::size_t>& index,
            const std::vector<double>& count, double delta)
      : model_(model),
        runs_(runs),
        log_loss_(log_loss),
        index_(index),
        count_(count),
        delta_(delta) {}

  // Residuals into r; returns the objective (+inf when any prediction is not finite).
  double evaluate(const VectorXd& t, VectorXd& r) const {
    r.resize(static_cast<Eigen::Index>(index_.size()));
    double sum = 0;
    for (std::size_t k = 0; k < index_.size(); ++k) {
      const double v = model_.log_predict(t, runs_[index_[k]], nullptr) - log_loss_[index_[k]];
      if (!std::isfinite(v)) return kInf;
      r(static_cast<Eigen::Index>(k)) = v;
      sum += count_[k] * huber(v);
    }
    return sum;
  }

  double huber(double r) const {
    // Huber (1964): r^2 / 2 inside delta, delta (|r| - delta / 2) outside.
    const double a = std::fabs(r);
    return a <= delta_ ? 0.5 * r * r : delta_ * (a - 0.5 * delta_);
  }
  // IRLS weight psi(r) / r of one run.
  double weight(std::size_t k, double r) const {
    const double a = std::fabs(r);
    return count_[k] * (a <= delta_ ? 1.0 : delta_ / a);
  }

  // Jacobian of the residuals (analytic, per form); false when one is not finite.
  bool jacobian(const VectorXd& t, MatrixXd& j) const {
    const auto n = static_cast<Eigen::Index>(index_.size());
    j.resize(n, t.size());
    std::vector<double> g(static_cast<std::size_t>(t.size()));
    for (Eigen::Index k = 0; k < n; ++k) {
      model_.log_predict(t, runs_[index_[static_cast<std::size_t>(k)]], g.data());
      for (Eigen::Index c = 0; c < t.size(); ++c) {
        if (!std::isfinite(g[static_cast<std::size_t>(c)])) return false;
        j(k, c) = g[static_cast<std::size_t>(c)];
      }
    }
    return true;
  }

 private:
  const FormModel& model_;
  const std::vector<Prepared>& runs_;
  const std::vector<double>& log_loss_;
  const std::vector<std::size_t>& index_;
  const std::vector<double>& count_;
  double delta_;
};

struct Minimum {
  VectorXd theta;
  double objective = kInf;
  bool converged = false;
};

// Levenberg-Marquardt on the iteratively reweighted Huber objective: each iteration solves
// the weighted Gauss-Newton system with weights psi(r)/r (a quadratic majorizer of Huber's
// loss, Holland & Welsch 1977) and Marquardt's damping, accepting only steps that lower
// the Huber objective itself.
Minimum minimize(const Objective& obj, VectorXd theta, int max_iterations) {
  Minimum m;
  VectorXd r, r_new;
  double f = obj.evaluate(theta, r);
  if (!std::isfinite(f)) return m;
  double lambda = 1e-3;
  int stalls = 0;
  MatrixXd j;
  for (int it = 0; it < max_iterations; ++it) {
    if (!obj.jacobian(theta, j)) break;
    VectorXd w(r.size());
    for (Eigen::Index k = 0; k < r.size(); ++k)
      w(k) = obj.weight(static_cast<std::size_t>(k), r(k));
    const MatrixXd a = j.transpose() * w.asDiagonal() * j;
    const VectorXd g = j.transpose() * w.cwiseProduct(r);
    const double floor = 1e-12 * std::max(1e-300, a.diagonal().maxCoeff());
    bool accepted = false;
    double f_new = kInf;
    VectorXd step;
    while (lambda < 1e12) {
      MatrixXd damped = a;
      for (Eigen::Index c = 0; c < a.rows(); ++c) damped(c, c) += lambda * (a(c, c) + floor);
      step = damped.ldlt().solve(-g);
      if (!step.allFinite()) {
        lambda *= 4;
        continue;
      }
      f_new = obj.evaluate(theta + step, r_new);
      if (f_new < f) {
        accepted = true;
        break;
      }
      lambda *= 4;
    }
    if (!accepted) {
      m.converged = true;  // no descent direction left at working precision
      break;
    }
    const double decrease = f - f_new;
    theta += step;
    r.swap(r_new);
    f = f_new;
    lambda = std::max(lambda / 3, 1e-12);
    stalls = decrease <= 1e-10 * f ? stalls + 1 : 0;
    if (stalls >= 3) {
      m.converged = true;
      break;
    }
  }
  m.theta = theta;
  m.objective = f;
  return m;
}

// Percentile of sorted values at fraction q, linear between order statistics.
double percentile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

void widen(Range& r, double v) {
  r.min = r.min ? std::min(*r.min, v) : v;
  r.max = r.max ? std::max(*r.max, v) : v;
}

}  // namespace

std::size_t minimum_runs(Form form) {
  return coefficient_names(form).size() + 1;
}

FieldErrors check_runs(Form form, const std::vector<TrainingRun>& runs) {
  FieldErrors errors;
  const std::size_t need = minimum_runs(form);
  if (runs.size() < need) {
    errors.push_back({"rows", std::to_string(runs.size()) + " runs, but the " +
                                  std::string(to_string(form)) + " form needs at least " +
                                  std::to_string(need) + " (" + std::to_string(need - 1) +
                                  " coefficients + 1)"});
  }
  auto distinct = [&](const char* name, auto get) {
    std::set<double> values;
    for (const TrainingRun& r : runs) values.insert(get(r));
    if (values.size() < 3)
      errors.push_back({name, "needs at least 3 distinct values to fit the " +
                                  std::string(to_string(form)) + " form, got " +
                                  std::to_string(values.size())});
  };
  distinct("params", [](const TrainingRun& r) { return r.point.params; });
  if (uses_tokens(form)) distinct("tokens", [](const TrainingRun& r) { return r.point.tokens; });
  if (uses_experts(form)) distinct("experts", [](const TrainingRun& r) { return r.point.experts; });
  if (uses_granularity(form))
    distinct("granularity", [](const TrainingRun& r) { return r.point.granularity; });
  for (const TrainingRun& r : runs) {
    const bool ok = r.point.params > 0 && r.loss > 0 && r.point.experts >= 1 &&
                    r.point.granularity > 0 && (!uses_tokens(form) || r.point.tokens > 0) &&
                    std::isfinite(r.point.params + r.point.tokens + r.loss + r.point.experts +
                                  r.point.granularity);
    if (!ok) {
      errors.push_back({"rows", "every run needs positive finite values (experts at least 1)"});
      break;
    }
  }
  return errors;
}

FitResult fit(Form form, const std::vector<TrainingRun>& runs, const FitOptions& options) {
  const FieldErrors problems = check_runs(form, runs);
  if (!problems.empty())
    throw std::invalid_argument("fit: " + problems.front().path + ": " + problems.front().rule);
  const auto model = make_model(form);
  FitResult result;
  result.form = form;
  result.confidence = options.confidence;
  result.huber_delta = options.huber_delta;
  result.seed = options.seed;

  std::vector<Prepared> prepared;
  std::vector<double> log_loss;
  for (const TrainingRun& run : runs) {
    prepared.push_back(prepare(run));
    log_loss.push_back(std::log(run.loss));
  }
  std::vector<std::size_t> all(runs.size());
  std::iota(all.begin(), all.end(), 0);
  const std::vector<double> ones(runs.size(), 1.0);
  const Objective objective(*model, prepared, log_loss, all, ones, options.huber_delta);

  // Grid of initializations (Hoffmann et al. 2022 App. D.2), ranked by their objective; the
  // best few are refined and the lowest minimum kept.
  std::vector<std::pair<double, VectorXd>> ranked;
  VectorXd r;
  for (VectorXd& t : model->starts(runs)) {
    const double f = objective.evaluate(t, r);
    if (std::isfinite(f)) ranked.emplace_back(f, std::move(t));
  }
  result.starts = static_cast<int>(ranked.size());
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Minimum best;
  const std::size_t refine =
      std::min(ranked.size(), static_cast<std::size_t>(std::max(1, options.refined_starts)));
  for (std::size_t s = 0; s < refine; ++s) {
    Minimum m = minimize(objective, ranked[s].second, options.max_iterations);
    if (m.objective < best.objective) best = m;
  }
  if (!std::isfinite(best.objective))
    throw std::runtime_error("fit: no initialization gave a finite objective");
  if (!best.converged)
    result.warnings.push_back("the optimizer stopped at its iteration limit before converging");

  const std::vector<double> estimate = model->coefficients(best.theta);
  const auto& names = coefficient_names(form);
  result.huber_objective = best.objective;
  double sum_sq = 0;
  for (const TrainingRun& run : runs) {
    const double log_pred = model->log_predict(best.theta, prepare(run), nullptr);
    RunResidual res;
    res.observed = run.loss;
    res.predicted = std::exp(log_pred);
    res.log_residual = log_pred - std::log(run.loss);
    sum_sq += res.log_residual * res.log_residual;
    result.residuals.push_back(res);
    widen(result.data_range.params, run.point.params);
    if (uses_tokens(form)) widen(result.data_range.tokens, run.point.tokens);
    if (uses_experts(form)) widen(result.data_range.experts, run.point.experts);
    if (uses_granularity(form)) widen(result.data_range.granularity, run.point.granularity);
  }
  result.rms_log_residual = std::sqrt(sum_sq / static_cast<double>(runs.size()));

  // Nonparametric bootstrap (Efron & Tibshirani 1993): refit on runs resampled with
  // replacement, warm-started at the estimate; percentile intervals.
  std::vector<std::vector<double>> samples(names.size());
  SplitMix64 rng(options.seed);
  const std::size_t n = runs.size();
  for (int b = 0; b < options.bootstrap_samples; ++b) {
    std::vector<double> count(n, 0.0);
    for (std::size_t k = 0; k < n; ++k) count[rng.next() % n] += 1;
    std::vector<std::size_t> idx;
    std::vector<double> cnt;
    for (std::size_t k = 0; k < n; ++k) {
      if (count[k] > 0) {
        idx.push_back(k);
        cnt.push_back(count[k]);
      }
    }
    const Objective resampled(*model, prepared, log_loss, idx, cnt, options.huber_delta);
    const Minimum m = minimize(resampled, best.theta, options.max_iterations);
    bool finite = std::isfinite(m.objective);
    std::vector<double> c;
    if (finite) {
      c = model->coefficients(m.theta);
      for (double v : c) finite = finite && std::isfinite(v);
    }
    if (!finite) {
      ++result.bootstrap_failed;
      continue;
    }
    for (std::size_t i = 0; i < c.size(); ++i) samples[i].push_back(c[i]);
  }
  result.bootstrap_samples = options.bootstrap_samples - result.bootstrap_failed;

  const double tail = (1 - options.confidence) / 2;
  for (std::size_t i = 0; i < names.size(); ++i) {
    CoefficientEstimate e{names[i], estimate[i], estimate[i], estimate[i]};
    if (!samples[i].empty()) {
      std::sort(samples[i].begin(), samples[i].end());
      e.low = percentile(samples[i], tail);
      e.high = percentile(samples[i], 1 - tail);
    }
    if (std::fabs(e.high - e.low) > std::fabs(e.value))
      result.warnings.push_back("coefficient " + e.name +
                                " is poorly determined by these runs (interval [" +
                                short_number(e.low) + ", " + short_number(e.high) + "])");
    result.coefficients.push_back(e);
  }
  if (result.bootstrap_failed > 0)
    result.warnings.push_back(std::to_string(result.bootstrap_failed) +
                              " bootstrap resamples did not give finite coefficients");
  return result;
}

std::vector<double> design_standard_errors(Form form, const std::vector<double>& coefficients,
                                           const std::vector<LawPoint>& points, double noise,
                                           double huber_delta) {
  const auto model = make_model(form);
  const VectorXd t = model->theta(coefficients);
  const auto p = t.size();
  // Fisher information of Gauss-Newton: J^T J / s^2 over the design's points.
  MatrixXd info = MatrixXd::Zero(p, p);
  std::vector<double> g(static_cast<std::size_t>(p));
  for (const LawPoint& point : points) {
    model->log_predict(t, prepare(TrainingRun{point, 1.0}), g.data());
    const Eigen::Map<const VectorXd> row(g.data(), p);
    info += row * row.transpose();
  }
  // Huber's M-estimator under Gaussian noise s (Huber 1964): variance factor
  // E[psi^2] / E[psi']^2, with c = delta / s: E[psi'] = P(|z| <= c),
  // E[psi^2] = s^2 (P(|z| <= c) - 2 c phi(c)) + delta^2 P(|z| > c).
  const double c = huber_delta / noise;
  const double inside = std::erf(c / std::sqrt(2.0));
  const double phi = std::exp(-c * c / 2) / std::sqrt(2 * std::numbers::pi);
  const double psi2 =
      noise * noise * (inside - 2 * c * phi) + huber_delta * huber_delta * (1 - inside);
  const MatrixXd cov_theta =
      info.ldlt().solve(MatrixXd::Identity(p, p)) * (psi2 / (inside * inside));
  // Delta method to the coefficients.
  const std::vector<double> c0 = model->coefficients(t);
  MatrixXd jac(static_cast<Eigen::Index>(c0.size()), p);
  for (Eigen::Index k = 0; k < p; ++k) {
    const double h = 1e-7 * std::max(1.0, std::fabs(t(k)));
    VectorXd tp = t, tm = t;
    tp(k) += h;
    tm(k) -= h;
    const auto cp = model->coefficients(tp), cm = model->coefficients(tm);
    for (std::size_t j = 0; j < c0.size(); ++j)
      jac(static_cast<Eigen::Index>(j), k) = (cp[j] - cm[j]) / (2 * h);
  }
  const MatrixXd cov = jac * cov_theta * jac.transpose();
  std::vector<double> out;
  for (std::size_t j = 0; j < c0.size(); ++j)
    out.push_back(
        std::sqrt(std::max(0.0, cov(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(j)))));
  return out;
}

Law to_law(const FitResult& result, const Law& base) {
  Law law = base;
  law.form = result.form;
  law.coefficients.clear();
  for (const auto& c : result.coefficients) law.coefficients[c.name] = c.value;
  law.range = result.data_range;
  law.checks.clear();
  return law;
}

}  // namespace moesim::model::laws
