#pragma once
// Presets and user files in: JSON → validated value types. Every rule broken throws
// InputError naming the file, the field path and the rule; unknown keys get a did-you-mean.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/accelerator.hpp"
#include "hardware/cluster.hpp"
#include "model/spec.hpp"

namespace moesim::io {

// `name_or_path`: a preset name (see list_presets) or a path to a JSON file.
// `sets`: "PATH=VALUE" overrides applied to the JSON before it is checked (--set).
model::ModelSpec load_model(const std::string& name_or_path,
                            const std::vector<std::string>& sets = {});
model::ModelSpec parse_model(std::string_view json_text, const std::string& source,
                             const std::vector<std::string>& sets = {});

hw::Accelerator load_accelerator(const std::string& name_or_path);
hw::Accelerator parse_accelerator(std::string_view json_text, const std::string& source);

// `devices`: --devices N, resizes the cluster (a torus takes the nearest valid slice).
hw::ClusterSpec load_cluster(const std::string& name_or_path,
                             std::optional<int> devices = std::nullopt);
hw::ClusterSpec parse_cluster(std::string_view json_text, const std::string& source,
                              std::optional<int> devices = std::nullopt);

struct PresetInfo {
  std::string kind;  // models, accelerators, clusters, laws
  std::string name;
  std::string summary;  // one line: e.g. "MoE 8x top-2, 46.7B params (Jiang et al. 2024)"
};
std::vector<PresetInfo> list_presets(const std::string& kind = "");
// The preset's JSON text; throws InputError with a did-you-mean for an unknown name.
std::string preset_text(const std::string& kind, const std::string& name);

}  // namespace moesim::io
