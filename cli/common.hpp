#pragma once
// Flags shared by the verbs (CLI.md "Common flags") and their translation to sim inputs.
#include <boost/program_options.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/estimate.hpp"

namespace moesim::cli {

namespace po = boost::program_options;

enum class Format { table, json, csv };

// Whether a flag was given, and its text.
inline bool has(const po::variables_map& vm, const char* flag) {
  return vm.count(flag) > 0;
}
inline std::string text_of(const po::variables_map& vm, const char* flag) {
  return vm[flag].as<std::string>();
}

// --model, --cluster, --devices, --set and the MoE shorthands.
po::options_description model_cluster_options();
// --dp --tp --pp --ep --zero --recompute --micro-batch --global-batch --pp-schedule --dtype
// --sequence-parallel.
po::options_description layout_options();
// --flash-attention --dualpipe --overlap-* --tp-overlap --pue
po::options_description step_options();
// --tokens --price --format
po::options_description run_options();

// Layout flags as given (unset ones empty).
struct PartialLayout {
  std::optional<std::int64_t> dp, tp, pp, ep, micro_batch, global_batch;
  std::optional<bool> sequence_parallel, flash_attention;
  std::optional<int> zero, virtual_stages;
  std::optional<sim::Recompute> recompute;
  std::optional<sim::MatrixDtype> dtype;
  bool any() const;
  // The defaults of docs/layout.md for what is unset.
  sim::Layout complete(std::int64_t devices) const;
};
// A positive integer flag value at most `max`; throws InputError naming the flag.
std::int64_t parse_positive(const std::string& text, const std::string& flag, std::int64_t max);
PartialLayout read_layout_flags(const po::variables_map& vm);

// The layout the given flags complete to on `devices` (none when no layout flag was given),
// validated against the model; throws io::InputError naming the flag, as every verb reports.
std::optional<sim::Layout> complete_layout(const PartialLayout& partial,
                                           const model::ModelSpec& model, std::int64_t devices);
sim::StepOptions read_step_options(const po::variables_map& vm);

// --set values plus the MoE shorthands (--experts, --top-k, --expert-ff, --moe-every) as
// "PATH=VALUE" overrides for io::load_model.
std::vector<std::string> model_sets(const po::variables_map& vm);

// Reads the flags above into an EstimateInput; throws io::InputError naming the flag.
sim::EstimateInput read_estimate_input(const po::variables_map& vm);
Format read_format(const po::variables_map& vm);

// Parses argv after the verb; --help prints `usage` and the options and returns nullopt.
std::optional<po::variables_map> parse_verb_args(
    const std::vector<std::string>& args, const po::options_description& options,
    const std::string& usage, const po::positional_options_description* positional = nullptr);

}  // namespace moesim::cli
