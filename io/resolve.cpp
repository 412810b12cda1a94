#include "io/resolve.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "io/embedded_presets.hpp"
#include "io/errors.hpp"

namespace moesim::io::detail {

namespace fs = std::filesystem;

std::optional<Document> find_preset(const std::string& kind, const std::string& name) {
  for (const auto& p : embedded_presets()) {
    if (p.kind == kind && p.name == name)
      return Document{std::string(p.json_text), "preset " + name, name, ""};
  }
  return std::nullopt;
}

std::vector<std::string> preset_names(const std::string& kind) {
  std::vector<std::string> names;
  for (const auto& p : embedded_presets())
    if (kind.empty() || p.kind == kind) names.emplace_back(p.name);
  return names;
}

std::optional<std::string> read_file(const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return std::nullopt;
  if (fs::is_directory(status)) throw InputError(path, "", "is a directory, not a JSON file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "", "cannot open file for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError(path, "", "error while reading the file");
  return text.str();
}

std::string default_name(const std::string& source) {
  if (source.rfind("preset ", 0) == 0) return source.substr(7);
  return fs::path(source).stem().string();
}

Document resolve(const std::string& kind, const std::string& name_or_path,
                 const std::string& flag) {
  if (auto preset = find_preset(kind, name_or_path)) return *preset;
  if (!name_or_path.empty()) {
    if (auto text = read_file(name_or_path)) {
      return Document{std::move(*text), name_or_path, default_name(name_or_path),
                      fs::path(name_or_path).parent_path().string()};
    }
  }
  std::string rule = "no preset or file named '" + name_or_path + "'";
  const std::string hint = did_you_mean(name_or_path, preset_names(kind));
  if (!hint.empty()) {
    rule += "; did you mean '" + hint + "'?";
  } else {
    rule += " (moesim presets list --kind " + kind + " lists the presets)";
  }
  throw InputError(flag, "", rule);
}

}  // namespace moesim::io::detail
