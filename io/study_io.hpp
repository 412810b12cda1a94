#pragma once
// moesim-gui studies: the configurations a user compares, saved as JSON and read back. Each
// scenario is the CLI's input written out: the model in the model file format of CLI.md
// (io::parse_model reads it, with the CLI's rules and messages), the cluster (a preset name or
// file, as --cluster), --devices, the layout flags (absent: automatic), --tokens and the loss
// law (as `moesim loss --law`). docs/gui.md documents the format. Saving, loading and saving
// again gives the same bytes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/spec.hpp"
#include "sim/layout.hpp"

namespace moesim::io {

struct StudyScenario {
  std::string name;               // the label the GUI shows ("A", "B", ...)
  model::ModelSpec model;         // the model, in full
  std::string preset;             // the preset it was derived from ("" = none): GUI form only
  std::vector<std::string> sets;  // the --set overrides on that preset: GUI form only
  std::string cluster;            // preset name or JSON file, as --cluster
  std::int64_t devices = 0;       // as --devices; 0 = the cluster's own count
  // nullopt: moesim picks the layout. Otherwise dp, tp, pp, ep, zero, recompute, micro_batch
  // and global_batch (0 = default) as the layout flags give them; the rest keep the defaults.
  std::optional<sim::Layout> layout;
  std::optional<double> tokens;  // training tokens (--tokens)
  std::string law;               // loss law preset or file ("" = none)
};

struct Study {
  StudyScenario current;              // the configuration in the form
  std::vector<StudyScenario> pinned;  // the scenarios compared side by side
};

// The model file of CLI.md for `spec`: parse_model(render_model_json(spec)) gives back `spec`
// (every field, exactly). Optional fields at their "absent" value are left out.
std::string render_model_json(const model::ModelSpec& spec);

std::string render_study_json(const Study& study);
// Strict, like every io/ reader: unknown keys, wrong types and broken model rules throw
// InputError naming `source`, the field path ("pinned[1].model.moe.top_k") and the rule.
Study parse_study(std::string_view json_text, const std::string& source);
Study load_study(const std::string& path);
// Writes the study to `path`; throws InputError(path, "", rule) when it cannot.
void save_study(const std::string& path, const Study& study);

}  // namespace moesim::io
