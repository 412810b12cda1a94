#include "io/routing_io.hpp"

#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "io/errors.hpp"

namespace moesim::io {
namespace {

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  const auto b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

bool to_number(const std::string& s, double& x) {
  try {
    std::size_t used = 0;
    x = std::stod(s, &used);
    return used == s.size() && std::isfinite(x);
  } catch (...) {
    return false;
  }
}

}  // namespace

sim::event::RoutingSpec parse_routing_histogram(const std::string& text,
                                                const std::string& source) {
  sim::event::RoutingSpec spec;
  spec.kind = sim::event::RoutingKind::histogram;
  std::istringstream in(text);
  std::string raw;
  int line_no = 0;
  bool two_columns = false, first_data = true;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(trim(cell));
    const std::string where = "line " + std::to_string(line_no);
    double a = 0, b = 0;
    if (first_data && !to_number(cells[0], a)) continue;  // a header row
    if (first_data) two_columns = cells.size() >= 2;
    first_data = false;
    if (cells.size() != (two_columns ? 2u : 1u))
      throw InputError(source, where,
                       "expected " + std::string(two_columns ? "2" : "1") +
                           " columns (expert,tokens), got " + std::to_string(cells.size()));
    if (two_columns) {
      if (!to_number(cells[0], a) || a < 0 || a != std::floor(a))
        throw InputError(source, where, "expert '" + cells[0] + "' is not an index >= 0");
      if (!to_number(cells[1], b) || b < 0)
        throw InputError(source, where, "tokens '" + cells[1] + "' is not a number >= 0");
      if (static_cast<std::size_t>(a) != spec.weights.size())
        throw InputError(source, where,
                         "expert " + cells[0] + " out of order (expected " +
                             std::to_string(spec.weights.size()) + ")");
      spec.weights.push_back(b);
    } else {
      if (!to_number(cells[0], a) || a < 0)
        throw InputError(source, where, "tokens '" + cells[0] + "' is not a number >= 0");
      spec.weights.push_back(a);
    }
  }
  if (spec.weights.empty()) throw InputError(source, "routing", "the histogram has no rows");
  double total = 0;
  for (double w : spec.weights) total += w;
  if (!(total > 0)) throw InputError(source, "routing", "the histogram has no tokens");
  return spec;
}

sim::event::RoutingSpec read_routing_histogram(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw InputError(path, "routing", "cannot open the histogram file");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_routing_histogram(ss.str(), path);
}

sim::event::RoutingSpec parse_routing_flag(const std::string& text, const std::string& flag) {
  if (text.rfind("file:", 0) == 0) {
    const std::string path = text.substr(5);
    if (path.empty()) throw InputError(flag, "routing", "file: needs a path");
    return read_routing_histogram(path);
  }
  FieldErrors errors;
  auto spec = sim::event::parse_routing(text, errors);
  if (!spec) throw_first(flag, errors);
  return *spec;
}

}  // namespace moesim::io
