// Accelerator and cluster files (docs/files.md). Quantities carry units, parsed by
// io/units; every key is checked and unknown keys are rejected with a did-you-mean.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "io/errors.hpp"
#include "io/json_check.hpp"
#include "io/loaders.hpp"
#include "io/resolve.hpp"
#include "io/units.hpp"

namespace moesim::io {

namespace {

using detail::Checker;
using detail::join_path;
using detail::json;

const std::vector<std::string> kAcceleratorKeys = {
    "name",           "vendor",        "source", "peak",       "hbm",
    "hbm_bandwidth",  "onchip_memory", "tdp",    "idle_power", "price_per_hour_usd",
    "cores_per_chip", "gemm",          "memory"};
const std::vector<std::string> kPeakKeys = {"fp32", "tf32", "bf16", "fp8", "fp4"};
const std::vector<std::string> kGemmKeys = {"max_fraction",   "half_intensity_flop_per_byte",
                                            "half_work_flop", "wave_tile_m",
                                            "wave_tile_n",    "compute_units"};
const std::vector<std::string> kMemoryKeys = {"max_fraction", "half_bytes"};

const std::vector<std::string> kClusterKeys = {"name",    "source",   "notes",     "accelerator",
                                               "devices", "scale_up", "scale_out", "pue"};
const std::vector<std::string> kScaleUpKeys = {
    "kind",       "devices_per_domain",  "torus_dims",
    "wraparound", "subslice_wraparound", "subslice_multiple",
    "link",       "switch_reduction"};
const std::vector<std::string> kScaleOutKeys = {
    "kind", "nics_per_domain", "oversubscription", "tiers", "link", "switch_radix"};
const std::vector<std::string> kSwitchReductionKeys = {"efficiency", "source"};
const std::vector<std::string> kLinkKeys = {"bandwidth", "latency", "efficiency", "source"};

// In the order of hw::ScaleUpKind and hw::ScaleOutKind.
const std::vector<std::string> kScaleUpKinds = {"nvswitch", "full_mesh", "torus2d", "torus3d",
                                                "none"};
const std::vector<std::string> kScaleOutKinds = {"fat_tree", "rail_optimized_fat_tree", "dcn",
                                                 "none"};

// Optional keyed values; `fallback` when the key is absent.
double opt_quantity(const Checker& ck, const json& obj, const std::string& prefix,
                    const std::string& key, Checker::UnitParser parse, bool allow_zero,
                    double fallback) {
  const json* v = Checker::find(obj, key);
  return v ? ck.quantity(*v, join_path(prefix, key), parse, allow_zero) : fallback;
}
double req_quantity(const Checker& ck, const json& obj, const std::string& prefix,
                    const std::string& key, Checker::UnitParser parse, bool allow_zero) {
  return ck.quantity(ck.require(obj, prefix, key), join_path(prefix, key), parse, allow_zero);
}
double opt_number(const Checker& ck, const json& obj, const std::string& prefix,
                  const std::string& key, bool allow_zero, double fallback) {
  const json* v = Checker::find(obj, key);
  return v ? ck.number(*v, join_path(prefix, key), allow_zero) : fallback;
}
// A fraction in (0, 1].
double opt_fraction(const Checker& ck, const json& obj, const std::string& prefix,
                    const std::string& key, double fallback) {
  const json* v = Checker::find(obj, key);
  if (v == nullptr) return fallback;
  const double f = ck.number(*v, join_path(prefix, key), /*allow_zero=*/false);
  if (f > 1) ck.fail(join_path(prefix, key), "must be at most 1 (got " + v->dump() + ")");
  return f;
}
int opt_small_int(const Checker& ck, const json& obj, const std::string& prefix,
                  const std::string& key, std::int64_t min, int fallback) {
  const json* v = Checker::find(obj, key);
  if (v == nullptr) return fallback;
  const std::int64_t i = ck.integer(*v, join_path(prefix, key), min);
  if (i > std::numeric_limits<int>::max())
    ck.fail(join_path(prefix, key), std::to_string(i) + " is too large");
  return static_cast<int>(i);
}
int req_small_int(const Checker& ck, const json& obj, const std::string& prefix,
                  const std::string& key, std::int64_t min) {
  ck.require(obj, prefix, key);
  return opt_small_int(ck, obj, prefix, key, min, 0);
}
std::string opt_string(const Checker& ck, const json& obj, const std::string& prefix,
                       const std::string& key, const std::string& fallback) {
  const json* v = Checker::find(obj, key);
  return v ? ck.string(*v, join_path(prefix, key)) : fallback;
}

hw::Accelerator read_accelerator(const Checker& ck, const json& obj, const std::string& prefix,
                                 const std::string& default_name) {
  ck.require_object(obj, prefix);
  ck.check_keys(obj, prefix, kAcceleratorKeys);
  hw::Accelerator a;
  a.name = opt_string(ck, obj, prefix, "name", default_name);
  if (a.name.empty()) ck.fail(join_path(prefix, "name"), "must not be empty");
  a.vendor = opt_string(ck, obj, prefix, "vendor", "");
  opt_string(ck, obj, prefix, "source", "");  // documentation only, checked for type

  const std::string peak_path = join_path(prefix, "peak");
  const json& peak = ck.require(obj, prefix, "peak");
  ck.require_object(peak, peak_path);
  ck.check_keys(peak, peak_path, kPeakKeys);
  // Dense peaks; 0 or absent means the chip has no such mode. bf16 is the matrix baseline.
  a.peak_bf16_flops = req_quantity(ck, peak, peak_path, "bf16", parse_flops, false);
  a.peak_fp32_flops = opt_quantity(ck, peak, peak_path, "fp32", parse_flops, true, 0);
  a.peak_tf32_flops = opt_quantity(ck, peak, peak_path, "tf32", parse_flops, true, 0);
  a.peak_fp8_flops = opt_quantity(ck, peak, peak_path, "fp8", parse_flops, true, 0);
  a.peak_fp4_flops = opt_quantity(ck, peak, peak_path, "fp4", parse_flops, true, 0);

  a.hbm_bytes = req_quantity(ck, obj, prefix, "hbm", parse_bytes, false);
  a.hbm_bandwidth_Bps = req_quantity(ck, obj, prefix, "hbm_bandwidth", parse_bandwidth_Bps, false);
  a.onchip_bytes = opt_quantity(ck, obj, prefix, "onchip_memory", parse_bytes, true, 0);
  a.tdp_w = opt_quantity(ck, obj, prefix, "tdp", parse_power_w, true, 0);
  a.idle_w = opt_quantity(ck, obj, prefix, "idle_power", parse_power_w, true, 0);
  if (a.tdp_w > 0 && a.idle_w > a.tdp_w) ck.fail(join_path(prefix, "idle_power"), "exceeds tdp");
  a.price_per_hour_usd = opt_number(ck, obj, prefix, "price_per_hour_usd", true, 0);
  a.cores_per_chip = opt_small_int(ck, obj, prefix, "cores_per_chip", 1, 1);

  if (const json* g = Checker::find(obj, "gemm")) {
    const std::string path = join_path(prefix, "gemm");
    ck.require_object(*g, path);
    ck.check_keys(*g, path, kGemmKeys);
    auto& e = a.gemm;
    e.max_fraction = opt_fraction(ck, *g, path, "max_fraction", e.max_fraction);
    e.half_intensity_flop_per_byte = opt_number(ck, *g, path, "half_intensity_flop_per_byte", true,
                                                e.half_intensity_flop_per_byte);
    e.half_work_flop =
        opt_quantity(ck, *g, path, "half_work_flop", parse_count, true, e.half_work_flop);
    e.wave_tile_m = opt_number(ck, *g, path, "wave_tile_m", false, e.wave_tile_m);
    e.wave_tile_n = opt_number(ck, *g, path, "wave_tile_n", false, e.wave_tile_n);
    e.compute_units = opt_number(ck, *g, path, "compute_units", false, e.compute_units);
  }
  if (const json* m = Checker::find(obj, "memory")) {
    const std::string path = join_path(prefix, "memory");
    ck.require_object(*m, path);
    ck.check_keys(*m, path, kMemoryKeys);
    a.memory.max_fraction = opt_fraction(ck, *m, path, "max_fraction", a.memory.max_fraction);
    a.memory.half_bytes =
        opt_quantity(ck, *m, path, "half_bytes", parse_bytes, true, a.memory.half_bytes);
  }
  return a;
}

hw::Link read_link(const Checker& ck, const json& parent, const std::string& prefix) {
  const std::string path = join_path(prefix, "link");
  const json& l = ck.require(parent, prefix, "link");
  ck.require_object(l, path);
  ck.check_keys(l, path, kLinkKeys);
  hw::Link link;
  link.bandwidth_Bps = req_quantity(ck, l, path, "bandwidth", parse_bandwidth_Bps, false);
  link.latency_s = req_quantity(ck, l, path, "latency", parse_duration_s, true);
  link.efficiency = opt_fraction(ck, l, path, "efficiency", 1.0);
  opt_string(ck, l, path, "source", "");
  return link;
}

// Per-cluster settings that the ClusterSpec does not carry but --devices needs.
struct TorusRules {
  bool subslice_wraparound = false;  // sub-slices keep wraparound links (TPU v4/v5p OCS)
  int subslice_multiple = 0;         // sub-slice sides: powers of two, or multiples of this
  std::array<int, 3> pod_dims = {1, 1, 1};
};

void append_note(hw::ClusterSpec& c, const std::string& note) {
  c.notes += (c.notes.empty() ? "" : "; ") + note;
}

std::string dims_text(const std::array<int, 3>& d, bool three_d) {
  std::string s = std::to_string(d[0]);
  for (int i = 1; i < (three_d ? 3 : 2); ++i) s.append("x").append(std::to_string(d[i]));
  return s;
}

// The sides a sub-slice may take along an axis of length `full`: powers of two, multiples
// of `multiple` (when set), and the full length.
std::vector<int> side_candidates(int full, int multiple) {
  std::vector<int> sides;
  for (int s = 1; s <= full; s *= 2) sides.push_back(s);
  if (multiple > 0)
    for (int s = multiple; s <= full; s += multiple) sides.push_back(s);
  sides.push_back(full);
  std::sort(sides.begin(), sides.end());
  sides.erase(std::unique(sides.begin(), sides.end()), sides.end());
  return sides;
}

// --devices N on a torus: whole pods over the scale-out network when N exceeds one pod,
// else the valid sub-slice whose size is nearest N (ties: the larger, then the most cubic).
void resize_torus(hw::ClusterSpec& c, int n, const TorusRules& rules) {
  const bool three_d = c.scale_up.kind == hw::ScaleUpKind::torus3d;
  const auto& pod = rules.pod_dims;
  const long long pod_size = static_cast<long long>(pod[0]) * pod[1] * pod[2];
  const std::string shape = three_d ? "3D torus" : "2D torus";
  if (n >= pod_size) {
    long long slices = std::max(1LL, std::llround(static_cast<double>(n) / pod_size));
    if (slices > 1 && c.scale_out.kind == hw::ScaleOutKind::none)
      throw InputError("--devices", "",
                       std::to_string(n) + " exceeds the " + std::to_string(pod_size) +
                           " chips of this " + shape + " and the cluster has no scale_out network");
    if (slices * pod_size > std::numeric_limits<int>::max())
      throw InputError("--devices", "", std::to_string(n) + " is too large");
    c.scale_up.torus_dims = pod;
    c.scale_up.devices_per_domain = static_cast<int>(pod_size);
    c.devices = static_cast<int>(slices * pod_size);
    if (c.devices != n)
      append_note(c, "--devices " + std::to_string(n) + ": a " + shape + " takes whole " +
                         dims_text(pod, three_d) + " slices; using " + std::to_string(slices) +
                         " x " + std::to_string(pod_size) + " = " + std::to_string(c.devices) +
                         " chips");
    return;
  }
  const auto xs = side_candidates(pod[0], rules.subslice_multiple);
  const auto ys = side_candidates(pod[1], rules.subslice_multiple);
  const auto zs = three_d ? side_candidates(pod[2], rules.subslice_multiple) : std::vector<int>{1};
  std::array<int, 3> best = pod;
  auto worse = [n](const std::array<int, 3>& a, const std::array<int, 3>& b) {
    // True when shape a is a worse choice than shape b.
    const long long pa = 1LL * a[0] * a[1] * a[2], pb = 1LL * b[0] * b[1] * b[2];
    const long long da = std::llabs(pa - n), db = std::llabs(pb - n);
    if (da != db) return da > db;
    if (pa != pb) return pa < pb;
    const int sa = a[0] + a[1] + a[2], sb = b[0] + b[1] + b[2];
    if (sa != sb) return sa > sb;
    return a > b;
  };
  // With a subslice_multiple m, slices of m^rank chips or more take sides in multiples of m
  // (TPU v4/v5p: 4x4x4 cubes and up); smaller ones any power-of-two sides.
  const int rank = three_d ? 3 : 2;
  const int m = rules.subslice_multiple;
  auto valid = [&](const std::array<int, 3>& s) {
    if (m <= 0) return true;
    long long big = 1;
    for (int i = 0; i < rank; ++i) big *= m;
    if (1LL * s[0] * s[1] * s[2] < big) return true;
    for (int i = 0; i < rank; ++i)
      if (s[i] % m != 0 && s[i] != pod[i]) return false;
    return true;
  };
  for (int x : xs)
    for (int y : ys)
      for (int z : zs)
        if (valid({x, y, z}) && worse(best, {x, y, z})) best = {x, y, z};
  const int size = best[0] * best[1] * best[2];
  c.scale_up.torus_dims = best;
  c.scale_up.devices_per_domain = size;
  // A sub-slice keeps wraparound links when the cluster says so and, with a
  // subslice_multiple, every side is a multiple of it (TPU v4/v5p optical switches).
  bool wrap = c.scale_up.wraparound && rules.subslice_wraparound;
  for (int i = 0; i < rank; ++i)
    if (rules.subslice_multiple > 0 && best[i] % rules.subslice_multiple != 0) wrap = false;
  if (best == pod) wrap = c.scale_up.wraparound;
  c.scale_up.wraparound = wrap;
  c.devices = size;
  std::string note = "--devices " + std::to_string(n) + ": ";
  if (size != n) {
    note += "no " + shape + " slice holds exactly " + std::to_string(n) + " chips; using the " +
            "nearest, ";
  } else {
    note += "using ";
  }
  note += "a " + dims_text(best, three_d) + " slice (" + std::to_string(size) + " chips" +
          (c.scale_up.wraparound ? ", with" : ", without") + " wraparound links)";
  append_note(c, note);
}

}  // namespace

hw::Accelerator parse_accelerator(std::string_view json_text, const std::string& source) {
  Checker ck(source);
  const json root = detail::parse_json(json_text, source);
  return read_accelerator(ck, root, "", detail::default_name(source));
}

hw::Accelerator load_accelerator(const std::string& name_or_path) {
  const detail::Document doc = detail::resolve("accelerators", name_or_path, "--accelerator");
  return parse_accelerator(doc.text, doc.source);
}

namespace {

// The cluster's "accelerator": a preset name, a file (relative to the cluster file's
// folder, then as given), or an embedded accelerator object.
hw::Accelerator cluster_accelerator(const Checker& ck, const json& root,
                                    const std::string& directory) {
  const json& a = ck.require(root, "", "accelerator");
  if (a.is_object()) return read_accelerator(ck, a, "accelerator", "accelerator");
  if (!a.is_string())
    ck.fail("accelerator",
            "expected a preset name, a file or an object, got " + detail::describe(a));
  const std::string name = a.get<std::string>();
  if (auto preset = detail::find_preset("accelerators", name))
    return parse_accelerator(preset->text, preset->source);
  for (const std::string& path :
       {directory.empty() ? std::string() : (std::filesystem::path(directory) / name).string(),
        name}) {
    if (path.empty()) continue;
    if (auto text = detail::read_file(path)) return parse_accelerator(*text, path);
  }
  std::string rule = "no accelerator preset or file named '" + name + "'";
  const std::string hint = did_you_mean(name, detail::preset_names("accelerators"));
  if (!hint.empty()) rule += "; did you mean '" + hint + "'?";
  ck.fail("accelerator", rule);
}

hw::ClusterSpec parse_cluster_in(std::string_view json_text, const std::string& source,
                                 const std::string& directory, std::optional<int> devices) {
  Checker ck(source);
  const json root = detail::parse_json(json_text, source);
  ck.require_object(root, "");
  ck.check_keys(root, "", kClusterKeys);

  hw::ClusterSpec c;
  c.name = opt_string(ck, root, "", "name", detail::default_name(source));
  if (c.name.empty()) ck.fail("name", "must not be empty");
  opt_string(ck, root, "", "source", "");
  c.notes = opt_string(ck, root, "", "notes", "");
  c.accelerator = cluster_accelerator(ck, root, directory);
  c.devices = req_small_int(ck, root, "", "devices", 1);
  c.pue = opt_number(ck, root, "", "pue", false, c.pue);
  if (c.pue < 1) ck.fail("pue", "must be at least 1 (got " + root["pue"].dump() + ")");

  // Scale-up domain.
  TorusRules rules;
  {
    const json& su = ck.require(root, "", "scale_up");
    ck.require_object(su, "scale_up");
    ck.check_keys(su, "scale_up", kScaleUpKeys);
    auto& s = c.scale_up;
    s.kind = static_cast<hw::ScaleUpKind>(
        ck.choice(ck.require(su, "scale_up", "kind"), "scale_up.kind", kScaleUpKinds));
    const bool torus = s.kind == hw::ScaleUpKind::torus2d || s.kind == hw::ScaleUpKind::torus3d;
    if (torus) {
      const std::size_t rank = s.kind == hw::ScaleUpKind::torus2d ? 2 : 3;
      const json& dims = ck.require(su, "scale_up", "torus_dims");
      if (!dims.is_array() || dims.size() != rank)
        ck.fail("scale_up.torus_dims", "expected an array of " + std::to_string(rank) +
                                           " integers for " + kScaleUpKinds[int(s.kind)] +
                                           ", got " + detail::describe(dims));
      s.torus_dims = {1, 1, 1};
      long long product = 1;
      for (std::size_t i = 0; i < rank; ++i) {
        const std::string p = "scale_up.torus_dims[" + std::to_string(i) + "]";
        const std::int64_t d = ck.integer(dims[i], p, 1);
        if (d > 1 << 16) ck.fail(p, std::to_string(d) + " is too large");
        s.torus_dims[i] = static_cast<int>(d);
        product *= d;
      }
      if (product > std::numeric_limits<int>::max())
        ck.fail("scale_up.torus_dims", "the torus is too large");
      s.devices_per_domain =
          opt_small_int(ck, su, "scale_up", "devices_per_domain", 1, static_cast<int>(product));
      if (s.devices_per_domain != product)
        ck.fail("scale_up.devices_per_domain",
                std::to_string(s.devices_per_domain) + " differs from the torus size " +
                    dims_text(s.torus_dims, rank == 3) + " = " + std::to_string(product));
      if (const json* w = Checker::find(su, "wraparound"))
        s.wraparound = ck.boolean(*w, "scale_up.wraparound");
      if (const json* w = Checker::find(su, "subslice_wraparound"))
        rules.subslice_wraparound = ck.boolean(*w, "scale_up.subslice_wraparound");
      rules.subslice_multiple = opt_small_int(ck, su, "scale_up", "subslice_multiple", 1, 0);
      rules.pod_dims = s.torus_dims;
    } else {
      for (const char* key :
           {"torus_dims", "wraparound", "subslice_wraparound", "subslice_multiple"})
        if (Checker::find(su, key))
          ck.fail(join_path("scale_up", key), "applies only to scale_up.kind torus2d or torus3d");
      s.wraparound = false;
      s.devices_per_domain = s.kind == hw::ScaleUpKind::none
                                 ? opt_small_int(ck, su, "scale_up", "devices_per_domain", 1, 1)
                                 : req_small_int(ck, su, "scale_up", "devices_per_domain", 1);
    }
    // A domain without a fabric needs no link.
    if (s.kind != hw::ScaleUpKind::none || Checker::find(su, "link"))
      s.link = read_link(ck, su, "scale_up");
    // In-switch reduction (NVLink SHARP): only an NVSwitch domain has a switch to reduce in.
    if (const json* r = Checker::find(su, "switch_reduction")) {
      const std::string path = "scale_up.switch_reduction";
      if (s.kind != hw::ScaleUpKind::nvswitch)
        ck.fail(path, "applies only when scale_up.kind is nvswitch");
      ck.require_object(*r, path);
      ck.check_keys(*r, path, kSwitchReductionKeys);
      ck.require(*r, path, "efficiency");
      s.switch_reduction_efficiency = opt_fraction(ck, *r, path, "efficiency", 0);
      opt_string(ck, *r, path, "source", "");
    }
  }

  // Scale-out network; absent means none.
  {
    auto& s = c.scale_out;
    const json* so = Checker::find(root, "scale_out");
    if (so == nullptr) {
      s = hw::ScaleOut{};
      s.kind = hw::ScaleOutKind::none;
      s.nics_per_domain = 0;
    } else {
      ck.require_object(*so, "scale_out");
      ck.check_keys(*so, "scale_out", kScaleOutKeys);
      s.kind = static_cast<hw::ScaleOutKind>(
          ck.choice(ck.require(*so, "scale_out", "kind"), "scale_out.kind", kScaleOutKinds));
      if (s.kind == hw::ScaleOutKind::none) {
        for (const char* key :
             {"nics_per_domain", "oversubscription", "tiers", "link", "switch_radix"})
          if (Checker::find(*so, key))
            ck.fail(join_path("scale_out", key), "applies only when scale_out.kind is not none");
        s.nics_per_domain = 0;
      } else {
        s.nics_per_domain = req_small_int(ck, *so, "scale_out", "nics_per_domain", 1);
        s.oversubscription = opt_number(ck, *so, "scale_out", "oversubscription", false, 1.0);
        if (s.oversubscription < 1)
          ck.fail("scale_out.oversubscription",
                  "must be at least 1 (got " + (*so)["oversubscription"].dump() + ")");
        s.tiers = opt_small_int(ck, *so, "scale_out", "tiers", 1, s.tiers);
        if (s.tiers > 3)
          ck.fail("scale_out.tiers", std::to_string(s.tiers) + " exceeds 3 (leaf, spine, core)");
        s.switch_radix = opt_small_int(ck, *so, "scale_out", "switch_radix", 4, s.switch_radix);
        if (s.switch_radix > 4096)
          ck.fail("scale_out.switch_radix", std::to_string(s.switch_radix) + " is too large");
        s.link = read_link(ck, *so, "scale_out");
      }
    }
  }

  // Whole domains only for a torus; any count for switched domains.
  const bool torus =
      c.scale_up.kind == hw::ScaleUpKind::torus2d || c.scale_up.kind == hw::ScaleUpKind::torus3d;
  if (torus && c.devices % c.scale_up.devices_per_domain != 0)
    ck.fail("devices", std::to_string(c.devices) + " is not a whole number of " +
                           std::to_string(c.scale_up.devices_per_domain) + "-chip torus slices");
  if (c.devices > c.scale_up.devices_per_domain && c.scale_out.kind == hw::ScaleOutKind::none)
    ck.fail("devices", std::to_string(c.devices) + " exceed one scale-up domain of " +
                           std::to_string(c.scale_up.devices_per_domain) +
                           " and scale_out.kind is none");

  if (devices) {
    const int n = *devices;
    if (n < 1)
      throw InputError("--devices", "", "must be positive (got " + std::to_string(n) + ")");
    if (torus) {
      resize_torus(c, n, rules);
    } else {
      if (n > c.scale_up.devices_per_domain && c.scale_out.kind == hw::ScaleOutKind::none)
        throw InputError("--devices", "",
                         std::to_string(n) + " exceed one scale-up domain of " +
                             std::to_string(c.scale_up.devices_per_domain) + " in cluster " +
                             c.name + ", which has no scale_out network");
      c.devices = n;
      if (n > c.scale_up.devices_per_domain && n % c.scale_up.devices_per_domain != 0)
        append_note(c, "--devices " + std::to_string(n) + " fills " + std::to_string(c.domains()) +
                           " domains of " + std::to_string(c.scale_up.devices_per_domain) +
                           "; the last one is partly used");
    }
  }
  return c;
}

}  // namespace

hw::ClusterSpec parse_cluster(std::string_view json_text, const std::string& source,
                              std::optional<int> devices) {
  return parse_cluster_in(json_text, source, "", devices);
}

hw::ClusterSpec load_cluster(const std::string& name_or_path, std::optional<int> devices) {
  const detail::Document doc = detail::resolve("clusters", name_or_path, "--cluster");
  return parse_cluster_in(doc.text, doc.source, doc.directory, devices);
}

}  // namespace moesim::io
