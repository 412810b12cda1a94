#pragma once
// What the window's form says, as plain values, and its translation to the same
// sim::EstimateInput the CLI builds from the equivalent flags (cli/common.cpp). No Qt here:
// the GUI's numbers come from sim::estimate, io::make_report and model::laws (through
// io::make_loss_report, as `moesim loss` prints them), never from gui/ itself.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/report.hpp"
#include "model/spec.hpp"
#include "sim/estimate.hpp"
#include "sim/layout.hpp"

namespace moesim::gui {

struct EstimateRequest {
  std::string model;  // preset name or JSON file (as --model)
  // A model in the model file format (from a study file), used instead of `model` when set;
  // `model_source` names it in error messages.
  std::string model_json;
  std::string model_source;
  // "PATH=VALUE" model overrides (as --set; the MoE knobs of the form).
  std::vector<std::string> sets;
  std::string cluster;  // preset name or JSON file (as --cluster)
  int devices = 0;      // as --devices; 0 = the cluster's own count
  // nullopt: moesim picks the layout (no layout flags on the command line). Otherwise every
  // field is given, as if --dp --tp --pp --ep --zero --recompute --micro-batch (and
  // --global-batch when > 0) were all passed.
  std::optional<sim::Layout> layout;
  std::string tokens;  // as --tokens ("1T", "300B", "1e12"); "" = none
  std::string law;     // loss law preset or file, as `moesim loss --law`; "" = none
};

struct EstimateOutcome {
  std::optional<io::Report> report;  // set on success
  // On bad input: the line the CLI prints on stderr for the same flags ("error: <source>:
  // <path>: <rule>"); "internal error: ..." for anything else. Empty on success.
  std::string error;
  // The input the error is about: a model path ("moe.top_k") or a flag ("--ep", "--tokens",
  // "--devices", "--model", "--cluster"). Empty when unknown.
  std::string error_field;
  std::optional<model::ModelSpec> model;  // the model with the overrides applied
  // The law's prediction (`moesim loss --format json`'s report), or why there is none.
  std::optional<io::Report> loss;
  std::string loss_error;
  std::vector<std::string> loss_warnings;
};

// Loads the model and the cluster, validates the layout the way the CLI does, estimates and
// makes the report; then evaluates the loss law. Never throws.
EstimateOutcome run_estimate(const EstimateRequest& request);

// The input `moesim estimate` would build from the request's flags (throws io::InputError
// naming the flag, as the CLI does); run_estimate and the timeline's simulation share it.
sim::EstimateInput estimate_input(const EstimateRequest& request);

// The model of the request (overrides applied); throws io::InputError as the CLI would.
model::ModelSpec load_request_model(const EstimateRequest& request,
                                    const std::vector<std::string>& extra_sets = {});

// The `moesim estimate` arguments (after the verb) that give the same report with
// --format json: what the window shows as "CLI equivalent" and what the GUI test runs.
// A model from a study file is named "MODEL.json" (save it with "Save model file").
std::vector<std::string> cli_arguments(const EstimateRequest& request);
// The `moesim loss` arguments that give the same loss report (empty without a law).
std::vector<std::string> loss_cli_arguments(const EstimateRequest& request);

// A double as the shortest text that reads back to it ("1e+12", "0.5"): for flag values.
std::string format_number(double v);

// A token count as --tokens text: "300B", "14.8T", or the plain number, whichever reads back
// (io::parse_count) to exactly `v`.
std::string format_tokens(double v);

// Which input an error is about (see EstimateOutcome::error_field).
std::string error_field(const std::string& source, const std::string& path);

}  // namespace moesim::gui
