// Quantities with units (io/units.hpp): SI out, InputError naming the source on bad text.
#include <gtest/gtest.h>

#include <string>

#include "io/errors.hpp"
#include "io/units.hpp"

namespace moesim::io {
namespace {

using Parser = double (*)(std::string_view, const std::string&, const std::string&);

// The what() of the InputError that parsing `text` throws ("" when it parses).
std::string error_of(Parser parse, const std::string& text, const std::string& path = "") {
  try {
    parse(text, "--x", path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Units, Bytes) {
  // Decimal prefixes are powers of 1000, binary (IEC) prefixes powers of 1024.
  EXPECT_DOUBLE_EQ(parse_bytes("8GB", "s"), 8e9);
  EXPECT_DOUBLE_EQ(parse_bytes("256MiB", "s"), 256.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_bytes("1e9", "s"), 1e9);
  EXPECT_DOUBLE_EQ(parse_bytes("1.5TB", "s"), 1.5e12);
  EXPECT_DOUBLE_EQ(parse_bytes("32GiB", "s"), 32.0 * (1 << 30));
  EXPECT_DOUBLE_EQ(parse_bytes("80 GB", "s"), 80e9);
  EXPECT_DOUBLE_EQ(parse_bytes("4kB", "s"), 4e3);
  EXPECT_DOUBLE_EQ(parse_bytes("80G", "s"), 80e9);
  EXPECT_DOUBLE_EQ(parse_bytes("512B", "s"), 512);
  EXPECT_DOUBLE_EQ(parse_bytes("0", "s"), 0);  // zero is the caller's rule
}

TEST(Units, Counts) {
  EXPECT_DOUBLE_EQ(parse_count("14.8T", "s"), 14.8e12);
  EXPECT_DOUBLE_EQ(parse_count("300B", "s"), 300e9);
  EXPECT_DOUBLE_EQ(parse_count("1e12", "s"), 1e12);
  EXPECT_DOUBLE_EQ(parse_count("7K", "s"), 7e3);
  EXPECT_DOUBLE_EQ(parse_count("7k", "s"), 7e3);
  EXPECT_DOUBLE_EQ(parse_count("2.5M", "s"), 2.5e6);
  EXPECT_DOUBLE_EQ(parse_count("1G", "s"), 1e9);
  EXPECT_DOUBLE_EQ(parse_count("42", "s"), 42);
}

TEST(Units, Durations) {
  EXPECT_DOUBLE_EQ(parse_duration_s("30d", "s"), 30 * 86400.0);
  EXPECT_DOUBLE_EQ(parse_duration_s("20h", "s"), 72000);
  EXPECT_DOUBLE_EQ(parse_duration_s("2us", "s"), 2e-6);
  EXPECT_DOUBLE_EQ(parse_duration_s("2\u00b5s", "s"), 2e-6);
  EXPECT_DOUBLE_EQ(parse_duration_s("1.5ms", "s"), 1.5e-3);
  EXPECT_DOUBLE_EQ(parse_duration_s("500ns", "s"), 500e-9);
  EXPECT_DOUBLE_EQ(parse_duration_s("90s", "s"), 90);
  EXPECT_DOUBLE_EQ(parse_duration_s("10min", "s"), 600);
  EXPECT_DOUBLE_EQ(parse_duration_s("10m", "s"), 600);
  EXPECT_DOUBLE_EQ(parse_duration_s("3600", "s"), 3600);
}

TEST(Units, Bandwidth) {
  // Bytes per second with B, bits per second with b (a byte is 8 bits).
  EXPECT_DOUBLE_EQ(parse_bandwidth_Bps("450GB/s", "s"), 450e9);
  EXPECT_DOUBLE_EQ(parse_bandwidth_Bps("400Gb/s", "s"), 50e9);
  EXPECT_DOUBLE_EQ(parse_bandwidth_Bps("400Gbps", "s"), 50e9);
  EXPECT_DOUBLE_EQ(parse_bandwidth_Bps("400Gbit/s", "s"), 50e9);
  EXPECT_DOUBLE_EQ(parse_bandwidth_Bps("25GBps", "s"), 25e9);
  EXPECT_DOUBLE_EQ(parse_bandwidth_Bps("3.35TB/s", "s"), 3.35e12);
  EXPECT_DOUBLE_EQ(parse_bandwidth_Bps("1GiB/s", "s"), 1024.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(parse_bandwidth_Bps("1e9", "s"), 1e9);
}

TEST(Units, Flops) {
  EXPECT_DOUBLE_EQ(parse_flops("989TFLOPS", "s"), 989e12);
  EXPECT_DOUBLE_EQ(parse_flops("989.4 TFLOP/s", "s"), 989.4e12);
  EXPECT_DOUBLE_EQ(parse_flops("1e15", "s"), 1e15);
  EXPECT_DOUBLE_EQ(parse_flops("2.5PFLOPS", "s"), 2.5e15);
  EXPECT_DOUBLE_EQ(parse_flops("19.5 TFLOPs", "s"), 19.5e12);
}

TEST(Units, Power) {
  EXPECT_DOUBLE_EQ(parse_power_w("700W", "s"), 700);
  EXPECT_DOUBLE_EQ(parse_power_w("1.2kW", "s"), 1200);
  EXPECT_DOUBLE_EQ(parse_power_w("400", "s"), 400);
}

TEST(Units, RejectsEmptyText) {
  EXPECT_EQ(error_of(parse_bytes, ""),
            "--x: empty text; expected a size such as 80GB, 256MiB or 1e9");
  EXPECT_EQ(error_of(parse_count, "  "),
            "--x: empty text; expected a count such as 300B, 14.8T, 7K or 1e12");
}

TEST(Units, RejectsNonNumbers) {
  EXPECT_EQ(error_of(parse_count, "lots"),
            "--x: 'lots' is not a number; expected a count such as 300B, 14.8T, 7K or 1e12");
  EXPECT_EQ(error_of(parse_bytes, "GB"),
            "--x: 'GB' is not a number; expected a size such as 80GB, 256MiB or 1e9");
}

TEST(Units, RejectsNanAndInfinity) {
  EXPECT_EQ(error_of(parse_count, "nan"), "--x: 'nan' is not a finite number");
  EXPECT_EQ(error_of(parse_count, "inf"), "--x: 'inf' is not a finite number");
  EXPECT_EQ(error_of(parse_bytes, "-infinityGB"), "--x: '-infinityGB' is not a finite number");
  EXPECT_EQ(error_of(parse_count, "1e400"), "--x: '1e400' is out of range");
  EXPECT_EQ(error_of(parse_bytes, "1e308EB"), "--x: '1e308EB' is out of range");
}

TEST(Units, RejectsNegatives) {
  EXPECT_EQ(error_of(parse_bytes, "-8GB"), "--x: '-8GB' is negative");
  EXPECT_EQ(error_of(parse_duration_s, "-1s"), "--x: '-1s' is negative");
  EXPECT_DOUBLE_EQ(parse_count("-0", "s"), 0);
}

TEST(Units, RejectsUnknownUnitsAndTrailingJunk) {
  EXPECT_EQ(error_of(parse_bytes, "8 bytes"),
            "--x: '8 bytes' has an unknown unit 'bytes'; expected a size such as 80GB, 256MiB or "
            "1e9");
  EXPECT_EQ(error_of(parse_bytes, "8GBB"),
            "--x: '8GBB' has an unknown unit 'GBB'; expected a size such as 80GB, 256MiB or 1e9; "
            "did you mean 'GB'?");
  EXPECT_EQ(error_of(parse_count, "300B tokens"),
            "--x: '300B tokens' has an unknown unit 'B tokens'; expected a count such as 300B, "
            "14.8T, 7K or 1e12");
  EXPECT_NE(error_of(parse_count, "1.5.3").find("unknown unit '.3'"), std::string::npos);
  EXPECT_NE(error_of(parse_duration_s, "2 years").find("unknown unit 'years'"), std::string::npos);
  // Units of one family are not accepted by another.
  EXPECT_NE(error_of(parse_bytes, "450GB/s").find("unknown unit 'GB/s'"), std::string::npos);
  EXPECT_NE(error_of(parse_bandwidth_Bps, "450GB").find("unknown unit 'GB'"), std::string::npos);
  EXPECT_NE(error_of(parse_flops, "989TB").find("unknown unit 'TB'"), std::string::npos);
  EXPECT_NE(error_of(parse_count, "0x10").find("unknown unit 'x10'"), std::string::npos);
}

TEST(Units, ErrorsNameTheSourceAndPath) {
  try {
    parse_bandwidth_Bps("fast", "cluster.json", "scale_up.link.bandwidth");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.source(), "cluster.json");
    EXPECT_EQ(e.path(), "scale_up.link.bandwidth");
    EXPECT_EQ(std::string(e.what()).rfind("cluster.json: scale_up.link.bandwidth: 'fast' is not a "
                                          "number; expected a bandwidth",
                                          0),
              0u)
        << e.what();
  }
}

}  // namespace
}  // namespace moesim::io
