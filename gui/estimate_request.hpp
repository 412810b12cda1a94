#pragma once
// What the window's form says, as plain values, and its translation to the same
// sim::EstimateInput the CLI builds from the equivalent flags (cli/common.cpp). No Qt here:
// the GUI's numbers come from sim::estimate and io::make_report, never from gui/ itself.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/report.hpp"
#include "sim/layout.hpp"

namespace moesim::gui {

struct EstimateRequest {
  std::string model;    // preset name or JSON file (as --model)
  std::string cluster;  // preset name or JSON file (as --cluster)
  int devices = 0;      // as --devices; 0 = the cluster's own count
  // nullopt: moesim picks the layout (no layout flags on the command line). Otherwise every
  // field is given, as if --dp --tp --pp --ep --zero --recompute --micro-batch (and
  // --global-batch when > 0) were all passed.
  std::optional<sim::Layout> layout;
};

struct EstimateOutcome {
  std::optional<io::Report> report;  // set on success
  // On bad input: the line the CLI prints on stderr for the same flags ("error: <source>:
  // <path>: <rule>"); "internal error: ..." for anything else. Empty on success.
  std::string error;
};

// Loads the model and the cluster, validates the layout the way the CLI does, estimates and
// makes the report. Never throws.
EstimateOutcome run_estimate(const EstimateRequest& request);

// The `moesim estimate` arguments (after the verb) that give the same report with
// --format json: what the window shows as "CLI equivalent" and what the GUI test runs.
std::vector<std::string> cli_arguments(const EstimateRequest& request);

}  // namespace moesim::gui
