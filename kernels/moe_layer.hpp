#pragma once
// Reference Mixture-of-Experts layer on the host CPU, float32, forward and backward
// (docs/kernels.md). The pieces are exposed one by one (router scores, top-k, capacity
// dispatch, permutation, grouped expert GEMMs, weighted combine) so that the calibration
// harness and the benchmarks can time each of them.
//
// Layout: every matrix is a contiguous row-major float buffer. Tokens are rows.
//   x        tokens x d_model
//   router   d_model x experts                      logits = x * router
//   w_in[e]  d_model x in_width (SwiGLU: 2*d_ff, columns [0, d_ff) gate, [d_ff, 2 d_ff) up;
//            GELU: d_ff)
//   w_out[e] d_ff x d_model
// Experts are stored back to back: w_in holds experts * d_model * in_width floats.
#include <cstdint>
#include <string>
#include <vector>

namespace moesim::kernels {

enum class Activation { swiglu, gelu };
// softmax: Switch / GShard / Mixtral. sigmoid: DeepSeek-V3 (arXiv:2412.19437, eq. 13-16).
enum class RouterScore { softmax, sigmoid };

struct MoeConfig {
  int d_model = 0;
  int d_ff = 0;  // hidden width of one routed expert
  int experts = 1;
  int top_k = 1;
  // Capacity per expert C = ceil(capacity_factor * tokens * top_k / experts) (Switch
  // Transformer, arXiv:2101.03961, eq. 4 with top_k assignments per token).
  double capacity_factor = 1.0;
  bool dropless = false;  // no capacity: every assignment is kept (MegaBlocks-style)
  Activation activation = Activation::swiglu;
  RouterScore score = RouterScore::softmax;
  // Divide the selected scores by their sum (DeepSeek-V3 eq. 16; Mixtral's renormalised
  // top-k softmax). Sigmoid scores are not a distribution, so DeepSeek-V3 always does this.
  bool normalize_topk = false;
  int shared_d_ff = 0;  // width of one always-on shared expert; 0 = none
  int threads = 1;      // worker threads for the expert GEMMs

  int in_width() const { return activation == Activation::swiglu ? 2 * d_ff : d_ff; }
  int shared_in_width() const {
    return activation == Activation::swiglu ? 2 * shared_d_ff : shared_d_ff;
  }
  // Every broken rule, named by field ("MoeConfig.top_k = 9 exceeds experts = 8"); empty when
  // valid.
  std::vector<std::string> validate() const;
};

// Weights of the layer, or their gradients (same shapes).
struct MoeWeights {
  std::vector<float> router;        // d_model x experts
  std::vector<float> w_in;          // experts x d_model x in_width
  std::vector<float> w_out;         // experts x d_ff x d_model
  std::vector<float> shared_w_in;   // d_model x shared_in_width (empty without a shared expert)
  std::vector<float> shared_w_out;  // shared_d_ff x d_model

  static MoeWeights zeros(const MoeConfig& cfg);
  // Uniform in [-scale, scale] from a seeded generator (std::mt19937_64): deterministic.
  static MoeWeights random(const MoeConfig& cfg, std::uint64_t seed, float scale);
};

// Which expert each token's k slots go to, with what weight, and where in the permuted
// buffer. Slot j of token t is entry t * top_k + j; slots are in descending score order.
struct Routing {
  int tokens = 0;
  int experts = 0;
  int top_k = 0;
  std::vector<int> expert;   // selected expert per slot
  std::vector<float> score;  // its router score (softmax probability or sigmoid)
  std::vector<float> gate;   // combine weight (score, normalised when normalize_topk)
  std::vector<int> row;      // row in the permuted buffer, -1 when dropped
  std::vector<int> offsets;  // experts + 1: expert e owns permuted rows [offsets[e], offsets[e+1])
  std::vector<int> source;   // permuted row -> token
  long long capacity = -1;   // per expert; -1 when dropless
  long long dropped = 0;     // assignments dropped by the capacity

  int kept() const { return offsets.empty() ? 0 : offsets.back(); }
};

// Everything the forward pass produced, kept for the backward pass.
struct MoeForward {
  std::vector<float> y;       // tokens x d_model
  std::vector<float> scores;  // tokens x experts, softmax or sigmoid of the logits
  Routing routing;
  std::vector<float> x_perm;        // kept x d_model, tokens gathered by expert
  std::vector<float> h_pre;         // kept x in_width, x_perm * w_in
  std::vector<float> h;             // kept x d_ff, after the activation
  std::vector<float> y_perm;        // kept x d_model, expert outputs before weighting
  std::vector<float> shared_h_pre;  // tokens x shared_in_width
  std::vector<float> shared_h;      // tokens x shared_d_ff
  std::vector<float> shared_y;      // tokens x d_model, the shared expert's output
};

struct MoeBackward {
  std::vector<float> dx;  // tokens x d_model
  MoeWeights dw;
};

// ---- The pieces -------------------------------------------------------------------------

// C (m x n) = A (m x k) * B (k x n), all row-major and contiguous; C is overwritten (Eigen).
void gemm(int m, int n, int k, const float* a, const float* b, float* c);

// In place, row by row: softmax (max-subtracted) or the logistic sigmoid.
void score_rows(RouterScore score, float* logits, int tokens, int experts);

// The k largest entries of each row, in descending order; ties go to the lower index.
void select_top_k(const float* scores, int tokens, int experts, int top_k, int* index,
                  float* value);

// Capacity assignment in token order (token 0's slots first, then token 1's, ...): an
// assignment past its expert's capacity is dropped. Fills expert/score/gate/row/offsets/
// source/capacity/dropped from the selected slots.
Routing dispatch(const MoeConfig& cfg, int tokens, std::vector<int> expert,
                 std::vector<float> score);

// dst[row] = src[source[row]] for every kept row (gather by expert), width d.
void permute_rows(const Routing& r, const float* src, int d, float* dst);

// y[t] (+)= sum_j gate[t, j] * y_perm[row[t, j]] over kept slots, width d. Overwrites y when
// accumulate is false.
void unpermute_combine(const Routing& r, const float* y_perm, int d, float* y, bool accumulate);

// ---- The layer --------------------------------------------------------------------------

// Throws std::invalid_argument with every validate() message when cfg is invalid or the
// weight buffers have the wrong sizes.
MoeForward moe_forward(const MoeConfig& cfg, const MoeWeights& w, const float* x, int tokens);
// The same into `out`, reusing its buffers' capacity: a caller that runs the layer again
// (training steps, benchmarks) pays no fresh allocation and no first-touch page faults, as a
// framework's caching allocator would arrange.
void moe_forward(const MoeConfig& cfg, const MoeWeights& w, const float* x, int tokens,
                 MoeForward& out);

// Gradients of a loss L given dy = dL/dy, with the top-k selection and the capacity drops of
// `fwd` held fixed (they are piecewise constant in the inputs).
MoeBackward moe_backward(const MoeConfig& cfg, const MoeWeights& w, const float* x, int tokens,
                         const MoeForward& fwd, const float* dy);

}  // namespace moesim::kernels
