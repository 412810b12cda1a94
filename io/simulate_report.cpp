#include "io/simulate_report.hpp"

#include <cstdio>
#include <sstream>

namespace moesim::io {

Report make_simulation_report(const sim::event::Simulation& s) {
  Report r = make_report(s.estimate);
  const auto& st = s.stats;
  auto add = [&r](const std::string& path, ReportValue v) { r.fields.push_back({path, v}); };
  add("events.count", static_cast<std::int64_t>(st.events));
  add("events.wall_s", st.wall_s);
  add("events.simulated_s", st.simulated_s);
  add("events.ranks_simulated", st.ranks);
  add("events.tasks", st.tasks);
  add("events.collectives", st.collectives);
  add("events.flows", st.flows);
  add("events.flow_solves", st.flow_solves);
  add("events.network_model", std::string(st.coflows ? "coflows" : "flows"));
  add("imbalance.max_over_mean", st.max_over_mean);
  add("imbalance.slowdown", st.slowdown);
  add("imbalance.tokens_dropped", st.tokens_dropped);
  add("imbalance.tokens_routed", st.tokens_routed);
  add("imbalance.balanced_step_s", st.balanced_step_s);
  if (s.analytic_step) {
    add("analytic.step_s", s.analytic_step->step_s);
    add("analytic.difference", s.analytic_step->step_s > 0 && s.estimate.step
                                   ? s.estimate.step->step_s / s.analytic_step->step_s - 1
                                   : 0.0);
  }
  return r;
}

const std::vector<std::string>& simulation_report_paths() {
  static const std::vector<std::string> paths = {"events.count",
                                                 "events.wall_s",
                                                 "events.simulated_s",
                                                 "events.ranks_simulated",
                                                 "events.tasks",
                                                 "events.collectives",
                                                 "events.flows",
                                                 "events.flow_solves",
                                                 "events.network_model",
                                                 "imbalance.max_over_mean",
                                                 "imbalance.slowdown",
                                                 "imbalance.tokens_dropped",
                                                 "imbalance.tokens_routed",
                                                 "imbalance.balanced_step_s",
                                                 "analytic.step_s",
                                                 "analytic.difference"};
  return paths;
}

std::string render_simulation_table(const sim::event::Simulation& s) {
  make_simulation_report(s);  // the same finiteness checks as the other formats
  std::ostringstream o;
  std::string table = render_estimate_table(s.estimate);
  const std::string head = "moesim estimate:";
  if (table.rfind(head, 0) == 0) table = "moesim simulate:" + table.substr(head.size());
  o << table;
  char buf[160];
  auto line = [&o](const std::string& k, const std::string& v) {
    o << "  " << k << std::string(k.size() < 26 ? 26 - k.size() : 1, ' ') << v << '\n';
  };
  o << "\nSimulation\n";
  line("events", std::to_string(s.stats.events));
  std::snprintf(buf, sizeof buf, "%.3f s host, %.4f s simulated", s.stats.wall_s,
                s.stats.simulated_s);
  line("time", buf);
  line("ranks simulated", std::to_string(s.stats.ranks));
  line("flows", std::to_string(s.stats.flows));
  if (s.analytic_step && s.analytic_step->step_s > 0 && s.estimate.step) {
    std::snprintf(buf, sizeof buf, "%.4f s (simulated %+.1f%%)", s.analytic_step->step_s,
                  100 * (s.estimate.step->step_s / s.analytic_step->step_s - 1));
    line("analytic step", buf);
  }
  std::snprintf(buf, sizeof buf, "%.3f", s.stats.max_over_mean);
  line("busiest / mean rank load", buf);
  std::snprintf(buf, sizeof buf, "%.3f", s.stats.slowdown);
  line("slowdown vs balanced", buf);
  std::snprintf(buf, sizeof buf, "%.4g of %.4g assignments", s.stats.tokens_dropped,
                s.stats.tokens_routed);
  line("tokens dropped", buf);
  return o.str();
}

}  // namespace moesim::io
