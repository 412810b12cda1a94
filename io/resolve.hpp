#pragma once
// Internal to io/: finding the text of a preset or a user file.
#include <optional>
#include <string>
#include <vector>

namespace moesim::io::detail {

struct Document {
  std::string text;
  std::string source;     // "preset NAME" or the path as given (error messages)
  std::string name;       // the preset name or the file's stem (a default "name")
  std::string directory;  // the file's folder ("" for presets): relative references
};

// A preset of `kind` named `name_or_path`, else a readable file at that path; otherwise
// InputError(flag, "", "no preset or file named 'X'; did you mean 'Y'?").
Document resolve(const std::string& kind, const std::string& name_or_path, const std::string& flag);

// The embedded preset of `kind` named `name`, if any.
std::optional<Document> find_preset(const std::string& kind, const std::string& name);
std::vector<std::string> preset_names(const std::string& kind);

// The whole file at `path`; nullopt when it does not exist; InputError(path, ...) when it
// exists but cannot be read.
std::optional<std::string> read_file(const std::string& path);

// "preset NAME" -> NAME, "dir/model.json" -> "model": the default name of a document.
std::string default_name(const std::string& source);

}  // namespace moesim::io::detail
