#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/common.hpp"
#include "cli/verbs.hpp"
#include "io/errors.hpp"
#include "io/validation.hpp"

namespace moesim::cli {

int run_validate(const std::vector<std::string>& args) {
  po::options_description options("Validate");
  options.add_options()("out", po::value<std::string>(),
                        "write the markdown here (e.g. docs/validation.md); default stdout");
  auto vm = parse_verb_args(args, options,
                            "usage: moesim validate [--out docs/validation.md]\n"
                            "Recomputes every validation table from the published figures.");
  if (!vm) return 0;
  const std::string text = io::render_validation_markdown();
  if (!vm->count("out")) {
    std::cout << text;
    return 0;
  }
  const std::string path = (*vm)["out"].as<std::string>();
  // Write a sibling file, then rename: never a half-written table.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) throw io::InputError("--out", "value", "cannot write '" + path + "'");
    f << text;
    if (!f.flush()) throw io::InputError("--out", "value", "cannot write '" + path + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw io::InputError("--out", "value", "cannot write '" + path + "'");
  std::cout << "wrote " << path << '\n';
  return 0;
}

}  // namespace moesim::cli
