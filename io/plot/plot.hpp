#pragma once
// moesim plot: a CSV (e.g. a sweep's output) in, a PNG, SVG or PDF chart out, rendered with
// Qt Charts offscreen. This header is Qt-free: the front end fills PlotOptions, prepare_chart
// checks them against the table and builds the series (pure), render_chart draws and writes
// them (Qt, io/plot/render.cpp). docs/plot.md documents the verb.
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/csv_table.hpp"

namespace moesim::io::plot {

enum class Kind { line, scatter, stacked_bar, pareto };
enum class OutFormat { png, svg, pdf };

// "line" -> Kind::line, ...; nullopt for an unknown name.
std::optional<Kind> kind_from_string(const std::string& name);
const char* to_string(Kind kind);
std::vector<std::string> kind_names();

struct PlotOptions {
  std::string x;               // column of the x axis
  std::vector<std::string> y;  // one or more columns of the y axis (one series each)
  std::string group;           // optional: one series per distinct value of this column
  // Only rows whose cell in column `first` equals `second` (as text, or as numbers when both
  // are numbers: "8" matches "8.0"); every condition must hold.
  std::vector<std::pair<std::string, std::string>> where;
  bool log_x = false, log_y = false;
  Kind kind = Kind::line;
  std::string title;  // default: "Y vs X"
  std::string out;    // .png, .svg or .pdf
  int width_px = 1000, height_px = 650;
};

// The format from the extension of `path` (case-insensitive); InputError naming --out.
OutFormat out_format(const std::string& path);

// The unit of a column from its name (docs/plot.md "Units"): "time.step_s" -> "s",
// "memory.per_device_bytes" -> "bytes", "training.cost_usd" -> "USD", "" when unknown.
std::string column_unit(const std::string& column);
// "time.step_s (s)", or the name alone when it has no unit.
std::string axis_title(const std::string& column);

struct Series {
  std::string name;
  std::vector<double> x, y;  // stacked-bar: y[j] is the segment at category j, x unused
};

struct Chart {
  Kind kind = Kind::line;
  std::string title, x_title, y_title;
  bool log_x = false, log_y = false;
  std::vector<Series> series;
  std::vector<std::string> categories;  // stacked-bar: the x values, in order
  Series frontier;                      // pareto: the lower-left frontier, by x ascending
  std::size_t rows_used = 0;            // rows with a value in x and every y
  std::size_t rows_skipped = 0;         // rows with an empty x or y cell (e.g. invalid points)
  std::size_t rows_filtered = 0;        // rows --where left out
};

// The most series one chart draws (a legend of more is unreadable).
constexpr std::size_t kMaxSeries = 64;

// Checks the options against the table and builds the chart: unknown columns, non-numeric
// cells, non-positive values on a log axis, options that do not apply to the kind, two rows
// for one bar segment and a table with no usable row are InputErrors ("source: field:
// rule"). Pure.
Chart prepare_chart(const CsvTable& table, const PlotOptions& options);

// Indices of the points on the lower-left Pareto frontier of (x, y), both minimized: the
// points no other point beats or equals in both coordinates while beating it in one, in
// ascending x (ties in x keep the lowest y once).
std::vector<std::size_t> pareto_frontier(const std::vector<double>& x,
                                         const std::vector<double>& y);

// Draws `chart` with Qt Charts offscreen (QT_QPA_PLATFORM=offscreen unless set; a
// QApplication is created here if none exists) and writes options.out through a temporary
// file in the same folder renamed over it, so a failure leaves nothing behind. Throws
// InputError when the output folder is missing and std::runtime_error when writing fails.
void render_chart(const Chart& chart, const PlotOptions& options);

}  // namespace moesim::io::plot
