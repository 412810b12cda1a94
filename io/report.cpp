#include "io/report.hpp"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace moesim::io {
namespace {

using nlohmann::ordered_json;

void check_finite(const ReportField& f) {
  if (const double* d = std::get_if<double>(&f.value); d && !std::isfinite(*d))
    throw std::logic_error("internal error: report value " + f.path + " is not finite");
}

ordered_json to_json_value(const ReportValue& v) {
  return std::visit([](const auto& x) { return ordered_json(x); }, v);
}

// Shortest round-trip text for doubles, so CSV and JSON agree digit for digit.
std::string to_text(const ReportValue& v) {
  struct Visitor {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return ordered_json(d).dump(); }
    std::string operator()(const std::string& s) const { return s; }
  };
  return std::visit(Visitor{}, v);
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string human_count(double v) {
  const char* suffix[] = {"", "K", "M", "B", "T"};
  int i = 0;
  while (std::fabs(v) >= 1000 && i < 4) {
    v /= 1000;
    ++i;
  }
  return fixed(v, i == 0 ? 0 : 2) + (i ? std::string(" ") + suffix[i] : "");
}

std::string gb(double bytes) { return fixed(bytes / 1e9, 2) + " GB"; }

}  // namespace

Report make_report(const sim::Estimate& e) {
  Report r;
  auto add = [&r](std::string path, ReportValue v) { r.fields.push_back({std::move(path), std::move(v)}); };
  add("model.name", e.model_name);
  add("model.params_total", e.model.params_total);
  add("model.params_active", e.model.params_active);
  add("model.params_embedding", e.model.params_embedding);
  add("model.params_routed_experts", e.model.params_routed_experts);
  add("model.flops_per_token", e.model.flops_per_token);
  add("model.flops_per_token_forward", e.model.flops_per_token_forward);
  add("model.moe_layers", e.model.moe_layers);
  add("model.dense_layers", e.model.dense_layers);
  add("model.granularity", e.model.granularity);
  add("model.expansion_rate", e.model.expansion_rate);
  add("cluster.name", e.cluster_name);
  add("cluster.accelerator", e.accelerator_name);
  add("cluster.devices", e.devices);
  add("layout.dp", e.layout.dp);
  add("layout.tp", e.layout.tp);
  add("layout.pp", e.layout.pp);
  add("layout.ep", e.layout.ep);
  add("layout.zero", std::int64_t{e.layout.zero});
  add("layout.sequence_parallel", e.layout.sp());
  add("layout.recompute", std::string(sim::to_string(e.layout.recompute)));
  add("layout.micro_batch", e.layout.micro_batch);
  add("layout.global_batch", e.layout.effective_global_batch());
  add("layout.pp_schedule", e.layout.schedule.interleaved()
                                ? "interleaved:" + std::to_string(e.layout.schedule.virtual_stages)
                                : std::string("1f1b"));
  add("layout.dtype", std::string(sim::to_string(e.layout.dtype)));
  add("layout.chosen", e.layout_chosen);
  add("memory.per_device_bytes", e.memory.per_device_bytes());
  add("memory.hbm_bytes", e.hbm_bytes);
  add("memory.fits", e.fits);
  add("memory.breakdown.weights", e.memory.weights_bytes);
  add("memory.breakdown.gradients", e.memory.gradients_bytes);
  add("memory.breakdown.optimizer", e.memory.optimizer_bytes);
  add("memory.breakdown.activations", e.memory.activations_bytes);
  add("memory.breakdown.moe_buffers", e.memory.moe_buffers_bytes);
  if (e.tokens) add("training.tokens", *e.tokens);
  r.notes = e.notes;
  for (const auto& f : r.fields) check_finite(f);
  return r;
}

std::string render_json(const Report& report) {
  ordered_json root = ordered_json::object();
  for (const auto& f : report.fields) {
    check_finite(f);
    ordered_json* node = &root;
    std::string::size_type start = 0, dot;
    while ((dot = f.path.find('.', start)) != std::string::npos) {
      node = &(*node)[f.path.substr(start, dot - start)];
      start = dot + 1;
    }
    (*node)[f.path.substr(start)] = to_json_value(f.value);
  }
  root["notes"] = report.notes;
  return root.dump(2) + "\n";
}

std::string render_csv(const Report& report) {
  std::ostringstream head, row;
  for (const auto& f : report.fields) {
    check_finite(f);
    head << f.path << ',';
    row << csv_escape(to_text(f.value)) << ',';
  }
  std::string notes;
  for (const auto& n : report.notes) notes += (notes.empty() ? "" : "; ") + n;
  head << "notes\n";
  row << csv_escape(notes) << '\n';
  return head.str() + row.str();
}

std::string render_estimate_table(const sim::Estimate& e) {
  make_report(e);  // the same finiteness checks as the other formats
  std::ostringstream o;
  auto line = [&o](const std::string& k, const std::string& v) {
    o << "  " << k << std::string(k.size() < 26 ? 26 - k.size() : 1, ' ') << v << '\n';
  };
  o << "moesim estimate: " << e.model_name << " on " << e.cluster_name << " (" << e.devices
    << " x " << e.accelerator_name << ")\n\n";
  o << "Model\n";
  line("params total", human_count(e.model.params_total));
  line("params active / token", human_count(e.model.params_active));
  line("train FLOPs / token", human_count(e.model.flops_per_token) + "FLOP");
  line("forward FLOPs / token", human_count(e.model.flops_per_token_forward) + "FLOP");
  if (e.model.moe_layers > 0) {
    line("MoE layers / dense", std::to_string(e.model.moe_layers) + " / " +
                                   std::to_string(e.model.dense_layers));
    line("granularity G", fixed(e.model.granularity, 2));
    line("expansion rate", fixed(e.model.expansion_rate, 2));
  }
  o << "\nLayout" << (e.layout_chosen ? " (chosen by moesim)" : "") << "\n";
  const auto& l = e.layout;
  line("dp x tp x pp", std::to_string(l.dp) + " x " + std::to_string(l.tp) + " x " +
                           std::to_string(l.pp) + (l.sp() ? " (sequence parallel)" : ""));
  line("ep", std::to_string(l.ep));
  line("ZeRO stage", std::to_string(l.zero));
  line("recompute", sim::to_string(l.recompute));
  line("micro / global batch", std::to_string(l.micro_batch) + " / " +
                                   std::to_string(l.effective_global_batch()) + " sequences");
  line("pipeline schedule", l.schedule.interleaved()
                                ? "interleaved:" + std::to_string(l.schedule.virtual_stages)
                                : "1f1b");
  o << "\nMemory per device (fullest)\n";
  line("weights", gb(e.memory.weights_bytes));
  line("gradients", gb(e.memory.gradients_bytes));
  line("optimizer states", gb(e.memory.optimizer_bytes));
  line("activations", gb(e.memory.activations_bytes));
  line("MoE buffers", gb(e.memory.moe_buffers_bytes));
  line("total", gb(e.memory.per_device_bytes()) + " of " + gb(e.hbm_bytes) +
                    (e.fits ? "  -> fits" : "  -> DOES NOT FIT"));
  if (e.tokens) {
    o << "\nTraining\n";
    line("tokens", human_count(*e.tokens));
  }
  if (!e.notes.empty()) {
    o << "\nNotes\n";
    for (const auto& n : e.notes) o << "  - " << n << '\n';
  }
  return o.str();
}

}  // namespace moesim::io
