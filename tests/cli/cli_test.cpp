// End-to-end tests of the `moesim` binary as a user runs it: exit codes, the one-line error
// contract of CLI.md, and the report keys. MOESIM_CLI_PATH is the built binary.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "tests/cli/cli_runner.hpp"

namespace {

using moesim::test::CliRun;
using moesim::test::expect_input_error;
using moesim::test::lines;
using moesim::test::moesim;
using moesim::test::read_file;

const std::string kBase = "estimate --model mixtral-8x7b --cluster dgx-h100 --devices 64";

TEST(Cli, EstimateTableJsonCsv) {
  const CliRun table = moesim(kBase);
  EXPECT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("params total"), std::string::npos);
  EXPECT_NE(table.out.find("Step time"), std::string::npos);
  const CliRun json = moesim(kBase + " --format json --tokens 1T");
  ASSERT_EQ(json.code, 0) << json.err;
  // CLI.md's required report paths (as nested keys).
  for (const char* key : {"\"params_total\"",
                          "\"params_active\"",
                          "\"flops_per_token\"",
                          "\"flops_per_token_forward\"",
                          "\"dp\"",
                          "\"tp\"",
                          "\"pp\"",
                          "\"ep\"",
                          "\"zero\"",
                          "\"micro_batch\"",
                          "\"global_batch\"",
                          "\"per_device_bytes\"",
                          "\"fits\"",
                          "\"weights\"",
                          "\"gradients\"",
                          "\"optimizer\"",
                          "\"activations\"",
                          "\"step_s\"",
                          "\"compute_s\"",
                          "\"exposed_communication_s\"",
                          "\"pipeline_bubble_s\"",
                          "\"tokens_per_s\"",
                          "\"mfu\"",
                          "\"tokens\"",
                          "\"wall_s\"",
                          "\"device_hours\"",
                          "\"cost_usd\"",
                          "\"energy_kwh\""})
    EXPECT_NE(json.out.find(key), std::string::npos) << key;
  for (const char* bad : {"nan", "NaN", "inf", "Infinity"})
    EXPECT_EQ(json.out.find(bad), std::string::npos) << bad;
  const CliRun csv = moesim(kBase + " --format csv");
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_EQ(lines(csv.out), 2u);
  EXPECT_EQ(csv.out.rfind("model.name,model.params_total,", 0), 0u);
}

TEST(Cli, ExplicitLayoutIsReported) {
  const CliRun r = moesim(kBase + " --tp 2 --pp 2 --ep 8 --zero 1 --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"dp\": 16"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"chosen\": false"), std::string::npos);
}

TEST(Cli, DoesNotFitIsAnAnswerNotAnError) {
  // CLI.md: a configuration that does not fit is a successful answer with fits = false.
  const CliRun r = moesim(
      "estimate --model deepseek-v3 --cluster dgx-h100 --devices 8 --tp 8 --zero 0 --format json");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"fits\": false"), std::string::npos);
}

TEST(Cli, BadInputIsOneLineAndExitCode2) {
  expect_input_error(kBase + " --ep 16", "--ep");  // experts not divisible by ep
  expect_input_error(kBase + " --tp 3", "--tp");   // heads not divisible by tp
  expect_input_error(kBase + " --dp 48", "--dp");  // dp*tp*pp != devices
  expect_input_error(kBase + " --dp -4", "--dp");  // negative
  expect_input_error(kBase + " --dp 0", "--dp");   // zero
  expect_input_error(kBase + " --micro-batch x", "--micro-batch");
  expect_input_error(kBase + " --zero 5", "--zero");
  expect_input_error(kBase + " --recompute sometimes", "--recompute");
  expect_input_error(kBase + " --pp-schedule interleaved:1", "--pp-schedule");
  expect_input_error(kBase + " --set moe.top_k=9", "moe.top_k");    // top_k > experts
  expect_input_error(kBase + " --set moe.expert=9", "moe.expert");  // unknown key
  expect_input_error(kBase + " --set attention.heads=-1", "attention.heads");
  expect_input_error(kBase + " --tokens lots", "--tokens");
  expect_input_error(kBase + " --format yaml", "--format");
  expect_input_error(kBase + " --devices 0", "--devices");
  expect_input_error("estimate --model no-such-model --cluster dgx-h100", "--model");
  expect_input_error("estimate --model mixtral-8x7b --cluster dgx-h10", "dgx-h100");
  expect_input_error("estimate --model /nonexistent/model.json --cluster dgx-h100", "model");
  expect_input_error("estimate --cluster dgx-h100", "--model");
  expect_input_error("estimate --model mixtral-8x7b --cluster dgx-h100 --bogus 3", "bogus");
  expect_input_error("estimat", "estimate");
  expect_input_error("presets show h10", "h100-sxm");
}

TEST(Cli, BadModelFiles) {
  const std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + name) << text;
    return dir + name;
  };
  const std::string good =
      read_file(std::string(MOESIM_SOURCE_DIR) + "/presets/models/mixtral-8x7b.json");
  ASSERT_FALSE(good.empty());
  auto variant = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  const std::string cluster = " --cluster dgx-h100 --devices 64";
  expect_input_error("estimate --model " + write("m1.json", "{\"layers\": 32,") + cluster,
                     "m1.json");
  expect_input_error("estimate --model " +
                         write("m2.json", variant("\"layers\": 32", "\"layers\": \"32\"")) +
                         cluster,
                     "layers");
  expect_input_error("estimate --model " +
                         write("m3.json", variant("\"layers\": 32", "\"layers\": -32")) + cluster,
                     "layers");
  expect_input_error("estimate --model " +
                         write("m4.json", variant("\"top_k\": 2", "\"top_k\": 4")) +
                         " --experts 2" + cluster,
                     "top_k");
  expect_input_error(
      "estimate --model " + write("m5.json", variant("\"vocab\"", "\"vocabulary\"")) + cluster,
      "vocab");
}

TEST(Cli, PresetsListAndShow) {
  const CliRun list = moesim("presets list");
  ASSERT_EQ(list.code, 0);
  for (const char* name :
       {"gpt3-175b", "llama3-70b", "megatron-1.7b", "megatron-1t", "mixtral-8x7b", "mixtral-8x22b",
        "switch-base-128", "switch-large-128", "switch-xxl", "switch-c-2048", "deepseek-v2",
        "deepseek-v3", "dgx-h100", "h100-sxm"})
    EXPECT_NE(list.out.find(name), std::string::npos) << name;
  const CliRun show = moesim("presets show deepseek-v3");
  ASSERT_EQ(show.code, 0);
  EXPECT_NE(show.out.find("\"kv_lora_rank\""), std::string::npos);
}

TEST(Cli, OptimizeRanksLayouts) {
  const CliRun r =
      moesim("optimize --model mixtral-8x7b --cluster dgx-h100 --devices 64 --top 3 --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"layouts\""), std::string::npos);
  EXPECT_NE(r.out.find("\"why\""), std::string::npos);
}

TEST(Cli, OtherVerbsAnswerInJson) {
  // CLI.md's JSON keys of the other verbs.
  const CliRun coll = moesim(
      "collective --cluster dgx-h100 --op all-to-all --group 64 --bytes 256MiB --format json");
  ASSERT_EQ(coll.code, 0) << coll.err;
  for (const char* key : {"\"time_s\"", "\"algorithm\"", "\"algbw_Bps\"", "\"busbw_Bps\""})
    EXPECT_NE(coll.out.find(key), std::string::npos) << key;
  const CliRun loss = moesim("loss --law chinchilla --params 70e9 --tokens 1.4e12 --format json");
  ASSERT_EQ(loss.code, 0) << loss.err;
  EXPECT_NE(loss.out.find("\"value\": 1.93"), std::string::npos) << loss.out;
  const CliRun plan =
      moesim("plan --budget gpu-hours=2000 --cluster dgx-h100 --devices 64 --format json");
  ASSERT_EQ(plan.code, 0) << plan.err;
  for (const char* key : {"\"best\"", "\"frontier\"", "\"experts\"", "\"granularity\"",
                          "\"moe_every\"", "\"params_total\"", "\"params_active\"", "\"tokens\"",
                          "\"loss\"", "\"wall_s\"", "\"cost_usd\"", "\"layout\""})
    EXPECT_NE(plan.out.find(key), std::string::npos) << key;
  expect_input_error("plan --budget gpu-hours=-5 --cluster dgx-h100", "--budget");
  expect_input_error("collective --cluster dgx-h100 --op all-to-some --group 8 --bytes 1MiB",
                     "--op");
}

// The joint law's memory cap: a larger cap allows more experts (Ludziejewski et al. 2025
// choose E under a memory budget; docs/laws.md), the cap binds, and bad caps exit 2.
TEST(Cli, JointOptimalUnderAMemoryCapGrowsExpertsWithTheCap) {
  auto experts_at = [](const std::string& cap) {
    const CliRun r = moesim(
        "loss --law joint --optimal --flops 1e22 --max-experts 4096 "
        "--max-params-total " +
        cap + " --format json");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("the memory cap binds"), std::string::npos) << r.out;
    const auto at = r.out.find("\"experts\": ");
    EXPECT_NE(at, std::string::npos) << r.out;
    return at == std::string::npos ? 0.0 : std::stod(r.out.substr(at + 11));
  };
  const double small = experts_at("10B"), mid = experts_at("100B"), large = experts_at("1T");
  EXPECT_LE(small, mid);
  EXPECT_LE(mid, large);
  EXPECT_LT(small, large);
  expect_input_error("loss --law joint --optimal --flops 1e22 --max-params-total 1e3",
                     "--max-params-total");
  expect_input_error("loss --law chinchilla --optimal --flops 1e22 --max-params-total 1e9",
                     "--max-params-total");
  expect_input_error("loss --law joint --params 1e9 --tokens 1e11 --max-params-total 1e9",
                     "--max-params-total");
}

// Unfused gradient accumulation costs a per-micro-batch add of the gradients into the fp32
// buffer: slower by at least those bytes at HBM peak, and said in the notes.
TEST(Cli, UnfusedGradientAccumulationIsSlowerAndNoted) {
  const std::string base =
      "estimate --model megatron-1t --cluster dgx-a100 --devices 512 --tp 8 --pp 64 "
      "--global-batch 512 --micro-batch 1 --recompute full --format json";
  const CliRun fused = moesim(base);
  const CliRun unfused = moesim(base + " --grad-accumulation-fusion false");
  ASSERT_EQ(fused.code, 0) << fused.err;
  ASSERT_EQ(unfused.code, 0) << unfused.err;
  auto step_of = [](const std::string& out) {
    const auto at = out.find("\"step_s\": ");
    return at == std::string::npos ? 0.0 : std::stod(out.substr(at + 10));
  };
  const double t_fused = step_of(fused.out), t_unfused = step_of(unfused.out);
  EXPECT_GT(t_fused, 0);
  // The add is memory bound: 512 micro-batches x at least 1.9e9 local parameters (1T / 512
  // GPUs, the busiest stage holds more) x 10 bytes cannot run faster than HBM's 2.039 TB/s.
  EXPECT_GT(t_unfused - t_fused, 512 * 1.9e9 * 10 / 2.039e12);
  EXPECT_EQ(fused.out.find("gradient accumulation unfused"), std::string::npos);
  EXPECT_NE(unfused.out.find("gradient accumulation unfused"), std::string::npos);
  expect_input_error(base + " --grad-accumulation-fusion sometimes", "--grad-accumulation-fusion");
}

}  // namespace
