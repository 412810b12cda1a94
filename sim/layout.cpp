#include "sim/layout.hpp"

#include <algorithm>

#include <string>

namespace moesim::sim {
namespace {

std::string str(std::int64_t v) {
  return std::to_string(v);
}

// One rule per size flag: every size is a count of ranks or sequences, so at least 1.
void check_positive(FieldErrors& errors, const char* flag, const char* name, std::int64_t v) {
  if (v < 1) errors.push_back({flag, std::string(name) + "=" + str(v) + " must be at least 1"});
}

}  // namespace

FieldErrors validate(const Layout& layout, const model::ModelSpec& spec, std::int64_t devices) {
  FieldErrors errors;
  const Layout& l = layout;

  // Sizes first: the divisibility rules below divide by them.
  check_positive(errors, "--dp", "dp", l.dp);
  check_positive(errors, "--tp", "tp", l.tp);
  check_positive(errors, "--pp", "pp", l.pp);
  check_positive(errors, "--ep", "ep", l.ep);
  check_positive(errors, "--micro-batch", "micro_batch", l.micro_batch);
  if (l.global_batch < 0)  // 0 means "not set": dp * micro_batch (Layout::effective_global_batch)
    errors.push_back({"--global-batch",
                      "global batch " + str(l.global_batch) + " must be at least 1 (or unset)"});
  if (l.schedule.virtual_stages < 1)
    errors.push_back({"--pp-schedule", "virtual stages V=" + str(l.schedule.virtual_stages) +
                                           " must be at least 1"});
  if (l.zero < 0 || l.zero > 3)
    errors.push_back({"--zero", "ZeRO stage " + str(l.zero) + " is not one of 0, 1, 2, 3"});
  const bool sizes_ok = l.dp >= 1 && l.tp >= 1 && l.pp >= 1 && l.ep >= 1 && l.micro_batch >= 1 &&
                        l.schedule.virtual_stages >= 1;
  if (!sizes_ok) return errors;

  // CLI.md: devices = dp*tp*pp. devices <= 0 means "no cluster given": not checked.
  if (devices > 0 && l.devices() != devices)
    errors.push_back({"--dp", "dp*tp*pp = " + str(l.devices()) + " but the cluster has " +
                                  str(devices) + " devices"});

  // Expert parallelism is carved from data parallelism (CLI.md: ep divides dp); each EP rank
  // holds experts/ep whole experts, so the experts must split evenly (Megatron-Core asserts
  // num_moe_experts % expert_model_parallel_size == 0).
  if (l.ep > 1 && !spec.is_moe()) {
    errors.push_back({"--ep", "ep=" + str(l.ep) + " needs an MoE model (moe.experts is " +
                                  str(spec.moe.experts) + ")"});
  } else if (l.ep > 1) {
    if (l.dp % l.ep != 0)
      errors.push_back({"--ep", "ep=" + str(l.ep) + " does not divide dp=" + str(l.dp)});
    if (spec.moe.experts % l.ep != 0)
      errors.push_back({"--ep", "moe.experts (" + str(spec.moe.experts) +
                                    ") is not divisible by ep=" + str(l.ep)});
  }

  // Tensor parallelism splits attention heads (Megatron: num_attention_heads % tp == 0).
  const std::int64_t heads = spec.attention.heads;
  if (heads > 0 && heads % l.tp != 0)
    errors.push_back(
        {"--tp", "attention.heads (" + str(heads) + ") is not divisible by tp=" + str(l.tp)});
  // KV heads (GQA/MQA): either split (kv_heads % tp == 0, what Megatron-Core requires) or
  // replicated, each KV head on tp/kv_heads ranks (tp % kv_heads == 0, as vLLM, TensorRT-LLM
  // and newer Megatron do). MLA has no KV heads to split: its latent is shared by all heads;
  // MHA's KV heads are its heads, checked above.
  if (spec.attention.type != model::AttentionType::mla && heads > 0) {
    const std::int64_t kv = spec.kv_heads();
    if (kv > 0 && kv != heads && kv % l.tp != 0 && l.tp % kv != 0)
      errors.push_back({"--tp", "attention.kv_heads (" + str(kv) + ") is neither divisible by tp=" +
                                    str(l.tp) + " nor a divisor of it (to replicate KV heads)"});
  }

  // Pipeline stages need at least one layer each. 1F1B allows uneven splits (the last
  // stages take the remainder, see docs/memory.md); the interleaved schedule needs equal
  // chunks, layers % (pp*V) == 0, as Megatron-LM asserts.
  const std::int64_t blocks = spec.total_layers();
  if (blocks > 0 && l.pp > blocks)
    errors.push_back(
        {"--pp", "pp=" + str(l.pp) + " exceeds the model's " + str(blocks) + " layers"});
  if (l.schedule.interleaved()) {
    const std::int64_t v = l.schedule.virtual_stages;
    if (l.pp < 2)
      errors.push_back(
          {"--pp-schedule", "interleaved:" + str(v) + " needs pp > 1 (pp=" + str(l.pp) + ")"});
    else if (blocks > 0 && blocks % (l.pp * v) != 0)
      errors.push_back({"--pp-schedule", "interleaved:" + str(v) + " needs the layers (" +
                                             str(blocks) +
                                             ") divisible by pp*V = " + str(l.pp * v)});
  }

  // Each optimizer step splits the global batch evenly over data-parallel ranks and
  // micro-batches.
  const std::int64_t unit = l.dp * l.micro_batch;
  if (l.global_batch > 0 && l.global_batch % unit != 0)
    errors.push_back({"--global-batch", "global batch " + str(l.global_batch) +
                                            " is not divisible by dp*micro_batch = " + str(unit)});

  // Sequence parallelism at tp=1 is allowed and has no effect (Megatron-LM turns it off
  // when tensor_model_parallel_size == 1): no rule.
  return errors;
}

const char* to_string(Recompute r) {
  switch (r) {
    case Recompute::none:
      return "none";
    case Recompute::selective:
      return "selective";
    case Recompute::full:
      return "full";
  }
  return "none";
}

const char* to_string(MatrixDtype d) {
  switch (d) {
    case MatrixDtype::bf16:
      return "bf16";
    case MatrixDtype::fp8:
      return "fp8";
  }
  return "bf16";
}

std::int64_t default_global_batch(std::int64_t seq_len, std::int64_t dp, std::int64_t micro_batch,
                                  std::int64_t target_sequences) {
  const std::int64_t target =
      target_sequences > 0
          ? target_sequences
          : std::max<std::int64_t>(1, (std::int64_t{1} << 22) / std::max<std::int64_t>(1, seq_len));
  const std::int64_t unit = std::max<std::int64_t>(1, dp) * std::max<std::int64_t>(1, micro_batch);
  return ((target + unit - 1) / unit) * unit;
}

}  // namespace moesim::sim
