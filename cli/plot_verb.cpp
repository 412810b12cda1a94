#include "cli/plot_verb.hpp"

#include <iostream>

#include "cli/common.hpp"
#include "io/csv_table.hpp"
#include "io/errors.hpp"
#include "io/plot/plot.hpp"

namespace moesim::cli {
namespace {

const char* kPlotUsage =
    "usage: moesim plot FILE.csv --x COL --y COL[,COL...] [--group COL] [--where COL=V]...\n"
    "                   [--log-x] [--log-y]\n"
    "                   [--kind line|scatter|stacked-bar|pareto] [--title T]\n"
    "                   --out FIG.png|FIG.svg|FIG.pdf [--width PX] [--height PX]\n\n"
    "Draws columns of a CSV (e.g. a moesim sweep's output) offscreen with Qt Charts; the\n"
    "format is --out's extension. Rows with an empty x or y cell are skipped. Several --y\n"
    "columns are several series (the parts of a stacked bar); --group makes one series per\n"
    "value of a column. pareto: the points and their lower-left frontier. See docs/plot.md.";

// Splits "a,b,c" into its non-empty parts.
std::vector<std::string> split_columns(const std::string& text) {
  std::vector<std::string> parts;
  std::string part;
  for (char c : text) {
    if (c == ',') {
      if (!part.empty()) parts.push_back(part);
      part.clear();
    } else {
      part += c;
    }
  }
  if (!part.empty()) parts.push_back(part);
  return parts;
}

}  // namespace

int run_plot(const std::vector<std::string>& args) {
  po::options_description o("Plot");
  o.add_options()("csv", po::value<std::string>(), "the CSV file (positional)")(
      "x", po::value<std::string>(), "column of the x axis (required)")(
      "y", po::value<std::string>(), "column(s) of the y axis, comma-separated (required)")(
      "group", po::value<std::string>(), "one series per distinct value of this column")(
      "where", po::value<std::vector<std::string>>()->composing(),
      "COL=VALUE: only rows with this value, repeatable (e.g. --where status=ok)")(
      "log-x", po::bool_switch(), "logarithmic x axis")("log-y", po::bool_switch(),
                                                        "logarithmic y axis")(
      "kind", po::value<std::string>()->default_value("line"), "line|scatter|stacked-bar|pareto")(
      "title", po::value<std::string>(), "chart title (default: 'Y vs X')")(
      "out", po::value<std::string>(), "output file: .png, .svg or .pdf (required)")(
      "width", po::value<std::string>(), "width in pixels (default 1000)")(
      "height", po::value<std::string>(), "height in pixels (default 650)");
  po::positional_options_description positional;
  positional.add("csv", 1);
  auto parsed = parse_verb_args(args, o, kPlotUsage, &positional);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
#ifndef MOESIM_HAVE_PLOT
  std::cerr << "error: moesim plot: this moesim was built without Qt6 Charts (install "
               "qt6-charts-dev and qt6-svg-dev, then reconfigure)\n";
  return 1;
#else
  // Every flag is checked before the CSV is read, and the CSV before anything is drawn.
  if (!has(vm, "csv")) throw io::InputError("plot", "FILE.csv", "a CSV file is required");
  if (!has(vm, "out")) throw io::InputError("--out", "value", "is required");
  if (!has(vm, "x")) throw io::InputError("--x", "value", "is required");
  if (!has(vm, "y")) throw io::InputError("--y", "value", "is required");
  io::plot::PlotOptions options;
  options.out = text_of(vm, "out");
  io::plot::out_format(options.out);
  options.x = text_of(vm, "x");
  options.y = split_columns(text_of(vm, "y"));
  if (options.y.empty()) throw io::InputError("--y", "value", "names no column");
  if (has(vm, "group")) options.group = text_of(vm, "group");
  if (has(vm, "where"))
    for (const auto& w : vm["where"].as<std::vector<std::string>>()) {
      const auto eq = w.find('=');
      if (eq == std::string::npos || eq == 0)
        throw io::InputError("--where", "value", "'" + w + "' is not COLUMN=VALUE");
      options.where.emplace_back(w.substr(0, eq), w.substr(eq + 1));
    }
  options.log_x = vm["log-x"].as<bool>();
  options.log_y = vm["log-y"].as<bool>();
  const std::string kind = text_of(vm, "kind");
  const auto k = io::plot::kind_from_string(kind);
  if (!k) {
    const std::string hint = io::did_you_mean(kind, io::plot::kind_names());
    throw io::InputError("--kind", "value",
                         "'" + kind + "' is not one of line, scatter, stacked-bar, pareto" +
                             (hint.empty() ? std::string() : "; did you mean '" + hint + "'?"));
  }
  options.kind = *k;
  if (has(vm, "title")) options.title = text_of(vm, "title");
  if (has(vm, "width"))
    options.width_px = static_cast<int>(parse_positive(text_of(vm, "width"), "--width", 10000));
  if (has(vm, "height"))
    options.height_px = static_cast<int>(parse_positive(text_of(vm, "height"), "--height", 10000));
  if (options.width_px < 200) throw io::InputError("--width", "value", "must be at least 200");
  if (options.height_px < 150) throw io::InputError("--height", "value", "must be at least 150");

  const io::CsvTable table = io::read_csv(text_of(vm, "csv"));
  const io::plot::Chart chart = io::plot::prepare_chart(table, options);
  io::plot::render_chart(chart, options);
  return 0;
#endif
}

}  // namespace moesim::cli
