#include <iostream>

#include "cli/common.hpp"
#include "cli/verbs.hpp"
#include "io/errors.hpp"
#include "io/loaders.hpp"

namespace moesim::cli {

int run_presets(const std::vector<std::string>& args) {
  po::options_description options("Presets");
  options.add_options()("action", po::value<std::string>(), "list | show")(
      "name", po::value<std::string>(), "preset name (for show)")(
      "kind", po::value<std::string>()->default_value(""),
      "models | accelerators | clusters (default: all; show finds the name in any kind)");
  po::positional_options_description pos;
  pos.add("action", 1).add("name", 1);
  auto vm = parse_verb_args(args, options,
                            "usage: moesim presets list [--kind KIND]\n"
                            "       moesim presets show NAME [--kind KIND]",
                            &pos);
  if (!vm) return 0;
  if (!vm->count("action")) throw io::InputError("command line", "presets", "expects list or show");
  const std::string action = (*vm)["action"].as<std::string>();
  const std::string kind = (*vm)["kind"].as<std::string>();
  if (!kind.empty() && kind != "models" && kind != "accelerators" && kind != "clusters" &&
      kind != "laws")
    throw io::InputError("--kind", "value",
                         "'" + kind + "' is not one of models, accelerators, clusters, laws");
  if (action == "list") {
    std::string current;
    for (const auto& p : io::list_presets(kind)) {
      if (p.kind != current) {
        std::cout << (current.empty() ? "" : "\n") << p.kind << ":\n";
        current = p.kind;
      }
      std::cout << "  " << p.name << std::string(p.name.size() < 20 ? 20 - p.name.size() : 1, ' ')
                << p.summary << '\n';
    }
    return 0;
  }
  if (action == "show") {
    if (!vm->count("name")) throw io::InputError("command line", "presets show", "needs a NAME");
    const std::string name = (*vm)["name"].as<std::string>();
    // An empty kind searches every kind (with a did-you-mean across all of them).
    const std::string& k = kind;
    std::cout << io::preset_text(k, name);
    return 0;
  }
  throw io::InputError("command line", "presets", "'" + action + "' is not list or show");
}

}  // namespace moesim::cli
