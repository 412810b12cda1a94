// Benchmarks of the reference MoE kernels (kernels/moe_layer.hpp); figures in docs/kernels.md.
//
//   BM_Gemm              C = A B for square and skinny expert shapes (m = tokens per expert)
//   BM_Softmax/Sigmoid   router scores, memory-bound
//   BM_TopK              top-k selection
//   BM_Dispatch          capacity assignment and permutation offsets
//   BM_Permute/Combine   gather tokens by expert, weighted scatter back
//   BM_MoeForward        the whole forward layer over experts, top-k and capacity
//   BM_MoeForwardGemms   only the GEMMs of the same layer (same routing): the layer's floor
//   BM_MoeBackward       the whole backward layer
//   BM_CalibrateHost     times host GEMMs and fits hw::GemmEfficiency to them (one run)
// Counters: flops_per_s (2mnk per GEMM, Kaplan et al. arXiv:2001.08361 counting), bytes_per_s.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/calibrate.hpp"
#include "kernels/moe_layer.hpp"

namespace mk = moesim::kernels;

namespace {

std::vector<float> random_vec(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& f : v) f = u(gen);
  return v;
}

void BM_Gemm(benchmark::State& state) {
  const int m = state.range(0), n = state.range(1), k = state.range(2);
  const auto a = random_vec(static_cast<std::size_t>(m) * k, 1);
  const auto b = random_vec(static_cast<std::size_t>(k) * n, 2);
  std::vector<float> c(static_cast<std::size_t>(m) * n);
  for (auto _ : state) {
    mk::gemm(m, n, k, a.data(), b.data(), c.data());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  // FLOPs of a GEMM: 2mnk (one multiply and one add per term).
  state.counters["flops_per_s"] =
      benchmark::Counter(2.0 * m * n * k, benchmark::Counter::kIsIterationInvariantRate);
}
// Square GEMMs (the host's large-GEMM rate), then skinny expert shapes: m tokens per expert
// from 8 to 4096 against (d_model 1024, SwiGLU in width 2 * 512) and (d_ff 512 -> 1024), a
// wide expert (d_model 1024, d_ff 2048), and the headline layer's expert (512, 2 * 256).
BENCHMARK(BM_Gemm)
    ->Args({256, 256, 256})
    ->Args({512, 512, 512})
    ->Args({1024, 1024, 1024})
    ->Args({2048, 2048, 2048})
    ->ArgsProduct({{8, 32, 128, 512, 1024, 4096}, {1024}, {1024}})
    ->ArgsProduct({{8, 32, 128, 512, 1024, 4096}, {1024}, {512}})
    ->ArgsProduct({{8, 128, 512, 4096}, {4096}, {1024}})
    ->ArgsProduct({{8, 128, 512, 4096}, {1024}, {2048}})
    ->ArgsProduct({{8, 32, 128, 512, 1024, 4096}, {512}, {512}})
    ->ArgsProduct({{8, 32, 128, 512, 1024, 4096}, {512}, {256}})
    ->Unit(benchmark::kMicrosecond);

void BM_Score(benchmark::State& state, mk::RouterScore score) {
  const int tokens = state.range(0), experts = state.range(1);
  const auto src = random_vec(static_cast<std::size_t>(tokens) * experts, 3);
  std::vector<float> buf(src.size());
  for (auto _ : state) {
    std::copy(src.begin(), src.end(), buf.begin());
    mk::score_rows(score, buf.data(), tokens, experts);
    benchmark::DoNotOptimize(buf.data());
  }
  // Read and write of tokens x experts floats (the copy is part of the timed loop too).
  state.counters["bytes_per_s"] =
      benchmark::Counter(8.0 * tokens * experts, benchmark::Counter::kIsIterationInvariantRate);
}
void BM_Softmax(benchmark::State& s) {
  BM_Score(s, mk::RouterScore::softmax);
}
void BM_Sigmoid(benchmark::State& s) {
  BM_Score(s, mk::RouterScore::sigmoid);
}
BENCHMARK(BM_Softmax)->ArgsProduct({{4096}, {8, 64, 256}})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Sigmoid)->ArgsProduct({{4096}, {8, 64, 256}})->Unit(benchmark::kMicrosecond);

void BM_TopK(benchmark::State& state) {
  const int tokens = state.range(0), experts = state.range(1), k = state.range(2);
  auto scores = random_vec(static_cast<std::size_t>(tokens) * experts, 4);
  mk::score_rows(mk::RouterScore::softmax, scores.data(), tokens, experts);
  std::vector<int> idx(static_cast<std::size_t>(tokens) * k);
  std::vector<float> val(idx.size());
  for (auto _ : state) {
    mk::select_top_k(scores.data(), tokens, experts, k, idx.data(), val.data());
    benchmark::DoNotOptimize(idx.data());
  }
  state.counters["bytes_per_s"] =
      benchmark::Counter(4.0 * tokens * experts, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TopK)
    ->Args({4096, 8, 1})
    ->Args({4096, 8, 2})
    ->Args({4096, 64, 2})
    ->Args({4096, 64, 8})
    ->Args({4096, 256, 8})
    ->Unit(benchmark::kMicrosecond);

// A routing for `tokens` tokens from real router scores (random weights), dropless.
mk::Routing make_routing(int tokens, int experts, int k, int d) {
  mk::MoeConfig c;
  c.d_model = d;
  c.d_ff = 1;
  c.experts = experts;
  c.top_k = k;
  c.dropless = true;
  const auto x = random_vec(static_cast<std::size_t>(tokens) * d, 5);
  const auto wr = random_vec(static_cast<std::size_t>(d) * experts, 6);
  std::vector<float> s(static_cast<std::size_t>(tokens) * experts);
  mk::gemm(tokens, experts, d, x.data(), wr.data(), s.data());
  mk::score_rows(mk::RouterScore::softmax, s.data(), tokens, experts);
  std::vector<int> idx(static_cast<std::size_t>(tokens) * k);
  std::vector<float> val(idx.size());
  mk::select_top_k(s.data(), tokens, experts, k, idx.data(), val.data());
  return mk::dispatch(c, tokens, std::move(idx), std::move(val));
}

void BM_Dispatch(benchmark::State& state) {
  const int tokens = state.range(0), experts = state.range(1), k = state.range(2);
  const mk::Routing r = make_routing(tokens, experts, k, 64);
  mk::MoeConfig c;
  c.d_model = 64;
  c.d_ff = 1;
  c.experts = experts;
  c.top_k = k;
  c.capacity_factor = 1.0;
  for (auto _ : state) {
    mk::Routing out = mk::dispatch(c, tokens, r.expert, r.score);
    benchmark::DoNotOptimize(out.row.data());
  }
}
BENCHMARK(BM_Dispatch)->ArgsProduct({{4096}, {8, 64, 256}, {2, 8}})->Unit(benchmark::kMicrosecond);

void BM_Permute(benchmark::State& state) {
  const int tokens = state.range(0), experts = state.range(1), k = state.range(2), d = 1024;
  const mk::Routing r = make_routing(tokens, experts, k, 64);
  const auto x = random_vec(static_cast<std::size_t>(tokens) * d, 7);
  std::vector<float> out(static_cast<std::size_t>(r.kept()) * d);
  for (auto _ : state) {
    mk::permute_rows(r, x.data(), d, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  // Each kept row is read once and written once.
  state.counters["bytes_per_s"] =
      benchmark::Counter(8.0 * r.kept() * d, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Permute)
    ->ArgsProduct({{4096}, {8, 64, 256}, {1, 2, 8}})
    ->Unit(benchmark::kMicrosecond);

void BM_Combine(benchmark::State& state) {
  const int tokens = state.range(0), experts = state.range(1), k = state.range(2), d = 1024;
  const mk::Routing r = make_routing(tokens, experts, k, 64);
  const auto yp = random_vec(static_cast<std::size_t>(r.kept()) * d, 8);
  std::vector<float> y(static_cast<std::size_t>(tokens) * d);
  for (auto _ : state) {
    mk::unpermute_combine(r, yp.data(), d, y.data(), false);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["bytes_per_s"] = benchmark::Counter(4.0 * (r.kept() + tokens) * d,
                                                     benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Combine)
    ->ArgsProduct({{4096}, {8, 64, 256}, {1, 2, 8}})
    ->Unit(benchmark::kMicrosecond);

// Layer arguments: experts, top_k, capacity factor x 10 (0 = dropless), tokens, d_model, d_ff,
// threads.
mk::MoeConfig layer_config(const benchmark::State& state) {
  mk::MoeConfig c;
  c.experts = state.range(0);
  c.top_k = state.range(1);
  c.dropless = state.range(2) == 0;
  c.capacity_factor = state.range(2) / 10.0;
  c.d_model = state.range(4);
  c.d_ff = state.range(5);
  c.threads = state.range(6);
  return c;
}

// FLOPs of the layer's GEMMs for a routing: router 2 T d E, and per kept row 2 d in_width +
// 2 d_ff d (the expert's two GEMMs).
double layer_flops(const mk::MoeConfig& c, int tokens, const mk::Routing& r) {
  return 2.0 * tokens * c.d_model * c.experts +
         2.0 * r.kept() * c.d_model * (c.in_width() + c.d_ff);
}

void BM_MoeForward(benchmark::State& state) {
  const mk::MoeConfig c = layer_config(state);
  const int tokens = state.range(3);
  const mk::MoeWeights w = mk::MoeWeights::random(c, 9, 0.05f);
  const auto x = random_vec(static_cast<std::size_t>(tokens) * c.d_model, 10);
  mk::MoeForward f;                            // reused: buffers stay allocated across iterations
  mk::moe_forward(c, w, x.data(), tokens, f);  // warm-up: allocate and touch the buffers
  for (auto _ : state) {
    mk::moe_forward(c, w, x.data(), tokens, f);
    benchmark::DoNotOptimize(f.y.data());
  }
  const mk::Routing& r = f.routing;
  state.counters["dropped"] = static_cast<double>(r.dropped);
  state.counters["tokens_per_expert"] = static_cast<double>(r.kept()) / c.experts;
  state.counters["flops_per_s"] =
      benchmark::Counter(layer_flops(c, tokens, r), benchmark::Counter::kIsIterationInvariantRate);
}

// The GEMMs of BM_MoeForward alone, with the same shapes (same routing), into preallocated
// buffers: the time a perfect layer would take with this GEMM.
void BM_MoeForwardGemms(benchmark::State& state) {
  const mk::MoeConfig c = layer_config(state);
  const int tokens = state.range(3);
  const mk::MoeWeights w = mk::MoeWeights::random(c, 9, 0.05f);
  const auto x = random_vec(static_cast<std::size_t>(tokens) * c.d_model, 10);
  const mk::MoeForward f = mk::moe_forward(c, w, x.data(), tokens);
  const mk::Routing& r = f.routing;
  const int d = c.d_model, iw = c.in_width(), ff = c.d_ff;
  std::vector<float> logits(static_cast<std::size_t>(tokens) * c.experts);
  std::vector<float> h_pre(static_cast<std::size_t>(r.kept()) * iw);
  std::vector<float> y_perm(static_cast<std::size_t>(r.kept()) * d);
  for (auto _ : state) {
    mk::gemm(tokens, c.experts, d, x.data(), w.router.data(), logits.data());
    for (int e = 0; e < c.experts; ++e) {
      const std::size_t r0 = r.offsets[e];
      const int n = r.offsets[e + 1] - r.offsets[e];
      mk::gemm(n, iw, d, f.x_perm.data() + r0 * d, w.w_in.data() + e * std::size_t(d) * iw,
               h_pre.data() + r0 * iw);
      mk::gemm(n, d, ff, f.h.data() + r0 * ff, w.w_out.data() + e * std::size_t(ff) * d,
               y_perm.data() + r0 * d);
    }
    benchmark::DoNotOptimize(y_perm.data());
  }
  state.counters["tokens_per_expert"] = static_cast<double>(r.kept()) / c.experts;
  // Expert GEMMs only (the router GEMM is a small fraction) would read the same; this rate
  // is the whole set of GEMMs.
  state.counters["flops_per_s"] =
      benchmark::Counter(layer_flops(c, tokens, r), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_MoeBackward(benchmark::State& state) {
  const mk::MoeConfig c = layer_config(state);
  const int tokens = state.range(3);
  const mk::MoeWeights w = mk::MoeWeights::random(c, 9, 0.05f);
  const auto x = random_vec(static_cast<std::size_t>(tokens) * c.d_model, 10);
  const auto dy = random_vec(static_cast<std::size_t>(tokens) * c.d_model, 11);
  const mk::MoeForward f = mk::moe_forward(c, w, x.data(), tokens);
  for (auto _ : state) {
    mk::MoeBackward b = mk::moe_backward(c, w, x.data(), tokens, f, dy.data());
    benchmark::DoNotOptimize(b.dx.data());
  }
  // Backward GEMMs: twice the forward's (dX and dW for each forward GEMM).
  state.counters["flops_per_s"] = benchmark::Counter(2 * layer_flops(c, tokens, f.routing),
                                                     benchmark::Counter::kIsIterationInvariantRate);
}

// The grid: experts {1, 8, 64, 256} x top_k {1, 2, 8} (k <= experts) x capacity {1.0, 2.0,
// dropless}, 4096 tokens, d_model 256, d_ff 128, one thread.
void layer_grid(benchmark::internal::Benchmark* b) {
  for (int e : {1, 8, 64, 256})
    for (int k : {1, 2, 8})
      for (int cf : {10, 20, 0})
        if (k <= e) b->Args({e, k, cf, 4096, 256, 128, 1});
}
// The headline shapes, dropless, 4096 tokens, d_model 512, d_ff 256 (SwiGLU in width 512):
// 8 experts top-2 (1024 tokens per expert on average) on 1 and 2 threads, and 64 experts
// top-8 (512 per expert).
void layer_headline(benchmark::internal::Benchmark* b) {
  b->Args({8, 2, 0, 4096, 512, 256, 1});
  b->Args({8, 2, 0, 4096, 512, 256, 2});
  b->Args({64, 8, 0, 4096, 512, 256, 1});
}
BENCHMARK(BM_MoeForward)->Apply(layer_grid)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MoeForward)->Apply(layer_headline)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MoeForwardGemms)->Apply(layer_headline)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MoeBackward)->Apply(layer_headline)->Unit(benchmark::kMillisecond);

// The calibration harness on this host: time a grid of GEMM shapes, take the largest square
// GEMM's rate as the "peak" (so max_fraction is relative to it), one compute unit (no wave
// quantization on a CPU core), and fit the curve. Counters are the fitted parameters.
void BM_CalibrateHost(benchmark::State& state) {
  std::vector<moesim::kernels::GemmSample> samples;
  for (auto _ : state) {
    samples.clear();
    for (int m : {8, 32, 128, 512, 2048})
      for (int n : {256, 1024})
        for (int k : {64, 256, 1024})
          samples.push_back({double(m), double(n), double(k), mk::time_host_gemm_s(m, n, k)});
  }
  const double big = mk::time_host_gemm_s(2048, 2048, 2048, 2, 0.2);
  moesim::hw::Accelerator host;
  host.name = "host-cpu-1-thread";
  host.peak_fp32_flops = 2.0 * 2048 * 2048 * 2048 / big;
  mk::GemmFitOptions o;
  o.initial.compute_units = 1;
  o.initial.wave_tile_m = 1;
  o.initial.wave_tile_n = 1;
  const mk::GemmFitSummary s = mk::fit_gemm_efficiency(host, moesim::hw::Dtype::fp32, samples, o);
  state.counters["peak_flops_per_s"] = host.peak_fp32_flops;
  state.counters["max_fraction"] = s.fitted.max_fraction;
  state.counters["half_intensity_flop_per_byte"] = s.fitted.half_intensity_flop_per_byte;
  state.counters["half_work_flop"] = s.fitted.half_work_flop;
  state.counters["rms_log_error"] = s.rms_log_error;
  state.counters["converged"] = s.converged;
}
BENCHMARK(BM_CalibrateHost)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace
