// Listing and showing the compiled-in presets (moesim presets list|show).
#include <cmath>
#include <cstdio>

#include "io/embedded_presets.hpp"
#include "io/errors.hpp"
#include "io/json_check.hpp"
#include "io/loaders.hpp"
#include "io/resolve.hpp"
#include "model/workload.hpp"

namespace moesim::io {

namespace {

using detail::json;

const std::vector<std::string> kKinds = {"models", "accelerators", "clusters", "laws"};

// 989.4e12 with scale 1e12 -> "989.4"; trailing zeros dropped.
std::string fmt(double value, double scale) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", value / scale);
  return buf;
}

std::string source_suffix(const json& j) {
  const auto it = j.find("source");
  if (it == j.end() || !it->is_string()) return "";
  std::string s = it->get<std::string>();
  // The first sentence or clause is enough for one line.
  const auto cut = s.find_first_of(";\n");
  if (cut != std::string::npos) s = s.substr(0, cut);
  if (s.size() > 70) s = s.substr(0, 67) + "...";
  return " (" + s + ")";
}

// "46.7B" for 46.7e9 (params); "1.6T" above 1e12.
std::string params_text(double n) {
  if (n >= 1e12) return fmt(n, 1e12) + "T";
  if (n >= 1e9) return fmt(n, 1e9) + "B";
  return fmt(n, 1e6) + "M";
}

// "80 GB", or "32 GiB" for a whole number of GiB (TPU HBM).
std::string bytes_text(double b) {
  const double gib = b / (1024.0 * 1024 * 1024);
  if (gib >= 1 && gib == std::floor(gib)) return fmt(gib, 1) + " GiB";
  return fmt(b, 1e9) + " GB";
}

std::string model_summary(const EmbeddedPreset& p) {
  const model::ModelSpec m = parse_model(p.json_text, "preset " + std::string(p.name));
  std::string s;
  if (m.is_moe()) {
    s = "MoE " + std::to_string(m.moe.experts) + " experts top-" + std::to_string(m.moe.top_k);
    if (m.moe.shared_experts > 0) s += " + " + std::to_string(m.moe.shared_experts) + " shared";
  } else {
    s = "dense";
  }
  const model::ModelTotals t = model::totals(m);
  s += ", " + params_text(t.params_total) + " params";
  if (m.is_moe()) s += " (" + params_text(t.params_active) + " active)";
  return s + source_suffix(json::parse(p.json_text));
}

std::string accelerator_summary(const EmbeddedPreset& p) {
  const hw::Accelerator a = parse_accelerator(p.json_text, "preset " + std::string(p.name));
  std::string s = (a.vendor.empty() ? "" : a.vendor + ", ") + fmt(a.peak_bf16_flops, 1e12) +
                  " TFLOP/s bf16, " + bytes_text(a.hbm_bytes) + " HBM at " +
                  fmt(a.hbm_bandwidth_Bps, 1e12) + " TB/s";
  if (a.price_per_hour_usd > 0) {
    char price[32];
    std::snprintf(price, sizeof price, ", $%.2f/chip-hour", a.price_per_hour_usd);
    s += price;
  }
  return s;
}

std::string cluster_summary(const EmbeddedPreset& p) {
  const hw::ClusterSpec c = parse_cluster(p.json_text, "preset " + std::string(p.name));
  static const char* out[] = {"fat tree", "rail-optimized fat tree", "DCN", "no scale-out"};
  std::string s = std::to_string(c.devices) + " x " + c.accelerator.name + "; ";
  const auto& su = c.scale_up;
  const std::string bw = fmt(su.link.bandwidth_Bps, 1e9) + " GB/s";
  switch (su.kind) {
    case hw::ScaleUpKind::nvswitch:
      s += "NVSwitch domains of " + std::to_string(su.devices_per_domain) + ", " + bw +
           " per device";
      break;
    case hw::ScaleUpKind::full_mesh:
      s += "full mesh of " + std::to_string(su.devices_per_domain) + ", " + bw + " per link";
      break;
    case hw::ScaleUpKind::torus2d:
    case hw::ScaleUpKind::torus3d: {
      const bool three = su.kind == hw::ScaleUpKind::torus3d;
      s += three ? "3D torus " : "2D torus ";
      s += std::to_string(su.torus_dims[0]);
      for (int i = 1; i < (three ? 3 : 2); ++i)
        s.append("x").append(std::to_string(su.torus_dims[i]));
      s += ", " + bw + " per link";
      break;
    }
    case hw::ScaleUpKind::none:
      s += "no scale-up fabric";
      break;
  }
  const auto& so = c.scale_out;
  if (so.kind != hw::ScaleOutKind::none) {
    s += "; " + std::string(out[static_cast<int>(so.kind)]) + ", " +
         std::to_string(so.nics_per_domain) + " x " + fmt(so.link.bandwidth_Bps, 1e9) +
         " GB/s per domain";
  }
  return s;
}

std::string generic_summary(const EmbeddedPreset& p) {
  const json j = json::parse(p.json_text);
  for (const char* key : {"description", "summary", "title"}) {
    const auto it = j.find(key);
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  const std::string s = source_suffix(j);
  return s.empty() ? std::string(p.kind) : s.substr(2, s.size() - 3);
}

void check_kind(const std::string& kind) {
  if (kind.empty()) return;
  for (const auto& k : kKinds)
    if (k == kind) return;
  std::string rule = "'" + kind + "' is not one of models, accelerators, clusters, laws";
  const std::string hint = did_you_mean(kind, kKinds);
  if (!hint.empty()) rule += "; did you mean '" + hint + "'?";
  throw InputError("--kind", "", rule);
}

}  // namespace

std::vector<PresetInfo> list_presets(const std::string& kind) {
  check_kind(kind);
  std::vector<PresetInfo> out;
  // Kinds in a fixed order, names in file order (sorted by the embedding script).
  for (const auto& k : kKinds) {
    if (!kind.empty() && k != kind) continue;
    for (const auto& p : embedded_presets()) {
      if (p.kind != k) continue;
      std::string summary;
      try {
        if (k == "models") {
          summary = model_summary(p);
        } else if (k == "accelerators") {
          summary = accelerator_summary(p);
        } else if (k == "clusters") {
          summary = cluster_summary(p);
        } else {
          summary = generic_summary(p);
        }
      } catch (const std::exception& e) {
        // A broken preset is listed, not fatal; the loader test fails on it.
        summary = std::string("invalid preset: ") + e.what();
      }
      out.push_back(PresetInfo{std::string(p.kind), std::string(p.name), summary});
    }
  }
  return out;
}

std::string preset_text(const std::string& kind, const std::string& name) {
  check_kind(kind);
  // Without a kind, "KIND/NAME" or a NAME that only one kind holds.
  if (kind.empty()) {
    const auto slash = name.find('/');
    if (slash != std::string::npos)
      return preset_text(name.substr(0, slash), name.substr(slash + 1));
    std::vector<std::string> kinds;
    for (const auto& p : embedded_presets())
      if (p.name == name) kinds.emplace_back(p.kind);
    if (kinds.size() == 1) return preset_text(kinds.front(), name);
    if (kinds.size() > 1) {
      std::string rule = "names presets of several kinds (";
      for (std::size_t i = 0; i < kinds.size(); ++i) rule += (i ? ", " : "") + kinds[i];
      throw InputError("presets show", name, rule + "); give --kind");
    }
  } else if (auto doc = detail::find_preset(kind, name)) {
    return doc->text;
  }
  std::string rule =
      "no " + (kind.empty() ? std::string("") : kind + " ") + "preset named '" + name + "'";
  const std::string hint = did_you_mean(name, detail::preset_names(kind));
  if (!hint.empty()) rule += "; did you mean '" + hint + "'?";
  throw InputError("presets show", "", rule);
}

}  // namespace moesim::io
