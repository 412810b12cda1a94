#pragma once
// Fitting a law's form to training runs, as Hoffmann et al. 2022 (App. D.2) fit approach 3:
// minimize the Huber loss (delta 1e-3) of log predicted - log observed loss from a grid of
// initializations. moesim refines the best starts with Levenberg-Marquardt steps on the
// iteratively reweighted Huber objective (Eigen), and gives every coefficient a percentile
// bootstrap interval (seeded, deterministic). docs/laws.md, "Fitting".
#include <cstdint>
#include <string>
#include <vector>

#include "model/field_error.hpp"
#include "model/laws/law.hpp"

namespace moesim::model::laws {

struct TrainingRun {
  LawPoint point;  // the law's variables, in the form's own definitions
  double loss = 0;
};

struct FitOptions {
  double huber_delta = 1e-3;  // Hoffmann et al. 2022 App. D.2
  int bootstrap_samples = 200;
  double confidence = 0.95;  // of the percentile bootstrap intervals
  std::uint64_t seed = 1;
  int max_iterations = 300;  // Levenberg-Marquardt iterations per start
  int refined_starts = 8;    // the best grid starts refined to convergence
};

struct CoefficientEstimate {
  std::string name;
  double value = 0;
  double low = 0;  // bootstrap percentile interval at FitOptions::confidence
  double high = 0;
};

struct RunResidual {
  double observed = 0;
  double predicted = 0;
  double log_residual = 0;  // ln(predicted / observed)
};

struct FitResult {
  Form form = Form::chinchilla;
  std::vector<CoefficientEstimate> coefficients;  // coefficient_names(form) order
  std::vector<RunResidual> residuals;             // one per run, in input order
  double huber_delta = 0;
  double huber_objective = 0;  // sum over runs, at the estimate
  double rms_log_residual = 0;
  int starts = 0;  // grid initializations tried
  int bootstrap_samples = 0;
  int bootstrap_failed = 0;  // resamples whose fit did not give finite coefficients
  double confidence = 0;
  std::uint64_t seed = 0;
  FittedRange data_range;  // the runs' ranges of the law variables
  std::vector<std::string> warnings;
};

// Runs needed to fit a form: one more than its coefficients.
std::size_t minimum_runs(Form form);
// Whether `runs` can determine the form: enough runs, and at least 3 distinct values of every
// variable the form reads (path: "rows", "params", "tokens", "experts" or "granularity").
FieldErrors check_runs(Form form, const std::vector<TrainingRun>& runs);

// Fits `form` to `runs` (precondition: check_runs is empty; std::invalid_argument otherwise).
FitResult fit(Form form, const std::vector<TrainingRun>& runs, const FitOptions& options = {});

// Asymptotic standard errors of the fitted coefficients (coefficient_names order) for runs at
// `points` whose losses carry multiplicative Gaussian noise of relative size `noise`: the
// Gauss-Newton Fisher information at `coefficients` with Huber's variance factor. For
// planning runs: which coefficients a design can determine, and how well.
std::vector<double> design_standard_errors(Form form, const std::vector<double>& coefficients,
                                           const std::vector<LawPoint>& points, double noise,
                                           double huber_delta = 1e-3);

// The fitted coefficients as a law (name, source and definitions from `base`), with the
// runs' ranges as its fitted range.
Law to_law(const FitResult& result, const Law& base);

}  // namespace moesim::model::laws
