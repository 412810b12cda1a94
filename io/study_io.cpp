#include "io/study_io.hpp"

#include <fstream>
#include <sstream>

#include "io/errors.hpp"
#include "io/json_check.hpp"
#include "io/loaders.hpp"
#include "io/resolve.hpp"
#include "io/units.hpp"

namespace moesim::io {
namespace {

using detail::Checker;
using detail::join_path;
using detail::json;
using nlohmann::ordered_json;

const std::vector<std::string> kScenarioKeys = {"name",    "model",  "preset", "set", "cluster",
                                                "devices", "layout", "tokens", "law"};
const std::vector<std::string> kLayoutKeys = {"dp",   "tp",        "pp",          "ep",
                                              "zero", "recompute", "micro_batch", "global_batch"};
const std::vector<std::string> kRecompute = {"none", "selective", "full"};

ordered_json model_object(const model::ModelSpec& s) {
  ordered_json m;
  m["name"] = s.name;
  m["layers"] = s.layers;
  m["d_model"] = s.d_model;
  m["vocab"] = s.vocab;
  m["seq_len"] = s.seq_len;
  m["tied_embeddings"] = s.tied_embeddings;
  if (s.encoder_decoder) m["encoder_decoder"] = true;
  ordered_json a;
  a["type"] = model::to_string(s.attention.type);
  a["heads"] = s.attention.heads;
  // Zero means "absent" (the loader's default) for every optional attention size.
  const std::pair<const char*, std::int64_t> optional_sizes[] = {
      {"kv_heads", s.attention.kv_heads},           {"head_dim", s.attention.head_dim},
      {"q_lora_rank", s.attention.q_lora_rank},     {"kv_lora_rank", s.attention.kv_lora_rank},
      {"rope_head_dim", s.attention.rope_head_dim}, {"v_head_dim", s.attention.v_head_dim}};
  for (const auto& [key, value] : optional_sizes)
    if (value != 0) a[key] = value;
  m["attention"] = a;
  m["ffn"] = {{"d_ff", s.ffn.d_ff}, {"activation", model::to_string(s.ffn.activation)}};
  ordered_json moe;
  moe["experts"] = s.moe.experts;
  moe["top_k"] = s.moe.top_k;
  if (s.moe.d_ff_expert != 0) moe["d_ff_expert"] = s.moe.d_ff_expert;
  moe["every"] = s.moe.every;
  moe["first_dense_layers"] = s.moe.first_dense_layers;
  moe["shared_experts"] = s.moe.shared_experts;
  moe["capacity_factor"] =
      s.moe.capacity_factor ? ordered_json(*s.moe.capacity_factor) : ordered_json(nullptr);
  moe["router"] = model::to_string(s.moe.router);
  m["moe"] = moe;
  m["position_embedding"] = model::to_string(s.position_embedding);
  m["bias"] = s.bias;
  m["norm"] = model::to_string(s.norm);
  if (!s.source.empty()) m["source"] = s.source;
  return m;
}

ordered_json scenario_object(const StudyScenario& sc) {
  ordered_json o;
  o["name"] = sc.name;
  o["model"] = model_object(sc.model);
  if (!sc.preset.empty()) {
    o["preset"] = sc.preset;
    o["set"] = sc.sets;
  }
  o["cluster"] = sc.cluster;
  if (sc.devices > 0) o["devices"] = sc.devices;
  if (const auto& l = sc.layout) {
    ordered_json lo;
    lo["dp"] = l->dp;
    lo["tp"] = l->tp;
    lo["pp"] = l->pp;
    lo["ep"] = l->ep;
    lo["zero"] = l->zero;
    lo["recompute"] = sim::to_string(l->recompute);
    lo["micro_batch"] = l->micro_batch;
    lo["global_batch"] = l->global_batch;
    o["layout"] = lo;
  }
  if (sc.tokens) o["tokens"] = *sc.tokens;
  if (!sc.law.empty()) o["law"] = sc.law;
  return o;
}

// The model object's JSON text goes through parse_model, so a study's model obeys exactly
// the rules (and gives exactly the messages) of a model file given to --model.
StudyScenario read_scenario(const Checker& ck, const json& o, const std::string& path) {
  ck.require_object(o, path);
  ck.check_keys(o, path, kScenarioKeys);
  StudyScenario sc;
  if (const json* n = Checker::find(o, "name")) sc.name = ck.string(*n, join_path(path, "name"));
  const json& m = ck.require(o, path, "model");
  ck.require_object(m, join_path(path, "model"));
  sc.model = parse_model(m.dump(), ck.source() + " " + join_path(path, "model"));
  if (const json* p = Checker::find(o, "preset")) {
    sc.preset = ck.string(*p, join_path(path, "preset"));
    if (const json* s = Checker::find(o, "set")) {
      if (!s->is_array()) ck.fail(join_path(path, "set"), "expected an array of PATH=VALUE");
      for (std::size_t i = 0; i < s->size(); ++i)
        sc.sets.push_back(
            ck.string((*s)[i], join_path(path, "set") + "[" + std::to_string(i) + "]"));
    }
  } else if (Checker::find(o, "set")) {
    ck.fail(join_path(path, "set"), "applies with \"preset\" only");
  }
  sc.cluster = ck.string(ck.require(o, path, "cluster"), join_path(path, "cluster"));
  if (const json* d = Checker::find(o, "devices"))
    sc.devices = ck.integer(*d, join_path(path, "devices"), 1, 1 << 24);
  if (const json* l = Checker::find(o, "layout")) {
    const std::string lp = join_path(path, "layout");
    ck.require_object(*l, lp);
    ck.check_keys(*l, lp, kLayoutKeys);
    sim::Layout layout;
    auto size = [&](const char* key, std::int64_t min) {
      return ck.integer(ck.require(*l, lp, key), join_path(lp, key), min, 1 << 30);
    };
    layout.dp = size("dp", 1);
    layout.tp = size("tp", 1);
    layout.pp = size("pp", 1);
    layout.ep = size("ep", 1);
    layout.zero =
        static_cast<int>(ck.integer(ck.require(*l, lp, "zero"), join_path(lp, "zero"), 0, 3));
    layout.recompute = static_cast<sim::Recompute>(
        ck.choice(ck.require(*l, lp, "recompute"), join_path(lp, "recompute"), kRecompute));
    layout.micro_batch = size("micro_batch", 1);
    layout.global_batch = size("global_batch", 0);
    sc.layout = layout;
  }
  if (const json* t = Checker::find(o, "tokens"))
    sc.tokens = ck.quantity(*t, join_path(path, "tokens"), &parse_count, /*allow_zero=*/false);
  if (const json* law = Checker::find(o, "law")) sc.law = ck.string(*law, join_path(path, "law"));
  return sc;
}

}  // namespace

std::string render_model_json(const model::ModelSpec& spec) {
  return model_object(spec).dump(2) + "\n";
}

std::string render_study_json(const Study& study) {
  ordered_json root;
  root["moesim_study"] = 1;
  root["current"] = scenario_object(study.current);
  root["pinned"] = ordered_json::array();
  for (const StudyScenario& sc : study.pinned) root["pinned"].push_back(scenario_object(sc));
  return root.dump(2) + "\n";
}

Study parse_study(std::string_view json_text, const std::string& source) {
  Checker ck(source);
  const json root = detail::parse_json(json_text, source);
  ck.require_object(root, "");
  ck.check_keys(root, "", {"moesim_study", "current", "pinned"});
  ck.integer(ck.require(root, "", "moesim_study"), "moesim_study", 1, 1);
  Study study;
  study.current = read_scenario(ck, ck.require(root, "", "current"), "current");
  if (const json* p = Checker::find(root, "pinned")) {
    if (!p->is_array()) ck.fail("pinned", "expected an array of scenarios");
    for (std::size_t i = 0; i < p->size(); ++i)
      study.pinned.push_back(read_scenario(ck, (*p)[i], "pinned[" + std::to_string(i) + "]"));
  }
  return study;
}

Study load_study(const std::string& path) {
  const std::optional<std::string> text = detail::read_file(path);
  if (!text) throw InputError(path, "", "no such file");
  return parse_study(*text, path);
}

void save_study(const std::string& path, const Study& study) {
  const std::string text = render_study_json(study);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw InputError(path, "", "cannot open the file for writing");
  out << text;
  out.close();
  if (!out) throw InputError(path, "", "cannot write the file");
}

}  // namespace moesim::io
