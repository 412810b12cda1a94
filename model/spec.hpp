#pragma once
// ModelSpec: the workload as CLI.md's model file describes it. Nothing about machines.
#include <cstdint>
#include <optional>
#include <string>

#include "model/field_error.hpp"

namespace moesim::model {

enum class AttentionType { mha, gqa, mqa, mla };
enum class Activation { relu, gelu, swiglu, geglu };
enum class RouterKind { topk, switch_router, expert_choice, hash, base };
enum class PositionEmbedding { none, learned, rope };  // learned adds seq_len x d_model params
enum class Norm { layernorm, rmsnorm };                // layernorm has a bias (2d), rmsnorm d

struct AttentionSpec {
  AttentionType type = AttentionType::mha;
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;  // = heads for MHA, 1 for MQA (0: that default)
  std::int64_t head_dim = 0;  // for MLA: the no-RoPE ("nope") query/key head dimension
                              // (0: d_model / heads)
  // Multi-head latent attention (DeepSeek-V2, 2405.04434 Sec. 2.1); zero when unused.
  std::int64_t q_lora_rank = 0;  // 0 means queries are not compressed
  std::int64_t kv_lora_rank = 0;
  std::int64_t rope_head_dim = 0;
  std::int64_t v_head_dim = 0;  // MLA value head dimension
};

struct FfnSpec {
  std::int64_t d_ff = 0;
  Activation activation = Activation::gelu;
};

struct MoeSpec {
  std::int64_t experts = 1;  // 1 means dense
  std::int64_t top_k = 1;
  std::int64_t d_ff_expert = 0;           // 0: the same width as ffn.d_ff
  std::int64_t every = 1;                 // an expert layer every `every` layers
  std::int64_t first_dense_layers = 0;    // leading layers kept dense
  std::int64_t shared_experts = 0;        // always-active experts of width d_ff_expert
  std::optional<double> capacity_factor;  // nullopt = dropless
  RouterKind router = RouterKind::topk;
};

struct ModelSpec {
  std::string name;
  std::int64_t layers = 0;
  std::int64_t d_model = 0;
  std::int64_t vocab = 0;
  std::int64_t seq_len = 0;
  bool tied_embeddings = false;
  // Encoder-decoder (T5/Switch): `layers` is per stack; decoder layers add cross-attention.
  bool encoder_decoder = false;
  // Extensions to CLI.md's model file (optional keys, defaults = a modern decoder):
  PositionEmbedding position_embedding = PositionEmbedding::rope;  // "position_embedding"
  bool bias = false;          // "bias": linear layers carry biases (GPT-2/3, Megatron)
  Norm norm = Norm::rmsnorm;  // "norm"
  std::string source;         // "source": where the architecture was published
  AttentionSpec attention;
  FfnSpec ffn;
  MoeSpec moe;

  bool is_moe() const { return moe.experts > 1; }
  // True when layer `index` (0-based, within one stack) holds routed experts.
  bool is_moe_layer(std::int64_t index) const;
  // Krajewski et al. 2024: G = d_ff / d_expert.
  double granularity() const;

  // Derived sizes with the defaults of a zero field applied (see the fields above).
  std::int64_t kv_heads() const;     // heads for MHA, 1 for MQA, attention.kv_heads for GQA
  std::int64_t head_dim() const;     // attention.head_dim, or d_model / heads when 0
  std::int64_t qk_head_dim() const;  // query/key width per head (MLA: head_dim + rope_head_dim)
  std::int64_t v_head_dim() const;   // value width per head (MLA: attention.v_head_dim)
  std::int64_t expert_d_ff() const;  // moe.d_ff_expert, or ffn.d_ff when 0
  // Blocks in the whole model: `layers`, or 2 x `layers` for an encoder-decoder.
  std::int64_t stacks() const { return encoder_decoder ? 2 : 1; }
  std::int64_t total_layers() const { return stacks() * layers; }
  // Layers with routed experts in one stack (is_moe_layer counted over 0..layers-1).
  std::int64_t moe_layers_per_stack() const;
};

// Semantic rules of a model spec (positive sizes, top_k <= experts, ...), every one broken,
// in field order. Paths are the model file's ("moe.top_k"); see docs/model.md for the list.
FieldErrors validate(const ModelSpec& spec);

const char* to_string(AttentionType t);
const char* to_string(Activation a);
const char* to_string(RouterKind r);
const char* to_string(PositionEmbedding p);
const char* to_string(Norm n);

}  // namespace moesim::model
