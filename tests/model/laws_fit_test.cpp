// Fitting: from 200 synthetic runs drawn from each law with 1% multiplicative noise (seeded),
// the fit recovers the coefficients and the bootstrap intervals cover the truth.
//
// What 200 runs at 1% noise can determine is a property of the runs, not of the fitter: the
// asymptotic standard error of each coefficient (design_standard_errors, the Fisher
// information of the design) is below 5%/3 for most coefficients here, and there the test
// asks for 5%. A few coefficients are weakly determined by any design of 200 runs at 1% noise
// (Clark's E_start and E_max, Krajewski's gamma and g, Kaplan's Nc and Dc, some of the joint
// law's: their standard errors are 4-18%, docs/laws.md "Fitting"); for those the test asks for
// 3 standard errors, and a second test at 0.1% noise asks every coefficient for 5%.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>

#include "model/laws/fit.hpp"

namespace moesim::model::laws {
namespace {

// SplitMix64 uniforms and Box-Muller normals: the same stream on every platform.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  double uniform() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (static_cast<double>(z >> 11) + 0.5) / 9007199254740992.0;
  }
  double normal() {
    const double u = uniform(), v = uniform();
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * 3.141592653589793 * v);
  }
  double log_uniform(double lo, double hi) {
    return std::exp(std::log(lo) + uniform() * (std::log(hi) - std::log(lo)));
  }
  // 1 with probability p_one, else 2^k with k uniform in 0..max_power.
  double power_of_two(double p_one, int max_power) {
    if (uniform() < p_one) return 1;
    return std::pow(2.0, std::floor(uniform() * (max_power + 1)));
  }

 private:
  std::uint64_t state_;
};

// The runs: log-uniform N and D over wide ranges (wide on purpose: over the 1e7-1e10 that
// real sweeps cover, 1% noise hides most coefficients), experts or granularity in powers of 2.
struct Design {
  double n_lo, n_hi, d_lo, d_hi;
  double p_one = 1;  // experts / granularity: 1 with this probability, else 2^U{0..max_power}
  int max_power = 0;
};

struct Case {
  const char* law;
  Form form;
  std::vector<double> truth;  // coefficient_names(form) order
  Design design;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      // Hoffmann et al. 2022 approach 3.
      {"chinchilla", Form::chinchilla, {1.69, 406.4, 410.7, 0.34, 0.28}, {1e3, 1e12, 1e4, 1e13}},
      // Besiroglu et al. 2024.
      {"chinchilla-replication",
       Form::chinchilla,
       {1.8172, 482.01, 2085.43, 0.3478, 0.3658},
       {1e3, 1e12, 1e4, 1e13}},
      // Krajewski et al. 2024's dense fit is the Chinchilla form (E = c, A = a, B = b).
      {"krajewski-dense",
       Form::chinchilla,
       {0.47, 16.3, 26.7, 0.126, 0.127},
       {1e3, 1e12, 1e4, 1e13}},
      // Kaplan et al. 2020 Table 2.
      {"kaplan", Form::kaplan, {6.4e13, 1.8e13, 0.076, 0.103}, {1e4, 1e14, 1e5, 1e15}},
      // A Clark-form law (moesim ships no Clark coefficients): a, b, c, d, E_start, E_max.
      {"clark",
       Form::clark,
       {-0.082, -0.108, 0.009, 1.104, 1.847, 314.478},
       {1e1, 1e9, 1, 1, 0.25, 16}},
      // Krajewski et al. 2024 Tables 1 and 8.
      {"krajewski-e64",
       Form::krajewski,
       {18.1, 0.115, 30.8, 0.147, 2.1, 0.58, 0.47},
       {1e3, 1e11, 1e8, 1e16, 0, 14}},
      {"krajewski-e16",
       Form::krajewski,
       {19.64, 0.124, 57.07, 0.169, 1.18, 0.986, 0.472},
       {1e3, 1e11, 1e8, 1e16, 0, 14}},
      // Ludziejewski et al. 2025 App. B Table 3.
      {"joint",
       Form::joint,
       {35.91, -0.1889, -0.2285, 0.0098, 35.98, -0.1775, 0.5529, -0.0259, 2.0732, 290.4521, 1.3637},
       {1e3, 1e13, 1e3, 1e14, 0.25, 16}},
  };
  return all;
}

std::vector<TrainingRun> draw(const Case& c, double noise, std::uint64_t seed,
                              std::size_t count = 200) {
  Random rng(seed);
  std::vector<TrainingRun> runs;
  const Design& d = c.design;
  for (std::size_t i = 0; i < count; ++i) {
    LawPoint p;
    p.params = rng.log_uniform(d.n_lo, d.n_hi);
    p.tokens = rng.log_uniform(d.d_lo, d.d_hi);
    const double x = rng.power_of_two(d.p_one, d.max_power);
    if (c.form == Form::krajewski) {
      p.granularity = x;
      p.experts = 64 * x;
    } else {
      p.experts = x;
    }
    // 1% multiplicative noise: L (1 + 0.01 z), z standard normal.
    runs.push_back({p, predict(c.form, c.truth, p) * (1 + noise * rng.normal())});
  }
  return runs;
}

std::vector<LawPoint> points(const std::vector<TrainingRun>& runs) {
  std::vector<LawPoint> out;
  for (const TrainingRun& r : runs) out.push_back(r.point);
  return out;
}

class FitRecovery : public ::testing::TestWithParam<Case> {};

TEST_P(FitRecovery, RecoversCoefficientsAndCoversThemAtOnePercentNoise) {
  const Case& c = GetParam();
  const std::vector<TrainingRun> runs = draw(c, 0.01, 20240201);
  FitOptions options;
  options.bootstrap_samples = 400;
  // 99% intervals: with 5-11 coefficients, 95% intervals would miss one of them in a good
  // share of seeds by construction.
  options.confidence = 0.99;
  options.seed = 7;
  const auto start = std::chrono::steady_clock::now();
  const FitResult fit = laws::fit(c.form, runs, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::vector<double> se = design_standard_errors(c.form, c.truth, points(runs), 0.01);
  ASSERT_EQ(fit.coefficients.size(), c.truth.size());
  EXPECT_EQ(fit.bootstrap_failed, 0);
  for (std::size_t i = 0; i < c.truth.size(); ++i) {
    const CoefficientEstimate& e = fit.coefficients[i];
    const double truth = c.truth[i];
    const double rel_se = se[i] / std::fabs(truth);
    const double tolerance = std::max(0.05, 3 * rel_se);
    EXPECT_LE(std::fabs(e.value / truth - 1), tolerance)
        << c.law << " " << e.name << ": fit " << e.value << ", truth " << truth
        << ", design standard error " << 100 * rel_se << "%";
    EXPECT_TRUE(e.low <= truth && truth <= e.high)
        << c.law << " " << e.name << ": truth " << truth << " outside [" << e.low << ", " << e.high
        << "]";
  }
  // The fit explains the runs down to the noise.
  EXPECT_NEAR(fit.rms_log_residual, 0.01, 0.0015) << c.law;
  RecordProperty("seconds", std::to_string(seconds));
}

TEST_P(FitRecovery, RecoversEveryCoefficientWithinFivePercentAtLowNoise) {
  // At 0.1% noise every design standard error is below 2%: nothing is excused.
  const Case& c = GetParam();
  const std::vector<TrainingRun> runs = draw(c, 0.001, 99);
  FitOptions options;
  options.bootstrap_samples = 0;
  const FitResult fit = laws::fit(c.form, runs, options);
  for (std::size_t i = 0; i < c.truth.size(); ++i) {
    EXPECT_LE(std::fabs(fit.coefficients[i].value / c.truth[i] - 1), 0.05)
        << c.law << " " << fit.coefficients[i].name << ": fit " << fit.coefficients[i].value
        << ", truth " << c.truth[i];
  }
}

INSTANTIATE_TEST_SUITE_P(Laws, FitRecovery, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string n = info.param.law;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

TEST(Fit, SameSeedSameResult) {
  const Case& c = cases().front();
  const std::vector<TrainingRun> runs = draw(c, 0.01, 3);
  FitOptions options;
  options.bootstrap_samples = 50;
  options.seed = 11;
  const FitResult a = fit(c.form, runs, options);
  const FitResult b = fit(c.form, runs, options);
  for (std::size_t i = 0; i < a.coefficients.size(); ++i) {
    EXPECT_EQ(a.coefficients[i].value, b.coefficients[i].value);
    EXPECT_EQ(a.coefficients[i].low, b.coefficients[i].low);
    EXPECT_EQ(a.coefficients[i].high, b.coefficients[i].high);
  }
  options.seed = 12;
  const FitResult other = fit(c.form, runs, options);
  EXPECT_EQ(other.coefficients[0].value, a.coefficients[0].value);  // the estimate is seedless
  EXPECT_NE(other.coefficients[0].low, a.coefficients[0].low);
}

TEST(Fit, ResidualsFollowTheRunsInOrder) {
  const Case& c = cases().front();
  const std::vector<TrainingRun> runs = draw(c, 0.01, 5, 40);
  FitOptions options;
  options.bootstrap_samples = 0;
  const FitResult r = fit(c.form, runs, options);
  ASSERT_EQ(r.residuals.size(), runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(r.residuals[i].observed, runs[i].loss);
    EXPECT_NEAR(r.residuals[i].log_residual, std::log(r.residuals[i].predicted / runs[i].loss),
                1e-12);
  }
  EXPECT_DOUBLE_EQ(*r.data_range.params.min, [&] {
    double m = runs[0].point.params;
    for (const TrainingRun& run : runs) m = std::min(m, run.point.params);
    return m;
  }());
}

TEST(Fit, CheckRunsNamesWhatIsMissing) {
  const Case& c = cases().front();
  std::vector<TrainingRun> runs = draw(c, 0.01, 1, 5);
  FieldErrors e = check_runs(Form::chinchilla, runs);
  ASSERT_FALSE(e.empty());
  EXPECT_EQ(e[0].path, "rows");
  EXPECT_NE(e[0].rule.find("needs at least 6"), std::string::npos);

  // Clark needs several expert counts, Krajewski several granularities.
  runs = draw(c, 0.01, 1, 50);
  e = check_runs(Form::clark, runs);
  ASSERT_FALSE(e.empty());
  EXPECT_EQ(e[0].path, "experts");
  e = check_runs(Form::krajewski, runs);
  ASSERT_FALSE(e.empty());
  EXPECT_EQ(e[0].path, "granularity");
  EXPECT_TRUE(check_runs(Form::chinchilla, runs).empty());
  EXPECT_THROW(fit(Form::clark, runs), std::invalid_argument);
}

TEST(Fit, DesignStandardErrorsScaleWithNoiseAndRuns) {
  // Var ~ s^2 / n: ten times the noise, ten times the error; four times the runs, half.
  const Case& c = cases().front();
  const std::vector<LawPoint> p200 = points(draw(c, 0.01, 1, 200));
  const std::vector<LawPoint> p800 = points(draw(c, 0.01, 1, 800));
  const auto a = design_standard_errors(c.form, c.truth, p200, 0.01, 1e-12);
  const auto b = design_standard_errors(c.form, c.truth, p200, 0.1, 1e-12);
  const auto d = design_standard_errors(c.form, c.truth, p800, 0.01, 1e-12);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(b[i] / a[i], 10, 1e-3);
    EXPECT_NEAR(d[i] / a[i], 0.5, 0.1);
  }
  // Huber with delta << noise is a median fit: variance pi/2 times least squares'.
  const auto ls = design_standard_errors(c.form, c.truth, p200, 0.01, 1.0);
  EXPECT_NEAR(a[0] / ls[0], std::sqrt(3.141592653589793 / 2), 1e-3);
}

}  // namespace
}  // namespace moesim::model::laws
