#include "model/spec.hpp"

#include <algorithm>

#include <cmath>
#include <sstream>

namespace moesim::model {

bool ModelSpec::is_moe_layer(std::int64_t index) const {
  // Convention (docs/model.md): after `first_dense_layers` dense layers, every `every`-th
  // layer holds experts, counting from the last of each group: every = 2 gives 1, 3, 5, ...
  // as in Switch (Fedus et al. 2021, "every other FFN layer") and GShard (Lepikhin et al.
  // 2020), whose first layer of a pair stays dense.
  if (!is_moe() || moe.every < 1 || index < moe.first_dense_layers || index >= layers) {
    return false;
  }
  return (index - moe.first_dense_layers) % moe.every == moe.every - 1;
}

std::int64_t ModelSpec::moe_layers_per_stack() const {
  // Closed form of counting is_moe_layer over the stack (O(1) for any size): layers
  // first_dense_layers + every*j + every-1 for j = 0, 1, ...
  if (!is_moe() || moe.every < 1 || layers <= moe.first_dense_layers) return 0;
  return (layers - std::max<std::int64_t>(0, moe.first_dense_layers)) / moe.every;
}

double ModelSpec::granularity() const {
  // Krajewski et al. 2024 (2402.07871) Sec. 3: G = d_ff / d_expert; a dense model has G = 1.
  if (!is_moe() || expert_d_ff() <= 0) return 1.0;
  return static_cast<double>(ffn.d_ff) / static_cast<double>(expert_d_ff());
}

std::int64_t ModelSpec::kv_heads() const {
  switch (attention.type) {
    case AttentionType::mha:
    case AttentionType::mla:  // MLA up-projects one key and value per query head
      return attention.heads;
    case AttentionType::mqa:
      return 1;
    case AttentionType::gqa:
      return attention.kv_heads;
  }
  return attention.heads;
}

std::int64_t ModelSpec::head_dim() const {
  if (attention.head_dim > 0) return attention.head_dim;
  return attention.heads > 0 ? d_model / attention.heads : 0;
}

std::int64_t ModelSpec::qk_head_dim() const {
  // DeepSeek-V2 (2405.04434) Eq. 14-17: a query/key head is [nope ; rope].
  if (attention.type == AttentionType::mla) return head_dim() + attention.rope_head_dim;
  return head_dim();
}

std::int64_t ModelSpec::v_head_dim() const {
  if (attention.type == AttentionType::mla && attention.v_head_dim > 0) {
    return attention.v_head_dim;
  }
  return head_dim();
}

std::int64_t ModelSpec::expert_d_ff() const {
  return moe.d_ff_expert > 0 ? moe.d_ff_expert : ffn.d_ff;
}

namespace {

std::string str(std::int64_t v) {
  return std::to_string(v);
}

std::string str(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Adds "<value> must be positive" when value <= 0.
void positive(FieldErrors& errors, const std::string& path, std::int64_t value) {
  if (value <= 0) errors.push_back({path, str(value) + " must be positive"});
}

// Adds "<value> must not be negative" when value < 0.
void non_negative(FieldErrors& errors, const std::string& path, std::int64_t value) {
  if (value < 0) errors.push_back({path, str(value) + " must not be negative"});
}

void validate_attention(const ModelSpec& spec, FieldErrors& errors) {
  const AttentionSpec& a = spec.attention;
  positive(errors, "attention.heads", a.heads);
  switch (a.type) {
    case AttentionType::mha:
      if (a.kv_heads != 0 && a.kv_heads != a.heads) {
        errors.push_back({"attention.kv_heads", str(a.kv_heads) + " must equal attention.heads (" +
                                                    str(a.heads) + ") for mha; use gqa"});
      }
      break;
    case AttentionType::mqa:
      if (a.kv_heads != 0 && a.kv_heads != 1) {
        errors.push_back({"attention.kv_heads", str(a.kv_heads) + " must be 1 for mqa"});
      }
      break;
    case AttentionType::gqa:
      if (a.kv_heads <= 0) {
        errors.push_back({"attention.kv_heads", str(a.kv_heads) + " must be positive for gqa"});
      } else if (a.heads > 0 && a.heads % a.kv_heads != 0) {
        errors.push_back(
            {"attention.kv_heads",
             str(a.kv_heads) + " does not divide attention.heads (" + str(a.heads) + ")"});
      }
      break;
    case AttentionType::mla:
      break;
  }
  if (a.head_dim < 0) {
    non_negative(errors, "attention.head_dim", a.head_dim);
  } else if (a.head_dim == 0 && a.heads > 0 && spec.d_model > 0 && spec.d_model % a.heads != 0) {
    errors.push_back({"attention.head_dim", "0 (d_model / heads) needs attention.heads (" +
                                                str(a.heads) + ") to divide d_model (" +
                                                str(spec.d_model) + ")"});
  }
  if (a.type == AttentionType::mla) {
    // DeepSeek-V2 (2405.04434) Sec. 2.1: the KV latent, the decoupled RoPE key and the value
    // head are part of MLA; the query latent is optional (V2-Lite has none).
    non_negative(errors, "attention.q_lora_rank", a.q_lora_rank);
    positive(errors, "attention.kv_lora_rank", a.kv_lora_rank);
    positive(errors, "attention.rope_head_dim", a.rope_head_dim);
    positive(errors, "attention.v_head_dim", a.v_head_dim);
  }
}

void validate_moe(const ModelSpec& spec, FieldErrors& errors) {
  const MoeSpec& m = spec.moe;
  positive(errors, "moe.experts", m.experts);
  if (m.top_k <= 0) {
    positive(errors, "moe.top_k", m.top_k);
  } else if (m.experts > 0 && m.top_k > m.experts) {
    errors.push_back({"moe.top_k", str(m.top_k) + " exceeds moe.experts (" + str(m.experts) + ")"});
  }
  non_negative(errors, "moe.d_ff_expert", m.d_ff_expert);
  positive(errors, "moe.every", m.every);
  if (m.first_dense_layers < 0) {
    non_negative(errors, "moe.first_dense_layers", m.first_dense_layers);
  } else if (spec.is_moe() && spec.layers > 0 && m.first_dense_layers >= spec.layers) {
    errors.push_back(
        {"moe.first_dense_layers",
         str(m.first_dense_layers) + " must be less than layers (" + str(spec.layers) + ")"});
  } else if (spec.is_moe() && spec.layers > 0 && m.every > 0 && spec.moe_layers_per_stack() == 0) {
    errors.push_back({"moe.every", str(m.every) + " leaves no expert layer among " +
                                       str(spec.layers - m.first_dense_layers) +
                                       " layers after moe.first_dense_layers"});
  }
  non_negative(errors, "moe.shared_experts", m.shared_experts);
  if (m.capacity_factor) {
    const double cf = *m.capacity_factor;
    if (!std::isfinite(cf) || cf <= 0) {
      errors.push_back({"moe.capacity_factor", str(cf) + " must be positive (null = dropless)"});
    }
  }
}

}  // namespace

FieldErrors validate(const ModelSpec& spec) {
  FieldErrors errors;
  positive(errors, "layers", spec.layers);
  positive(errors, "d_model", spec.d_model);
  positive(errors, "vocab", spec.vocab);
  positive(errors, "seq_len", spec.seq_len);
  validate_attention(spec, errors);
  positive(errors, "ffn.d_ff", spec.ffn.d_ff);
  validate_moe(spec, errors);
  return errors;
}

const char* to_string(AttentionType t) {
  switch (t) {
    case AttentionType::mha:
      return "mha";
    case AttentionType::gqa:
      return "gqa";
    case AttentionType::mqa:
      return "mqa";
    case AttentionType::mla:
      return "mla";
  }
  return "?";
}

const char* to_string(Activation a) {
  switch (a) {
    case Activation::relu:
      return "relu";
    case Activation::gelu:
      return "gelu";
    case Activation::swiglu:
      return "swiglu";
    case Activation::geglu:
      return "geglu";
  }
  return "?";
}

const char* to_string(RouterKind r) {
  switch (r) {
    case RouterKind::topk:
      return "topk";
    case RouterKind::switch_router:
      return "switch";
    case RouterKind::expert_choice:
      return "expert_choice";
    case RouterKind::hash:
      return "hash";
    case RouterKind::base:
      return "base";
  }
  return "?";
}

const char* to_string(PositionEmbedding p) {
  switch (p) {
    case PositionEmbedding::none:
      return "none";
    case PositionEmbedding::learned:
      return "learned";
    case PositionEmbedding::rope:
      return "rope";
  }
  return "?";
}

const char* to_string(Norm n) {
  switch (n) {
    case Norm::layernorm:
      return "layernorm";
    case Norm::rmsnorm:
      return "rmsnorm";
  }
  return "?";
}

}  // namespace moesim::model
