#include "io/csv_table.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/errors.hpp"

namespace moesim::io {

std::size_t CsvTable::column(const std::string& name, const std::string& flag) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  std::string rule = "unknown column '" + name + "' in " + source;
  const std::string hint = did_you_mean(name, header);
  if (!hint.empty()) rule += "; did you mean '" + hint + "'?";
  throw InputError(flag, "column", rule);
}

std::size_t CsvTable::line_of(std::size_t row) const {
  return row < lines.size() ? lines[row] : row + 2;
}

std::optional<double> CsvTable::number(std::size_t row, std::size_t col) const {
  const std::string& cell = rows.at(row).at(col);
  if (cell.empty()) return std::nullopt;
  if (cell == "true") return 1.0;
  if (cell == "false") return 0.0;
  double v = 0;
  const char* first = cell.data();
  const char* last = cell.data() + cell.size();
  if (*first == '+') ++first;  // from_chars takes no leading '+'
  const auto [end, ec] = std::from_chars(first, last, v);
  if (ec != std::errc() || end != last || !std::isfinite(v))
    throw InputError(source, "line " + std::to_string(line_of(row)) + ", column " + header[col],
                     "'" + cell + "' is not a finite number");
  return v;
}

CsvTable parse_csv(std::string_view text, const std::string& source) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
  CsvTable table;
  table.source = source;
  std::vector<std::string> cells;
  std::string cell;
  std::size_t line = 1, record_line = 1;
  bool quoted = false, record_has_data = false;
  auto end_record = [&] {
    cells.push_back(std::move(cell));
    cell.clear();
    const bool blank = cells.size() == 1 && cells[0].empty() && !record_has_data;
    if (!blank) {
      if (table.header.empty()) {
        table.header = std::move(cells);
      } else {
        if (cells.size() != table.header.size())
          throw InputError(source, "line " + std::to_string(record_line),
                           "has " + std::to_string(cells.size()) + " cells, the header has " +
                               std::to_string(table.header.size()));
        table.rows.push_back(std::move(cells));
        table.lines.push_back(record_line);
      }
    }
    cells.clear();
    record_has_data = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        cell += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      record_has_data = true;
    } else if (c == ',') {
      cells.push_back(std::move(cell));
      cell.clear();
      record_has_data = true;
    } else if (c == '\n') {
      if (!cell.empty() && cell.back() == '\r') cell.pop_back();
      end_record();
      record_line = ++line;
    } else {
      cell += c;
    }
  }
  if (quoted)
    throw InputError(source, "line " + std::to_string(record_line), "a quoted cell is not closed");
  if (!cell.empty() || !cells.empty() || record_has_data) {
    if (!cell.empty() && cell.back() == '\r') cell.pop_back();
    end_record();
  }
  if (table.header.empty()) throw InputError(source, "line 1", "no header line (empty file)");
  return table;
}

CsvTable read_csv(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw InputError(
        path, "(file)",
        std::filesystem::exists(path, ec) ? "is not a regular file" : "does not exist");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "(file)", "cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  return parse_csv(s.str(), path);
}

}  // namespace moesim::io
