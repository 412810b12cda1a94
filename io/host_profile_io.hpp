#pragma once
// moesim calibrate's outputs: the accelerator preset of this host (docs/files.md's accelerator
// format, read back by io::load_accelerator) and the residual report (measured, model, error per
// shape) as a table or JSON. Only plain data from kernels/host_profile.hpp is used here, so
// moesim_io does not link the kernels.
#include <string>

#include "hardware/accelerator.hpp"
#include "kernels/host_profile.hpp"

namespace moesim::io {

// The accelerator as a JSON document in the accelerator file format: name, vendor, source,
// peak (fp32, bf16), hbm, hbm_bandwidth, gemm and memory curves, all as plain numbers at full
// precision. Throws std::logic_error on a non-finite value.
std::string render_accelerator_json(const hw::Accelerator& acc, const std::string& source);

// Writes `text` to `path` atomically: a temporary file beside it, then rename. Throws
// io::InputError naming `flag` when the file cannot be written.
void write_file_atomically(const std::string& path, const std::string& text,
                           const std::string& flag);

// The residual report: the fitted parameters, every fitted sample and every held-back MoE
// layer with measured and model seconds and the relative error, and the median errors.
std::string render_host_profile_table(const kernels::HostProfile& profile);
std::string render_host_profile_json(const kernels::HostProfile& profile);

}  // namespace moesim::io
