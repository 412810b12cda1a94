#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/sweep_spec.hpp"

namespace moesim::cli {

// moesim sweep SPEC --out FILE [--format csv|jsonl] [--threads N] [--resume] [--shard i/n]
// (also under `mpirun -n N`: the points are split over the ranks, rank 0 writes FILE).
int run_sweep(const std::vector<std::string>& args);

// A spec's text parsed with the keys `moesim sweep` accepts (its verb's flags).
io::SweepSpec parse_cli_sweep_spec(const std::string& text, const std::string& source);

// The output line of point `point` of `spec`: exactly what `moesim sweep` appends for it.
// Thread-safe (each thread keeps its own cache of models, clusters and networks); an
// internal error is a row with status invalid and sets *internal_error when given.
std::string sweep_point_row(const io::SweepSpec& spec, std::int64_t point, io::SweepFormat format,
                            bool* internal_error = nullptr);

}  // namespace moesim::cli
