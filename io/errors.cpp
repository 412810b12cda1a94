#include "io/errors.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <vector>

namespace moesim::io {

namespace {

// "<source>: <path>: <rule>" (CLI.md); a message with no field path drops that part.
std::string join_message(const std::string& source, const std::string& path,
                         const std::string& rule) {
  std::string out = source;
  if (!path.empty()) out += ": " + path;
  if (!rule.empty()) out += ": " + rule;
  return out;
}

std::string lower(const std::string& s) {
  std::string out = s;
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Optimal string alignment distance (Damerau-Levenshtein restricted to one edit per
// substring): insertions, deletions, substitutions and adjacent transpositions cost 1.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1, 0));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

}  // namespace

InputError::InputError(std::string source, std::string path, std::string rule)
    : std::runtime_error(join_message(source, path, rule)),
      source_(std::move(source)),
      path_(std::move(path)),
      rule_(std::move(rule)) {}

void throw_first(const std::string& source, const FieldErrors& errors) {
  if (errors.empty()) throw InputError(source, "", "invalid input");
  throw InputError(source, errors.front().path, errors.front().rule);
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  // A candidate is close when at most max(2, |word|/3) edits away (1 for words of four
  // letters or fewer, where two edits are half the word), case ignored; the closest wins,
  // the earlier one on a tie. Failing that, a unique prefix relation is close: "mixtral"
  // for "mixtral-8x7b", "vocab" for "vocab_size".
  const std::string w = lower(word);
  const std::size_t threshold = w.size() <= 4 ? 1 : std::max<std::size_t>(2, w.size() / 3);
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& c : candidates) {
    if (c == word) continue;
    const std::size_t d = edit_distance(w, lower(c));
    if (d <= threshold && d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  if (!best.empty() || w.size() < 3) return best;
  std::string prefix_match;
  for (const auto& c : candidates) {
    const std::string lc = lower(c);
    if (lc.size() < 3 || lc == w) continue;
    if (lc.rfind(w, 0) == 0 || w.rfind(lc, 0) == 0) {
      if (!prefix_match.empty()) return "";
      prefix_match = c;
    }
  }
  return prefix_match;
}

}  // namespace moesim::io
