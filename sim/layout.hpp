#pragma once
// A parallel layout: how a model is sharded over devices (CLI.md's layout flags).
#include <cstdint>
#include <optional>
#include <string>

#include "model/field_error.hpp"
#include "model/spec.hpp"

namespace moesim::sim {

enum class Recompute { none, selective, full };
enum class MatrixDtype { bf16, fp8 };

struct PipelineSchedule {
  int virtual_stages = 1;  // 1 = 1F1B; V > 1 = interleaved 1F1B with V chunks per stage
  bool interleaved() const { return virtual_stages > 1; }
};

struct Layout {
  std::int64_t dp = 1;
  std::int64_t tp = 1;
  std::int64_t pp = 1;
  std::int64_t ep = 1;  // carved from dp: expert weights sharded over ep ranks
  int zero = 0;         // ZeRO stage 0..3 (3 = fully sharded, FSDP)
  // Megatron sequence parallelism; nullopt = default (true when tp > 1).
  std::optional<bool> sequence_parallel;
  Recompute recompute = Recompute::selective;
  std::int64_t micro_batch = 1;   // sequences
  std::int64_t global_batch = 0;  // sequences; 0 = not set (dp * micro_batch)
  PipelineSchedule schedule;
  MatrixDtype dtype = MatrixDtype::bf16;
  // FlashAttention (Dao et al. 2022) fuses softmax and dropout into the score GEMMs: the
  // s x s score tensors never reach HBM, for time and for stored activations. false models
  // the unfused kernels Korthikanti et al. 2022 and Megatron-LM 2021 measured.
  bool flash_attention = true;

  std::int64_t devices() const { return dp * tp * pp; }
  bool sp() const { return sequence_parallel.value_or(tp > 1); }
  std::int64_t effective_global_batch() const {
    return global_batch > 0 ? global_batch : dp * micro_batch;
  }
  // Micro-batches per pipeline per step: global / (dp * micro).
  std::int64_t micro_batches() const { return effective_global_batch() / (dp * micro_batch); }
};

// Every rule a layout breaks for this model on `devices` accelerators, named by flag:
// devices = dp*tp*pp, ep divides dp, experts divisible by ep, heads divisible by tp,
// layers fit pp (and V), global batch divisible by dp*micro_batch, zero in 0..3, ...
// `devices` <= 0 means no cluster is given: the device count is then not checked.
// The rules and the choices behind them are listed in docs/memory.md ("Layout rules").
FieldErrors validate(const Layout& layout, const model::ModelSpec& spec, std::int64_t devices);

// The global batch when the user gives none: about 4 Mi tokens per step (GPT-3 used 3.2M
// tokens, Llama 2 and 3 4M), in sequences of `seq_len`, rounded up to a multiple of
// dp * micro_batch (docs/layout.md). `target_sequences` > 0 replaces the 4 Mi-token target.
std::int64_t default_global_batch(std::int64_t seq_len, std::int64_t dp, std::int64_t micro_batch,
                                  std::int64_t target_sequences = 0);

const char* to_string(Recompute r);
const char* to_string(MatrixDtype d);

}  // namespace moesim::sim
