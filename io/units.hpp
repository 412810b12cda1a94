#pragma once
// Quantities with units, parsed to SI at the edge: "256MiB", "8GB", "1e9", "14.8T",
// "300B" tokens, "30d", "2us", "450GB/s". Throw InputError naming `source` on bad text.
//
// Every parser accepts a plain number (already SI: bytes, count, seconds, B/s, FLOP/s, W),
// optional spaces between number and unit, and rejects empty text, NaN, infinity, negative
// values, unknown units and trailing junk. Whether zero is meaningful is the caller's rule.
// `path` names the field in error messages ("hbm", "scale_up.link.bandwidth"); it may be
// empty when `source` is a flag ("--tokens"). docs/files.md lists every unit accepted.
#include <string>
#include <string_view>

namespace moesim::io {

double parse_bytes(std::string_view text, const std::string& source,
                   const std::string& path = "");  // KB=1e3, KiB=1024
double parse_count(std::string_view text, const std::string& source,
                   const std::string& path = "");  // K, M, B/G, T
double parse_duration_s(std::string_view text, const std::string& source,
                        const std::string& path = "");  // ns us ms s m h d
double parse_bandwidth_Bps(std::string_view text, const std::string& source,
                           const std::string& path = "");  // GB/s, Gb/s, GBps, Gbps
double parse_flops(std::string_view text, const std::string& source,
                   const std::string& path = "");  // "989TFLOPS", "1e15"
double parse_power_w(std::string_view text, const std::string& source,
                     const std::string& path = "");  // "700W", "1.2kW"

}  // namespace moesim::io
