#include "kernels/host_profile.hpp"

#include <unistd.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>

#include "hardware/efficiency.hpp"

namespace moesim::kernels {
namespace {

using clock_type = std::chrono::steady_clock;
constexpr double kFloat = 4;  // bytes per fp32 element

double since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// Best of `repeats` timings, each the mean over as many calls as fit in min_seconds (one
// untimed warm-up call first).
template <class Fn>
double best_time_s(int repeats, double min_seconds, Fn&& fn) {
  fn();
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < std::max(1, repeats); ++r) {
    int calls = 0;
    const auto start = clock_type::now();
    double elapsed = 0;
    do {
      fn();
      ++calls;
      elapsed = since(start);
    } while (elapsed < min_seconds);
    best = std::min(best, elapsed / calls);
  }
  return best;
}

std::vector<float> random_floats(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& f : v) f = u(gen);
  return v;
}

// A dropless routing of `tokens` tokens over 8 experts, 2 slots each, uniformly at random.
Routing random_routing(int tokens, std::uint64_t seed) {
  MoeConfig cfg;
  cfg.d_model = 1, cfg.d_ff = 1, cfg.experts = 8, cfg.top_k = 2, cfg.dropless = true;
  std::mt19937_64 gen(seed);
  std::vector<int> expert(static_cast<std::size_t>(tokens) * 2);
  std::vector<float> score(expert.size(), 0.5f);
  for (int t = 0; t < tokens; ++t) {
    const int a = static_cast<int>(gen() % 8);
    const int b = (a + 1 + static_cast<int>(gen() % 7)) % 8;
    expert[2 * t] = a, expert[2 * t + 1] = b;
  }
  return dispatch(cfg, tokens, std::move(expert), std::move(score));
}

// SwiGLU over rows of h_pre (n x 2 ff) into h (n x ff), the expression moe_layer.cpp uses.
void swiglu_rows(const float* h_pre, int n, int ff, float* h) {
  using Arr = Eigen::ArrayXf;
  for (int i = 0; i < n; ++i) {
    const float* row = h_pre + static_cast<std::size_t>(i) * 2 * ff;
    Eigen::Map<const Arr> g(row, ff), u(row + ff, ff);
    Eigen::Map<Arr>(h + static_cast<std::size_t>(i) * ff, ff) = g * u / (1.0f + (-g).exp());
  }
}

// Times one memory-bound kernel moving about `target` bytes; returns the sample.
MemorySample time_memory_case(const MemoryCase& c, int repeats, double min_seconds) {
  MemorySample s;
  s.kernel = c.kernel;
  auto rows_for = [&](double bytes_per_row) {
    return std::max(1, static_cast<int>(std::llround(c.bytes / bytes_per_row)));
  };
  if (c.kernel == "copy") {
    const std::size_t n = static_cast<std::size_t>(rows_for(2 * kFloat));
    std::vector<float> src = random_floats(n, 1), dst(n);
    s.bytes = 2 * kFloat * static_cast<double>(n);
    s.seconds =
        best_time_s(repeats, min_seconds, [&] { std::copy(src.begin(), src.end(), dst.begin()); });
  } else if (c.kernel == "softmax") {
    const int experts = 64;
    const int rows = rows_for(2 * kFloat * experts);
    std::vector<float> logits = random_floats(static_cast<std::size_t>(rows) * experts, 2);
    s.bytes = 2 * kFloat * experts * static_cast<double>(rows);
    s.seconds = best_time_s(repeats, min_seconds, [&] {
      score_rows(RouterScore::softmax, logits.data(), rows, experts);
    });
  } else if (c.kernel == "permute" || c.kernel == "combine") {
    const int d = 256;
    // permute: kept = 2 tokens rows read and written; combine: 2 rows read, 1 written.
    const bool permute = c.kernel == "permute";
    const int tokens = rows_for(permute ? 2 * 2 * kFloat * d : 3 * kFloat * d);
    const Routing r = random_routing(tokens, 3);
    std::vector<float> x = random_floats(static_cast<std::size_t>(tokens) * d, 4);
    std::vector<float> perm = random_floats(static_cast<std::size_t>(r.kept()) * d, 5);
    if (permute) {
      s.bytes = 2 * kFloat * d * static_cast<double>(r.kept());
      s.seconds =
          best_time_s(repeats, min_seconds, [&] { permute_rows(r, x.data(), d, perm.data()); });
    } else {
      s.bytes = kFloat * d * (static_cast<double>(r.kept()) + tokens);
      s.seconds = best_time_s(repeats, min_seconds,
                              [&] { unpermute_combine(r, perm.data(), d, x.data(), false); });
    }
  } else if (c.kernel == "swiglu") {
    const int ff = 512;
    const int rows = rows_for(3 * kFloat * ff);
    std::vector<float> h_pre = random_floats(static_cast<std::size_t>(rows) * 2 * ff, 6);
    std::vector<float> h(static_cast<std::size_t>(rows) * ff);
    s.bytes = 3 * kFloat * ff * static_cast<double>(rows);
    s.seconds =
        best_time_s(repeats, min_seconds, [&] { swiglu_rows(h_pre.data(), rows, ff, h.data()); });
  } else {
    throw std::invalid_argument("unknown memory kernel '" + c.kernel + "'");
  }
  return s;
}

// One GEMM as the layer runs it: each call on a different (A, B, C) set, cycling over enough
// sets (up to 64 MiB in all) that the operands come from memory rather than from a cache that
// still holds the previous call's, as an expert's weights do in a forward pass.
double time_streamed_gemm_s(int m, int n, int k, int repeats, double min_seconds) {
  const std::size_t a = static_cast<std::size_t>(m) * k, b = static_cast<std::size_t>(k) * n,
                    c = static_cast<std::size_t>(m) * n;
  const double set_bytes = kFloat * static_cast<double>(a + b + c);
  const std::size_t sets =
      static_cast<std::size_t>(std::clamp(std::ceil(64.0 * (1 << 20) / set_bytes), 2.0, 4096.0));
  std::vector<float> buf(sets * (a + b + c));
  for (std::size_t i = 0; i < buf.size(); ++i)
    buf[i] = static_cast<float>(static_cast<int>(i % 17) - 8) * 0.125f;
  std::size_t next = 0;
  return best_time_s(repeats, min_seconds, [&] {
    float* base = buf.data() + next * (a + b + c);
    gemm(m, n, k, base, base + a, base + a + b);
    next = (next + 1) % sets;
  });
}

std::string gemm_text(double m, double n, double k) {
  std::ostringstream os;
  os << "m=" << m << " n=" << n << " k=" << k;
  return os.str();
}

std::string moe_text(const MoeCase& c) {
  std::ostringstream os;
  os << "T=" << c.tokens << " d=" << c.cfg.d_model << " ff=" << c.cfg.d_ff << " E=" << c.cfg.experts
     << " k=" << c.cfg.top_k;
  if (c.cfg.shared_d_ff > 0) os << " shared=" << c.cfg.shared_d_ff;
  if (c.cfg.activation == Activation::gelu) os << " gelu";
  if (c.cfg.score == RouterScore::sigmoid) os << " sigmoid";
  os << (c.cfg.dropless ? " dropless"
                        : " cf=" + std::to_string(c.cfg.capacity_factor).substr(0, 4));
  if (c.cfg.threads > 1) os << " threads=" << c.cfg.threads;
  return os.str();
}

MoeConfig moe(int d, int ff, int experts, int k, bool dropless, int shared = 0,
              Activation act = Activation::swiglu, RouterScore score = RouterScore::softmax) {
  MoeConfig c;
  c.d_model = d, c.d_ff = ff, c.experts = experts, c.top_k = k;
  c.dropless = dropless;
  c.capacity_factor = 1.25;
  c.shared_d_ff = shared;
  c.activation = act;
  c.score = score;
  c.normalize_topk = score == RouterScore::sigmoid;
  return c;
}

}  // namespace

MemoryFitSummary fit_memory_efficiency(double bandwidth_Bps, const std::vector<MemorySample>& s) {
  MemoryFitSummary out;
  if (!(bandwidth_Bps > 0) || !std::isfinite(bandwidth_Bps)) {
    out.message = "the bandwidth must be positive and finite";
    return out;
  }
  std::vector<double> bytes, log_t;
  for (const MemorySample& x : s) {
    if (!(x.bytes > 0 && x.seconds > 0 && std::isfinite(x.bytes) && std::isfinite(x.seconds))) {
      out.message = "every sample needs positive finite bytes and seconds";
      return out;
    }
    bytes.push_back(x.bytes);
    log_t.push_back(std::log(x.seconds));
  }
  if (bytes.size() < 2) {
    out.message = "need at least 2 samples for 2 parameters";
    return out;
  }
  const double n = static_cast<double>(bytes.size());
  // log t_model = log(B + h) - L with L = log(bw * mf); for fixed h the best L is the mean of
  // log(B + h) - log t, and the cost is the variance of those values.
  auto solve = [&](double log_h, double* level) {
    const double h = std::exp(log_h);
    double mean = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) mean += std::log(bytes[i] + h) - log_t[i];
    mean /= n;
    double cost = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      const double r = std::log(bytes[i] + h) - log_t[i] - mean;
      cost += r * r;
    }
    if (level) *level = mean;
    return cost;
  };
  const double lo = 0, hi = std::log(1e12);
  const int grid = 240;
  int best = 0;
  double best_cost = std::numeric_limits<double>::infinity();
  for (int i = 0; i <= grid; ++i) {
    const double c = solve(lo + (hi - lo) * i / grid, nullptr);
    if (c < best_cost) best_cost = c, best = i;
  }
  // Golden-section refinement in the bracket around the best grid point.
  double a = lo + (hi - lo) * std::max(0, best - 1) / grid;
  double b = lo + (hi - lo) * std::min(grid, best + 1) / grid;
  const double phi = (std::sqrt(5.0) - 1) / 2;
  for (int it = 0; it < 100 && b - a > 1e-10; ++it) {
    const double x1 = b - phi * (b - a), x2 = a + phi * (b - a);
    if (solve(x1, nullptr) < solve(x2, nullptr))
      b = x2;
    else
      a = x1;
  }
  const double log_h = (a + b) / 2;
  double level = 0;
  const double cost = solve(log_h, &level);
  out.fitted.half_bytes = std::exp(log_h);
  out.fitted.max_fraction = std::exp(level) / bandwidth_Bps;
  out.rms_log_error = std::sqrt(cost / n);
  out.converged = std::isfinite(out.fitted.max_fraction) && out.fitted.max_fraction > 0;
  out.message = best == 0      ? "half_bytes at the lower end of the search (1 B)"
                : best == grid ? "half_bytes at the upper end of the search (1e12 B)"
                               : "minimum found";
  return out;
}

MoeForwardPrediction predict_moe_forward(const hw::Accelerator& acc, const MoeConfig& cfg,
                                         int tokens, const std::vector<int>& expert_tokens) {
  const std::vector<std::string> errors = cfg.validate();
  if (!errors.empty()) throw std::invalid_argument(errors.front());
  if (tokens < 0) throw std::invalid_argument("tokens must be >= 0");
  if (expert_tokens.size() != static_cast<std::size_t>(cfg.experts))
    throw std::invalid_argument("expert_tokens must have one entry per expert");
  const hw::Dtype f32 = hw::Dtype::fp32;
  const double T = tokens, d = cfg.d_model, E = cfg.experts, k = cfg.top_k;
  const double ff = cfg.d_ff, iw = cfg.in_width();
  const double sff = cfg.shared_d_ff, siw = cfg.shared_in_width();
  double kept = 0;
  for (int n : expert_tokens) kept += std::max(0, n);

  MoeForwardPrediction p;
  auto add_gemm = [&](std::string name, double m, double n, double kk, bool parallel) {
    if (m <= 0) return 0.0;
    const double s = hw::gemm_time_s(acc, m, n, kk, f32);
    p.pieces.push_back({std::move(name), true, m, n, kk, 0, s, parallel});
    return s;
  };
  auto add_memory = [&](std::string name, double bytes, bool parallel) {
    if (bytes <= 0) return;
    const double s = hw::memory_time_s(acc, bytes);
    p.pieces.push_back({std::move(name), false, 0, 0, 0, bytes, s, parallel});
    p.memory_s += s;
  };
  // Router: logits, scores in place, top-k (read scores, write index + value), dispatch
  // (about six 4-byte arrays per slot).
  p.router_gemm_s = add_gemm("router gemm", T, E, d, false);
  add_memory("scores", 2 * kFloat * T * E, false);
  add_memory("top-k", kFloat * T * E + 2 * kFloat * T * k, false);
  add_memory("dispatch", 6 * kFloat * T * k, false);
  add_memory("permute", 2 * kFloat * kept * d, false);
  for (int e = 0; e < cfg.experts; ++e) {
    const double n = std::max(0, expert_tokens[e]);
    if (n <= 0) continue;
    const std::string id = "expert " + std::to_string(e);
    p.expert_gemm_s += add_gemm(id + " w_in", n, iw, d, true);
    add_memory(id + " activation", kFloat * n * (iw + ff), true);
    p.expert_gemm_s += add_gemm(id + " w_out", n, d, ff, true);
  }
  if (sff > 0 && T > 0) {
    p.shared_gemm_s += add_gemm("shared w_in", T, siw, d, true);
    add_memory("shared activation", kFloat * T * (siw + sff), true);
    p.shared_gemm_s += add_gemm("shared w_out", T, d, sff, true);
    add_memory("shared copy", 2 * kFloat * T * d, false);
  }
  // Combine: read the kept rows, write y (and read it too when it holds the shared output).
  add_memory("combine", kFloat * d * (kept + (sff > 0 ? 2 : 1) * T), false);

  double serial = 0, parallel_sum = 0, parallel_max = 0;
  for (const PredictedPiece& x : p.pieces) {
    if (x.parallel)
      parallel_sum += x.seconds, parallel_max = std::max(parallel_max, x.seconds);
    else
      serial += x.seconds;
  }
  p.total_s = serial +
              (cfg.threads > 1 ? std::max(parallel_sum / cfg.threads, parallel_max) : parallel_sum);
  return p;
}

MoeForwardPrediction predict_moe_forward(const hw::Accelerator& acc, const MoeConfig& cfg,
                                         int tokens) {
  const std::vector<std::string> errors = cfg.validate();
  if (!errors.empty()) throw std::invalid_argument(errors.front());
  const long long even =
      (static_cast<long long>(std::max(0, tokens)) * cfg.top_k + cfg.experts - 1) / cfg.experts;
  long long rows = even;
  if (!cfg.dropless)
    rows = std::min<long long>(
        rows, static_cast<long long>(
                  std::ceil(cfg.capacity_factor * std::max(0, tokens) * cfg.top_k / cfg.experts)));
  return predict_moe_forward(acc, cfg, tokens,
                             std::vector<int>(cfg.experts, static_cast<int>(rows)));
}

double predict_moe_forward_s(const hw::Accelerator& acc, const MoeConfig& cfg, int tokens,
                             const std::vector<int>& expert_tokens) {
  return predict_moe_forward(acc, cfg, tokens, expert_tokens).total_s;
}

double predict_moe_forward_s(const hw::Accelerator& acc, const MoeConfig& cfg, int tokens) {
  return predict_moe_forward(acc, cfg, tokens).total_s;
}

double time_moe_forward_s(const MoeConfig& cfg, int tokens, int repeats, double min_seconds,
                          std::vector<int>* expert_tokens) {
  const MoeWeights w = MoeWeights::random(cfg, 11, 0.05f);
  const std::vector<float> x = random_floats(static_cast<std::size_t>(tokens) * cfg.d_model, 12);
  MoeForward out;
  const double s =
      best_time_s(repeats, min_seconds, [&] { moe_forward(cfg, w, x.data(), tokens, out); });
  if (expert_tokens) {
    expert_tokens->assign(cfg.experts, 0);
    for (int e = 0; e < cfg.experts; ++e)
      (*expert_tokens)[e] = out.routing.offsets[e + 1] - out.routing.offsets[e];
  }
  return s;
}

std::vector<GemmShape> default_gemm_shapes(bool quick) {
  // Square GEMMs for the asymptote, skinny expert shapes (few rows, wide weights) for the
  // size and intensity terms, and router-like narrow outputs.
  std::vector<GemmShape> s = {{64, 64, 64},    {128, 128, 128},  {256, 256, 256}, {512, 512, 512},
                              {8, 512, 256},   {16, 1024, 256},  {32, 256, 512},  {48, 768, 384},
                              {96, 512, 1024}, {128, 1536, 384}, {200, 384, 768}, {512, 16, 256},
                              {1024, 64, 512}, {24, 2048, 512},  {320, 640, 320}};
  if (!quick) {
    const std::vector<GemmShape> more = {{768, 768, 768},  {1024, 1024, 1024}, {4, 1024, 1024},
                                         {64, 4096, 1024}, {256, 2048, 2048},  {2048, 256, 1024},
                                         {12, 3072, 768},  {160, 1792, 896},   {384, 384, 3072},
                                         {2048, 32, 2048}, {640, 2560, 640},   {1536, 1536, 512}};
    s.insert(s.end(), more.begin(), more.end());
  }
  return s;
}

std::vector<MemoryCase> default_memory_cases(bool quick) {
  std::vector<MemoryCase> c;
  const std::vector<double> stream = quick
                                         ? std::vector<double>{1 << 16, 1 << 20, 1 << 23, 1 << 26}
                                         : std::vector<double>{1 << 14, 1 << 16, 1 << 18, 1 << 20,
                                                               1 << 22, 1 << 24, 1 << 26, 1 << 28};
  for (double b : stream) c.push_back({"copy", b});
  const std::vector<double> sizes =
      quick ? std::vector<double>{1 << 17, 1 << 21, 1 << 24}
            : std::vector<double>{1 << 15, 1 << 17, 1 << 19, 1 << 21, 1 << 23, 1 << 25};
  for (const char* k : {"softmax", "permute", "combine", "swiglu"})
    for (double b : sizes) c.push_back({k, b});
  return c;
}

std::vector<MoeCase> default_held_back(bool quick) {
  // Shapes whose GEMMs the fit never timed.
  std::vector<MoeCase> c = {
      {moe(256, 512, 8, 2, false), 512},
      {moe(384, 768, 16, 2, true), 384},
      {moe(512, 1024, 8, 2, false, 1024), 256},
      {moe(320, 640, 32, 4, true, 0, Activation::swiglu, RouterScore::sigmoid), 256},
      {moe(256, 1024, 8, 1, false, 0, Activation::gelu), 1024},
      {moe(192, 384, 64, 6, true, 384, Activation::swiglu, RouterScore::sigmoid), 512},
  };
  if (!quick) {
    const std::vector<MoeCase> more = {
        {moe(768, 1536, 8, 2, false), 1024},
        {moe(512, 1408, 64, 6, true, 2816, Activation::swiglu, RouterScore::sigmoid), 512},
        {moe(1024, 2048, 16, 2, true), 512},
        {moe(640, 1280, 32, 2, false, 0, Activation::gelu), 2048},
    };
    c.insert(c.end(), more.begin(), more.end());
  }
  return c;
}

double median_abs_error(const std::vector<ResidualRow>& rows) {
  if (rows.empty()) return 0;
  std::vector<double> e;
  for (const ResidualRow& r : rows) e.push_back(std::abs(r.error()));
  std::sort(e.begin(), e.end());
  const std::size_t n = e.size();
  return n % 2 ? e[n / 2] : 0.5 * (e[n / 2 - 1] + e[n / 2]);
}

double host_physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0;
}

HostProfile calibrate_host(const CalibrationOptions& o) {
  const auto start = clock_type::now();
  auto say = [&](const std::string& s) {
    if (o.progress) o.progress(s);
  };
  HostProfile p;
  p.quick = o.quick;
  p.threads = std::max(1, o.threads);
  const std::vector<GemmShape> shapes =
      o.gemm_shapes.empty() ? default_gemm_shapes(o.quick) : o.gemm_shapes;
  const std::vector<MemoryCase> cases =
      o.memory_cases.empty() ? default_memory_cases(o.quick) : o.memory_cases;

  // 1. GEMMs (one thread, kernels::gemm).
  say("timing " + std::to_string(shapes.size()) + " GEMM shapes");
  std::vector<GemmSample> gemm_samples;
  for (const GemmShape& g : shapes) {
    const double s = o.streamed_gemms
                         ? time_streamed_gemm_s(g.m, g.n, g.k, o.repeats, o.min_seconds)
                         : time_host_gemm_s(g.m, g.n, g.k, o.repeats, o.min_seconds);
    gemm_samples.push_back({double(g.m), double(g.n), double(g.k), s});
    p.best_gemm_flops = std::max(p.best_gemm_flops, 2.0 * g.m * g.n * g.k / s);
  }
  // 2. Memory-bound kernels.
  say("timing " + std::to_string(cases.size()) + " memory-bound kernels");
  std::vector<MemorySample> memory_samples;
  for (const MemoryCase& c : cases) {
    memory_samples.push_back(time_memory_case(c, o.repeats, o.min_seconds));
    const MemorySample& m = memory_samples.back();
    p.best_stream_Bps = std::max(p.best_stream_Bps, m.bytes / m.seconds);
  }

  // 3. Fits. No wave quantization on the host: 1 x 1 tiles on one unit make it 1.
  hw::Accelerator& acc = p.accelerator;
  acc.name = "host";
  acc.vendor = "this machine";
  acc.peak_fp32_flops = acc.peak_bf16_flops = p.best_gemm_flops;
  acc.hbm_bandwidth_Bps = p.best_stream_Bps;
  acc.hbm_bytes = host_physical_memory_bytes();
  if (!(acc.hbm_bytes > 0)) acc.hbm_bytes = 1;
  GemmFitOptions gopt;
  gopt.initial.max_fraction = 1;
  gopt.initial.half_intensity_flop_per_byte = 4;
  gopt.initial.half_work_flop = 1e6;
  gopt.initial.wave_tile_m = gopt.initial.wave_tile_n = 1;
  gopt.initial.compute_units = 1;
  say("fitting");
  p.gemm_fit = fit_gemm_efficiency(acc, hw::Dtype::fp32, gemm_samples, gopt);
  // The memory curve is fitted to the layer's own memory-bound pieces; plain copies only set
  // the best streaming rate (the layer copies little, and copies are 2-5x faster per byte).
  std::vector<MemorySample> layer_pieces;
  for (const MemorySample& m : memory_samples)
    if (m.kernel != "copy") layer_pieces.push_back(m);
  p.memory_fit = fit_memory_efficiency(p.best_stream_Bps,
                                       layer_pieces.size() >= 2 ? layer_pieces : memory_samples);

  // peak = max(asymptote, best measured), max_fraction = asymptote / peak (header comment).
  const double gemm_asymptote = p.best_gemm_flops * p.gemm_fit.fitted.max_fraction;
  acc.gemm = p.gemm_fit.fitted;
  if (std::isfinite(gemm_asymptote) && gemm_asymptote > 0) {
    acc.peak_fp32_flops = acc.peak_bf16_flops = std::max(gemm_asymptote, p.best_gemm_flops);
    acc.gemm.max_fraction = gemm_asymptote / acc.peak_fp32_flops;
  }
  const double mem_asymptote = p.best_stream_Bps * p.memory_fit.fitted.max_fraction;
  acc.memory = p.memory_fit.fitted;
  if (std::isfinite(mem_asymptote) && mem_asymptote > 0) {
    acc.hbm_bandwidth_Bps = std::max(mem_asymptote, p.best_stream_Bps);
    acc.memory.max_fraction = mem_asymptote / acc.hbm_bandwidth_Bps;
  }

  for (const GemmSample& g : gemm_samples)
    p.fit_rows.push_back({"gemm", gemm_text(g.m, g.n, g.k), g.seconds,
                          hw::gemm_time_s(acc, g.m, g.n, g.k, hw::Dtype::fp32)});
  std::vector<ResidualRow> fitted = p.fit_rows;
  for (const MemorySample& m : memory_samples) {
    const bool reference = m.kernel == "copy" && layer_pieces.size() >= 2;
    p.fit_rows.push_back({reference ? "copy (ref)" : m.kernel,
                          "bytes=" + std::to_string(std::llround(m.bytes)), m.seconds,
                          hw::memory_time_s(acc, m.bytes)});
    if (!reference) fitted.push_back(p.fit_rows.back());
  }
  p.median_abs_error_fit = median_abs_error(fitted);

  // 4. The reference layer on held-back shapes.
  if (!o.skip_held_back) {
    std::vector<MoeCase> held = o.held_back.empty() ? default_held_back(o.quick) : o.held_back;
    say("timing " + std::to_string(held.size()) + " held-back MoE layers");
    for (MoeCase& c : held) {
      c.cfg.threads = p.threads;
      std::vector<int> rows;
      const double measured = time_moe_forward_s(c.cfg, c.tokens, o.repeats, o.min_seconds, &rows);
      p.held_back_rows.push_back({"moe forward", moe_text(c), measured,
                                  predict_moe_forward_s(acc, c.cfg, c.tokens, rows)});
    }
    p.median_abs_error_held_back = median_abs_error(p.held_back_rows);
  }
  p.wall_seconds = since(start);
  return p;
}

}  // namespace moesim::kernels
