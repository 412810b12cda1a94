// Tests of the reference MoE layer (kernels/moe_layer.hpp).
//
// The forward pass is checked against a naive double-precision layer that sends each token
// through its k experts one at a time with plain loops. The backward pass is checked against
// central finite differences of that naive layer, with the top-k selection and the capacity
// drops held fixed (the analytic backward treats them as constants too). Inputs are seeded
// uniform random numbers, never zeros.
#include "kernels/moe_layer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

namespace moesim::kernels {
namespace {

// ---- A naive reference in double ---------------------------------------------------------

struct Fixed {  // a selection to hold fixed: expert per slot and whether it was kept
  std::vector<int> expert;
  std::vector<bool> kept;
};

struct NaiveWeights {
  std::vector<double> router, w_in, w_out, shared_w_in, shared_w_out;
};

std::vector<double> to_double(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}

NaiveWeights to_double(const MoeWeights& w) {
  return {to_double(w.router), to_double(w.w_in), to_double(w.w_out), to_double(w.shared_w_in),
          to_double(w.shared_w_out)};
}

double act_d(Activation a, double gate, double up) {
  if (a == Activation::gelu) return 0.5 * gate * (1 + std::erf(gate / std::sqrt(2.0)));
  return gate / (1 + std::exp(-gate)) * up;  // SiLU(gate) * up
}

// One expert FFN on one token: y += scale * W_out^T act(W_in^T x).
void naive_ffn(const MoeConfig& c, int ff, const double* x, const double* w_in, const double* w_out,
               double scale, double* y) {
  const int d = c.d_model;
  const int iw = c.activation == Activation::swiglu ? 2 * ff : ff;
  for (int j = 0; j < ff; ++j) {
    double gate = 0, up = 0;
    for (int i = 0; i < d; ++i) {
      gate += x[i] * w_in[i * iw + j];
      if (c.activation == Activation::swiglu) up += x[i] * w_in[i * iw + ff + j];
    }
    const double h = act_d(c.activation, gate, up);
    for (int o = 0; o < d; ++o) y[o] += scale * h * w_out[j * d + o];
  }
}

struct NaiveOut {
  std::vector<double> y;
  Fixed sel;
  long long dropped = 0;
};

// The layer, token by token. With `fixed`, its selection and drops are used instead.
NaiveOut naive_forward(const MoeConfig& c, const NaiveWeights& w, const std::vector<double>& x,
                       int tokens, const Fixed* fixed = nullptr) {
  const int d = c.d_model, E = c.experts, k = c.top_k;
  NaiveOut out;
  out.y.assign(static_cast<std::size_t>(tokens) * d, 0.0);
  const long long cap =
      c.dropless ? -1 : static_cast<long long>(std::ceil(c.capacity_factor * tokens * k / E));
  std::vector<long long> load(E, 0);
  for (int t = 0; t < tokens; ++t) {
    const double* xt = &x[static_cast<std::size_t>(t) * d];
    std::vector<double> s(E, 0.0);
    for (int e = 0; e < E; ++e)
      for (int i = 0; i < d; ++i) s[e] += xt[i] * w.router[i * E + e];
    if (c.score == RouterScore::sigmoid) {
      for (double& v : s) v = 1 / (1 + std::exp(-v));
    } else {
      const double mx = *std::max_element(s.begin(), s.end());
      double sum = 0;
      for (double& v : s) sum += (v = std::exp(v - mx));
      for (double& v : s) v /= sum;
    }
    std::vector<int> order(E);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return s[a] > s[b]; });
    double sum_sel = 0;
    for (int j = 0; j < k; ++j) {
      const int e = fixed ? fixed->expert[t * k + j] : order[j];
      sum_sel += s[e];
    }
    for (int j = 0; j < k; ++j) {
      const int e = fixed ? fixed->expert[t * k + j] : order[j];
      bool keep = true;
      if (fixed) {
        keep = fixed->kept[t * k + j];
      } else if (cap >= 0 && load[e] >= cap) {
        keep = false;
      }
      out.sel.expert.push_back(e);
      out.sel.kept.push_back(keep);
      if (!keep) {
        ++out.dropped;
        continue;
      }
      ++load[e];
      const double g = c.normalize_topk ? s[e] / sum_sel : s[e];
      naive_ffn(c, c.d_ff, xt, &w.w_in[static_cast<std::size_t>(e) * d * c.in_width()],
                &w.w_out[static_cast<std::size_t>(e) * c.d_ff * d], g,
                &out.y[static_cast<std::size_t>(t) * d]);
    }
    if (c.shared_d_ff > 0)
      naive_ffn(c, c.shared_d_ff, xt, w.shared_w_in.data(), w.shared_w_out.data(), 1.0,
                &out.y[static_cast<std::size_t>(t) * d]);
  }
  return out;
}

// ---- Helpers -----------------------------------------------------------------------------

std::vector<float> random_vec(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& f : v) f = u(gen);
  return v;
}

// Norm-wise relative error max|a - b| / max|b|: per-element ratios blow up near zero.
template <class A, class B>
double rel_err(const A& a, const B& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    den = std::max(den, std::abs(static_cast<double>(b[i])));
  }
  return den > 0 ? num / den : num;
}

MoeConfig small_config() {
  MoeConfig c;
  c.d_model = 12;
  c.d_ff = 10;
  c.experts = 6;
  c.top_k = 2;
  return c;
}

struct Case {
  RouterScore score;
  bool normalize;
  Activation act;
  int shared;
  bool dropless;
  double cf;
  int threads;
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (RouterScore s : {RouterScore::softmax, RouterScore::sigmoid})
    for (bool norm : {false, true})
      for (Activation a : {Activation::swiglu, Activation::gelu})
        for (int shared : {0, 7})
          for (bool dropless : {false, true})
            cases.push_back({s, norm, a, shared, dropless, 1.0, shared ? 3 : 1});
  return cases;
}

MoeConfig with(const Case& k) {
  MoeConfig c = small_config();
  c.score = k.score;
  c.normalize_topk = k.normalize;
  c.activation = k.act;
  c.shared_d_ff = k.shared;
  c.dropless = k.dropless;
  c.capacity_factor = k.cf;
  c.threads = k.threads;
  return c;
}

// ---- Forward -----------------------------------------------------------------------------

// y(float layer) == y(naive double layer) to 1e-5 norm-wise relative, with the same experts
// selected and the same number of assignments dropped.
TEST(MoeLayer, ForwardMatchesNaive) {
  const int tokens = 37;
  std::uint64_t seed = 1;
  for (const Case& k : all_cases()) {
    const MoeConfig c = with(k);
    const MoeWeights w = MoeWeights::random(c, seed++, 0.5f);
    const std::vector<float> x = random_vec(static_cast<std::size_t>(tokens) * c.d_model, seed++);
    const MoeForward f = moe_forward(c, w, x.data(), tokens);
    const NaiveOut n = naive_forward(c, to_double(w), to_double(x), tokens);
    EXPECT_EQ(f.routing.expert, n.sel.expert);
    EXPECT_EQ(f.routing.dropped, n.dropped);
    EXPECT_LE(rel_err(f.y, n.y), 1e-5) << "case seed " << seed;
    if (!k.dropless) {
      EXPECT_GT(f.routing.dropped, 0);  // drops are exercised
    }
  }
}

// Threads change only the split of the work: results agree to float rounding.
TEST(MoeLayer, ThreadsAgree) {
  MoeConfig c = small_config();
  c.experts = 3;
  c.top_k = 1;
  c.dropless = true;
  c.shared_d_ff = 16;
  const int tokens = 700;  // > 64 rows per block, so experts are split into blocks
  const MoeWeights w = MoeWeights::random(c, 11, 0.5f);
  const std::vector<float> x = random_vec(static_cast<std::size_t>(tokens) * c.d_model, 12);
  const MoeForward one = moe_forward(c, w, x.data(), tokens);
  c.threads = 4;
  const MoeForward four = moe_forward(c, w, x.data(), tokens);
  EXPECT_LE(rel_err(four.y, one.y), 1e-6);
}

// Reusing a MoeForward across calls (other config, other token count) gives exactly what a
// fresh one gives: no stale state survives in the reused buffers.
TEST(MoeLayer, ReusedForwardEqualsFresh) {
  MoeConfig a = small_config();
  a.shared_d_ff = 6;
  MoeConfig b = small_config();
  b.activation = Activation::gelu;
  b.top_k = 3;
  const MoeWeights wa = MoeWeights::random(a, 31, 0.5f), wb = MoeWeights::random(b, 32, 0.5f);
  const std::vector<float> xa = random_vec(40 * a.d_model, 33), xb = random_vec(25 * b.d_model, 34);
  MoeForward reused;
  moe_forward(a, wa, xa.data(), 40, reused);
  moe_forward(b, wb, xb.data(), 25, reused);
  const MoeForward fresh = moe_forward(b, wb, xb.data(), 25);
  EXPECT_EQ(reused.y, fresh.y);
  EXPECT_EQ(reused.routing.row, fresh.routing.row);
  EXPECT_TRUE(reused.shared_y.empty());
}

// ---- Capacity ----------------------------------------------------------------------------

// 6 tokens, 2 experts, k = 1, factor 1: C = ceil(1 * 6 * 1 / 2) = 3. Tokens 0-3 and 5 pick
// expert 0, token 4 expert 1: expert 0 keeps tokens 0, 1, 2 and drops 3 and 5 (token order).
TEST(MoeLayer, CapacityDropsByHandTop1) {
  MoeConfig c;
  c.d_model = 1;
  c.d_ff = 1;
  c.experts = 2;
  c.top_k = 1;
  c.capacity_factor = 1.0;
  const Routing r = dispatch(c, 6, {0, 0, 0, 0, 1, 0}, std::vector<float>(6, 0.5f));
  EXPECT_EQ(r.capacity, 3);
  EXPECT_EQ(r.dropped, 2);
  EXPECT_EQ(r.offsets, (std::vector<int>{0, 3, 4}));
  EXPECT_EQ(r.row, (std::vector<int>{0, 1, 2, -1, 3, -1}));
  EXPECT_EQ(r.source, (std::vector<int>{0, 1, 2, 4}));
}

// 3 tokens, 4 experts, k = 2, factor 0.5: C = ceil(0.5 * 3 * 2 / 4) = 1. Slots (token order):
// t0 -> {0, 1} both kept; t1 -> {0, 2}: 0 full (dropped), 2 kept; t2 -> {1, 0}: both full.
// Dropped = 3; expert 3 gets nothing.
TEST(MoeLayer, CapacityDropsByHandTop2) {
  MoeConfig c;
  c.d_model = 1;
  c.d_ff = 1;
  c.experts = 4;
  c.top_k = 2;
  c.capacity_factor = 0.5;
  const Routing r = dispatch(c, 3, {0, 1, 0, 2, 1, 0}, std::vector<float>(6, 0.25f));
  EXPECT_EQ(r.capacity, 1);
  EXPECT_EQ(r.dropped, 3);
  EXPECT_EQ(r.offsets, (std::vector<int>{0, 1, 2, 3, 3}));
  EXPECT_EQ(r.row, (std::vector<int>{0, 1, -1, 2, -1, -1}));
  EXPECT_EQ(r.kept(), 3);
}

// A token whose only slot is dropped gets y = 0 without a shared expert (Switch Transformer:
// dropped tokens pass through the residual only).
TEST(MoeLayer, DroppedTokenOutputsZero) {
  MoeConfig c = small_config();
  c.top_k = 1;
  c.experts = 2;
  c.capacity_factor = 0.5;  // C = ceil(0.5 * 8 / 2) = 2: at least 4 of 8 slots dropped
  const int tokens = 8;
  const MoeWeights w = MoeWeights::random(c, 3, 0.5f);
  const std::vector<float> x = random_vec(static_cast<std::size_t>(tokens) * c.d_model, 4);
  const MoeForward f = moe_forward(c, w, x.data(), tokens);
  EXPECT_EQ(f.routing.capacity, 2);
  EXPECT_EQ(f.routing.dropped, 4);
  for (int t = 0; t < tokens; ++t) {
    if (f.routing.row[t] >= 0) continue;
    for (int i = 0; i < c.d_model; ++i) EXPECT_EQ(f.y[t * c.d_model + i], 0.0f);
  }
}

// Dropless and a capacity factor of `experts` (C = tokens * k, nothing can be dropped) give
// bit-identical outputs: same rows, same order, same arithmetic.
TEST(MoeLayer, DroplessEqualsLargeCapacity) {
  MoeConfig c = small_config();
  c.shared_d_ff = 5;
  const int tokens = 50;
  const MoeWeights w = MoeWeights::random(c, 21, 0.5f);
  const std::vector<float> x = random_vec(static_cast<std::size_t>(tokens) * c.d_model, 22);
  c.dropless = true;
  const MoeForward a = moe_forward(c, w, x.data(), tokens);
  c.dropless = false;
  c.capacity_factor = c.experts;
  const MoeForward b = moe_forward(c, w, x.data(), tokens);
  EXPECT_EQ(b.routing.dropped, 0);
  EXPECT_EQ(a.y, b.y);
}

TEST(MoeLayer, TopKDescendingLowerIndexOnTies) {
  const std::vector<float> s = {0.1f, 0.4f, 0.4f, 0.05f, 0.05f};
  int idx[3];
  float val[3];
  select_top_k(s.data(), 1, 5, 3, idx, val);
  EXPECT_EQ(idx[0], 1);
  EXPECT_EQ(idx[1], 2);
  EXPECT_EQ(idx[2], 0);
  EXPECT_EQ(val[2], 0.1f);
}

TEST(MoeLayer, ValidateNamesEveryBrokenField) {
  MoeConfig c;
  c.d_model = 0;
  c.d_ff = 4;
  c.experts = 2;
  c.top_k = 3;
  c.capacity_factor = 0;
  c.threads = 0;
  const std::vector<std::string> e = c.validate();
  ASSERT_EQ(e.size(), 4u);
  EXPECT_NE(e[0].find("MoeConfig.d_model = 0"), std::string::npos);
  EXPECT_NE(e[1].find("MoeConfig.top_k = 3 exceeds experts = 2"), std::string::npos);
  EXPECT_NE(e[2].find("capacity_factor"), std::string::npos);
  EXPECT_NE(e[3].find("threads"), std::string::npos);
  const MoeWeights w;
  EXPECT_THROW(moe_forward(c, w, nullptr, 0), std::invalid_argument);
}

// ---- Backward ----------------------------------------------------------------------------

// L = sum(y * R) for a random R, so dL/dy = R. Every gradient entry is compared with the
// central difference (L(p + h) - L(p - h)) / 2h of the naive double layer, h = 1e-5 (error
// O(h^2) ~ 1e-10 plus rounding ~ 1e-11), with selection and drops fixed. The float analytic
// gradient must match to 1e-5 norm-wise relative, per gradient array (observed <= 5e-7: the
// float rounding of the forward intermediates).
TEST(MoeLayer, BackwardMatchesFiniteDifferences) {
  const int tokens = 9;
  std::uint64_t seed = 100;
  for (const Case& k : all_cases()) {
    MoeConfig c = with(k);
    c.d_model = 5;
    c.d_ff = 4;
    c.experts = 4;
    if (c.shared_d_ff) c.shared_d_ff = 3;
    c.capacity_factor = 0.75;  // C = ceil(0.75 * 9 * 2 / 4) = 4 of 18 slots: some drop
    const MoeWeights w = MoeWeights::random(c, seed++, 0.7f);
    const std::vector<float> x = random_vec(static_cast<std::size_t>(tokens) * c.d_model, seed++);
    const std::vector<float> R = random_vec(static_cast<std::size_t>(tokens) * c.d_model, seed++);
    const MoeForward f = moe_forward(c, w, x.data(), tokens);
    const MoeBackward b = moe_backward(c, w, x.data(), tokens, f, R.data());
    if (!k.dropless) {
      EXPECT_GT(f.routing.dropped, 0);
    }

    Fixed fixed;
    fixed.expert = f.routing.expert;
    for (int r : f.routing.row) fixed.kept.push_back(r >= 0);
    NaiveWeights nw = to_double(w);
    std::vector<double> nx = to_double(x);
    auto loss = [&] {
      const NaiveOut o = naive_forward(c, nw, nx, tokens, &fixed);
      double l = 0;
      for (std::size_t i = 0; i < o.y.size(); ++i) l += o.y[i] * R[i];
      return l;
    };
    const double h = 1e-5;
    auto fd = [&](std::vector<double>& p) {
      std::vector<double> g(p.size());
      for (std::size_t i = 0; i < p.size(); ++i) {
        const double keep = p[i];
        p[i] = keep + h;
        const double up = loss();
        p[i] = keep - h;
        const double down = loss();
        p[i] = keep;
        g[i] = (up - down) / (2 * h);
      }
      return g;
    };
    const double tol = 1e-5;
    EXPECT_LE(rel_err(b.dx, fd(nx)), tol) << "dx, case " << seed;
    EXPECT_LE(rel_err(b.dw.router, fd(nw.router)), tol) << "router, case " << seed;
    EXPECT_LE(rel_err(b.dw.w_in, fd(nw.w_in)), tol) << "w_in, case " << seed;
    EXPECT_LE(rel_err(b.dw.w_out, fd(nw.w_out)), tol) << "w_out, case " << seed;
    if (c.shared_d_ff) {
      EXPECT_LE(rel_err(b.dw.shared_w_in, fd(nw.shared_w_in)), tol) << "shared_w_in";
      EXPECT_LE(rel_err(b.dw.shared_w_out, fd(nw.shared_w_out)), tol) << "shared_w_out";
    }
  }
}

}  // namespace
}  // namespace moesim::kernels
