#pragma once
// `moesim simulate`'s report: the estimate's (io/report.hpp) plus the simulation's own keys
// (CLI.md: events.*, imbalance.*).
#include <string>
#include <vector>

#include "io/report.hpp"
#include "sim/event/simulator.hpp"

namespace moesim::io {

Report make_simulation_report(const sim::event::Simulation& simulation);
// The paths make_simulation_report adds to the estimate's, in order (sweep columns).
const std::vector<std::string>& simulation_report_paths();
// The estimate's table with the simulation's section appended.
std::string render_simulation_table(const sim::event::Simulation& simulation);

}  // namespace moesim::io
