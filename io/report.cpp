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

std::string gb(double bytes) {
  return fixed(bytes / 1e9, 2) + " GB";
}

}  // namespace

Report make_report(const sim::Estimate& e) {
  Report r;
  auto add = [&r](std::string path, ReportValue v) {
    r.fields.push_back({std::move(path), std::move(v)});
  };
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
  if (e.step) {
    const sim::StepResult& st = *e.step;
    const sim::StepBreakdown& b = st.breakdown;
    add("time.step_s", st.step_s);
    add("time.breakdown.compute_s", b.compute_s);
    add("time.breakdown.exposed_communication_s", b.exposed_communication_s);
    add("time.breakdown.pipeline_bubble_s", b.pipeline_bubble_s);
    add("time.breakdown.optimizer_s", b.optimizer_s);
    add("time.communication.tp_s", b.tp_s);
    add("time.communication.tp_exposed_s", b.tp_exposed_s);
    add("time.communication.ep_s", b.ep_s);
    add("time.communication.ep_exposed_s", b.ep_exposed_s);
    add("time.communication.ep_crosses_network", b.ep_crosses_network);
    add("time.communication.pp_s", b.pp_s);
    add("time.communication.pp_exposed_s", b.pp_exposed_s);
    add("time.communication.dp_s", b.dp_s);
    add("time.communication.dp_exposed_s", b.dp_exposed_s);
    add("time.busiest_stage", st.busiest_stage);
    add("throughput.tokens_per_step", st.tokens_per_step);
    add("throughput.tokens_per_s", st.tokens_per_s);
    add("throughput.mfu", st.mfu);
    add("throughput.hfu", st.hfu);
    add("throughput.flops_per_device", st.achieved_flops_per_device);
    add("power.average_device_w", st.average_power_w);
  }
  if (e.training) {
    const sim::TrainingTotals& t = *e.training;
    add("training.tokens", t.tokens);
    add("training.wall_s", t.wall_s);
    add("training.device_hours", t.device_hours);
    add("training.cost_usd", t.cost_usd);
    add("training.energy_kwh", t.energy_kwh);
    add("training.price_per_device_hour_usd", t.price_per_device_hour_usd);
  } else if (e.tokens) {
    add("training.tokens", *e.tokens);
  }
  r.notes = e.notes;
  for (const auto& f : r.fields) check_finite(f);
  return r;
}

namespace {

// The layout, time and memory fields of one ranked layout (estimate's paths).
std::vector<ReportField> layout_fields(const sim::RankedLayout& r) {
  std::vector<ReportField> f;
  auto add = [&f](std::string path, ReportValue v) {
    f.push_back({std::move(path), std::move(v)});
  };
  const sim::Layout& l = r.layout;
  add("layout.dp", l.dp);
  add("layout.tp", l.tp);
  add("layout.pp", l.pp);
  add("layout.ep", l.ep);
  add("layout.zero", std::int64_t{l.zero});
  add("layout.sequence_parallel", l.sp());
  add("layout.recompute", std::string(sim::to_string(l.recompute)));
  add("layout.micro_batch", l.micro_batch);
  add("layout.global_batch", l.effective_global_batch());
  add("layout.pp_schedule", l.schedule.interleaved()
                                ? "interleaved:" + std::to_string(l.schedule.virtual_stages)
                                : std::string("1f1b"));
  const sim::StepBreakdown& b = r.step.breakdown;
  add("time.step_s", r.step.step_s);
  add("time.breakdown.compute_s", b.compute_s);
  add("time.breakdown.exposed_communication_s", b.exposed_communication_s);
  add("time.breakdown.pipeline_bubble_s", b.pipeline_bubble_s);
  add("time.breakdown.optimizer_s", b.optimizer_s);
  add("throughput.tokens_per_s", r.step.tokens_per_s);
  add("throughput.mfu", r.step.mfu);
  add("memory.per_device_bytes", r.memory.per_device_bytes());
  add("objective_per_token", r.objective_per_token);
  return f;
}

}  // namespace

std::string render_optimize_table(const sim::OptimizerResult& result, const std::string& title) {
  std::ostringstream o;
  o << title << "\n\n";
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%4s %5s %3s %3s %4s %4s %-9s %3s %-14s %9s %10s %6s %7s %8s %8s %7s\n", "rank",
                "dp", "tp", "pp", "ep", "zero", "recompute", "mb", "schedule", "step_s", "tokens/s",
                "MFU", "mem_GB", "compute", "exp_comm", "bubble");
  o << buf;
  int rank = 1;
  for (const auto& r : result.top) {
    const sim::Layout& l = r.layout;
    const auto& b = r.step.breakdown;
    const std::string sched = l.schedule.interleaved()
                                  ? "interleaved:" + std::to_string(l.schedule.virtual_stages)
                                  : "1f1b";
    std::snprintf(buf, sizeof buf,
                  "%4d %5lld %3lld %3lld %4lld %4d %-9s %3lld %-14s %9.3f %10s %5.1f%% %7.1f %8.3f "
                  "%8.3f %7.3f\n",
                  rank++, static_cast<long long>(l.dp), static_cast<long long>(l.tp),
                  static_cast<long long>(l.pp), static_cast<long long>(l.ep), l.zero,
                  sim::to_string(l.recompute), static_cast<long long>(l.micro_batch), sched.c_str(),
                  r.step.step_s, human_count(r.step.tokens_per_s).c_str(), 100 * r.step.mfu,
                  r.memory.per_device_bytes() / 1e9, b.compute_s, b.exposed_communication_s,
                  b.pipeline_bubble_s);
    o << buf;
  }
  if (result.top.empty()) o << "  no layout fits in memory\n";
  o << "\nenumerated " << result.enumerated << ", valid " << result.valid << ", fitting "
    << result.fitting << "\n";
  if (!result.why.empty()) o << "why the winner wins: " << result.why << "\n";
  return o.str();
}

std::string render_optimize_json(const sim::OptimizerResult& result, sim::Objective objective) {
  ordered_json root = ordered_json::object();
  root["objective"] = sim::to_string(objective);
  root["enumerated"] = result.enumerated;
  root["valid"] = result.valid;
  root["fitting"] = result.fitting;
  root["why"] = result.why;
  root["layouts"] = ordered_json::array();
  for (const auto& r : result.top) {
    Report rep;
    rep.fields = layout_fields(r);
    ordered_json one = ordered_json::parse(render_json(rep));
    one.erase("notes");
    root["layouts"].push_back(one);
  }
  return root.dump(2) + "\n";
}

std::string render_optimize_csv(const sim::OptimizerResult& result) {
  std::ostringstream o;
  bool header = false;
  for (const auto& r : result.top) {
    const auto fields = layout_fields(r);
    if (!header) {
      o << "rank";
      for (const auto& f : fields) o << ',' << f.path;
      o << '\n';
      header = true;
    }
    o << (&r - result.top.data()) + 1;
    for (const auto& f : fields) {
      check_finite(f);
      o << ',' << csv_escape(to_text(f.value));
    }
    o << '\n';
  }
  return o.str();
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
  o << "moesim estimate: " << e.model_name << " on " << e.cluster_name << " (" << e.devices << " x "
    << e.accelerator_name << ")\n\n";
  o << "Model\n";
  line("params total", human_count(e.model.params_total));
  line("params active / token", human_count(e.model.params_active));
  line("train FLOPs / token", human_count(e.model.flops_per_token) + "FLOP");
  line("forward FLOPs / token", human_count(e.model.flops_per_token_forward) + "FLOP");
  if (e.model.moe_layers > 0) {
    line("MoE layers / dense",
         std::to_string(e.model.moe_layers) + " / " + std::to_string(e.model.dense_layers));
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
  if (e.step) {
    const sim::StepResult& st = *e.step;
    const sim::StepBreakdown& b = st.breakdown;
    auto pct = [&st](double part) { return " (" + fixed(100 * part / st.step_s, 1) + "%)"; };
    o << "\nStep time\n";
    line("step", fixed(st.step_s, 3) + " s");
    line("compute", fixed(b.compute_s, 3) + " s" + pct(b.compute_s));
    line("exposed communication",
         fixed(b.exposed_communication_s, 3) + " s" + pct(b.exposed_communication_s));
    line("  tp / ep / pp / dp", fixed(b.tp_exposed_s, 3) + " / " + fixed(b.ep_exposed_s, 3) +
                                    " / " + fixed(b.pp_exposed_s, 3) + " / " +
                                    fixed(b.dp_exposed_s, 3) + " s");
    line("pipeline bubble", fixed(b.pipeline_bubble_s, 3) + " s" + pct(b.pipeline_bubble_s));
    line("optimizer", fixed(b.optimizer_s, 3) + " s" + pct(b.optimizer_s));
    o << "\nThroughput\n";
    line("tokens / s", human_count(st.tokens_per_s));
    line("MFU / HFU", fixed(100 * st.mfu, 1) + "% / " + fixed(100 * st.hfu, 1) + "%");
    line("TFLOP/s per device", fixed(st.achieved_flops_per_device / 1e12, 1));
  }
  if (e.training) {
    const sim::TrainingTotals& t = *e.training;
    o << "\nTraining\n";
    line("tokens", human_count(t.tokens));
    line("wall time", fixed(t.wall_s / 86400, 2) + " days");
    line("device-hours", human_count(t.device_hours));
    line("cost", "$" + human_count(t.cost_usd) + " at $" + fixed(t.price_per_device_hour_usd, 2) +
                     "/device-hour");
    line("energy", fixed(t.energy_kwh / 1000, 1) + " MWh");
  } else if (e.tokens) {
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
