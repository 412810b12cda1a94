#pragma once
// A CSV file as a table of text cells (RFC 4180: a header line, quoted cells with "" for a
// quote), for `moesim plot` and anything else that reads a sweep's output. Errors are
// InputErrors naming the file, the line or column, and the rule.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moesim::io {

struct CsvTable {
  std::string source;  // the file, for error messages
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each has header.size() cells

  // The index of column `name`; throws InputError(flag, "column", "unknown column 'x'; did
  // you mean 'y'?") when there is none.
  std::size_t column(const std::string& name, const std::string& flag) const;

  // The number in row `row`, column `col`: empty cells are nullopt (a point with no value,
  // e.g. an invalid sweep point), "true"/"false" are 1/0, anything else must be a finite
  // number or InputError(source, "line L, column NAME", "'x' is not a number").
  std::optional<double> number(std::size_t row, std::size_t col) const;
  // The 1-based line of row `row` in the file (the header is line 1).
  std::size_t line_of(std::size_t row) const;

  std::vector<std::size_t> lines;  // line_of() for each row
};

// Parses CSV text; throws InputError(source, "line N", rule) for a row whose cell count is not
// the header's, an unterminated quote, or a file with no header.
CsvTable parse_csv(std::string_view text, const std::string& source);
// Reads and parses the file at `path`; a missing or unreadable file is an InputError.
CsvTable read_csv(const std::string& path);

}  // namespace moesim::io
