#include "cli/common.hpp"

#include <charconv>
#include <iostream>

#include "io/errors.hpp"
#include "io/loaders.hpp"
#include "io/units.hpp"

namespace moesim::cli {
namespace {

std::int64_t parse_int_flag(const po::variables_map& vm, const std::string& flag) {
  const std::string text = vm[flag].as<std::string>();
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    throw io::InputError("--" + flag, "value", "'" + text + "' is not an integer");
  if (v < 1) throw io::InputError("--" + flag, "value", "must be at least 1, got " + text);
  return v;
}

std::string hint(const std::string& word, const std::vector<std::string>& options) {
  const std::string s = io::did_you_mean(word, options);
  return s.empty() ? std::string() : "; did you mean '" + s + "'?";
}

bool parse_bool_flag(const po::variables_map& vm, const std::string& flag) {
  const std::string s = vm[flag].as<std::string>();
  if (s == "true") return true;
  if (s == "false") return false;
  throw io::InputError("--" + flag, "value", "'" + s + "' is not true or false");
}

}  // namespace

po::options_description model_cluster_options() {
  po::options_description o("Model and cluster");
  o.add_options()("model", po::value<std::string>(),
                  "model preset name (moesim presets list) or JSON file")(
      "cluster", po::value<std::string>(), "cluster preset name or JSON file")(
      "devices", po::value<std::string>(), "override the number of accelerators")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a model field, repeatable: --set moe.experts=64")(
      "experts", po::value<std::string>(), "shorthand for --set moe.experts=N")(
      "top-k", po::value<std::string>(), "shorthand for --set moe.top_k=K")(
      "expert-ff", po::value<std::string>(), "shorthand for --set moe.d_ff_expert=F")(
      "moe-every", po::value<std::string>(), "shorthand for --set moe.every=K");
  return o;
}

po::options_description layout_options() {
  po::options_description o("Parallel layout (none given: moesim picks one)");
  o.add_options()("dp", po::value<std::string>(), "data-parallel size (default devices/(tp*pp))")(
      "tp", po::value<std::string>(), "tensor-parallel size")(
      "pp", po::value<std::string>(), "pipeline-parallel size")("ep", po::value<std::string>(),
                                                                "expert-parallel size, divides dp")(
      "sequence-parallel", po::value<std::string>(), "true|false (default true when tp > 1)")(
      "zero", po::value<std::string>(), "ZeRO stage 0|1|2|3 (default 1)")(
      "recompute", po::value<std::string>(), "none|selective|full (default selective)")(
      "micro-batch", po::value<std::string>(), "sequences per micro-batch (default 1)")(
      "global-batch", po::value<std::string>(), "sequences per step (default ~4M tokens)")(
      "pp-schedule", po::value<std::string>(), "1f1b|interleaved:V (default 1f1b)")(
      "dtype", po::value<std::string>(), "matrix precision bf16|fp8 (default bf16)");
  return o;
}

po::options_description step_options() {
  po::options_description o("Step model (docs/step_model.md)");
  o.add_options()("flash-attention", po::value<std::string>(), "true|false (default true)")(
      "dualpipe", po::value<std::string>(),
      "true|false: hide expert all-to-alls behind another micro-batch (DeepSeek-V3)")(
      "overlap-grad-reduce", po::value<std::string>(), "true|false (default true)")(
      "overlap-param-gather", po::value<std::string>(), "true|false (default true)")(
      "grad-accumulation-fusion", po::value<std::string>(),
      "true|false: weight-gradient GEMMs add into the fp32 gradients (default true); false "
      "adds them after every micro-batch (Megatron-LM 2021)")(
      "tp-overlap", po::value<std::string>(), "fraction of tp communication hidden (default 0)")(
      "pue", po::value<std::string>(), "data-centre PUE for energy (default 1.1)");
  return o;
}

po::options_description run_options() {
  po::options_description o("Run");
  o.add_options()("tokens", po::value<std::string>(), "training tokens (1e12, 300B, 14.8T)")(
      "price", po::value<std::string>(), "USD per device-hour (default: the accelerator's)")(
      "format", po::value<std::string>()->default_value("table"), "table|json|csv");
  return o;
}

Format read_format(const po::variables_map& vm) {
  const std::string f = vm["format"].as<std::string>();
  if (f == "table") return Format::table;
  if (f == "json") return Format::json;
  if (f == "csv") return Format::csv;
  throw io::InputError(
      "--format", "value", "'" + f + "' is not one of table, json, csv" + [&] {
        auto s = io::did_you_mean(f, {"table", "json", "csv"});
        return s.empty() ? std::string() : "; did you mean '" + s + "'?";
      }());
}

bool PartialLayout::any() const {
  return dp || tp || pp || ep || sequence_parallel || zero || recompute || micro_batch ||
         global_batch || virtual_stages || dtype;  // --flash-attention alone keeps the search
}

sim::Layout PartialLayout::complete(std::int64_t devices) const {
  sim::Layout l;
  l.zero = zero.value_or(1);
  l.tp = tp.value_or(1);
  l.pp = pp.value_or(1);
  l.dp = dp.value_or(std::max<std::int64_t>(1, devices / (l.tp * l.pp)));
  l.ep = ep.value_or(1);
  l.sequence_parallel = sequence_parallel;
  l.recompute = recompute.value_or(sim::Recompute::selective);
  l.micro_batch = micro_batch.value_or(1);
  l.global_batch = global_batch.value_or(0);
  l.schedule.virtual_stages = virtual_stages.value_or(1);
  l.dtype = dtype.value_or(sim::MatrixDtype::bf16);
  l.flash_attention = flash_attention.value_or(true);
  return l;
}

std::int64_t parse_positive(const std::string& text, const std::string& flag, std::int64_t max) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    throw io::InputError(flag, "value", "'" + text + "' is not an integer");
  if (v < 1 || v > max)
    throw io::InputError(flag, "value",
                         "must be from 1 to " + std::to_string(max) + ", got " + text);
  return v;
}

std::optional<sim::Layout> complete_layout(const PartialLayout& partial,
                                           const model::ModelSpec& model, std::int64_t devices) {
  if (!partial.any()) return std::nullopt;
  const std::int64_t split = partial.tp.value_or(1) * partial.pp.value_or(1);
  if (!partial.dp && devices % split != 0)
    throw io::InputError("command line", partial.tp ? "--tp" : "--pp",
                         "tp*pp = " + std::to_string(split) + " does not divide the " +
                             std::to_string(devices) + " devices");
  const sim::Layout l = partial.complete(devices);
  const FieldErrors errors = sim::validate(l, model, devices);
  if (!errors.empty()) io::throw_first("command line", errors);
  return l;
}

PartialLayout read_layout_flags(const po::variables_map& vm) {
  PartialLayout l;
  if (has(vm, "dp")) l.dp = parse_int_flag(vm, "dp");
  if (has(vm, "tp")) l.tp = parse_int_flag(vm, "tp");
  if (has(vm, "pp")) l.pp = parse_int_flag(vm, "pp");
  if (has(vm, "ep")) l.ep = parse_int_flag(vm, "ep");
  if (has(vm, "micro-batch")) l.micro_batch = parse_int_flag(vm, "micro-batch");
  if (has(vm, "global-batch")) l.global_batch = parse_int_flag(vm, "global-batch");
  if (has(vm, "zero")) {
    const std::string z = vm["zero"].as<std::string>();
    if (z.size() != 1 || z[0] < '0' || z[0] > '3')
      throw io::InputError("--zero", "value", "'" + z + "' is not one of 0, 1, 2, 3");
    l.zero = z[0] - '0';
  }
  if (has(vm, "sequence-parallel")) l.sequence_parallel = parse_bool_flag(vm, "sequence-parallel");
  if (has(vm, "flash-attention")) l.flash_attention = parse_bool_flag(vm, "flash-attention");
  if (has(vm, "recompute")) {
    const std::string s = vm["recompute"].as<std::string>();
    if (s == "none")
      l.recompute = sim::Recompute::none;
    else if (s == "selective")
      l.recompute = sim::Recompute::selective;
    else if (s == "full")
      l.recompute = sim::Recompute::full;
    else
      throw io::InputError("--recompute", "value",
                           "'" + s + "' is not one of none, selective, full" +
                               hint(s, {"none", "selective", "full"}));
  }
  if (has(vm, "pp-schedule")) {
    const std::string s = vm["pp-schedule"].as<std::string>();
    const std::string prefix = "interleaved:";
    if (s == "1f1b") {
      l.virtual_stages = 1;
    } else if (s.rfind(prefix, 0) == 0) {
      const std::string v = s.substr(prefix.size());
      int n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || n < 2 || n > 1024)
        throw io::InputError("--pp-schedule", "value",
                             "'" + s + "': V in interleaved:V must be an integer from 2 to 1024");
      l.virtual_stages = n;
    } else {
      throw io::InputError("--pp-schedule", "value", "'" + s + "' is not 1f1b or interleaved:V");
    }
  }
  if (has(vm, "dtype")) {
    const std::string s = vm["dtype"].as<std::string>();
    if (s == "bf16")
      l.dtype = sim::MatrixDtype::bf16;
    else if (s == "fp8")
      l.dtype = sim::MatrixDtype::fp8;
    else
      throw io::InputError("--dtype", "value", "'" + s + "' is not bf16 or fp8");
  }
  return l;
}

sim::StepOptions read_step_options(const po::variables_map& vm) {
  sim::StepOptions o;
  if (has(vm, "dualpipe")) o.overlap.ep_dualpipe = parse_bool_flag(vm, "dualpipe");
  if (has(vm, "overlap-grad-reduce"))
    o.overlap.dp_grad_reduce = parse_bool_flag(vm, "overlap-grad-reduce");
  if (has(vm, "overlap-param-gather"))
    o.overlap.dp_param_gather = parse_bool_flag(vm, "overlap-param-gather");
  if (has(vm, "grad-accumulation-fusion"))
    o.fused_grad_accumulation = parse_bool_flag(vm, "grad-accumulation-fusion");
  if (has(vm, "tp-overlap")) {
    const std::string s = vm["tp-overlap"].as<std::string>();
    double f = -1;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), f);
    if (ec != std::errc() || end != s.data() + s.size() || !(f >= 0 && f <= 1))
      throw io::InputError("--tp-overlap", "value", "'" + s + "' is not a fraction in [0, 1]");
    o.overlap.tp_hidden_fraction = f;
  }
  if (has(vm, "pue")) {
    const std::string s = vm["pue"].as<std::string>();
    double f = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), f);
    if (ec != std::errc() || end != s.data() + s.size() || !(f >= 1 && f <= 5))
      throw io::InputError("--pue", "value", "'" + s + "' is not a PUE in [1, 5]");
    o.pue = f;
  }
  return o;
}

std::vector<std::string> model_sets(const po::variables_map& vm) {
  std::vector<std::string> sets;
  if (has(vm, "set")) sets = vm["set"].as<std::vector<std::string>>();
  const std::pair<const char*, const char*> shorthands[] = {{"experts", "moe.experts"},
                                                            {"top-k", "moe.top_k"},
                                                            {"expert-ff", "moe.d_ff_expert"},
                                                            {"moe-every", "moe.every"}};
  for (auto [flag, path] : shorthands)
    if (has(vm, flag)) sets.push_back(std::string(path) + "=" + vm[flag].as<std::string>());
  return sets;
}

sim::EstimateInput read_estimate_input(const po::variables_map& vm) {
  sim::EstimateInput in;
  if (!has(vm, "model")) throw io::InputError("--model", "value", "is required");
  if (!has(vm, "cluster")) throw io::InputError("--cluster", "value", "is required");

  in.model = io::load_model(vm["model"].as<std::string>(), model_sets(vm));

  std::optional<int> devices;
  if (has(vm, "devices")) {
    const std::int64_t n = parse_int_flag(vm, "devices");
    if (n > (1 << 24)) throw io::InputError("--devices", "value", "must be at most 16777216");
    devices = static_cast<int>(n);
  }
  in.cluster = io::load_cluster(vm["cluster"].as<std::string>(), devices);

  const PartialLayout partial = read_layout_flags(vm);
  in.step_options = read_step_options(vm);
  in.flash_attention = partial.flash_attention.value_or(true);
  in.layout = complete_layout(partial, in.model, in.cluster.devices);
  if (has(vm, "tokens")) {
    in.tokens = io::parse_count(vm["tokens"].as<std::string>(), "--tokens");
    if (!(*in.tokens > 0)) throw io::InputError("--tokens", "value", "must be positive");
  }
  if (has(vm, "price")) {
    const std::string s = vm["price"].as<std::string>();
    double p = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), p);
    if (ec != std::errc() || end != s.data() + s.size() || !(p >= 0) || p > 1e6)
      throw io::InputError("--price", "value", "'" + s + "' is not a price in USD per device-hour");
    in.price_per_device_hour_usd = p;
  }
  return in;
}

std::optional<po::variables_map> parse_verb_args(
    const std::vector<std::string>& args, const po::options_description& options,
    const std::string& usage, const po::positional_options_description* positional) {
  po::options_description all;
  all.add(options);
  all.add_options()("help,h", "show this help");
  po::variables_map vm;
  auto parser = po::command_line_parser(args).options(all);
  if (positional) parser.positional(*positional);
  po::store(parser.run(), vm);
  if (vm.count("help")) {
    std::cout << usage << "\n\n" << all << '\n';
    return std::nullopt;
  }
  po::notify(vm);
  return vm;
}

}  // namespace moesim::cli
