#pragma once
// moesim plot (CLI.md): a CSV such as a sweep's output in, a PNG, SVG or PDF chart out,
// rendered offscreen with Qt Charts (io/plot/). docs/plot.md documents it.
#include <string>
#include <vector>

namespace moesim::cli {

// moesim plot FILE.csv --x COL --y COL[,COL...] [--group COL] [--log-x] [--log-y]
//             [--kind line|scatter|stacked-bar|pareto] [--title T] --out FIG.png|svg|pdf
//             [--width PX] [--height PX]
int run_plot(const std::vector<std::string>& args);

}  // namespace moesim::cli
