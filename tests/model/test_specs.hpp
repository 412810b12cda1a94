#pragma once
// Model specs built in C++ for the formula tests, so the unit tests do not depend on the
// preset parser. Each mirrors the preset of the same name in presets/models/.
#include <cstdint>

#include "model/spec.hpp"

namespace moesim::model::testing {

// Narayanan et al. 2021 (2104.04473) Table 1: GPT with biases, LayerNorm, learned positions,
// tied embeddings, vocab 51200, sequence 2048, d_ff = 4h.
inline ModelSpec megatron(std::int64_t layers, std::int64_t hidden, std::int64_t heads) {
  ModelSpec s;
  s.name = "megatron";
  s.layers = layers;
  s.d_model = hidden;
  s.vocab = 51200;
  s.seq_len = 2048;
  s.tied_embeddings = true;
  s.position_embedding = PositionEmbedding::learned;
  s.bias = true;
  s.norm = Norm::layernorm;
  s.attention = {AttentionType::mha, heads, heads, hidden / heads, 0, 0, 0, 0};
  s.ffn = {4 * hidden, Activation::gelu};
  return s;
}

// Brown et al. 2020 (2005.14165) Table 2.1.
inline ModelSpec gpt3_175b() {
  ModelSpec s = megatron(96, 12288, 96);
  s.name = "gpt3-175b";
  s.vocab = 50257;
  return s;
}

// Meta Llama 3 70B model card.
inline ModelSpec llama3_70b() {
  ModelSpec s;
  s.name = "llama3-70b";
  s.layers = 80;
  s.d_model = 8192;
  s.vocab = 128256;
  s.seq_len = 8192;
  s.attention = {AttentionType::gqa, 64, 8, 128, 0, 0, 0, 0};
  s.ffn = {28672, Activation::swiglu};
  return s;
}

// Jiang et al. 2024 (2401.04088) Table 1; CLI.md's example model file.
inline ModelSpec mixtral_8x7b() {
  ModelSpec s;
  s.name = "mixtral-8x7b";
  s.layers = 32;
  s.d_model = 4096;
  s.vocab = 32000;
  s.seq_len = 4096;
  s.attention = {AttentionType::gqa, 32, 8, 128, 0, 0, 0, 0};
  s.ffn = {14336, Activation::swiglu};
  s.moe.experts = 8;
  s.moe.top_k = 2;
  s.moe.d_ff_expert = 14336;
  return s;
}

// DeepSeek-AI 2024 (2412.19437) Sec. 4.2.
inline ModelSpec deepseek_v3() {
  ModelSpec s;
  s.name = "deepseek-v3";
  s.layers = 61;
  s.d_model = 7168;
  s.vocab = 129280;
  s.seq_len = 4096;
  s.attention = {AttentionType::mla, 128, 128, 128, 1536, 512, 64, 128};
  s.ffn = {18432, Activation::swiglu};
  s.moe.experts = 256;
  s.moe.top_k = 8;
  s.moe.d_ff_expert = 2048;
  s.moe.first_dense_layers = 3;
  s.moe.shared_experts = 1;
  return s;
}

// A small T5-style encoder-decoder with Switch layers every other layer (Fedus et al. 2021).
inline ModelSpec tiny_switch() {
  ModelSpec s;
  s.name = "tiny-switch";
  s.layers = 4;
  s.d_model = 64;
  s.vocab = 100;
  s.seq_len = 32;
  s.tied_embeddings = true;
  s.encoder_decoder = true;
  s.position_embedding = PositionEmbedding::none;
  s.attention = {AttentionType::mha, 4, 4, 16, 0, 0, 0, 0};
  s.ffn = {256, Activation::relu};
  s.moe.experts = 8;
  s.moe.top_k = 1;
  s.moe.d_ff_expert = 256;
  s.moe.every = 2;
  s.moe.capacity_factor = 1.25;
  s.moe.router = RouterKind::switch_router;
  return s;
}

}  // namespace moesim::model::testing
