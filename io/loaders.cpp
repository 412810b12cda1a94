// The model file (CLI.md "Model file") and --set overrides. Accelerator and cluster files
// are read in hardware_loaders.cpp, the preset listing in presets.cpp.
#include "io/loaders.hpp"

#include <algorithm>
#include <map>

#include "io/errors.hpp"
#include "io/json_check.hpp"
#include "io/resolve.hpp"

namespace moesim::io {

namespace {

using detail::Checker;
using detail::join_path;
using detail::json;

// The model file's keys, object by object ("" is the top level). One table serves the
// unknown-key check, the --set path check and their did-you-means.
const std::map<std::string, std::vector<std::string>>& model_schema() {
  static const std::map<std::string, std::vector<std::string>> schema = {
      {"",
       {"name", "source", "layers", "d_model", "vocab", "seq_len", "tied_embeddings",
        "encoder_decoder", "position_embedding", "bias", "norm", "attention", "ffn", "moe"}},
      {"attention",
       {"type", "heads", "kv_heads", "head_dim", "q_lora_rank", "kv_lora_rank", "rope_head_dim",
        "v_head_dim"}},
      {"ffn", {"d_ff", "activation"}},
      {"moe",
       {"experts", "top_k", "d_ff_expert", "every", "first_dense_layers", "shared_experts",
        "capacity_factor", "router"}},
  };
  return schema;
}

// Every settable dotted path: "layers", "attention", "attention.type", ...
std::vector<std::string> model_paths() {
  std::vector<std::string> paths;
  for (const auto& [object, keys] : model_schema())
    for (const auto& key : keys) paths.push_back(join_path(object, key));
  return paths;
}

// Enum spellings, in the order of the enums in model/spec.hpp.
const std::vector<std::string> kAttentionTypes = {"mha", "gqa", "mqa", "mla"};
const std::vector<std::string> kActivations = {"relu", "gelu", "swiglu", "geglu"};
const std::vector<std::string> kRouters = {"topk", "switch", "expert_choice", "hash", "base"};
const std::vector<std::string> kPositionEmbeddings = {"none", "learned", "rope"};
const std::vector<std::string> kNorms = {"layernorm", "rmsnorm"};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// --set PATH=VALUE: VALUE is JSON when it parses as JSON (64, 1.2e4, null, true, "x",
// {...}), else a string (gqa). PATH must name a key of the schema; objects on the way are
// created. Later errors in that subtree name "--set".
void apply_set(json& root, const std::string& assignment, Checker& ck) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos)
    throw InputError("--set", assignment, "expected PATH=VALUE, e.g. moe.experts=64");
  const std::string path = trim(assignment.substr(0, eq));
  const std::string value_text = trim(assignment.substr(eq + 1));
  if (path.empty())
    throw InputError("--set", assignment, "expected PATH=VALUE, e.g. moe.experts=64");

  // Check the path against the schema, component by component.
  const auto& schema = model_schema();
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const auto dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  std::string object;  // the schema object the next part lives in
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto it = schema.find(object);
    const bool known = it != schema.end() && std::find(it->second.begin(), it->second.end(),
                                                       parts[i]) != it->second.end();
    if (!known) {
      std::string rule = "no such model field";
      const std::string hint = did_you_mean(path, model_paths());
      if (!hint.empty()) rule += "; did you mean '" + hint + "'?";
      throw InputError("--set", path, rule);
    }
    object = join_path(object, parts[i]);
  }

  json value = json::parse(value_text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = value_text;

  // Walk to the parent, creating (or replacing null) objects on the way.
  json* node = &root;
  std::string walked;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    walked = join_path(walked, parts[i]);
    json& child = (*node)[parts[i]];
    if (child.is_null()) child = json::object();
    if (!child.is_object())
      ck.fail(walked, "expected an object, got " + detail::describe(child) + " (before --set " +
                          path + ")");
    node = &child;
  }
  (*node)[parts.back()] = std::move(value);
  ck.blame(path, "--set");
}

// Upper bounds far beyond any published model, so that the cost arithmetic downstream
// stays finite and fast (a loop over a billion layers is no answer).
std::int64_t limit(const std::string& path) {
  static const std::map<std::string, std::int64_t> limits = {{"layers", 100'000},
                                                             {"vocab", 1'000'000'000},
                                                             {"seq_len", 1'000'000'000},
                                                             {"attention.heads", 1'000'000},
                                                             {"attention.kv_heads", 1'000'000},
                                                             {"moe.experts", 10'000'000},
                                                             {"moe.top_k", 10'000'000},
                                                             {"moe.every", 100'000},
                                                             {"moe.first_dense_layers", 100'000},
                                                             {"moe.shared_experts", 1'000'000}};
  const auto it = limits.find(path);
  return it == limits.end() ? 100'000'000 : it->second;  // widths: d_model, d_ff, ranks
}

std::int64_t opt_int(const Checker& ck, const json& obj, const std::string& prefix,
                     const std::string& key, std::int64_t min, std::int64_t fallback) {
  const json* v = Checker::find(obj, key);
  const std::string path = join_path(prefix, key);
  return v ? ck.integer(*v, path, min, limit(path)) : fallback;
}

std::int64_t req_int(const Checker& ck, const json& obj, const std::string& prefix,
                     const std::string& key, std::int64_t min) {
  const std::string path = join_path(prefix, key);
  return ck.integer(ck.require(obj, prefix, key), path, min, limit(path));
}

bool opt_bool(const Checker& ck, const json& obj, const std::string& key, bool fallback) {
  const json* v = Checker::find(obj, key);
  return v ? ck.boolean(*v, key) : fallback;
}

template <typename Enum>
Enum choice(const Checker& ck, const json& value, const std::string& path,
            const std::vector<std::string>& names) {
  return static_cast<Enum>(ck.choice(value, path, names));
}

void read_attention(const Checker& ck, const json& root, model::ModelSpec& spec) {
  const json& a = ck.require(root, "", "attention");
  ck.require_object(a, "attention");
  ck.check_keys(a, "attention", model_schema().at("attention"));
  auto& at = spec.attention;
  at.type = choice<model::AttentionType>(ck, ck.require(a, "attention", "type"), "attention.type",
                                         kAttentionTypes);
  at.heads = req_int(ck, a, "attention", "heads", 1);
  const bool mla = at.type == model::AttentionType::mla;

  // kv_heads: MHA has one per query head, MQA one, MLA caches a latent instead; GQA must
  // say. An absent key stays 0, which ModelSpec reads as that default.
  if (at.type == model::AttentionType::gqa) {
    at.kv_heads = req_int(ck, a, "attention", "kv_heads", 1);
  } else {
    at.kv_heads = opt_int(ck, a, "attention", "kv_heads", 1, 0);
  }

  // head_dim: absent (0) means d_model / heads, except for MLA whose head sizes are its own.
  if (mla) {
    at.head_dim = req_int(ck, a, "attention", "head_dim", 1);
  } else {
    at.head_dim = opt_int(ck, a, "attention", "head_dim", 1, 0);
    if (at.head_dim == 0 && spec.d_model % at.heads != 0)
      ck.fail("attention.head_dim", "required key missing (d_model " +
                                        std::to_string(spec.d_model) + " is not a multiple of " +
                                        std::to_string(at.heads) + " heads)");
  }

  // MLA (DeepSeek-V2, 2405.04434 Sec. 2.1): q_lora_rank 0 = queries not compressed.
  at.q_lora_rank = opt_int(ck, a, "attention", "q_lora_rank", 0, 0);
  if (mla) {
    at.kv_lora_rank = req_int(ck, a, "attention", "kv_lora_rank", 1);
    at.rope_head_dim = req_int(ck, a, "attention", "rope_head_dim", 1);
    at.v_head_dim = req_int(ck, a, "attention", "v_head_dim", 1);
  } else {
    at.kv_lora_rank = opt_int(ck, a, "attention", "kv_lora_rank", 0, 0);
    at.rope_head_dim = opt_int(ck, a, "attention", "rope_head_dim", 0, 0);
    at.v_head_dim = opt_int(ck, a, "attention", "v_head_dim", 0, 0);
    for (const char* key : {"q_lora_rank", "kv_lora_rank", "rope_head_dim", "v_head_dim"}) {
      const json* v = Checker::find(a, key);
      if (v && ck.integer(*v, join_path("attention", key), 0) != 0)
        ck.fail(join_path("attention", key), "applies only to attention.type mla (type is " +
                                                 kAttentionTypes[static_cast<int>(at.type)] + ")");
    }
  }
}

void read_moe(const Checker& ck, const json& root, model::ModelSpec& spec) {
  const json* m = Checker::find(root, "moe");
  auto& moe = spec.moe;
  // Absent or null: a dense model.
  if (m == nullptr || m->is_null()) {
    moe = model::MoeSpec{};
    return;
  }
  ck.require_object(*m, "moe");
  ck.check_keys(*m, "moe", model_schema().at("moe"));
  moe.experts = req_int(ck, *m, "moe", "experts", 1);
  // Defaults: top-1 routing (Switch Transformer, Fedus et al. 2021) and experts as wide as
  // the dense FFN (granularity 1), so `--set moe.experts=64` turns a dense model into MoE.
  moe.top_k = opt_int(ck, *m, "moe", "top_k", 1, 1);
  moe.d_ff_expert = opt_int(ck, *m, "moe", "d_ff_expert", 1, 0);  // 0: ffn.d_ff
  moe.every = opt_int(ck, *m, "moe", "every", 1, 1);
  moe.first_dense_layers = opt_int(ck, *m, "moe", "first_dense_layers", 0, 0);
  moe.shared_experts = opt_int(ck, *m, "moe", "shared_experts", 0, 0);
  moe.capacity_factor.reset();
  if (const json* cf = Checker::find(*m, "capacity_factor"); cf && !cf->is_null())
    moe.capacity_factor = ck.number(*cf, "moe.capacity_factor", /*allow_zero=*/false);
  if (const json* r = Checker::find(*m, "router"))
    moe.router = choice<model::RouterKind>(ck, *r, "moe.router", kRouters);
}

}  // namespace

model::ModelSpec parse_model(std::string_view json_text, const std::string& source,
                             const std::vector<std::string>& sets) {
  Checker ck(source);
  json root = detail::parse_json(json_text, source);
  ck.require_object(root, "");
  for (const auto& s : sets) apply_set(root, s, ck);
  ck.check_keys(root, "", model_schema().at(""));

  model::ModelSpec spec;
  spec.name =
      Checker::find(root, "name") ? ck.string(root["name"], "name") : detail::default_name(source);
  if (spec.name.empty()) ck.fail("name", "must not be empty");
  if (const json* s = Checker::find(root, "source")) spec.source = ck.string(*s, "source");
  spec.layers = req_int(ck, root, "", "layers", 1);
  spec.d_model = req_int(ck, root, "", "d_model", 1);
  spec.vocab = req_int(ck, root, "", "vocab", 1);
  spec.seq_len = req_int(ck, root, "", "seq_len", 1);
  spec.tied_embeddings = opt_bool(ck, root, "tied_embeddings", false);
  spec.encoder_decoder = opt_bool(ck, root, "encoder_decoder", false);
  spec.bias = opt_bool(ck, root, "bias", false);
  if (const json* p = Checker::find(root, "position_embedding"))
    spec.position_embedding =
        choice<model::PositionEmbedding>(ck, *p, "position_embedding", kPositionEmbeddings);
  if (const json* n = Checker::find(root, "norm"))
    spec.norm = choice<model::Norm>(ck, *n, "norm", kNorms);

  read_attention(ck, root, spec);

  const json& f = ck.require(root, "", "ffn");
  ck.require_object(f, "ffn");
  ck.check_keys(f, "ffn", model_schema().at("ffn"));
  spec.ffn.d_ff = req_int(ck, f, "ffn", "d_ff", 1);
  spec.ffn.activation = choice<model::Activation>(ck, ck.require(f, "ffn", "activation"),
                                                  "ffn.activation", kActivations);

  read_moe(ck, root, spec);

  // The semantic rules (top_k <= experts, heads divisible by kv_heads, ...) live with the
  // spec; the first one broken is reported from the flag or file that set its field.
  const FieldErrors errors = model::validate(spec);
  if (!errors.empty()) throw_first(ck.source_for(errors.front().path), errors);
  return spec;
}

model::ModelSpec load_model(const std::string& name_or_path, const std::vector<std::string>& sets) {
  const detail::Document doc = detail::resolve("models", name_or_path, "--model");
  model::ModelSpec spec = parse_model(doc.text, doc.source, sets);
  return spec;
}

}  // namespace moesim::io
