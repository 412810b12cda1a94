// moesim plot, the Qt-free half: options checked against the table, series built, units
// derived from column names. io/plot/render.cpp draws the result.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>

#include "io/errors.hpp"
#include "io/plot/plot.hpp"

namespace moesim::io::plot {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<double> as_number(const std::string& text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

// Distinct values in the order to show them: numerically ascending when every value is a
// number, else in order of first appearance.
std::vector<std::string> ordered_distinct(const std::vector<std::string>& values) {
  std::vector<std::string> distinct;
  for (const auto& v : values)
    if (std::find(distinct.begin(), distinct.end(), v) == distinct.end()) distinct.push_back(v);
  const bool numeric = std::all_of(distinct.begin(), distinct.end(),
                                   [](const std::string& v) { return as_number(v).has_value(); });
  if (numeric)
    std::stable_sort(
        distinct.begin(), distinct.end(),
        [](const std::string& a, const std::string& b) { return *as_number(a) < *as_number(b); });
  return distinct;
}

// "time.breakdown.compute_s" and "time.breakdown.pipeline_bubble_s" -> "time.breakdown".
std::string common_dotted_prefix(const std::vector<std::string>& names) {
  std::string prefix = names.front();
  for (const auto& n : names) {
    std::size_t i = 0;
    while (i < prefix.size() && i < n.size() && prefix[i] == n[i]) ++i;
    prefix.resize(i);
  }
  const auto dot = prefix.rfind('.');
  return dot == std::string::npos ? std::string() : prefix.substr(0, dot);
}

}  // namespace

std::optional<Kind> kind_from_string(const std::string& name) {
  if (name == "line") return Kind::line;
  if (name == "scatter") return Kind::scatter;
  if (name == "stacked-bar") return Kind::stacked_bar;
  if (name == "pareto") return Kind::pareto;
  return std::nullopt;
}

const char* to_string(Kind kind) {
  switch (kind) {
    case Kind::line:
      return "line";
    case Kind::scatter:
      return "scatter";
    case Kind::stacked_bar:
      return "stacked-bar";
    case Kind::pareto:
      return "pareto";
  }
  return "line";
}

std::vector<std::string> kind_names() {
  return {"line", "scatter", "stacked-bar", "pareto"};
}

OutFormat out_format(const std::string& path) {
  const std::string ext = lower(std::filesystem::path(path).extension().string());
  if (ext == ".png") return OutFormat::png;
  if (ext == ".svg") return OutFormat::svg;
  if (ext == ".pdf") return OutFormat::pdf;
  throw InputError(
      "--out", "value",
      "'" + path + "' does not end in .png, .svg or .pdf (the format is the extension)");
}

std::string column_unit(const std::string& column) {
  // Whole names first: the ones whose suffix alone would mislead.
  static const std::map<std::string, std::string> exact = {
      {"throughput.mfu", "fraction of peak"},
      {"throughput.hfu", "fraction of peak"},
      {"throughput.flops_per_device", "FLOP/s"},
      {"throughput.tokens_per_step", "tokens"},
      {"model.flops_per_token", "FLOP/token"},
      {"model.flops_per_token_forward", "FLOP/token"},
      {"loss.value", "nats/token"},
      {"loss", "nats/token"},
  };
  if (const auto it = exact.find(column); it != exact.end()) return it->second;
  if (starts_with(column, "memory.breakdown.")) return "bytes";
  // The last dotted segment's suffix ("set:moe.experts" -> "experts").
  std::string leaf =
      column.substr(column.rfind('.') == std::string::npos ? 0 : column.rfind('.') + 1);
  if (starts_with(leaf, "set:")) leaf = leaf.substr(4);
  if (ends_with(leaf, "_per_s")) return leaf.substr(0, leaf.size() - 6) + "/s";  // tokens_per_s
  static const std::vector<std::pair<std::string, std::string>> suffixes = {
      {"_Bps", "B/s"}, {"_bps", "bit/s"}, {"_s", "s"}, {"_bytes", "bytes"}, {"_usd", "USD"},
      {"_kwh", "kWh"}, {"_hours", "h"},   {"_w", "W"}, {"_flops", "FLOP"},  {"_tokens", "tokens"},
  };
  for (const auto& [suffix, unit] : suffixes)
    if (ends_with(leaf, suffix)) return unit;
  if (leaf == "tokens") return "tokens";
  if (leaf == "flops") return "FLOP";
  if (starts_with(leaf, "params")) return "parameters";
  return "";
}

std::string axis_title(const std::string& column) {
  const std::string unit = column_unit(column);
  return unit.empty() ? column : column + " (" + unit + ")";
}

std::vector<std::size_t> pareto_frontier(const std::vector<double>& x,
                                         const std::vector<double>& y) {
  std::vector<std::size_t> order(std::min(x.size(), y.size()));
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return x[a] < x[b] || (x[a] == x[b] && y[a] < y[b]);
  });
  std::vector<std::size_t> frontier;
  for (std::size_t i : order)
    if (frontier.empty() || y[i] < y[frontier.back()]) frontier.push_back(i);
  return frontier;
}

Chart prepare_chart(const CsvTable& table, const PlotOptions& o) {
  if (o.y.empty()) throw InputError("--y", "value", "is required");
  if (o.x.empty()) throw InputError("--x", "value", "is required");
  const bool bars = o.kind == Kind::stacked_bar;
  if (!o.group.empty() && o.y.size() > 1)
    throw InputError("--group", "value",
                     "applies with a single --y column (several --y columns are the series)");
  if (o.kind == Kind::pareto && o.y.size() > 1)
    throw InputError("--y", "value", "pareto takes one y column");
  if (bars && o.log_x)
    throw InputError("--log-x", "", "does not apply to stacked-bar (x is categories)");
  if (bars && o.log_y)
    throw InputError("--log-y", "", "does not apply to stacked-bar (stacks add up linearly)");

  const std::size_t xc = table.column(o.x, "--x");
  std::vector<std::size_t> yc;
  for (const auto& y : o.y) yc.push_back(table.column(y, "--y"));
  const bool gc = !o.group.empty();
  const std::size_t group_col = gc ? table.column(o.group, "--group") : 0;

  Chart chart;
  chart.kind = o.kind;
  chart.log_x = o.log_x;
  chart.log_y = o.log_y;
  chart.x_title = bars ? o.x : axis_title(o.x);
  if (o.y.size() == 1) {
    chart.y_title = axis_title(o.y.front());
  } else {
    const std::string unit = column_unit(o.y.front());
    const bool same = std::all_of(o.y.begin(), o.y.end(),
                                  [&](const std::string& y) { return column_unit(y) == unit; });
    std::string name = common_dotted_prefix(o.y);
    if (name.empty()) name = "value";
    chart.y_title = same && !unit.empty() ? name + " (" + unit + ")" : name;
  }
  if (!o.title.empty()) {
    chart.title = o.title;
  } else {
    for (const auto& y : o.y) chart.title += (chart.title.empty() ? "" : ", ") + y;
    chart.title += " vs " + o.x;
    if (!o.group.empty()) chart.title += " by " + o.group;
  }

  // The rows with every value present; their x (number or category text), y's and group.
  struct Row {
    double x = 0;
    std::string x_text, group;
    std::vector<double> y;
  };
  std::vector<Row> rows;
  auto positive = [&](double v, std::size_t r, std::size_t c, const char* flag) {
    if (!(v > 0)) {
      char text[64];
      std::snprintf(text, sizeof text, "%g", v);
      throw InputError(table.source,
                       "line " + std::to_string(table.line_of(r)) + ", column " + table.header[c],
                       std::string(text) + " is not positive; " + flag + " needs positive values");
    }
  };
  std::vector<std::pair<std::size_t, std::string>> where;
  for (const auto& [column, value] : o.where)
    where.emplace_back(table.column(column, "--where"), value);
  auto matches = [&](std::size_t r) {
    for (const auto& [c, value] : where) {
      const std::string& cell = table.rows[r][c];
      if (cell == value) continue;
      const auto a = as_number(cell), b = as_number(value);
      if (!a || !b || *a != *b) return false;
    }
    return true;
  };
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    if (!matches(r)) {
      ++chart.rows_filtered;
      continue;
    }
    Row row;
    bool complete = true;
    if (bars) {
      row.x_text = table.rows[r][xc];
      complete = !row.x_text.empty();
    } else if (const auto v = table.number(r, xc)) {
      row.x = *v;
      if (o.log_x) positive(*v, r, xc, "--log-x");
    } else {
      complete = false;
    }
    for (std::size_t c : yc) {
      if (const auto v = table.number(r, c)) {
        if (o.log_y) positive(*v, r, c, "--log-y");
        row.y.push_back(*v);
      } else {
        complete = false;
      }
    }
    if (!complete) {
      ++chart.rows_skipped;
      continue;
    }
    if (gc) row.group = table.rows[r][group_col].empty() ? "(none)" : table.rows[r][group_col];
    rows.push_back(std::move(row));
  }
  chart.rows_used = rows.size();
  if (rows.empty()) {
    if (chart.rows_skipped == 0 && chart.rows_filtered > 0)
      throw InputError("--where", "value", "no row of " + table.source + " matches");
    throw InputError(table.source, "rows",
                     "no row has a value in " + o.x + " and in every --y column (" +
                         std::to_string(chart.rows_skipped) + " rows have an empty cell)");
  }

  // Series: one per --y column, or one per group value.
  std::vector<std::string> names;
  std::vector<std::string> groups;
  if (gc) {
    std::vector<std::string> all;
    for (const auto& r : rows) all.push_back(r.group);
    groups = ordered_distinct(all);
    if (groups.size() > kMaxSeries)
      throw InputError("--group", "column " + o.group,
                       "has " + std::to_string(groups.size()) +
                           " distinct values; a chart shows at most " + std::to_string(kMaxSeries) +
                           " series");
    for (const auto& g : groups) names.push_back(o.group + "=" + g);
  } else {
    names = o.y;
  }
  chart.series.resize(names.size());
  for (std::size_t s = 0; s < names.size(); ++s) chart.series[s].name = names[s];
  auto series_of = [&](const Row& r) {
    return gc ? static_cast<std::size_t>(std::find(groups.begin(), groups.end(), r.group) -
                                         groups.begin())
              : std::size_t{0};
  };

  if (bars) {
    std::vector<std::string> all;
    for (const auto& r : rows) all.push_back(r.x_text);
    chart.categories = ordered_distinct(all);
    constexpr std::size_t kMaxCategories = 500;
    if (chart.categories.size() > kMaxCategories)
      throw InputError("--x", "column " + o.x,
                       "has " + std::to_string(chart.categories.size()) +
                           " distinct values; a stacked-bar chart shows at most 500 bars");
    for (auto& s : chart.series) s.y.assign(chart.categories.size(), 0.0);
    // One row per bar (and group): two rows for one segment is a table that needs a filter
    // (--where), not something to add up silently.
    std::vector<std::vector<bool>> seen(chart.series.size(),
                                        std::vector<bool>(chart.categories.size(), false));
    for (const auto& r : rows) {
      const auto j = static_cast<std::size_t>(
          std::find(chart.categories.begin(), chart.categories.end(), r.x_text) -
          chart.categories.begin());
      const std::size_t first = series_of(r), last = gc ? first + 1 : r.y.size();
      for (std::size_t s = first; s < last; ++s) {
        if (seen[s][j])
          throw InputError("--x", "column " + o.x,
                           "several rows have " + o.x + "=" + r.x_text +
                               (gc ? " and " + o.group + "=" + r.group : std::string()) +
                               "; a stacked bar takes one row per bar (narrow them with --where "
                               "COLUMN=VALUE)");
        seen[s][j] = true;
        chart.series[s].y[j] = r.y[gc ? 0 : s];
      }
    }
    return chart;
  }

  for (const auto& r : rows) {
    if (gc) {
      auto& s = chart.series[series_of(r)];
      s.x.push_back(r.x);
      s.y.push_back(r.y.front());
    } else {
      for (std::size_t s = 0; s < r.y.size(); ++s) {
        chart.series[s].x.push_back(r.x);
        chart.series[s].y.push_back(r.y[s]);
      }
    }
  }
  if (o.kind == Kind::line) {
    // A line joins its points in x order.
    for (auto& s : chart.series) {
      std::vector<std::size_t> order(s.x.size());
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return s.x[a] < s.x[b]; });
      Series sorted{s.name, {}, {}};
      for (std::size_t i : order) {
        sorted.x.push_back(s.x[i]);
        sorted.y.push_back(s.y[i]);
      }
      s = std::move(sorted);
    }
  }
  if (o.kind == Kind::pareto) {
    std::vector<double> xs, ys;
    for (const auto& r : rows) {
      xs.push_back(r.x);
      ys.push_back(r.y.front());
    }
    chart.frontier.name = "Pareto frontier";
    for (std::size_t i : pareto_frontier(xs, ys)) {
      chart.frontier.x.push_back(xs[i]);
      chart.frontier.y.push_back(ys[i]);
    }
  }
  return chart;
}

}  // namespace moesim::io::plot
