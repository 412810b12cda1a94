// Accelerator and cluster files: units parsed to SI, strict keys, --devices resizing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/embedded_presets.hpp"
#include "io/errors.hpp"
#include "io/loaders.hpp"

namespace moesim::io {
namespace {

const std::string kAccelerator = R"({
  "name": "chip",
  "vendor": "Acme",
  "peak": {"bf16": "1000TFLOPS", "fp8": "2PFLOPS", "fp32": 5e13},
  "hbm": "80GB",
  "hbm_bandwidth": "3TB/s",
  "tdp": "700W",
  "price_per_hour_usd": 2.5,
  "cores_per_chip": 2,
  "gemm": {"max_fraction": 0.8, "compute_units": 132, "half_work_flop": "4G"},
  "memory": {"half_bytes": "8MiB"}
})";

const std::string kSwitched = R"({
  "name": "pod",
  "accelerator": "h100-sxm",
  "devices": 64,
  "scale_up": {"kind": "nvswitch", "devices_per_domain": 8,
               "link": {"bandwidth": "450GB/s", "latency": "1us", "efficiency": 0.8}},
  "scale_out": {"kind": "rail_optimized_fat_tree", "nics_per_domain": 8, "tiers": 2,
                "link": {"bandwidth": "400Gb/s", "latency": "2us"}}
})";

const std::string kTorus = R"({
  "name": "torus",
  "accelerator": "tpu-v4",
  "devices": 4096,
  "scale_up": {"kind": "torus3d", "torus_dims": [16, 16, 16], "subslice_multiple": 4,
               "subslice_wraparound": true,
               "link": {"bandwidth": "45GB/s", "latency": "1us"}}
})";

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string accelerator_error(const std::string& text) {
  try {
    parse_accelerator(text, "chip.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string cluster_error(const std::string& text, std::optional<int> devices = std::nullopt) {
  try {
    parse_cluster(text, "cluster.json", devices);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(AcceleratorLoader, ParsesUnitsToSi) {
  const hw::Accelerator a = parse_accelerator(kAccelerator, "chip.json");
  EXPECT_EQ(a.name, "chip");
  EXPECT_EQ(a.vendor, "Acme");
  EXPECT_DOUBLE_EQ(a.peak_bf16_flops, 1e15);
  EXPECT_DOUBLE_EQ(a.peak_fp8_flops, 2e15);
  EXPECT_DOUBLE_EQ(a.peak_fp32_flops, 5e13);  // a plain number is already SI
  EXPECT_DOUBLE_EQ(a.peak_tf32_flops, 0);     // absent: no such mode
  EXPECT_DOUBLE_EQ(a.hbm_bytes, 80e9);
  EXPECT_DOUBLE_EQ(a.hbm_bandwidth_Bps, 3e12);
  EXPECT_DOUBLE_EQ(a.tdp_w, 700);
  EXPECT_DOUBLE_EQ(a.price_per_hour_usd, 2.5);
  EXPECT_EQ(a.cores_per_chip, 2);
  EXPECT_DOUBLE_EQ(a.gemm.max_fraction, 0.8);
  EXPECT_DOUBLE_EQ(a.gemm.compute_units, 132);
  EXPECT_DOUBLE_EQ(a.gemm.half_work_flop, 4e9);
  EXPECT_DOUBLE_EQ(a.gemm.half_intensity_flop_per_byte,
                   hw::GemmEfficiency{}.half_intensity_flop_per_byte);
  EXPECT_DOUBLE_EQ(a.memory.half_bytes, 8.0 * 1024 * 1024);
}

TEST(AcceleratorLoader, RejectsBadInput) {
  EXPECT_EQ(accelerator_error(replace(kAccelerator, "\"80GB\"", "\"80 gigs\"")),
            "chip.json: hbm: '80 gigs' has an unknown unit 'gigs'; expected a size such as 80GB, "
            "256MiB or 1e9");
  EXPECT_EQ(accelerator_error(replace(kAccelerator, "\"80GB\"", "\"-80GB\"")),
            "chip.json: hbm: '-80GB' is negative");
  EXPECT_EQ(accelerator_error(replace(kAccelerator, "\"80GB\"", "0")),
            "chip.json: hbm: must be positive (got 0)");
  EXPECT_EQ(accelerator_error(replace(kAccelerator, "\"3TB/s\"", "\"3TB\""))
                .rfind("chip.json: hbm_bandwidth: '3TB' has an unknown unit 'TB'", 0),
            0u);
  EXPECT_EQ(accelerator_error(replace(kAccelerator, "\"hbm_bandwidth\"", "\"hbm_bandwith\"")),
            "chip.json: hbm_bandwith: unknown key; did you mean 'hbm_bandwidth'?");
  EXPECT_EQ(accelerator_error(replace(kAccelerator, "\"bf16\"", "\"bf61\"")),
            "chip.json: peak.bf61: unknown key; did you mean 'bf16'?");
  EXPECT_EQ(
      accelerator_error(replace(kAccelerator, "\"max_fraction\": 0.8", "\"max_fraction\": 1.5")),
      "chip.json: gemm.max_fraction: must be at most 1 (got 1.5)");
  EXPECT_EQ(
      accelerator_error(replace(kAccelerator, "\"cores_per_chip\": 2", "\"cores_per_chip\": 1.5")),
      "chip.json: cores_per_chip: expected an integer, got 1.5");
  EXPECT_EQ(accelerator_error(replace(kAccelerator, "\"hbm\": \"80GB\",", "")),
            "chip.json: hbm: required key missing");
  EXPECT_EQ(accelerator_error(replace(kAccelerator, "\"tdp\": \"700W\"", "\"tdp\": true")),
            "chip.json: tdp: expected a number or a string with a unit, got true");
  EXPECT_EQ(accelerator_error("{\"peak\": "),
            "chip.json: line 1, column 10: malformed JSON: "
            "syntax error while parsing value - unexpected end of "
            "input; expected '[', '{', or a literal");
}

TEST(ClusterLoader, ParsesASwitchedCluster) {
  const hw::ClusterSpec c = parse_cluster(kSwitched, "cluster.json");
  EXPECT_EQ(c.name, "pod");
  EXPECT_EQ(c.accelerator.name, "h100-sxm");
  EXPECT_EQ(c.devices, 64);
  EXPECT_EQ(c.domains(), 8);
  EXPECT_EQ(c.scale_up.kind, hw::ScaleUpKind::nvswitch);
  EXPECT_DOUBLE_EQ(c.scale_up.link.bandwidth_Bps, 450e9);
  EXPECT_DOUBLE_EQ(c.scale_up.link.latency_s, 1e-6);
  EXPECT_DOUBLE_EQ(c.scale_up.link.efficiency, 0.8);
  EXPECT_EQ(c.scale_out.kind, hw::ScaleOutKind::rail_optimized_fat_tree);
  EXPECT_DOUBLE_EQ(c.scale_out.link.bandwidth_Bps, 50e9);  // 400 Gb/s
  EXPECT_DOUBLE_EQ(c.scale_out.link.efficiency, 1.0);      // default
  EXPECT_DOUBLE_EQ(c.scale_out.oversubscription, 1.0);
  EXPECT_TRUE(c.notes.empty());
}

TEST(ClusterLoader, EmbedsAnAccelerator) {
  const std::string text =
      replace(kSwitched, "\"accelerator\": \"h100-sxm\"", "\"accelerator\": " + kAccelerator);
  EXPECT_EQ(parse_cluster(text, "c.json").accelerator.name, "chip");
  EXPECT_EQ(cluster_error(replace(text, "\"hbm\": \"80GB\"", "\"hbm\": \"80XB\""))
                .rfind("cluster.json: accelerator.hbm: '80XB' has an unknown unit", 0),
            0u);
}

TEST(ClusterLoader, RejectsBadInput) {
  EXPECT_EQ(cluster_error(replace(kSwitched, "\"h100-sxm\"", "\"h100-sx\"")),
            "cluster.json: accelerator: no accelerator preset or file named 'h100-sx'; did you "
            "mean 'h100-sxm'?");
  EXPECT_EQ(cluster_error(replace(kSwitched, "\"nvswitch\"", "\"nvswich\"")),
            "cluster.json: scale_up.kind: 'nvswich' is not one of nvswitch, full_mesh, torus2d, "
            "torus3d, none; did you mean 'nvswitch'?");
  EXPECT_EQ(cluster_error(replace(kSwitched, "\"latency\": \"1us\"", "\"latency\": \"1 parsec\"")),
            "cluster.json: scale_up.link.latency: '1 parsec' has an unknown unit 'parsec'; "
            "expected a duration such as 30d, 20h, 1.5ms, 2us or 3600");
  EXPECT_EQ(cluster_error(replace(kSwitched, "\"devices\": 64", "\"devices\": 0")),
            "cluster.json: devices: must be positive (got 0)");
  EXPECT_EQ(cluster_error(replace(kSwitched, "\"devices\": 64", "\"devices\": \"64\"")),
            "cluster.json: devices: expected an integer, got the string \"64\"");
  EXPECT_EQ(cluster_error(replace(kSwitched, "\"tiers\"", "\"tier\"")),
            "cluster.json: scale_out.tier: unknown key; did you mean 'tiers'?");
  EXPECT_EQ(cluster_error(replace(kSwitched, "\"efficiency\": 0.8", "\"efficiency\": 0")),
            "cluster.json: scale_up.link.efficiency: must be positive (got 0)");
  EXPECT_EQ(
      cluster_error(replace(kSwitched, "\"devices_per_domain\": 8,", "\"torus_dims\": [2, 4],")),
      "cluster.json: scale_up.torus_dims: applies only to scale_up.kind torus2d or torus3d");
  EXPECT_EQ(cluster_error(replace(
                kSwitched,
                "\"kind\": \"rail_optimized_fat_tree\", \"nics_per_domain\": 8, \"tiers\": 2,\n    "
                "            \"link\": {\"bandwidth\": \"400Gb/s\", \"latency\": \"2us\"}",
                "\"kind\": \"none\"")),
            "cluster.json: devices: 64 exceed one scale-up domain of 8 and scale_out.kind is none");
}

TEST(ClusterLoader, TorusDimsAreChecked) {
  EXPECT_EQ(cluster_error(replace(kTorus, "[16, 16, 16]", "[16, 16]")),
            "cluster.json: scale_up.torus_dims: expected an array of 3 integers for torus3d, got "
            "an array");
  EXPECT_EQ(cluster_error(replace(kTorus, "[16, 16, 16]", "[16, 0, 16]")),
            "cluster.json: scale_up.torus_dims[1]: must be positive (got 0)");
  EXPECT_EQ(cluster_error(replace(kTorus, "\"devices\": 4096", "\"devices\": 4000")),
            "cluster.json: devices: 4000 is not a whole number of 4096-chip torus slices");
}

TEST(ClusterLoader, DevicesOverrideOnSwitchedFabrics) {
  // Any N: nodes = ceil(N / devices_per_domain).
  const hw::ClusterSpec c = parse_cluster(kSwitched, "c.json", 20);
  EXPECT_EQ(c.devices, 20);
  EXPECT_EQ(c.domains(), 3);
  EXPECT_NE(c.notes.find("last one is partly used"), std::string::npos) << c.notes;
  EXPECT_EQ(parse_cluster(kSwitched, "c.json", 4).domains(), 1);
  EXPECT_EQ(parse_cluster(kSwitched, "c.json", 4096).devices, 4096);
  EXPECT_EQ(cluster_error(kSwitched, 0), "--devices: must be positive (got 0)");
  EXPECT_EQ(cluster_error(kSwitched, -3), "--devices: must be positive (got -3)");
}

TEST(ClusterLoader, DevicesOverrideOnATorusTakesTheNearestSlice) {
  // Exact sizes take the most cubic shape with sides in powers of two or multiples of 4.
  hw::ClusterSpec c = parse_cluster(kTorus, "c.json", 256);
  EXPECT_EQ(c.devices, 256);
  EXPECT_EQ(c.scale_up.devices_per_domain, 256);
  EXPECT_EQ(c.scale_up.torus_dims, (std::array<int, 3>{4, 8, 8}));
  EXPECT_TRUE(c.scale_up.wraparound);  // every side a multiple of 4
  EXPECT_NE(c.notes.find("4x8x8"), std::string::npos) << c.notes;

  // 300 chips: slices of 64 or more take sides in multiples of 4, so the neighbours are
  // 4x8x8 = 256 (44 away) and 4x8x12 = 384 (84 away).
  c = parse_cluster(kTorus, "c.json", 300);
  EXPECT_EQ(c.devices, 256);
  EXPECT_EQ(c.scale_up.torus_dims, (std::array<int, 3>{4, 8, 8}));
  EXPECT_NE(c.notes.find("nearest"), std::string::npos) << c.notes;

  c = parse_cluster(kTorus, "c.json", 8);
  EXPECT_EQ(c.scale_up.torus_dims, (std::array<int, 3>{2, 2, 2}));
  EXPECT_FALSE(c.scale_up.wraparound);  // sides of 2 are no multiple of 4

  c = parse_cluster(kTorus, "c.json", 4096);
  EXPECT_EQ(c.scale_up.torus_dims, (std::array<int, 3>{16, 16, 16}));
  EXPECT_TRUE(c.notes.empty()) << c.notes;

  // More than one pod needs a scale-out network.
  EXPECT_EQ(cluster_error(kTorus, 8192),
            "--devices: 8192 exceeds the 4096 chips of this 3D torus and the cluster has no "
            "scale_out network");
}

TEST(ClusterLoader, DevicesOverrideAcrossTorusPods) {
  const std::string multislice = replace(kTorus, "\"scale_up\"",
                                         R"("scale_out": {"kind": "dcn", "nics_per_domain": 4096,
                       "link": {"bandwidth": "50Gb/s", "latency": "10us"}},
         "scale_up")");
  const hw::ClusterSpec c = parse_cluster(multislice, "c.json", 9000);
  EXPECT_EQ(c.devices, 8192);  // two whole pods, the nearest to 9000
  EXPECT_EQ(c.domains(), 2);
  EXPECT_NE(c.notes.find("2 x 4096"), std::string::npos) << c.notes;
}

TEST(ClusterLoader, LoadsFilesAndResolvesTheAcceleratorBesideThem) {
  const auto dir = std::filesystem::temp_directory_path() / "moesim_io_cluster_test";
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "chip.json") << kAccelerator; }
  {
    std::ofstream(dir / "my-cluster.json")
        << replace(kSwitched, "\"accelerator\": \"h100-sxm\"", "\"accelerator\": \"chip.json\"");
  }
  const std::string path = (dir / "my-cluster.json").string();
  const hw::ClusterSpec c = load_cluster(path, 16);
  EXPECT_EQ(c.accelerator.name, "chip");
  EXPECT_EQ(c.devices, 16);
  EXPECT_EQ(load_accelerator((dir / "chip.json").string()).name, "chip");
  std::filesystem::remove_all(dir);

  try {
    load_cluster("dgx-h10");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "--cluster: no preset or file named 'dgx-h10'; did you mean 'dgx-h100'?");
  }
  EXPECT_THROW(load_accelerator("no-such-chip"), InputError);
}

TEST(HardwarePresets, EveryAcceleratorLoads) {
  int count = 0;
  for (const auto& p : embedded_presets()) {
    if (p.kind != "accelerators") continue;
    SCOPED_TRACE(std::string(p.name));
    ++count;
    hw::Accelerator a;
    ASSERT_NO_THROW(a = load_accelerator(std::string(p.name)));
    EXPECT_EQ(a.name, p.name);
    EXPECT_GT(a.peak_bf16_flops, 1e13);
    EXPECT_GT(a.hbm_bytes, 1e10);
    EXPECT_GT(a.hbm_bandwidth_Bps, 5e11);
  }
  EXPECT_EQ(count, 16);
}

TEST(HardwarePresets, AcceleratorFiguresMatchTheReference) {
  // reference/hardware.md, dense peaks.
  const hw::Accelerator h100 = load_accelerator("h100-sxm");
  EXPECT_DOUBLE_EQ(h100.peak_bf16_flops, 989.4e12);
  EXPECT_DOUBLE_EQ(h100.peak_fp8_flops, 1978.9e12);
  EXPECT_DOUBLE_EQ(h100.hbm_bytes, 80e9);
  EXPECT_DOUBLE_EQ(h100.hbm_bandwidth_Bps, 3.35e12);
  EXPECT_DOUBLE_EQ(h100.tdp_w, 700);
  const hw::Accelerator v5p = load_accelerator("tpu-v5p");
  EXPECT_EQ(v5p.cores_per_chip, 2);
  EXPECT_DOUBLE_EQ(v5p.hbm_bytes, 95.0 * 1024 * 1024 * 1024);
  EXPECT_EQ(load_accelerator("tpu-v3").cores_per_chip, 2);
  EXPECT_EQ(load_accelerator("tpu-v4").cores_per_chip, 2);
  EXPECT_EQ(load_accelerator("tpu-v5e").cores_per_chip, 1);
  EXPECT_EQ(load_accelerator("tpu-v6e").cores_per_chip, 1);
  EXPECT_DOUBLE_EQ(load_accelerator("gb200").peak_fp4_flops, 10000e12);
  EXPECT_DOUBLE_EQ(load_accelerator("a100-80g").price_per_hour_usd, 5.12);
}

TEST(HardwarePresets, EveryClusterLoadsAndResizes) {
  int count = 0;
  for (const auto& p : embedded_presets()) {
    if (p.kind != "clusters") continue;
    SCOPED_TRACE(std::string(p.name));
    ++count;
    hw::ClusterSpec c;
    ASSERT_NO_THROW(c = load_cluster(std::string(p.name)));
    EXPECT_EQ(c.name, p.name);
    EXPECT_GT(c.devices, 0);
    EXPECT_GT(c.scale_up.link.bandwidth_Bps, 0);
    EXPECT_GT(c.scale_up.link.latency_s, 0);
    for (int n : {1, 8, 64, 100, 256}) {
      hw::ClusterSpec r;
      ASSERT_NO_THROW(r = load_cluster(std::string(p.name), n)) << n;
      EXPECT_GE(r.devices, 1);
      EXPECT_GE(r.domains(), 1);
    }
  }
  EXPECT_EQ(count, 10);
}

TEST(HardwarePresets, ClusterFiguresMatchTheReference) {
  const hw::ClusterSpec h = load_cluster("dgx-h100");
  EXPECT_EQ(h.devices, 1024);
  EXPECT_EQ(h.scale_up.devices_per_domain, 8);
  EXPECT_DOUBLE_EQ(h.scale_up.link.bandwidth_Bps, 450e9);
  EXPECT_NEAR(h.scale_up.link.efficiency, 0.8,
              1e-9);  // NCCL ~20% protocol overhead (nccl-tests #149, #212)
  EXPECT_EQ(h.scale_out.nics_per_domain, 8);
  EXPECT_DOUBLE_EQ(h.scale_out.link.bandwidth_Bps, 50e9);
  const hw::ClusterSpec a = load_cluster("dgx-a100");
  EXPECT_DOUBLE_EQ(a.scale_out.link.bandwidth_Bps, 25e9);
  EXPECT_EQ(a.accelerator.name, "a100-80g");
  EXPECT_EQ(load_cluster("gb200-nvl72").scale_up.devices_per_domain, 72);
  const hw::ClusterSpec m = load_cluster("mi300x");
  EXPECT_EQ(m.scale_up.kind, hw::ScaleUpKind::full_mesh);
  EXPECT_DOUBLE_EQ(m.scale_up.link.bandwidth_Bps, 64e9);
  const hw::ClusterSpec v5p = load_cluster("tpu-v5p-pod");
  EXPECT_EQ(v5p.devices, 8960);
  EXPECT_EQ(v5p.scale_up.torus_dims, (std::array<int, 3>{16, 20, 28}));
  EXPECT_EQ(load_cluster("tpu-v3-pod").scale_up.kind, hw::ScaleUpKind::torus2d);
  EXPECT_EQ(load_cluster("tpu-v4-pod").devices, 4096);
  const hw::ClusterSpec v5e = load_cluster("tpu-v5e-256", 64);
  EXPECT_EQ(v5e.scale_up.torus_dims, (std::array<int, 3>{8, 8, 1}));
  EXPECT_FALSE(v5e.scale_up.wraparound);
}

}  // namespace
}  // namespace moesim::io
