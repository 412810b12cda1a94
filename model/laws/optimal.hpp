#pragma once
// Compute-optimal allocation of a FLOP budget under a loss law: the N, D (and for MoE laws
// the expert count and granularity) that minimize the law's loss at training compute C.
// Closed form for the Chinchilla form (Hoffmann et al. 2022 Eq. 4), numeric otherwise.
#include <optional>
#include <string>
#include <vector>

#include "model/laws/law.hpp"

namespace moesim::model::laws {

struct OptimalOptions {
  // Joint law: experts searched over powers of two up to this (default: the law's fitted
  // maximum, else 64).
  std::optional<double> max_experts;
  // Joint law: a memory cap on the total parameters N_total (App. B's family, as
  // joint_total_params counts them). Ludziejewski et al. 2025 choose E under a memory budget:
  // without one the joint law's loss at fixed compute falls with every E (docs/laws.md).
  // Ignored by the other forms.
  std::optional<double> max_params_total;
  // Krajewski laws: granularity searched over powers of two up to this (default 64).
  std::optional<double> max_granularity;
  // Chinchilla form: search numerically instead of the closed form (to test one by the other).
  bool force_numeric = false;
};

struct ComputeOptimal {
  std::string law;
  double flops = 0;
  double params = 0;         // N as the law counts it
  double params_active = 0;  // per token, in the law's family (see notes)
  double params_total = 0;
  double tokens = 0;
  double experts = 1;  // routed experts per layer
  double granularity = 1;
  double loss = 0;
  bool closed_form = false;
  bool in_fitted_range = true;
  std::vector<std::string> warnings;  // outside the fitted range, optimum at a grid edge
  std::vector<std::string> notes;     // how N, D and the FLOPs are counted
};

// True when the form depends on D (Clark et al.'s routed form does not: it has no optimum).
bool supports_compute_optimal(Form form);

// The compute-optimal point of `law` at `flops` training FLOPs. Preconditions (asserted by
// std::invalid_argument): supports_compute_optimal(law.form), the law validates, flops > 6e6.
ComputeOptimal compute_optimal(const Law& law, double flops, const OptimalOptions& options = {});

// Chinchilla approach 3 closed form (Hoffmann et al. 2022 Eq. 4): with C = 6 N D,
// N_opt = G (C/6)^a, D_opt = G^-1 (C/6)^b, G = (alpha A / (beta B))^(1/(alpha+beta)),
// a = beta/(alpha+beta), b = alpha/(alpha+beta).
struct ChinchillaOptimum {
  double params = 0;
  double tokens = 0;
  double a = 0;  // exponent of N_opt in C
  double b = 0;  // exponent of D_opt in C
};
ChinchillaOptimum chinchilla_optimum(double A, double B, double alpha, double beta, double flops);

// Krajewski et al. 2024 (2402.07871) family: d_model = 64 n_blocks, N = d^2 (8E + 4) n_blocks and
// training FLOPs F = (12 d^2 c_f + d E G c_r) D n_blocks with c_f = 6, c_r = 14.
double krajewski_flops_per_token(double params, double expansion_rate, double granularity);
double krajewski_active_params(double params, double expansion_rate);

// Ludziejewski et al. 2025 App. B family (V = 50257, embeddings counted): N_total from N_act
// and E with d_model = 64 n_blocks (docs/laws.md: the aspect ratio is moesim's assumption).
double joint_total_params(double params_active, double experts);
// The inverse at fixed E: the largest N_act whose N_total is at most `params_total` (0 when
// not even the embeddings fit). Same family and assumptions as joint_total_params.
double joint_max_active_params(double params_total, double experts);

}  // namespace moesim::model::laws
