// Loss laws: each form against its closed form, the model-spec mappings (which N, which E,
// the expert-layer frequency treatment), the registry, and the compute-optimal search.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/laws/law.hpp"
#include "model/laws/optimal.hpp"
#include "model/workload.hpp"

namespace moesim::model::laws {
namespace {

Law chinchilla() {
  Law law;
  law.name = "chinchilla";
  law.form = Form::chinchilla;
  law.params_counted = ParamCount::total;
  law.coefficients = {{"E", 1.69}, {"A", 406.4}, {"B", 410.7}, {"alpha", 0.34}, {"beta", 0.28}};
  return law;
}

Law joint() {
  Law law;
  law.name = "joint";
  law.form = Form::joint;
  law.params_counted = ParamCount::active;
  law.coefficients = {{"a", 35.91},        {"alpha", -0.1889}, {"delta", -0.2285},
                      {"gamma", 0.0098},   {"b", 35.98},       {"beta", -0.1775},
                      {"omega", 0.5529},   {"zeta", -0.0259},  {"E_start", 2.0732},
                      {"E_max", 290.4521}, {"c", 1.3637}};
  return law;
}

Law krajewski_e64() {
  Law law;
  law.name = "krajewski-e64";
  law.form = Form::krajewski;
  law.params_counted = ParamCount::non_embedding;
  law.expansion_rate = 64;
  law.coefficients = {{"a", 18.1}, {"alpha", 0.115}, {"b", 30.8}, {"beta", 0.147},
                      {"g", 2.1},  {"gamma", 0.58},  {"c", 0.47}};
  return law;
}

// A small decoder: 8 layers, d 512, MHA, GELU FFN 2048, 8 experts of full width.
ModelSpec small_moe(std::int64_t experts, std::int64_t top_k, std::int64_t every) {
  ModelSpec s;
  s.name = "small";
  s.layers = 8;
  s.d_model = 512;
  s.vocab = 1000;
  s.seq_len = 1024;
  s.attention.type = AttentionType::mha;
  s.attention.heads = 8;
  s.attention.kv_heads = 8;
  s.attention.head_dim = 64;
  s.ffn.d_ff = 2048;
  s.ffn.activation = Activation::gelu;
  s.moe.experts = experts;
  s.moe.top_k = top_k;
  s.moe.d_ff_expert = 2048;
  s.moe.every = every;
  return s;
}

TEST(Laws, ChinchillaIsItsClosedForm) {
  // L = E + A / N^alpha + B / D^beta (Hoffmann et al. 2022 Eq. 2).
  const double n = 1e9, d = 2e10;
  const double expected = 1.69 + 406.4 / std::pow(n, 0.34) + 410.7 / std::pow(d, 0.28);
  EXPECT_DOUBLE_EQ(loss(chinchilla(), {n, d, 1, 1}), expected);
}

TEST(Laws, KaplanTendsToItsParameterLawWhenDataIsUnlimited) {
  // L(N, D -> inf) = (Nc / N)^alpha_N (Kaplan et al. 2020 Eq. 1.5 with Dc/D -> 0).
  const std::vector<double> c = {6.4e13, 1.8e13, 0.076, 0.103};
  const double n = 1e9;
  EXPECT_NEAR(predict(Form::kaplan, c, {n, 1e300, 1, 1}), std::pow(6.4e13 / n, 0.076), 1e-12);
  // And L(N -> inf, D) = (Dc / D)^alpha_D.
  EXPECT_NEAR(predict(Form::kaplan, c, {1e300, 1e10, 1, 1}), std::pow(1.8e13 / 1e10, 0.103), 1e-12);
}

TEST(Laws, SaturatingExpertsStartsAtEStartAndSaturatesAtEMax) {
  // Clark et al. 2022: Ehat(1) = E_start, Ehat increasing, Ehat -> E_max.
  EXPECT_NEAR(saturating_experts(1, 2.0732, 290.4521), 2.0732, 1e-12);
  EXPECT_LT(saturating_experts(8, 2, 300), saturating_experts(9, 2, 300));
  EXPECT_NEAR(saturating_experts(1e12, 2, 300), 300, 1e-6);
}

TEST(Laws, ClarkIsBilinearInBase10Logs) {
  // log10 L = a log10 N + b log10 Ehat + c log10 N log10 Ehat + d.
  const std::vector<double> c = {-0.08, -0.1, 0.01, 1.1, 1.8, 300};
  const double n = 1e8, e = 16;
  const double le = std::log10(saturating_experts(e, 1.8, 300));
  const double expected = std::pow(10.0, -0.08 * 8 - 0.1 * le + 0.01 * 8 * le + 1.1);
  EXPECT_NEAR(predict(Form::clark, c, {n, 0, e, 1}), expected, 1e-12);
}

TEST(Laws, KrajewskiGranularityOnlyScalesTheParameterTerm) {
  // L = c + (g / G^gamma + a) N^-alpha + b D^-beta: as G grows the g term vanishes.
  const Law law = krajewski_e64();
  const double n = 1e9, d = 1e11;
  const double at_g1 = loss(law, {n, d, 64, 1});
  const double at_ginf = loss(law, {n, d, 64, 1e30});
  EXPECT_NEAR(at_g1 - at_ginf, 2.1 * std::pow(n, -0.115), 1e-12);
  EXPECT_NEAR(at_ginf, 0.47 + 18.1 * std::pow(n, -0.115) + 30.8 * std::pow(d, -0.147), 1e-12);
}

TEST(Laws, JointAtOneExpertUsesEStart) {
  // Ehat(1) = E_start: L = a E_s^delta N^(alpha + gamma ln E_s) + b E_s^omega D^(...) + c.
  const double es = 2.0732, le = std::log(es), n = 1e9, d = 2e10;
  const double expected = 35.91 * std::pow(es, -0.2285) * std::pow(n, -0.1889 + 0.0098 * le) +
                          35.98 * std::pow(es, 0.5529) * std::pow(d, -0.1775 - 0.0259 * le) +
                          1.3637;
  EXPECT_NEAR(loss(joint(), {n, d, 1, 1}), expected, 1e-12);
}

TEST(Laws, ValidateNamesMissingAndBadCoefficients) {
  Law law = chinchilla();
  EXPECT_TRUE(validate(law).empty());
  law.coefficients.erase("B");
  law.coefficients["alpha"] = -1;
  const FieldErrors errors = validate(law);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "coefficients.B");
  EXPECT_EQ(errors[1].path, "coefficients.alpha");
  EXPECT_TRUE(validate(law, false).size() == 1);  // only the sign rule without coefficients

  Law j = joint();
  j.coefficients["E_max"] = 1.5;  // below E_start
  ASSERT_FALSE(validate(j).empty());
  EXPECT_EQ(validate(j).front().path, "coefficients.E_max");
}

TEST(Laws, RegistryListsEveryLawOnceWithSource) {
  const std::vector<std::string> expected = {
      "kaplan",        "chinchilla",    "chinchilla-replication", "clark",
      "krajewski-e64", "krajewski-e16", "krajewski-dense",        "joint"};
  ASSERT_EQ(law_registry().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(law_registry()[i].name, expected[i]);
    EXPECT_FALSE(std::string(law_registry()[i].source).empty());
    EXPECT_FALSE(std::string(law_registry()[i].description).empty());
    EXPECT_EQ(find_law_entry(expected[i]), &law_registry()[i]);
  }
  EXPECT_EQ(find_law_entry("chinchila"), nullptr);
}

TEST(LawMapping, EachLawCountsItsOwnN) {
  const ModelSpec spec = small_moe(8, 1, 1);
  const ModelTotals t = totals(spec);
  Law law = chinchilla();
  EXPECT_DOUBLE_EQ(law_point(law, spec, 1e9).point.params, t.params_total);
  law.params_counted = ParamCount::non_embedding;
  EXPECT_DOUBLE_EQ(law_point(law, spec, 1e9).point.params, t.params_non_embedding);
  law.params_counted = ParamCount::active_non_embedding;
  EXPECT_DOUBLE_EQ(law_point(law, spec, 1e9).point.params, t.params_active_non_embedding);
  // Clark et al.'s N: the dense model with one FFN of width d_ff per layer.
  law.params_counted = ParamCount::dense_base;
  EXPECT_DOUBLE_EQ(law_point(law, spec, 1e9).point.params, totals(small_moe(1, 1, 1)).params_total);
  EXPECT_DOUBLE_EQ(law_point(joint(), spec, 1e9).point.params, t.params_active);
}

TEST(LawMapping, ExpertsInEveryLayerTopOneMapToTheirCount) {
  // Top-1 of E full-width experts in every layer is exactly the joint law's model: E = 8.
  const LawEvaluation ev = law_point(joint(), small_moe(8, 1, 1), 1e10);
  EXPECT_NEAR(ev.point.experts, 8, 1e-9);
  EXPECT_FALSE(ev.extrapolated);
  EXPECT_TRUE(ev.warnings.empty());
}

TEST(LawMapping, ExpertLayerFrequencyIsMappedByParameterCountAndFlagged) {
  // Experts in every second layer: 4 MoE layers hold 4 x 7 inactive experts of size F; the
  // active FFNs are 8 F; E_eff = 1 + 28 F / 8 F = 4.5 (docs/laws.md).
  const ModelSpec spec = small_moe(8, 1, 2);
  const LawEvaluation ev = law_point(joint(), spec, 1e10);
  const ModelVariables v = model_variables(spec);
  const double f = v.ffn_active / 8;  // one FFN
  EXPECT_NEAR(v.params_total - v.params_active, 4 * 7 * f, 1e-3);
  EXPECT_NEAR(ev.point.experts, 4.5, 1e-9);
  EXPECT_TRUE(ev.extrapolated);
  ASSERT_FALSE(ev.warnings.empty());
  EXPECT_NE(ev.warnings.front().find("4 of 8 layers"), std::string::npos);
}

TEST(LawMapping, TopKIsReadAsGranularity) {
  // Top-2 of 8 full-width experts: active FFN = 2 F, read as G = 2, E = 8 F / 2 F = 4.
  const ModelSpec spec = small_moe(8, 2, 1);
  const LawEvaluation j = law_point(joint(), spec, 1e10);
  EXPECT_NEAR(j.point.experts, 4, 1e-9);
  const LawEvaluation k = law_point(krajewski_e64(), spec, 1e10);
  EXPECT_NEAR(k.point.granularity, 2, 1e-12);
  EXPECT_NEAR(k.point.experts, 8, 1e-9);
  EXPECT_FALSE(k.in_fitted_range);  // expansion rate 4, the law was fitted at 64
  EXPECT_FALSE(k.extrapolated);
}

TEST(LawMapping, DenseLawOnMoeModelIsExtrapolated) {
  const LawEvaluation moe = evaluate(chinchilla(), small_moe(8, 1, 1), 1e10);
  EXPECT_TRUE(moe.extrapolated);
  const LawEvaluation dense = evaluate(chinchilla(), small_moe(1, 1, 1), 1e10);
  EXPECT_FALSE(dense.extrapolated);
  EXPECT_DOUBLE_EQ(dense.point.experts, 1);
}

TEST(LawMapping, RangeWarningsNameTheVariable) {
  Law law = chinchilla();
  law.range.params = {70e6, 16e9};
  law.range.tokens = {5e9, 500e9};
  const LawEvaluation inside = evaluate(law, LawPoint{1e9, 1e11, 1, 1});
  EXPECT_TRUE(inside.in_fitted_range);
  EXPECT_TRUE(inside.warnings.empty());
  const LawEvaluation outside = evaluate(law, LawPoint{70e9, 1.4e12, 1, 1});
  EXPECT_FALSE(outside.in_fitted_range);
  ASSERT_EQ(outside.warnings.size(), 2u);
  EXPECT_EQ(outside.warnings[0].rfind("N 70B outside", 0), 0u);
  EXPECT_EQ(outside.warnings[1].rfind("D 1.4T outside", 0), 0u);
}

TEST(Optimal, ChinchillaClosedFormMatchesNumericSearch) {
  // The closed form (Hoffmann et al. 2022 Eq. 4) is the minimum of L(N, C / 6N).
  const Law law = chinchilla();
  OptimalOptions numeric;
  numeric.force_numeric = true;
  const ComputeOptimal a = compute_optimal(law, 1e22);
  const ComputeOptimal b = compute_optimal(law, 1e22, numeric);
  EXPECT_TRUE(a.closed_form);
  EXPECT_FALSE(b.closed_form);
  EXPECT_NEAR(b.params / a.params, 1, 1e-6);
  EXPECT_NEAR(a.params * a.tokens * 6, 1e22, 1e22 * 1e-12);
  EXPECT_NEAR(a.loss, b.loss, 1e-12);
}

TEST(Optimal, JointOptimumBeatsItsNeighbours) {
  // At the optimum, moving N_act either way at the same compute (D = C / 6 N) costs loss.
  const Law law = joint();
  const ComputeOptimal o = compute_optimal(law, 1e21);
  EXPECT_FALSE(o.closed_form);
  EXPECT_NEAR(6 * o.params_active * o.tokens, 1e21, 1e21 * 1e-9);
  for (double f : {0.8, 1.25}) {
    const double n = o.params * f;
    EXPECT_GT(loss(law, {n, 1e21 / (6 * n), o.experts, 1}), o.loss);
  }
  EXPECT_GE(o.params_total, o.params_active);
}

TEST(Optimal, KrajewskiUsesItsFlopsModel) {
  // F = (12 d^2 c_f + d E G c_r) D n_blocks, N = d^2 (8E + 4) n_blocks, d = 64 n_blocks.
  const double d = 1024, blocks = 16, e = 64, g = 8;
  const double n = d * d * (8 * e + 4) * blocks;
  EXPECT_NEAR(krajewski_flops_per_token(n, e, g), (12 * d * d * 6 + d * e * g * 14) * blocks, 1e-3);
  EXPECT_NEAR(krajewski_active_params(n, e), 12 * d * d * blocks, 1e-3);
  const ComputeOptimal o = compute_optimal(krajewski_e64(), 1e21);
  EXPECT_NEAR(o.tokens * krajewski_flops_per_token(o.params, 64, o.granularity), 1e21, 1e12);
  EXPECT_EQ(o.experts, 64 * o.granularity);
}

TEST(Optimal, JointTotalParamsInvertsItsFamily) {
  // N_act = 2 d V + 13 n d^2, N_total = 2 d V + (4 + 9E) n d^2 with n = d / 64, V = 50257.
  const double d = 2048, n = d / 64, v = 50257;
  const double active = 2 * d * v + 13 * n * d * d;
  EXPECT_NEAR(joint_total_params(active, 8), 2 * d * v + (4 + 9 * 8) * n * d * d, 1);
  EXPECT_NEAR(joint_total_params(active, 1), active, 1);
}

TEST(Optimal, JointMaxActiveParamsInvertsTotalParams) {
  for (double e : {1.0, 8.0, 256.0})
    for (double total : {1e9, 1e11, 1e13})
      EXPECT_NEAR(joint_total_params(joint_max_active_params(total, e), e) / total, 1, 1e-9);
  EXPECT_EQ(joint_max_active_params(0, 8), 0);
}

// FLOP budgets of the sweep (issue #5): 1e19 to 1e25.
std::vector<double> budget_sweep() {
  std::vector<double> out;
  for (double c = 1e19; c <= 1.01e25; c *= 10) out.push_back(c);
  return out;
}

TEST(Optimal, JointLossAtFixedComputeFallsWithEveryExpertDoubling) {
  // Ludziejewski et al. 2025 with C = 6 N_act D: E costs no FLOPs, and at every budget of the
  // sweep the compute-optimal loss falls with each doubling of E up to 4096, by less and
  // less (Ehat saturates at E_max). So the law has no finite compute-optimal E: E* is
  // whatever cap the search has, at every budget (docs/laws.md, "Optimal expert count").
  const Law law = joint();
  for (double c : budget_sweep()) {
    double previous = 0, previous_gain = 0;
    for (double e = 1; e <= 4096; e *= 2) {
      OptimalOptions o;
      o.max_experts = e;
      const ComputeOptimal r = compute_optimal(law, c, o);
      EXPECT_EQ(r.experts, e) << c;
      if (e > 1) {
        const double gain = previous - r.loss;
        EXPECT_GT(gain, 0) << "C " << c << " E " << e;
        // Diminishing past E = 64 at every budget (Ehat -> E_max = 290); below, Ehat's
        // offset makes the gain per doubling rise first.
        if (e >= 128) {
          EXPECT_LT(gain, previous_gain) << "C " << c << " E " << e;
        }
        previous_gain = gain;
      }
      previous = r.loss;
    }
  }
}

// E* under a memory cap M on N_total, searched over E = 1, 2, 4, ... 4096.
double capped_optimal_experts(const Law& law, double flops, double max_total) {
  OptimalOptions o;
  o.max_experts = 4096;
  o.max_params_total = max_total;
  const ComputeOptimal r = compute_optimal(law, flops, o);
  EXPECT_LE(r.params_total, max_total * (1 + 1e-9));
  return r.experts;
}

TEST(Optimal, JointOptimalExpertsUnderAMemoryCapFallWithComputeAndGrowWithMemory) {
  // Ludziejewski et al. 2025 choose E under a memory budget (N_total) and a compute budget.
  // With the cap M fixed, more compute buys more active parameters, leaving room for fewer
  // experts: E* does not grow along the FLOP sweep and ends lower than it starts. With the
  // compute fixed, more memory admits more experts: E* does not fall with M and ends higher.
  // Caps: 1e10 to 1e12 total parameters (one 8 x 80 GB node holds 3.2e11 in bf16).
  const Law law = joint();
  for (double m : {1e10, 1e11, 1e12}) {
    std::vector<double> e_star;
    for (double c : budget_sweep()) e_star.push_back(capped_optimal_experts(law, c, m));
    for (std::size_t i = 1; i < e_star.size(); ++i)
      EXPECT_LE(e_star[i], e_star[i - 1]) << "M " << m << " budget step " << i;
    EXPECT_LT(e_star.back(), e_star.front()) << "M " << m;
  }
  for (double c : {1e21, 1e23}) {
    std::vector<double> e_star;
    for (double m = 1e9; m <= 1.01e14; m *= 10) e_star.push_back(capped_optimal_experts(law, c, m));
    for (std::size_t i = 1; i < e_star.size(); ++i)
      EXPECT_GE(e_star[i], e_star[i - 1]) << "C " << c << " memory step " << i;
    EXPECT_GT(e_star.back(), e_star.front()) << "C " << c;
  }
}

TEST(Optimal, ClarkHasNoComputeOptimum) {
  EXPECT_FALSE(supports_compute_optimal(Form::clark));
  EXPECT_TRUE(supports_compute_optimal(Form::joint));
}

}  // namespace
}  // namespace moesim::model::laws
