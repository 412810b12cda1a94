// The model file parser (CLI.md "Model file"): every key checked, errors as
// "<source>: <path>: <rule>", --set overrides, presets and files by name.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/embedded_presets.hpp"
#include "io/errors.hpp"
#include "io/loaders.hpp"

namespace moesim::io {
namespace {

// CLI.md's example model file, verbatim.
const std::string kMixtral = R"({
  "name": "mixtral-8x7b",
  "layers": 32,
  "d_model": 4096,
  "vocab": 32000,
  "seq_len": 4096,
  "tied_embeddings": false,
  "attention": {"type": "gqa", "heads": 32, "kv_heads": 8, "head_dim": 128},
  "ffn": {"d_ff": 14336, "activation": "swiglu"},
  "moe": {
    "experts": 8, "top_k": 2, "d_ff_expert": 14336,
    "every": 1, "first_dense_layers": 0, "shared_experts": 0,
    "capacity_factor": null, "router": "topk"
  }
})";

// A small dense model with the optional extension keys.
const std::string kDense = R"({
  "name": "gpt-small",
  "source": "test",
  "layers": 12, "d_model": 768, "vocab": 50257, "seq_len": 1024,
  "tied_embeddings": true, "encoder_decoder": false,
  "position_embedding": "learned", "bias": true, "norm": "layernorm",
  "attention": {"type": "mha", "heads": 12},
  "ffn": {"d_ff": 3072, "activation": "gelu"}
})";

// `text` with the first `from` replaced by `to` (the test fails when `from` is absent).
std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The what() of the InputError that parsing `text` throws ("" when it does not throw).
std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    parse_model(text, "model.json", sets);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(ModelLoader, ParsesTheCliExample) {
  const model::ModelSpec m = parse_model(kMixtral, "model.json");
  EXPECT_EQ(m.name, "mixtral-8x7b");
  EXPECT_EQ(m.layers, 32);
  EXPECT_EQ(m.d_model, 4096);
  EXPECT_EQ(m.vocab, 32000);
  EXPECT_EQ(m.seq_len, 4096);
  EXPECT_FALSE(m.tied_embeddings);
  EXPECT_EQ(m.attention.type, model::AttentionType::gqa);
  EXPECT_EQ(m.attention.heads, 32);
  EXPECT_EQ(m.attention.kv_heads, 8);
  EXPECT_EQ(m.attention.head_dim, 128);
  EXPECT_EQ(m.ffn.d_ff, 14336);
  EXPECT_EQ(m.ffn.activation, model::Activation::swiglu);
  EXPECT_TRUE(m.is_moe());
  EXPECT_EQ(m.moe.experts, 8);
  EXPECT_EQ(m.moe.top_k, 2);
  EXPECT_EQ(m.moe.d_ff_expert, 14336);
  EXPECT_EQ(m.moe.every, 1);
  EXPECT_FALSE(m.moe.capacity_factor.has_value());  // null = dropless
  EXPECT_EQ(m.moe.router, model::RouterKind::topk);
}

TEST(ModelLoader, ParsesExtensionKeysAndDefaults) {
  const model::ModelSpec m = parse_model(kDense, "gpt.json");
  EXPECT_FALSE(m.is_moe());  // moe absent = dense
  EXPECT_EQ(m.moe.experts, 1);
  EXPECT_TRUE(m.tied_embeddings);
  EXPECT_TRUE(m.bias);
  EXPECT_EQ(m.position_embedding, model::PositionEmbedding::learned);
  EXPECT_EQ(m.norm, model::Norm::layernorm);
  EXPECT_EQ(m.source, "test");
  EXPECT_EQ(m.attention.kv_heads, 0);  // 0 = heads for MHA (ModelSpec::kv_heads())
  EXPECT_EQ(m.attention.head_dim, 0);  // 0 = d_model / heads
  EXPECT_EQ(m.head_dim(), 64);
}

TEST(ModelLoader, NameDefaultsToTheFileStem) {
  const model::ModelSpec m =
      parse_model(replace(kDense, "\"name\": \"gpt-small\",", ""), "dir/tiny-gpt.json");
  EXPECT_EQ(m.name, "tiny-gpt");
}

TEST(ModelLoader, CapacityFactorAndRouters) {
  const model::ModelSpec m = parse_model(
      replace(replace(kMixtral, "\"capacity_factor\": null", "\"capacity_factor\": 1.25"),
              "\"router\": \"topk\"", "\"router\": \"switch\""),
      "model.json");
  ASSERT_TRUE(m.moe.capacity_factor.has_value());
  EXPECT_DOUBLE_EQ(*m.moe.capacity_factor, 1.25);
  EXPECT_EQ(m.moe.router, model::RouterKind::switch_router);
}

TEST(ModelLoader, ExpertsOneIsDenseAndMoeNullIsDense) {
  EXPECT_FALSE(
      parse_model(replace(kMixtral, "\"experts\": 8, \"top_k\": 2", "\"experts\": 1, \"top_k\": 1"),
                  "model.json")
          .is_moe());
  const std::string null_moe = replace(kDense, "\"ffn\":", "\"moe\": null, \"ffn\":");
  EXPECT_FALSE(parse_model(null_moe, "model.json").is_moe());
}

TEST(ModelLoader, MlaNeedsItsSizes) {
  const std::string mla = R"({"layers": 2, "d_model": 512, "vocab": 1000, "seq_len": 128,
    "attention": {"type": "mla", "heads": 8, "head_dim": 64, "kv_lora_rank": 128,
                  "rope_head_dim": 32, "v_head_dim": 64},
    "ffn": {"d_ff": 1024, "activation": "swiglu"}})";
  const model::ModelSpec m = parse_model(mla, "mla.json");
  EXPECT_EQ(m.attention.type, model::AttentionType::mla);
  EXPECT_EQ(m.attention.kv_lora_rank, 128);
  EXPECT_EQ(m.attention.q_lora_rank, 0);
  EXPECT_EQ(error_of(replace(mla, "\"rope_head_dim\": 32,", "")),
            "model.json: attention.rope_head_dim: required key missing");
  EXPECT_EQ(
      error_of(replace(kMixtral, "\"head_dim\": 128", "\"head_dim\": 128, \"kv_lora_rank\": 4")),
      "model.json: attention.kv_lora_rank: applies only to attention.type mla (type is gqa)");
}

TEST(ModelLoader, MalformedJsonNamesThePosition) {
  const std::string e = error_of("{\n  \"layers\": 32,\n  \"d_model\": }\n");
  EXPECT_EQ(e.rfind("model.json: line 3, column 14: malformed JSON: ", 0), 0u) << e;
  EXPECT_EQ(error_of("").rfind("model.json: line 1, column 1: malformed JSON", 0), 0u);
  EXPECT_EQ(error_of("[1, 2]"), "model.json: (top level): expected an object, got an array");
}

TEST(ModelLoader, DuplicateKeysAreRejected) {
  EXPECT_EQ(error_of(replace(kMixtral, "\"top_k\": 2", "\"top_k\": 2, \"top_k\": 1")),
            "model.json: moe.top_k: duplicate key");
}

TEST(ModelLoader, IntegerFieldsRejectFractionsStringsAndBooleans) {
  EXPECT_EQ(error_of(replace(kMixtral, "\"layers\": 32", "\"layers\": 3.5")),
            "model.json: layers: expected an integer, got 3.5");
  EXPECT_EQ(error_of(replace(kMixtral, "\"layers\": 32", "\"layers\": \"3\"")),
            "model.json: layers: expected an integer, got the string \"3\"");
  EXPECT_EQ(error_of(replace(kMixtral, "\"experts\": 8", "\"experts\": true")),
            "model.json: moe.experts: expected an integer, got true");
  EXPECT_EQ(error_of(replace(kMixtral, "\"heads\": 32", "\"heads\": null")),
            "model.json: attention.heads: expected an integer, got null");
  // An integral number written with an exponent is an integer.
  EXPECT_EQ(parse_model(replace(kMixtral, "\"d_ff\": 14336", "\"d_ff\": 1.2e4"), "m").ffn.d_ff,
            12000);
}

TEST(ModelLoader, OtherTypesAreChecked) {
  EXPECT_EQ(error_of(replace(kMixtral, "\"tied_embeddings\": false", "\"tied_embeddings\": 0")),
            "model.json: tied_embeddings: expected true or false, got 0");
  EXPECT_EQ(error_of(replace(kMixtral, "\"name\": \"mixtral-8x7b\"", "\"name\": 7")),
            "model.json: name: expected a string, got 7");
  EXPECT_EQ(
      error_of(replace(kMixtral, "\"capacity_factor\": null", "\"capacity_factor\": \"1.25\"")),
      "model.json: moe.capacity_factor: expected a number, got the string \"1.25\"");
  EXPECT_EQ(error_of(replace(kMixtral, "\"ffn\": {\"d_ff\": 14336, \"activation\": \"swiglu\"}",
                             "\"ffn\": [14336]")),
            "model.json: ffn: expected an object, got an array");
}

TEST(ModelLoader, SizesMustBePositive) {
  EXPECT_EQ(error_of(replace(kMixtral, "\"d_model\": 4096", "\"d_model\": 0")),
            "model.json: d_model: must be positive (got 0)");
  EXPECT_EQ(error_of(replace(kMixtral, "\"vocab\": 32000", "\"vocab\": -5")),
            "model.json: vocab: must be positive (got -5)");
  EXPECT_EQ(error_of(replace(kMixtral, "\"first_dense_layers\": 0", "\"first_dense_layers\": -1")),
            "model.json: moe.first_dense_layers: must not be negative (got -1)");
  EXPECT_EQ(error_of(replace(kMixtral, "\"capacity_factor\": null", "\"capacity_factor\": 0")),
            "model.json: moe.capacity_factor: must be positive (got 0)");
}

TEST(ModelLoader, SemanticRulesComeFromValidate) {
  // CLI.md's own example of an error line (the front end adds "error: ").
  EXPECT_EQ(error_of(replace(replace(kMixtral, "\"experts\": 8", "\"experts\": 2"), "\"top_k\": 2",
                             "\"top_k\": 4")),
            "model.json: moe.top_k: 4 exceeds moe.experts (2)");
  EXPECT_EQ(error_of(replace(kMixtral, "\"kv_heads\": 8", "\"kv_heads\": 5"))
                .rfind("model.json: attention.kv_heads: ", 0),
            0u);
}

TEST(ModelLoader, UnknownKeysGetADidYouMean) {
  EXPECT_EQ(error_of(replace(kMixtral, "\"experts\": 8", "\"expert\": 8")),
            "model.json: moe.expert: unknown key; did you mean 'experts'?");
  EXPECT_EQ(error_of(replace(kMixtral, "\"vocab\"", "\"vocab_size\"")),
            "model.json: vocab_size: unknown key; did you mean 'vocab'?");
  const std::string e = error_of(replace(kMixtral, "\"seq_len\": 4096", "\"zzzzzzzz\": 1"));
  EXPECT_EQ(e.rfind("model.json: zzzzzzzz: unknown key; expected one of name, ", 0), 0u) << e;
}

TEST(ModelLoader, EnumsGetADidYouMean) {
  EXPECT_EQ(error_of(replace(kMixtral, "\"type\": \"gqa\"", "\"type\": \"gqaa\"")),
            "model.json: attention.type: 'gqaa' is not one of mha, gqa, mqa, mla; did you mean "
            "'gqa'?");
  EXPECT_EQ(error_of(replace(kMixtral, "\"activation\": \"swiglu\"", "\"activation\": \"silu\"")),
            "model.json: ffn.activation: 'silu' is not one of relu, gelu, swiglu, geglu");
  EXPECT_EQ(
      error_of(replace(kDense, "\"norm\": \"layernorm\"", "\"norm\": \"rmsnrom\"")),
      "model.json: norm: 'rmsnrom' is not one of layernorm, rmsnorm; did you mean 'rmsnorm'?");
}

TEST(ModelLoader, RequiredKeys) {
  EXPECT_EQ(error_of(replace(kMixtral, "\"layers\": 32,", "")),
            "model.json: layers: required key missing");
  EXPECT_EQ(error_of(replace(kMixtral, "\"kv_heads\": 8, ", "")),
            "model.json: attention.kv_heads: required key missing");
  EXPECT_EQ(error_of(replace(kDense, "\"heads\": 12", "\"heads\": 7")),
            "model.json: attention.head_dim: required key missing (d_model 768 is not a multiple "
            "of 7 heads)");
}

TEST(ModelLoader, SetsOverrideFields) {
  const model::ModelSpec m =
      parse_model(kMixtral, "model.json",
                  {"moe.experts=64", "moe.top_k = 8", "moe.capacity_factor=1.5", "ffn.d_ff=1.2e4",
                   "name=\"custom\"", "attention.type=mha", "attention.kv_heads=32"});
  EXPECT_EQ(m.moe.experts, 64);
  EXPECT_EQ(m.moe.top_k, 8);
  EXPECT_DOUBLE_EQ(m.moe.capacity_factor.value_or(0), 1.5);
  EXPECT_EQ(m.ffn.d_ff, 12000);
  EXPECT_EQ(m.name, "custom");
  EXPECT_EQ(m.attention.type, model::AttentionType::mha);

  const model::ModelSpec dropless =
      parse_model(replace(kMixtral, "\"capacity_factor\": null", "\"capacity_factor\": 1.0"),
                  "model.json", {"moe.capacity_factor=null"});
  EXPECT_FALSE(dropless.moe.capacity_factor.has_value());
}

TEST(ModelLoader, SetsTurnADenseModelIntoMoe) {
  const model::ModelSpec m = parse_model(kDense, "gpt.json", {"moe.experts=64", "moe.top_k=2"});
  EXPECT_TRUE(m.is_moe());
  EXPECT_EQ(m.moe.experts, 64);
  EXPECT_EQ(m.moe.d_ff_expert, 0);  // 0 = as wide as ffn.d_ff
  EXPECT_EQ(m.expert_d_ff(), 3072);
  // A whole object as JSON.
  const model::ModelSpec o =
      parse_model(kDense, "gpt.json", {R"(moe={"experts": 8, "top_k": 2, "every": 2})"});
  EXPECT_EQ(o.moe.every, 2);
}

TEST(ModelLoader, BadSetsNameTheFlag) {
  EXPECT_EQ(error_of(kMixtral, {"moe.expert=64"}),
            "--set: moe.expert: no such model field; did you mean 'moe.experts'?");
  EXPECT_EQ(error_of(kMixtral, {"attention.typ=gqa"}),
            "--set: attention.typ: no such model field; did you mean 'attention.type'?");
  EXPECT_EQ(error_of(kMixtral, {"ffn.d_ff.x=3"}),
            "--set: ffn.d_ff.x: no such model field; did you mean 'ffn.d_ff'?");
  EXPECT_EQ(error_of(kMixtral, {"moe.experts"}),
            "--set: moe.experts: expected PATH=VALUE, e.g. moe.experts=64");
  EXPECT_EQ(error_of(kMixtral, {"moe.experts=many"}),
            "--set: moe.experts: expected an integer, got the string \"many\"");
  EXPECT_EQ(error_of(kMixtral, {"moe.top_k=16"}), "--set: moe.top_k: 16 exceeds moe.experts (8)");
  EXPECT_EQ(error_of(kMixtral, {"attention.type=gqb"}),
            "--set: attention.type: 'gqb' is not one of mha, gqa, mqa, mla; did you mean 'gqa'?");
  EXPECT_EQ(error_of(kDense, {R"(moe={"expert": 8})"}),
            "--set: moe.expert: unknown key; did you mean 'experts'?");
  // An error in a field the flag did not touch still names the file.
  EXPECT_EQ(error_of(replace(kMixtral, "\"layers\": 32", "\"layers\": 0"), {"moe.experts=16"}),
            "model.json: layers: must be positive (got 0)");
}

TEST(ModelLoader, NoInputCrashes) {
  // Every prefix of a valid file, and every value swapped for odd JSON, gives an InputError
  // (or parses), never another exception.
  auto only_input_errors = [](const std::string& text, const std::vector<std::string>& sets) {
    try {
      parse_model(text, "model.json", sets);
    } catch (const InputError&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not an InputError: " << e.what() << "\n" << text;
    }
  };
  for (std::size_t n = 0; n < kMixtral.size(); ++n) only_input_errors(kMixtral.substr(0, n), {});
  const std::vector<std::string> odd = {"null",
                                        "-1",
                                        "0",
                                        "1e308",
                                        "-1e308",
                                        "1e30",
                                        "18446744073709551615",
                                        "9223372036854775807",
                                        "\"\"",
                                        "[]",
                                        "{}",
                                        "true",
                                        "0.5",
                                        "\"\\u0000\""};
  for (const char* key :
       {"\"layers\": 32", "\"heads\": 32", "\"experts\": 8", "\"capacity_factor\": null",
        "\"type\": \"gqa\"", "\"top_k\": 2", "\"every\": 1"}) {
    const std::string k = key;
    const std::string name = k.substr(0, k.find(':') + 1);
    for (const auto& v : odd) {
      only_input_errors(replace(kMixtral, k, name + " " + v), {});
      only_input_errors(kMixtral, {name.substr(1, name.size() - 3) + "=" + v});
    }
  }
  for (const char* set : {"=", "==", ".=1", "moe.=1", "moe..experts=1", "moe=3", "moe=[]",
                          "attention=null", "name=", "moe.experts=1e400"})
    only_input_errors(kMixtral, {set});
  EXPECT_EQ(error_of(replace(kMixtral, "\"layers\": 32", "\"layers\": 1e30")),
            "model.json: layers: 1e+30 is too large");
  EXPECT_EQ(error_of(replace(kMixtral, "\"layers\": 32", "\"layers\": 1000000")),
            "model.json: layers: must be at most 100000 (got 1000000)");
}

TEST(ModelLoader, MissingFileOrPresetNamesIt) {
  try {
    load_model("no-such-model.json");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.source(), "--model");
    EXPECT_NE(std::string(e.what()).find("no preset or file named 'no-such-model.json'"),
              std::string::npos)
        << e.what();
  }
}

TEST(ModelLoader, LoadsAFileWithItsPathAsSource) {
  const auto dir = std::filesystem::temp_directory_path() / "moesim_io_model_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "my-model.json").string();
  { std::ofstream(path) << replace(kMixtral, "\"top_k\": 2", "\"top_k\": 9"); }
  try {
    load_model(path);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": moe.top_k: 9 exceeds moe.experts (8)");
  }
  { std::ofstream(path) << kMixtral; }
  EXPECT_EQ(load_model(path, {"moe.experts=16"}).moe.experts, 16);
  // A folder is not a model file.
  EXPECT_THROW(load_model(dir.string()), InputError);
  std::filesystem::remove_all(dir);
}

TEST(ModelLoader, EveryModelPresetLoads) {
  for (const auto& p : embedded_presets()) {
    if (p.kind != "models") continue;
    SCOPED_TRACE(std::string(p.name));
    model::ModelSpec m;
    EXPECT_NO_THROW(m = load_model(std::string(p.name)));
    EXPECT_FALSE(m.name.empty());
    // The same text through the parser with the preset's source.
    EXPECT_NO_THROW(parse_model(p.json_text, "preset " + std::string(p.name)));
  }
}

TEST(ModelLoader, UnknownPresetGetsADidYouMean) {
  bool have_mixtral = false;
  for (const auto& p : embedded_presets()) have_mixtral |= p.name == "mixtral-8x7b";
  if (!have_mixtral) GTEST_SKIP() << "no mixtral-8x7b preset yet";
  try {
    load_model("mixtral-8x7");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--model: no preset or file named 'mixtral-8x7'; did you mean 'mixtral-8x7b'?");
  }
}

}  // namespace
}  // namespace moesim::io
