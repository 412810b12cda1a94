#pragma once
// Bad user input, as the one line CLI.md asks for: "<source>: <field path>: <rule>".
// Thrown only inside io/ and caught by the front ends (exit code 2).
#include <stdexcept>
#include <string>

#include "model/field_error.hpp"

namespace moesim::io {

class InputError : public std::runtime_error {
 public:
  // source: a file name ("model.json"), a preset ("preset mixtral-8x7b") or a flag ("--ep").
  InputError(std::string source, std::string path, std::string rule);
  const std::string& source() const { return source_; }
  const std::string& path() const { return path_; }
  const std::string& rule() const { return rule_; }

 private:
  std::string source_, path_, rule_;
};

// The first of `errors` as an InputError from `source` (callers check errors non-empty).
[[noreturn]] void throw_first(const std::string& source, const FieldErrors& errors);

// The closest candidate by edit distance, or "" when none is close ("did you mean ...").
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace moesim::io
