#include "kernels/moe_layer.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <unsupported/Eigen/SpecialFunctions>

#include "kernels/parallel.hpp"

namespace moesim::kernels {
namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<RowMat>;
using ConstMap = Eigen::Map<const RowMat>;

using Arr = Eigen::ArrayXf;
using ArrMap = Eigen::Map<Arr>;
using ConstArrMap = Eigen::Map<const Arr>;

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// The activations run on whole rows as Eigen array expressions, so exp and erf vectorise
// (Eigen's packet exp and erf) instead of one scalar libm call per element.
//
// SiLU(a) = a sigmoid(a) = a / (1 + exp(-a)) (Ramachandran et al., arXiv:1710.05941).
// SwiGLU(x) = SiLU(x W) * (x V) (Shazeer, arXiv:2002.05202, eq. 5): the gate half is columns
// [0, ff), the up half columns [ff, 2 ff) of h_pre.
// GELU(a) = a Phi(a) = 0.5 a (1 + erf(a / sqrt 2)) (Hendrycks & Gimpel, arXiv:1606.08415).
void activate(Activation act, const float* h_pre, int n, int ff, float* h) {
  for (int i = 0; i < n; ++i) {
    ArrMap o(h + static_cast<std::size_t>(i) * ff, ff);
    if (act == Activation::swiglu) {
      const float* row = h_pre + static_cast<std::size_t>(i) * 2 * ff;
      ConstArrMap g(row, ff), u(row + ff, ff);
      o = g * u / (1.0f + (-g).exp());
    } else {
      ConstArrMap a(h_pre + static_cast<std::size_t>(i) * ff, ff);
      o = 0.5f * a * (1.0f + (a * kInvSqrt2).erf());
    }
  }
}

// dh_pre from dh through the activation (chain rule on the formulas of `activate`):
//   d/da SiLU(a) b = b s (1 + a (1 - s)) with s = sigmoid(a); d/db SiLU(a) b = SiLU(a);
//   d/da a Phi(a) = Phi(a) + a phi(a), phi the standard normal density.
void activate_backward(Activation act, const float* h_pre, const float* dh, int n, int ff,
                       float* dh_pre) {
  for (int i = 0; i < n; ++i) {
    ConstArrMap d(dh + static_cast<std::size_t>(i) * ff, ff);
    if (act == Activation::swiglu) {
      const float* row = h_pre + static_cast<std::size_t>(i) * 2 * ff;
      float* out = dh_pre + static_cast<std::size_t>(i) * 2 * ff;
      ConstArrMap g(row, ff), u(row + ff, ff);
      const Arr s = 1.0f / (1.0f + (-g).exp());
      ArrMap(out, ff) = d * u * s * (1.0f + g * (1.0f - s));
      ArrMap(out + ff, ff) = d * g * s;
    } else {
      ConstArrMap a(h_pre + static_cast<std::size_t>(i) * ff, ff);
      ArrMap(dh_pre + static_cast<std::size_t>(i) * ff, ff) =
          d *
          (0.5f * (1.0f + (a * kInvSqrt2).erf()) + a * kInvSqrt2Pi * (-0.5f * a.square()).exp());
    }
  }
}

// One feed-forward pass over n rows: h_pre = x w_in, h = act(h_pre), y = h w_out.
void ffn_forward(Activation act, int n, int d, int ff, const float* x, const float* w_in,
                 const float* w_out, float* h_pre, float* h, float* y) {
  if (n <= 0) return;
  const int in_width = act == Activation::swiglu ? 2 * ff : ff;
  gemm(n, in_width, d, x, w_in, h_pre);
  activate(act, h_pre, n, ff, h);
  gemm(n, d, ff, h, w_out, y);
}

// Backward of ffn_forward: dw_in, dw_out overwritten; dx overwritten.
void ffn_backward(Activation act, int n, int d, int ff, const float* x, const float* w_in,
                  const float* w_out, const float* h_pre, const float* h, const float* dy,
                  float* dw_in, float* dw_out, float* dx) {
  if (n <= 0) return;
  const int in_width = act == Activation::swiglu ? 2 * ff : ff;
  ConstMap X(x, n, d), Win(w_in, d, in_width), Wout(w_out, ff, d), H(h, n, ff), DY(dy, n, d);
  Map(dw_out, ff, d).noalias() = H.transpose() * DY;  // dL/dW2 = H^T dY
  RowMat dh(n, ff);
  dh.noalias() = DY * Wout.transpose();  // dL/dH = dY W2^T
  RowMat dh_pre(n, in_width);
  activate_backward(act, h_pre, dh.data(), n, ff, dh_pre.data());
  Map(dw_in, d, in_width).noalias() = X.transpose() * dh_pre;  // dL/dW1 = X^T dHpre
  Map(dx, n, d).noalias() = dh_pre * Win.transpose();          // dL/dX = dHpre W1^T
}

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument(what);
}

void check_inputs(const MoeConfig& cfg, const MoeWeights& w, const float* x, int tokens) {
  const std::vector<std::string> errors = cfg.validate();
  if (!errors.empty()) {
    std::ostringstream os;
    for (std::size_t i = 0; i < errors.size(); ++i) os << (i ? "; " : "") << errors[i];
    throw std::invalid_argument(os.str());
  }
  const std::size_t d = cfg.d_model, e = cfg.experts;
  require(tokens >= 0, "tokens must be >= 0");
  require(x != nullptr || tokens == 0, "x is null");
  require(w.router.size() == d * e, "MoeWeights.router: size must be d_model * experts");
  require(w.w_in.size() == e * d * cfg.in_width(),
          "MoeWeights.w_in: size must be experts * d_model * in_width");
  require(w.w_out.size() == e * cfg.d_ff * d,
          "MoeWeights.w_out: size must be experts * d_ff * d_model");
  require(w.shared_w_in.size() == d * cfg.shared_in_width(),
          "MoeWeights.shared_w_in: size must be d_model * shared_in_width");
  require(w.shared_w_out.size() == static_cast<std::size_t>(cfg.shared_d_ff) * d,
          "MoeWeights.shared_w_out: size must be shared_d_ff * d_model");
}

// Work items of the grouped GEMM: a block of rows of one expert (expert == experts means the
// shared expert). Blocks keep several threads busy when there are few experts.
struct Block {
  int expert;
  int begin;
  int end;
};

std::vector<Block> make_blocks(const std::vector<int>& offsets, int experts, int shared_rows,
                               int threads) {
  const int total = offsets.back() + shared_rows;
  // One block per expert on one thread; else about four blocks per thread, >= 64 rows each.
  const int block = threads <= 1 ? std::numeric_limits<int>::max()
                                 : std::max(64, (total + 4 * threads - 1) / (4 * threads));
  std::vector<Block> blocks;
  auto add = [&](int e, int begin, int end) {
    for (int b = begin; b < end; b += std::min(block, end - b))
      blocks.push_back({e, b, b + std::min(block, end - b)});
  };
  for (int e = 0; e < experts; ++e) add(e, offsets[e], offsets[e + 1]);
  add(experts, 0, shared_rows);
  return blocks;
}

}  // namespace

std::vector<std::string> MoeConfig::validate() const {
  std::vector<std::string> e;
  auto rule = [&](bool ok, const std::string& field, auto value, const std::string& why) {
    if (ok) return;
    std::ostringstream os;
    os << "MoeConfig." << field << " = " << value << " " << why;
    e.push_back(os.str());
  };
  rule(d_model >= 1, "d_model", d_model, "must be >= 1");
  rule(d_ff >= 1, "d_ff", d_ff, "must be >= 1");
  rule(experts >= 1, "experts", experts, "must be >= 1");
  rule(top_k >= 1, "top_k", top_k, "must be >= 1");
  rule(top_k <= experts, "top_k", top_k, "exceeds experts = " + std::to_string(experts));
  rule(dropless || (capacity_factor > 0 && std::isfinite(capacity_factor)), "capacity_factor",
       capacity_factor, "must be finite and > 0 (or set dropless)");
  rule(shared_d_ff >= 0, "shared_d_ff", shared_d_ff, "must be >= 0");
  rule(threads >= 1, "threads", threads, "must be >= 1");
  return e;
}

MoeWeights MoeWeights::zeros(const MoeConfig& c) {
  MoeWeights w;
  const std::size_t d = c.d_model, e = c.experts;
  w.router.assign(d * e, 0.0f);
  w.w_in.assign(e * d * c.in_width(), 0.0f);
  w.w_out.assign(e * c.d_ff * d, 0.0f);
  w.shared_w_in.assign(d * c.shared_in_width(), 0.0f);
  w.shared_w_out.assign(static_cast<std::size_t>(c.shared_d_ff) * d, 0.0f);
  return w;
}

MoeWeights MoeWeights::random(const MoeConfig& c, std::uint64_t seed, float scale) {
  MoeWeights w = zeros(c);
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  for (auto* v : {&w.router, &w.w_in, &w.w_out, &w.shared_w_in, &w.shared_w_out})
    for (float& f : *v) f = u(gen);
  return w;
}

void gemm(int m, int n, int k, const float* a, const float* b, float* c) {
  if (m <= 0 || n <= 0) return;
  Map C(c, m, n);
  if (k <= 0) {
    C.setZero();
    return;
  }
  C.noalias() = ConstMap(a, m, k) * ConstMap(b, k, n);
}

void score_rows(RouterScore score, float* logits, int tokens, int experts) {
  for (int t = 0; t < tokens; ++t) {
    ArrMap row(logits + static_cast<std::size_t>(t) * experts, experts);
    if (score == RouterScore::sigmoid) {
      row = 1.0f / (1.0f + (-row).exp());  // sigmoid(z) = 1 / (1 + exp(-z))
      continue;
    }
    // softmax(z)_e = exp(z_e - max z) / sum exp(z - max z) (max-subtracted for overflow;
    // Goodfellow et al., Deep Learning, section 4.1).
    row = (row - row.maxCoeff()).exp();
    row *= 1.0f / row.sum();
  }
}

void select_top_k(const float* scores, int tokens, int experts, int top_k, int* index,
                  float* value) {
  for (int t = 0; t < tokens; ++t) {
    const float* row = scores + static_cast<std::size_t>(t) * experts;
    int* idx = index + static_cast<std::size_t>(t) * top_k;
    float* val = value + static_cast<std::size_t>(t) * top_k;
    int filled = 0;
    // Insertion into a sorted list of k: O(E k), and k is small (1..8).
    for (int e = 0; e < experts; ++e) {
      const float s = row[e];
      if (filled == top_k && !(s > val[top_k - 1])) continue;  // ties keep the lower index
      int pos = filled < top_k ? filled++ : top_k - 1;
      while (pos > 0 && s > val[pos - 1]) {
        val[pos] = val[pos - 1];
        idx[pos] = idx[pos - 1];
        --pos;
      }
      val[pos] = s;
      idx[pos] = e;
    }
  }
}

Routing dispatch(const MoeConfig& cfg, int tokens, std::vector<int> expert,
                 std::vector<float> score) {
  Routing r;
  const int k = cfg.top_k, experts = cfg.experts;
  r.tokens = tokens;
  r.experts = experts;
  r.top_k = k;
  r.expert = std::move(expert);
  r.score = std::move(score);
  const std::size_t slots = static_cast<std::size_t>(tokens) * k;
  r.gate = r.score;
  if (cfg.normalize_topk) {
    // g_j = s_j / sum_i s_i over the token's k selected scores (DeepSeek-V3 eq. 16).
    for (int t = 0; t < tokens; ++t) {
      float sum = 0;
      for (int j = 0; j < k; ++j) sum += r.score[t * k + j];
      for (int j = 0; j < k; ++j) r.gate[t * k + j] = r.score[t * k + j] / sum;
    }
  }
  // Capacity C = ceil(capacity_factor * tokens * k / experts) (Switch Transformer eq. 4).
  r.capacity = cfg.dropless ? -1
                            : static_cast<long long>(std::ceil(
                                  cfg.capacity_factor * static_cast<double>(tokens) * k / experts));
  // First pass, token order: keep an assignment while its expert has room.
  std::vector<long long> count(experts, 0);
  std::vector<int> slot_in_expert(slots, -1);
  for (std::size_t s = 0; s < slots; ++s) {
    const int e = r.expert[s];
    if (r.capacity >= 0 && count[e] >= r.capacity) {
      ++r.dropped;
      continue;
    }
    slot_in_expert[s] = static_cast<int>(count[e]++);
  }
  r.offsets.assign(experts + 1, 0);
  for (int e = 0; e < experts; ++e) r.offsets[e + 1] = r.offsets[e] + static_cast<int>(count[e]);
  // Second pass: permuted row = expert's offset + rank within the expert (stable in tokens).
  r.row.assign(slots, -1);
  r.source.assign(r.offsets.back(), 0);
  for (std::size_t s = 0; s < slots; ++s) {
    if (slot_in_expert[s] < 0) continue;
    const int row = r.offsets[r.expert[s]] + slot_in_expert[s];
    r.row[s] = row;
    r.source[row] = static_cast<int>(s / k);
  }
  return r;
}

void permute_rows(const Routing& r, const float* src, int d, float* dst) {
  const int kept = r.kept();
  for (int row = 0; row < kept; ++row)
    std::copy_n(src + static_cast<std::size_t>(r.source[row]) * d, d,
                dst + static_cast<std::size_t>(row) * d);
}

void unpermute_combine(const Routing& r, const float* y_perm, int d, float* y, bool accumulate) {
  const int k = r.top_k;
  for (int t = 0; t < r.tokens; ++t) {
    float* out = y + static_cast<std::size_t>(t) * d;
    if (!accumulate) std::fill_n(out, d, 0.0f);
    // Slots in rank order: the sum is in a fixed order, so results are deterministic.
    for (int j = 0; j < k; ++j) {
      const int row = r.row[t * k + j];
      if (row < 0) continue;
      const float g = r.gate[t * k + j];
      const float* in = y_perm + static_cast<std::size_t>(row) * d;
      for (int c = 0; c < d; ++c) out[c] += g * in[c];
    }
  }
}

MoeForward moe_forward(const MoeConfig& cfg, const MoeWeights& w, const float* x, int tokens) {
  MoeForward f;
  moe_forward(cfg, w, x, tokens, f);
  return f;
}

void moe_forward(const MoeConfig& cfg, const MoeWeights& w, const float* x, int tokens,
                 MoeForward& f) {
  check_inputs(cfg, w, x, tokens);
  const int d = cfg.d_model, E = cfg.experts, k = cfg.top_k, ff = cfg.d_ff;
  const int iw = cfg.in_width(), sff = cfg.shared_d_ff, siw = cfg.shared_in_width();
  const std::size_t T = static_cast<std::size_t>(tokens);

  // Router: logits = x W_r, then scores, then the top-k slots.
  f.scores.resize(T * E);
  gemm(tokens, E, d, x, w.router.data(), f.scores.data());
  score_rows(cfg.score, f.scores.data(), tokens, E);
  std::vector<int> idx(T * k);
  std::vector<float> val(T * k);
  select_top_k(f.scores.data(), tokens, E, k, idx.data(), val.data());
  f.routing = dispatch(cfg, tokens, std::move(idx), std::move(val));
  const Routing& r = f.routing;
  const std::size_t kept = r.kept();

  // Gather, grouped expert FFNs (and the shared expert) in parallel, scatter with weights.
  f.x_perm.resize(kept * d);
  permute_rows(r, x, d, f.x_perm.data());
  f.h_pre.resize(kept * iw);
  f.h.resize(kept * ff);
  f.y_perm.resize(kept * d);
  const int shared_rows = sff > 0 ? tokens : 0;
  f.shared_h_pre.resize(shared_rows * static_cast<std::size_t>(siw));
  f.shared_h.resize(shared_rows * static_cast<std::size_t>(sff));
  f.shared_y.resize(shared_rows * static_cast<std::size_t>(d));
  const std::vector<Block> blocks = make_blocks(r.offsets, E, shared_rows, cfg.threads);
  parallel_for(blocks.size(), cfg.threads, [&](std::size_t i) {
    const Block& b = blocks[i];
    const std::size_t n = b.end - b.begin, r0 = b.begin;
    if (b.expert == E) {
      ffn_forward(cfg.activation, n, d, sff, x + r0 * d, w.shared_w_in.data(),
                  w.shared_w_out.data(), f.shared_h_pre.data() + r0 * siw,
                  f.shared_h.data() + r0 * sff, f.shared_y.data() + r0 * d);
      return;
    }
    const std::size_t e = b.expert;
    ffn_forward(cfg.activation, n, d, ff, f.x_perm.data() + r0 * d, w.w_in.data() + e * d * iw,
                w.w_out.data() + e * ff * d, f.h_pre.data() + r0 * iw, f.h.data() + r0 * ff,
                f.y_perm.data() + r0 * d);
  });
  // y = shared(x) + sum_j g_j expert_j(x) (DeepSeekMoE, arXiv:2401.06066, eq. 9).
  f.y.resize(T * d);
  if (shared_rows > 0) std::copy(f.shared_y.begin(), f.shared_y.end(), f.y.begin());
  unpermute_combine(r, f.y_perm.data(), d, f.y.data(), shared_rows > 0);
}

MoeBackward moe_backward(const MoeConfig& cfg, const MoeWeights& w, const float* x, int tokens,
                         const MoeForward& fwd, const float* dy) {
  check_inputs(cfg, w, x, tokens);
  const int d = cfg.d_model, E = cfg.experts, k = cfg.top_k, ff = cfg.d_ff;
  const int iw = cfg.in_width(), sff = cfg.shared_d_ff;
  const std::size_t T = static_cast<std::size_t>(tokens);
  const Routing& r = fwd.routing;
  require(r.tokens == tokens && r.experts == E && r.top_k == k,
          "moe_backward: fwd does not match cfg and tokens");
  const std::size_t kept = r.kept();
  MoeBackward out;
  out.dw = MoeWeights::zeros(cfg);
  out.dx.assign(T * d, 0.0f);

  // y = sum_j g_j Y_j: dL/dg_j = <dy, Y_j>, and expert j sees dY_j = g_j dy.
  std::vector<float> dgate(T * k, 0.0f);
  std::vector<float> dy_perm(kept * d);
  for (std::size_t s = 0; s < T * k; ++s) {
    const int row = r.row[s];
    if (row < 0) continue;  // a dropped slot adds nothing to y, so its gradients are 0
    const float* g = dy + (s / k) * d;
    const float* yp = fwd.y_perm.data() + static_cast<std::size_t>(row) * d;
    float* dp = dy_perm.data() + static_cast<std::size_t>(row) * d;
    float dot = 0;
    for (int c = 0; c < d; ++c) {
      dot += g[c] * yp[c];
      dp[c] = r.gate[s] * g[c];
    }
    dgate[s] = dot;
  }

  // Expert FFNs, one item per expert (the weight gradients of an expert are one GEMM each).
  std::vector<float> dx_perm(kept * d);
  std::vector<float> dx_shared(sff > 0 ? T * d : 0);
  parallel_for(E + (sff > 0 ? 1 : 0), cfg.threads, [&](std::size_t e) {
    if (e == static_cast<std::size_t>(E)) {
      ffn_backward(cfg.activation, tokens, d, sff, x, w.shared_w_in.data(), w.shared_w_out.data(),
                   fwd.shared_h_pre.data(), fwd.shared_h.data(), dy, out.dw.shared_w_in.data(),
                   out.dw.shared_w_out.data(), dx_shared.data());
      return;
    }
    const std::size_t r0 = r.offsets[e];
    const int n = r.offsets[e + 1] - r.offsets[e];
    ffn_backward(cfg.activation, n, d, ff, fwd.x_perm.data() + r0 * d, w.w_in.data() + e * d * iw,
                 w.w_out.data() + e * ff * d, fwd.h_pre.data() + r0 * iw, fwd.h.data() + r0 * ff,
                 dy_perm.data() + r0 * d, out.dw.w_in.data() + e * d * iw,
                 out.dw.w_out.data() + e * ff * d, dx_perm.data() + r0 * d);
  });

  // dx = sum over kept slots of dx_perm (un-permute with weight 1) + shared expert's dx.
  if (sff > 0) out.dx = dx_shared;
  for (std::size_t s = 0; s < T * k; ++s) {
    const int row = r.row[s];
    if (row < 0) continue;
    const float* in = dx_perm.data() + static_cast<std::size_t>(row) * d;
    float* o = out.dx.data() + (s / k) * d;
    for (int c = 0; c < d; ++c) o[c] += in[c];
  }

  // Router: gate -> selected scores -> logits -> (W_r, x).
  RowMat dlogits = RowMat::Zero(tokens, E);
  std::vector<float> dscore(k);
  for (int t = 0; t < tokens; ++t) {
    const float* dg = dgate.data() + static_cast<std::size_t>(t) * k;
    const float* sel = r.score.data() + static_cast<std::size_t>(t) * k;
    const float* gate = r.gate.data() + static_cast<std::size_t>(t) * k;
    if (cfg.normalize_topk) {
      // g_j = s_j / S: dL/ds_i = (dL/dg_i - sum_j dL/dg_j g_j) / S.
      float sum = 0, dot = 0;
      for (int j = 0; j < k; ++j) sum += sel[j], dot += dg[j] * gate[j];
      for (int j = 0; j < k; ++j) dscore[j] = (dg[j] - dot) / sum;
    } else {
      std::copy_n(dg, k, dscore.begin());
    }
    const int* ex = r.expert.data() + static_cast<std::size_t>(t) * k;
    if (cfg.score == RouterScore::sigmoid) {
      // s = sigmoid(z): ds/dz = s (1 - s).
      for (int j = 0; j < k; ++j) dlogits(t, ex[j]) = dscore[j] * sel[j] * (1.0f - sel[j]);
    } else {
      // p = softmax(z): dL/dz_l = p_l (dL/dp_l - sum_m p_m dL/dp_m), dL/dp zero off the top-k.
      float dot = 0;
      for (int j = 0; j < k; ++j) dot += sel[j] * dscore[j];
      const float* p = fwd.scores.data() + static_cast<std::size_t>(t) * E;
      for (int e = 0; e < E; ++e) dlogits(t, e) = -p[e] * dot;
      for (int j = 0; j < k; ++j) dlogits(t, ex[j]) += sel[j] * dscore[j];
    }
  }
  ConstMap X(x, tokens, d), Wr(w.router.data(), d, E);
  Map(out.dw.router.data(), d, E).noalias() = X.transpose() * dlogits;  // dW_r = x^T dz
  Map(out.dx.data(), tokens, d).noalias() += dlogits * Wr.transpose();  // dx += dz W_r^T
  return out;
}

}  // namespace moesim::kernels
