#include "kernels/calibrate.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <sstream>

#include "hardware/efficiency.hpp"
#include "kernels/moe_layer.hpp"

namespace moesim::kernels {
namespace {

// Residuals r_i = log t_model - log t_i and their Jacobian over p = (log max_fraction,
// log half_intensity, log half_work). From efficiency.hpp:
//   t = 2mnk / (peak * mf * I/(I + hi) * W/(W + hw) * wave)
//   log t = log(2mnk / (peak * wave)) - log mf + log(1 + hi/I) + log(1 + hw/W)
// so dr/dlog mf = -1, dr/dlog hi = hi/(I + hi), dr/dlog hw = hw/(W + hw).
struct Problem {
  std::vector<double> base;       // log(2mnk / (peak * wave)) - log t_measured
  std::vector<double> intensity;  // I
  std::vector<double> work;       // W = 2mnk

  double residuals(const Eigen::Vector3d& p, Eigen::VectorXd& r, Eigen::MatrixXd* J) const {
    const double hi = std::exp(p[1]), hw = std::exp(p[2]);
    const Eigen::Index n = static_cast<Eigen::Index>(base.size());
    r.resize(n);
    if (J) J->resize(n, 3);
    for (Eigen::Index i = 0; i < n; ++i) {
      r[i] = base[i] - p[0] + std::log1p(hi / intensity[i]) + std::log1p(hw / work[i]);
      if (J) {
        (*J)(i, 0) = -1;
        (*J)(i, 1) = hi / (intensity[i] + hi);
        (*J)(i, 2) = hw / (work[i] + hw);
      }
    }
    return 0.5 * r.squaredNorm();
  }
};

}  // namespace

std::string GemmFitSummary::BriefReport() const {
  std::ostringstream os;
  os << "GEMM efficiency fit: " << (converged ? "converged" : "not converged") << " after "
     << iterations << " iterations (" << message << "); max_fraction = " << fitted.max_fraction
     << ", half_intensity_flop_per_byte = " << fitted.half_intensity_flop_per_byte
     << ", half_work_flop = " << fitted.half_work_flop << ", rms log error = " << rms_log_error;
  return os.str();
}

GemmFitSummary fit_gemm_efficiency(const hw::Accelerator& acc, hw::Dtype dtype,
                                   const std::vector<GemmSample>& samples,
                                   const GemmFitOptions& options) {
  GemmFitSummary s;
  s.fitted = options.initial;
  const double peak = hw::effective_peak_flops(acc, dtype);
  if (!(peak > 0)) {
    s.message = "the accelerator has no peak FLOP/s for this dtype";
    return s;
  }
  hw::Accelerator a = acc;
  a.gemm = options.initial;  // the wave terms of the initial guess
  Problem pr;
  for (const GemmSample& x : samples) {
    if (!(x.m >= 1 && x.n >= 1 && x.k >= 1 && x.seconds > 0 && std::isfinite(x.seconds))) {
      s.message = "every sample needs m, n, k >= 1 and a positive finite time";
      return s;
    }
    const double flops = 2 * x.m * x.n * x.k;  // FLOPs of a GEMM
    const double bytes = hw::bytes_per_element(dtype) * (x.m * x.k + x.k * x.n + x.m * x.n);
    const double wave = hw::gemm_wave_efficiency(a, x.m, x.n, x.k);
    pr.base.push_back(std::log(flops / (peak * wave)) - std::log(x.seconds));
    pr.intensity.push_back(flops / bytes);  // arithmetic intensity, as in efficiency.cpp
    pr.work.push_back(flops);
  }
  if (pr.base.size() < 3) {
    s.message = "need at least 3 samples for 3 parameters";
    return s;
  }
  const hw::GemmEfficiency& g0 = options.initial;
  Eigen::Vector3d p(std::log(std::max(1e-6, g0.max_fraction)),
                    std::log(std::max(1e-6, g0.half_intensity_flop_per_byte)),
                    std::log(std::max(1.0, g0.half_work_flop)));
  Eigen::VectorXd r;
  Eigen::MatrixXd J;
  double cost = pr.residuals(p, r, &J);
  double lambda = 1e-3;
  s.message = "iteration limit reached";
  // Levenberg-Marquardt (Nocedal & Wright, Numerical Optimization, section 10.3):
  // (J^T J + lambda diag(J^T J)) dp = -J^T r, lambda shrinks on success and grows on failure.
  for (s.iterations = 0; s.iterations < options.max_iterations; ++s.iterations) {
    const Eigen::Matrix3d JtJ = J.transpose() * J;
    const Eigen::Vector3d Jtr = J.transpose() * r;
    if (Jtr.lpNorm<Eigen::Infinity>() < 1e-14) {
      s.converged = true;
      s.message = "gradient vanished";
      break;
    }
    Eigen::Matrix3d A = JtJ;
    A.diagonal() += lambda * JtJ.diagonal().cwiseMax(1e-12);
    const Eigen::Vector3d dp = A.ldlt().solve(-Jtr);
    const Eigen::Vector3d trial = p + dp;
    Eigen::VectorXd rt;
    Eigen::MatrixXd Jt;
    const double ct = pr.residuals(trial, rt, &Jt);
    if (std::isfinite(ct) && ct < cost) {
      const double decrease = (cost - ct) / std::max(cost, 1e-300);
      p = trial, r = std::move(rt), J = std::move(Jt), cost = ct;
      lambda = std::max(1e-12, lambda / 10);
      if (decrease < options.tolerance || cost < 1e-28) {
        s.converged = true;
        s.message = "cost stopped decreasing";
        ++s.iterations;
        break;
      }
    } else {
      lambda *= 10;
      if (lambda > 1e12) {
        s.converged = true;  // no step lowers the cost: a (local) minimum
        s.message = "no further decrease possible";
        break;
      }
    }
  }
  s.fitted.max_fraction = std::exp(p[0]);
  s.fitted.half_intensity_flop_per_byte = std::exp(p[1]);
  s.fitted.half_work_flop = std::exp(p[2]);
  s.rms_log_error = std::sqrt(2 * cost / static_cast<double>(r.size()));
  return s;
}

double time_host_gemm_s(int m, int n, int k, int repeats, double min_seconds) {
  std::mt19937_64 gen(42);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> a(static_cast<std::size_t>(m) * k), b(static_cast<std::size_t>(k) * n),
      c(static_cast<std::size_t>(m) * n);
  for (float& f : a) f = u(gen);
  for (float& f : b) f = u(gen);
  using clock = std::chrono::steady_clock;
  double best = 0;
  gemm(m, n, k, a.data(), b.data(), c.data());  // warm the caches and the allocator
  for (int rep = 0; rep < std::max(1, repeats); ++rep) {
    int calls = 0;
    const auto start = clock::now();
    double elapsed = 0;
    do {
      gemm(m, n, k, a.data(), b.data(), c.data());
      ++calls;
      elapsed = std::chrono::duration<double>(clock::now() - start).count();
    } while (elapsed < min_seconds);
    const double per_call = elapsed / calls;
    best = rep == 0 ? per_call : std::min(best, per_call);
  }
  return best;
}

}  // namespace moesim::kernels
