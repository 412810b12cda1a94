#include "io/host_profile_io.hpp"

#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "io/errors.hpp"

namespace moesim::io {
namespace {

using json = nlohmann::ordered_json;

double finite(double v, const char* what) {
  if (!std::isfinite(v)) throw std::logic_error(std::string("non-finite value for ") + what);
  return v;
}

// Curve parameters below 1 (FLOP or byte) change no time the model gives: written as 0.
double tiny_to_zero(double v) {
  return v < 1 ? 0.0 : v;
}

json rows_json(const std::vector<kernels::ResidualRow>& rows) {
  json a = json::array();
  for (const kernels::ResidualRow& r : rows)
    a.push_back({{"kind", r.kind},
                 {"shape", r.shape},
                 {"measured_s", finite(r.measured_s, "measured_s")},
                 {"model_s", finite(r.model_s, "model_s")},
                 {"error", finite(r.error(), "error")}});
  return a;
}

void table_rows(std::ostringstream& os, const std::vector<kernels::ResidualRow>& rows) {
  os << "  " << std::left << std::setw(12) << "kind" << std::setw(58) << "shape" << std::right
     << std::setw(13) << "measured ms" << std::setw(13) << "model ms" << std::setw(9) << "error"
     << "\n";
  for (const kernels::ResidualRow& r : rows) {
    char line[64];
    std::snprintf(line, sizeof line, "%13.4f%13.4f%+8.1f%%", 1e3 * r.measured_s, 1e3 * r.model_s,
                  100 * r.error());
    os << "  " << std::left << std::setw(12) << r.kind << std::setw(58) << r.shape << line << "\n";
  }
}

}  // namespace

std::string render_accelerator_json(const hw::Accelerator& a, const std::string& source) {
  json peak = {{"bf16", finite(a.peak_bf16_flops, "peak.bf16")}};
  if (a.peak_fp32_flops > 0) peak["fp32"] = finite(a.peak_fp32_flops, "peak.fp32");
  if (a.peak_tf32_flops > 0) peak["tf32"] = finite(a.peak_tf32_flops, "peak.tf32");
  if (a.peak_fp8_flops > 0) peak["fp8"] = finite(a.peak_fp8_flops, "peak.fp8");
  if (a.peak_fp4_flops > 0) peak["fp4"] = finite(a.peak_fp4_flops, "peak.fp4");
  json j = {{"name", a.name},
            {"vendor", a.vendor},
            {"source", source},
            {"peak", peak},
            {"hbm", finite(a.hbm_bytes, "hbm")},
            {"hbm_bandwidth", finite(a.hbm_bandwidth_Bps, "hbm_bandwidth")}};
  if (a.onchip_bytes > 0) j["onchip_memory"] = finite(a.onchip_bytes, "onchip_memory");
  if (a.tdp_w > 0) j["tdp"] = finite(a.tdp_w, "tdp");
  if (a.idle_w > 0) j["idle_power"] = finite(a.idle_w, "idle_power");
  if (a.price_per_hour_usd > 0) j["price_per_hour_usd"] = finite(a.price_per_hour_usd, "price");
  if (a.cores_per_chip != 1) j["cores_per_chip"] = a.cores_per_chip;
  const hw::GemmEfficiency& g = a.gemm;
  j["gemm"] = {{"max_fraction", finite(g.max_fraction, "gemm.max_fraction")},
               {"half_intensity_flop_per_byte",
                finite(g.half_intensity_flop_per_byte, "gemm.half_intensity_flop_per_byte")},
               {"half_work_flop", tiny_to_zero(finite(g.half_work_flop, "gemm.half_work_flop"))},
               {"wave_tile_m", finite(g.wave_tile_m, "gemm.wave_tile_m")},
               {"wave_tile_n", finite(g.wave_tile_n, "gemm.wave_tile_n")},
               {"compute_units", finite(g.compute_units, "gemm.compute_units")}};
  j["memory"] = {{"max_fraction", finite(a.memory.max_fraction, "memory.max_fraction")},
                 {"half_bytes", tiny_to_zero(finite(a.memory.half_bytes, "memory.half_bytes"))}};
  return j.dump(2) + "\n";
}

void write_file_atomically(const std::string& path, const std::string& text,
                           const std::string& flag) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  if (target.filename().empty()) throw InputError(flag, "", "'" + path + "' is not a file name");
  fs::path tmp = target;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(flag, "", "cannot write '" + tmp.string() + "'");
    out << text;
    out.flush();
    if (!out) {
      out.close();
      std::error_code ignore;
      fs::remove(tmp, ignore);
      throw InputError(flag, "", "cannot write '" + tmp.string() + "'");
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    std::error_code ignore;
    fs::remove(tmp, ignore);
    throw InputError(flag, "", "cannot rename onto '" + path + "': " + ec.message());
  }
}

std::string render_host_profile_table(const kernels::HostProfile& p) {
  std::ostringstream os;
  const hw::Accelerator& a = p.accelerator;
  os << "moesim calibrate" << (p.quick ? " --quick" : "") << ": " << p.fit_rows.size()
     << " fitted samples, " << p.held_back_rows.size() << " held-back MoE layers, " << std::fixed
     << std::setprecision(1) << p.wall_seconds << " s\n";
  os << std::defaultfloat << std::setprecision(4);
  os << "preset '" << a.name << "': peak fp32 " << a.peak_fp32_flops / 1e9 << " GFLOP/s, "
     << "bandwidth " << a.hbm_bandwidth_Bps / 1e9 << " GB/s, memory " << a.hbm_bytes / 1e9
     << " GB\n";
  os << "  gemm: max_fraction " << a.gemm.max_fraction << ", half_intensity_flop_per_byte "
     << a.gemm.half_intensity_flop_per_byte << ", half_work_flop "
     << tiny_to_zero(a.gemm.half_work_flop) << " (" << p.gemm_fit.message << ", rms log error "
     << p.gemm_fit.rms_log_error << ")\n";
  os << "  memory: max_fraction " << a.memory.max_fraction << ", half_bytes "
     << tiny_to_zero(a.memory.half_bytes) << " (" << p.memory_fit.message << ", rms log error "
     << p.memory_fit.rms_log_error << ")\n";
  os << "  best measured: GEMM " << p.best_gemm_flops / 1e9 << " GFLOP/s, memory kernel "
     << p.best_stream_Bps / 1e9 << " GB/s\n\n";
  os << "Fitted samples (error = model / measured - 1), median |error| " << std::fixed
     << std::setprecision(1) << 100 * p.median_abs_error_fit << "%\n";
  table_rows(os, p.fit_rows);
  if (!p.held_back_rows.empty()) {
    os << "\nHeld-back MoE forward (threads " << p.threads << "; not in the fit), median |error| "
       << std::fixed << std::setprecision(1) << 100 * p.median_abs_error_held_back << "%\n";
    table_rows(os, p.held_back_rows);
  }
  return os.str();
}

std::string render_host_profile_json(const kernels::HostProfile& p) {
  const hw::Accelerator& a = p.accelerator;
  json j;
  j["quick"] = p.quick;
  j["threads"] = p.threads;
  j["wall_seconds"] = finite(p.wall_seconds, "wall_seconds");
  j["accelerator"] = json::parse(render_accelerator_json(a, "moesim calibrate"));
  j["gemm_fit"] = {{"converged", p.gemm_fit.converged},
                   {"iterations", p.gemm_fit.iterations},
                   {"message", p.gemm_fit.message},
                   {"rms_log_error", finite(p.gemm_fit.rms_log_error, "gemm rms")}};
  j["memory_fit"] = {{"converged", p.memory_fit.converged},
                     {"message", p.memory_fit.message},
                     {"rms_log_error", finite(p.memory_fit.rms_log_error, "memory rms")}};
  j["best_gemm_flops"] = finite(p.best_gemm_flops, "best_gemm_flops");
  j["best_stream_Bps"] = finite(p.best_stream_Bps, "best_stream_Bps");
  j["fit"] = rows_json(p.fit_rows);
  j["median_abs_error_fit"] = finite(p.median_abs_error_fit, "median fit");
  j["held_back"] = rows_json(p.held_back_rows);
  j["median_abs_error_held_back"] = finite(p.median_abs_error_held_back, "median held back");
  return j.dump(2) + "\n";
}

}  // namespace moesim::io
