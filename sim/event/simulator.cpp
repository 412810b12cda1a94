#include "sim/event/simulator.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <limits>
#include <map>
#include <ranges>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

#include "hardware/efficiency.hpp"
#include "hardware/topology.hpp"
#include "model/workload.hpp"
#include "sim/event/engine.hpp"
#include "sim/event/flow_network.hpp"
#include "sim/event/layer_parts.hpp"
#include "sim/pipeline.hpp"

namespace moesim::sim::event {
namespace {

constexpr double kBf16 = 2;  // bytes per element, as sim/step.cpp
constexpr double kFp32 = 4;
// ZeRO-3: layer gathers queued ahead of the one in use (queue_zero3_ahead).
constexpr int kZero3PrefetchLayers = 1;
// Patterns of fewer devices compute their routes rather than check an automorphism.
constexpr std::size_t kMinMappedMembers = 16;

enum EventKind : int { kResume = 0, kCollectiveDone = 1, kNetUpdate = 2, kNetSolve = 3 };
// gather: ZeRO-3's gather of the layer's parameters for this micro-batch's pass.
enum class Seg : std::uint8_t {
  compute,
  experts,
  tp,
  ep,
  wait_param,
  grad_bucket,
  pp_send,
  gather
};
enum Phase : int { kFwd = 0, kBwd = 1 };

// One step of an operation (a chunk's forward or backward for one micro-batch).
struct Segment {
  Seg kind = Seg::compute;
  int layer = -1;        // model layer, -1: none
  int pass = 0;          // experts: 0 forward, 1 backward, 2 recompute; ep: 0 dispatch, 1 combine
  double seconds = 0;    // compute
  double time_bw_s = 0;  // tp: bandwidth part of the collectives (analytic, uncontended)
  double latency_s = 0;  // tp: latency part
};

// Adds the host seconds of its scope to `total` (setup: expert-load sampling, and routes and
// flow patterns, built lazily on first use inside the event loop).
class SetupTimer {
 public:
  explicit SetupTimer(double& total) : total_(total), t0_(std::chrono::steady_clock::now()) {}
  ~SetupTimer() {
    total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }
  SetupTimer(const SetupTimer&) = delete;
  SetupTimer& operator=(const SetupTimer&) = delete;

 private:
  double& total_;
  std::chrono::steady_clock::time_point t0_;
};

struct OpRef {
  int chunk = 0;
  int mb = 0;
};

// A message's links with the share of its bytes on each: every equal-cost path at once
// (hw::Router::spread, adaptive routing as a fluid), a single path inside a torus.
struct Route {
  // Every vertex of the route received equal shares only (hw::Router::last_spread_uniform):
  // it can be moved to other devices by an automorphism (Run::map_routes).
  bool uniform = true;
  int trace_link = -1;  // the trace's link: the first scale-out link, else the first (-1: none)
  // What the network sees: one link per class of parallel links (hw::Topology::
  // parallel_links: crossed by every message with the same fraction or not at all), the
  // class's lowest id. Its links all have one capacity and, in every flow and coflow, one
  // coefficient: the same constraint repeated, which leaves the max-min rates as they are.
  std::span<const int> net_links;  // in RouteCache's arenas
  std::span<const double> net_fraction;
};

// Append-only storage in blocks that never move, so that spans into it stay valid: one
// allocation per 64 Ki elements instead of two per route.
template <class T>
class Arena {
 public:
  std::span<T> allocate(std::size_t n) {
    if (used_ + n > size_) {
      size_ = std::max<std::size_t>(n, std::size_t{1} << 16);
      blocks_.push_back(std::unique_ptr<T[]>(new T[size_]));
      used_ = 0;
    }
    T* p = blocks_.back().get() + used_;
    used_ += n;
    return {p, n};
  }

 private:
  std::vector<std::unique_ptr<T[]>> blocks_;
  std::size_t used_ = 0, size_ = 0;
};

// A flow pattern of one collective on fixed devices, with each flow's rate when it runs
// alone: the volume calibration of docs/simulate.md.
struct Pattern {
  std::vector<const Route*> routes;
  std::vector<std::pair<int, int>> ends;  // per flow: its route's source and destination
  std::vector<int> devices;               // the groups' devices, group after group
  std::vector<double> isolated_Bps;
  std::vector<int> src;                // member index of the source in its group
  std::vector<std::vector<int>> dsts;  // member indices the flow carries bytes to
  int members = 1;                     // ranks per group
  // As one coflow: the links the flows cross and, per link, the sum of their isolated rates.
  std::vector<int> links;
  std::vector<double> coefficients;
  std::vector<int> position;  // flow by flow, route order: indices of its links in `links`
};

// Sorts a route's links (and their fractions along) by link id.
void sort_by_link(std::span<int> links, std::span<double> fraction) {
  for (std::size_t i = 1; i < links.size(); ++i)  // insertion sort: a handful of links
    for (std::size_t j = i; j > 0 && links[j] < links[j - 1]; --j) {
      std::swap(links[j], links[j - 1]);
      std::swap(fraction[j], fraction[j - 1]);
    }
}

// Folds a pattern's flows into one coflow: per link the bytes/s its flows use alone, links
// in ascending order. `use` and `position` are per-link buffers (all 0 / -1 on entry and on
// return), so that folding costs the pattern's flow-links, not the network's links.
void fold(Pattern& p, std::vector<double>& use, std::vector<int>& position) {
  for (std::size_t f = 0; f < p.routes.size(); ++f)
    for (std::size_t i = 0; i < p.routes[f]->net_links.size(); ++i) {
      const int l = p.routes[f]->net_links[i];
      if (position[static_cast<std::size_t>(l)] < 0) {
        position[static_cast<std::size_t>(l)] = 0;
        p.links.push_back(l);
      }
      use[static_cast<std::size_t>(l)] += p.isolated_Bps[f] * p.routes[f]->net_fraction[i];
    }
  std::sort(p.links.begin(), p.links.end());
  for (std::size_t k = 0; k < p.links.size(); ++k) {
    const auto u = static_cast<std::size_t>(p.links[k]);
    position[u] = static_cast<int>(k);
    p.coefficients.push_back(use[u]);
  }
  // Where each flow's links sit in the coflow's link list, for weighted coefficients.
  std::size_t entries = 0;
  for (const Route* r : p.routes) entries += r->net_links.size();
  p.position.reserve(entries);
  for (const Route* r : p.routes)
    for (int l : r->net_links) p.position.push_back(position[static_cast<std::size_t>(l)]);
  for (int l : p.links) {
    use[static_cast<std::size_t>(l)] = 0;
    position[static_cast<std::size_t>(l)] = -1;
  }
}

// Routes of one cluster, shared by the simulations of one simulate_step call (the run and
// its balanced comparison): Dijkstra's distances per destination (hw::Router) are the
// largest setup cost at thousands of devices. Route addresses are stable (node-based map).
struct RouteCache {
  explicit RouteCache(const hw::Topology& topology) : router(topology) {}
  hw::Router router;
  std::unordered_map<std::uint64_t, Route> routes;
  // By link: its class's lowest id (hw::Topology::parallel_links), computed with the first
  // route; by class: its size and the debug check's scratch (Run::route).
  std::vector<int> parallel, class_size;
  std::vector<double> seen_fraction;
  std::vector<int> seen_count;
  Arena<int> link_arena;  // routes' net_links and net_fraction
  Arena<double> fraction_arena;
};

struct Instance {
  int pattern = -1;
  double time_bw_s = 0;
  double latency_s = 0;
  std::vector<double> weights;       // per flow, empty: all 1
  std::vector<double> coefficients;  // coflow under uneven weights: per pattern link
  int outstanding = 0;
  int arrived = 0;
  int expected = 1;
  std::vector<int> waiting;  // ranks to resume when done
  int notify_rank = -1;      // pp: rank whose input arrives
  int notify_slot = -1;
  int dp_rank_job = 0;   // dp: 1 when the waiting ranks' dp streams run it
  int hidden_rank = -1;  // tp overlap: the rank whose hidden part this is (nobody waits on it)
  int span_mb = -1, span_layer = -1;  // tp overlap: the hidden part's trace args
  double start_s = 0;
  double alone_s = 0;                      // its duration alone on the network
  std::array<std::uint64_t, 8> seen = {};  // launches per kind when it started
  unsigned in_flight_mask = 0;             // kinds in flight when it started
  int name = 0;
};

struct DpJob {
  int layer = 0;
  bool expert = false;
  bool gather = false;  // parameter all-gather; else gradient reduction
  // ZeRO-3 gathers for one pass of a layer (Run::enqueue_zero3): 1 inside the layer's group,
  // 2 its last job (the layer's parameters are then whole); 0 any other job.
  std::uint8_t zero3 = 0;
};

struct Rank {
  int stage = 0, e = 0, device = 0;
  int next_f = 0;  // next operation in the stage's sequence
  bool busy = false, running = false;
  int op_phase = 0, op_chunk = 0, op_mb = 0, seg = 0;
  double wait_start_s = 0;  // when the current blocking wait began
  int waiting_param = -1;
  std::vector<char> arrived;  // [phase][chunk][mb]
  std::vector<char> fwd_done;
  std::deque<DpJob> dp_queue;
  bool dp_busy = false;
  int grads_outstanding = 0, gathers_outstanding = 0;
  std::vector<char> param_ready;  // per local layer slot (two halves: dense, expert)
  bool ops_done = false, optimizer_done = false, finished = false;
  double last_backward_end_s = 0, done_s = 0, optimizer_end_s = 0;
  // ZeRO-3: layer gathers queued, completed and used (passed by the compute). The queue
  // runs the gathers in the order the passes use them, so the pass's n-th gather is ready
  // once zero3_done > n.
  int zero3_queued = 0, zero3_done = 0, zero3_used = 0;
  int zero3_op = 0, zero3_pos = 0;  // the next gather to queue: operation, layer in its pass
  bool waiting_gather = false;
  // ZeRO-2/3 without --overlap-grad-reduce: the compute stream waits for the reductions of
  // the backward it just ran before its next operation (Run::reduce_after_backward).
  bool waiting_grads = false;
  // tp overlap: the in-flight hidden part of the last tp collective (instance id, -1: none),
  // and whether the compute stream waits for it.
  int tp_hidden = -1;
  bool waiting_hidden = false;
  // Breakdown (seconds).
  double compute_s = 0, fwd_compute_s = 0, bwd_compute_s = 0, tp_s = 0, ep_s = 0, pp_s = 0,
         dp_wait_s = 0, optimizer_s = 0;
  double tp_hidden_s = 0, tp_hidden_wait_s = 0;  // hidden parts' seconds; of which waited for
  int compute_track = -1, comm_track = -1, dp_track = -1;
};

class Run {
 public:
  Run(const model::ModelSpec& spec, const hw::ClusterSpec& cluster, const ClusterNetwork& network,
      const Layout& layout, const StepOptions& step_options, const SimulateOptions& options,
      RouteCache& routes)
      : spec_(spec),
        cluster_(cluster),
        coll_(network.collectives()),
        topo_(network.collectives().topology()),
        layout_(layout),
        step_opt_(step_options),
        opt_(options),
        router_(routes.router),
        routes_(routes.routes),
        cache_(routes) {}

  SimulationResult go();

 private:
  // Setup.
  void build_layers();
  void build_routing();
  void build_templates();
  void build_ranks();
  int device(int stage, int e, int t = 0) const {
    return static_cast<int>(tp_ * (e + dp_ * stage) + t);
  }
  int vstage(int chunk, int stage) const { return chunk * p_ + stage; }
  std::size_t slot(int phase, int chunk, int mb) const {
    return (static_cast<std::size_t>(phase) * V_ + chunk) * m_ + mb;
  }
  // Network.
  const Route* route(int a, int b);
  void add_route(Pattern& p, int a, int b);  // route(a, b) as the pattern's next flow
  std::vector<int> pattern_shape(int kind, const std::vector<std::vector<int>>& groups) const;
  void map_routes(const Pattern& lender, const std::vector<int>& devices);
  std::vector<double> isolated(const std::vector<const Route*>& routes);
  int ring_pattern(const std::vector<std::vector<int>>& groups);
  int a2a_pattern(const std::vector<std::vector<int>>& groups);
  int p2p_pattern(int a, int b);
  // A pattern of `kind` over `groups`, built once by `add_flows(p)` (which adds the routes,
  // sources and destinations), then its isolated rates and folded coefficients; cached.
  template <class AddFlows>
  int cached_pattern(int kind, const std::vector<std::vector<int>>& groups, AddFlows&& add_flows);
  double analytic(hw::CollectiveOp op, int size, int stride, double bytes, double* latency);
  int start_instance(int pattern, double time_bw_s, double latency_s, std::vector<double> w,
                     int name);
  void launch(int id);
  void request_solve();
  void on_net_update(std::int64_t version);
  void on_net_solve();
  void on_collective_done(int id);
  // Ranks.
  void try_start(int r);
  void advance(int r);
  void finish_op(int r);
  void run_dp(int r);
  void dp_done(int r, const DpJob& job);
  void enqueue_zero3(int r, int phase, int mb, int layer);
  void queue_zero3_ahead(int r);
  bool reduce_after_backward(int r);
  int queue_layer_jobs(Rank& rk, int layer, bool gather, std::uint8_t zero3 = 0);
  void launch_tp_hidden(int r, const Segment& sg);
  int tp_group_pattern(const Rank& rk);
  bool wait_tp_hidden(int r);
  void maybe_optimizer(int r);
  double expert_seconds(int r, int layer, int mb, int pass);
  void span(int track, int name, double start, double dur, int mb = -1, int layer = -1);
  int name_id(const std::string& s);
  int track(const std::string& process, const std::string& thread, int pid, int tid);

  const model::ModelSpec& spec_;
  const hw::ClusterSpec& cluster_;
  const hw::CollectiveModel& coll_;
  const hw::Topology& topo_;
  Layout layout_;
  StepOptions step_opt_;
  SimulateOptions opt_;
  hw::Router& router_;
  Engine engine_;
  std::unique_ptr<FlowNetwork> net_;

  std::int64_t tp_ = 1, dp_ = 1, ep_ = 1;
  int p_ = 1, V_ = 1, m_ = 1;
  bool moe_ = false, full_ = false, sp_ = false;
  bool zero3_ = false;  // ZeRO-3 with data parallelism: per-pass parameter gathers
  // ZeRO-2/3 without --overlap-grad-reduce: every micro-batch's reductions, exposed.
  bool grads_per_backward_ = false;
  double tp_hidden_ = 0;  // StepOptions::overlap.tp_hidden_fraction, clamped to [0, 1]
  std::vector<model::LayerCost> costs_;
  std::vector<LayerParts> parts_;
  std::vector<std::vector<std::vector<int>>> chunk_layers_;  // [stage][chunk] -> layers
  std::vector<int> layer_slot_;                              // layer -> index inside its stage
  std::vector<std::vector<Segment>> templates_;              // [(stage * V + chunk) * 2 + phase]
  std::vector<std::vector<OpRef>> fwd_order_, bwd_order_;    // per stage
  struct Step {
    int phase = kFwd;
    int index = 0;  // into fwd_order_ or bwd_order_
  };
  std::vector<std::vector<Step>> sequence_;  // per stage: the operations in order
  PhaseTimes embed_, head_;
  std::vector<double> dense_params_, expert_params_;  // per layer, per rank
  std::vector<double> stage_dense_, stage_expert_;    // per stage, per rank
  // Routing: loads[(moe layer index * m + mb)] -> per expert; shares per rank.
  std::vector<int> moe_index_;  // layer -> index among MoE layers, -1 dense
  std::vector<std::vector<double>> loads_;
  std::vector<std::vector<double>> rank_share_;  // per (moe layer, mb): share of each ep rank
  std::unordered_map<double, PhaseTimes> expert_memo_;
  double capacity_ = 0;  // assignments per expert; 0: dropless
  double rows_balanced_ = 0;
  // Network state.
  std::vector<double> capacity_Bps_;
  std::unordered_map<std::uint64_t, Route>& routes_;
  RouteCache& cache_;
  std::unique_ptr<Scratch> isolated_scratch_;  // max-min working memory for isolated()
  std::vector<double> fold_use_;               // per link, for fold()
  std::vector<int> fold_position_;
  std::map<std::vector<int>, int> pattern_cache_;
  std::map<std::vector<int>, int> shape_lender_;  // pattern_shape -> the first such pattern
  std::vector<int> sigma_;                        // map_routes' automorphism
  std::unordered_map<int, int> link_image_;       // and its links' images
  std::deque<Pattern> patterns_;                  // a deque: flows point into its patterns
  std::deque<Instance> instances_;                // a deque: references stay valid as it grows
  std::unordered_map<std::uint64_t, int> barriers_;
  std::int64_t net_version_ = 0;
  std::array<std::uint64_t, 8> launched_ = {}, in_flight_ = {};
  std::array<double, 8> extra_s_ = {}, alone_total_s_ = {};
  std::array<unsigned, 8> overlapped_ = {};
  bool coflows_ = false;
  bool solve_pending_ = false;
  std::vector<std::int64_t> finished_owners_;
  std::map<std::tuple<int, int, int>, int> tp_pattern_, ep_pattern_, pp_pattern_, dp_pattern_;
  // Ranks.
  std::vector<Rank> ranks_;
  // Trace.
  Timeline timeline_;
  std::unordered_map<std::string, int> names_;
  int n_compute_ = 0, n_experts_ = 0, n_tp_ = 0, n_a2a_ = 0, n_p2p_ = 0, n_dp_rs_ = 0, n_dp_ag_ = 0,
      n_opt_ = 0;
  std::map<int, int> link_track_;
  SimulationStats stats_;
};

// ---------------------------------------------------------------- setup

void Run::build_layers() {
  costs_ = model::layer_costs(spec_);
  const hw::Accelerator& acc = cluster_.accelerator;
  parts_.reserve(costs_.size());
  for (const auto& lc : costs_) parts_.push_back(layer_parts(spec_, acc, layout_, lc));
  embed_ = embedding_time(spec_, acc, layout_);
  head_ = head_time(spec_, acc, layout_);
  const auto stages = stage_layers(static_cast<std::int64_t>(costs_.size()), layout_);
  chunk_layers_.assign(static_cast<std::size_t>(p_), {});
  layer_slot_.assign(costs_.size(), 0);
  for (int s = 0; s < p_; ++s) {
    const auto& list = stages[static_cast<std::size_t>(s)];
    auto& chunks = chunk_layers_[static_cast<std::size_t>(s)];
    chunks.assign(static_cast<std::size_t>(V_), {});
    const std::size_t per = list.size() / static_cast<std::size_t>(V_);
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::size_t c = std::min(per > 0 ? i / per : 0, static_cast<std::size_t>(V_ - 1));
      chunks[c].push_back(static_cast<int>(list[i]));
      layer_slot_[static_cast<std::size_t>(list[i])] = static_cast<int>(i);
    }
  }
  // Parameters each rank holds per layer, as sim/step.cpp counts them for the dp traffic.
  const model::ModelTotals totals = model::totals(spec_);
  const double t = static_cast<double>(tp_), e = static_cast<double>(ep_);
  dense_params_.assign(costs_.size(), 0);
  expert_params_.assign(costs_.size(), 0);
  stage_dense_.assign(static_cast<std::size_t>(p_), 0);
  stage_expert_.assign(static_cast<std::size_t>(p_), 0);
  for (int s = 0; s < p_; ++s)
    for (std::int64_t j : stages[static_cast<std::size_t>(s)]) {
      const auto& lc = costs_[static_cast<std::size_t>(j)];
      double dense = (lc.attention_params + lc.ffn_params + lc.shared_expert_params) / t +
                     lc.norm_params + lc.router_params;
      // Embedding on the first stage's first layer bucket, head on the last stage's last.
      if (s == 0 && j == stages[0].front())
        dense += (totals.params_input_embedding + totals.params_position_embedding) / t;
      if (s == p_ - 1 && j == stages[static_cast<std::size_t>(p_ - 1)].back()) {
        double head = totals.params_output_head;
        if (spec_.tied_embeddings && p_ > 1) head += totals.params_input_embedding;
        dense += head / t + totals.params_final_norm;
      }
      dense_params_[static_cast<std::size_t>(j)] = dense;
      expert_params_[static_cast<std::size_t>(j)] = lc.expert_params / (e * t);
      stage_dense_[static_cast<std::size_t>(s)] += dense;
      stage_expert_[static_cast<std::size_t>(s)] += lc.expert_params / (e * t);
    }
}

void Run::build_routing() {
  moe_index_.assign(costs_.size(), -1);
  int n_moe = 0;
  for (std::size_t j = 0; j < costs_.size(); ++j)
    if (costs_[j].kind == model::LayerKind::moe) moe_index_[j] = n_moe++;
  if (n_moe == 0) return;
  const SetupTimer timer(stats_.setup_s);
  const auto E = static_cast<std::size_t>(spec_.moe.experts);
  const int k = static_cast<int>(spec_.moe.top_k);
  const double T = static_cast<double>(layout_.micro_batch * spec_.seq_len);
  const double N = T * static_cast<double>(ep_);  // tokens of one ep group per micro-batch
  const double mean = N * k / static_cast<double>(E);
  rows_balanced_ = mean * spec_.moe.capacity_factor.value_or(1.0);
  // Capacity (Fedus et al. 2021 Eq. 3): cf * tokens * k / experts assignments per expert.
  capacity_ = spec_.moe.capacity_factor ? *spec_.moe.capacity_factor * mean : 0;
  Rng rng(opt_.seed);
  loads_.assign(static_cast<std::size_t>(n_moe * m_), {});
  rank_share_.assign(loads_.size(), {});
  const auto per_rank = E / static_cast<std::size_t>(ep_);
  double sum_max = 0, sum_mean = 0;
  // dp/ep groups per stage run the same loads (a modelling choice: their flows mirror).
  const double replicas = static_cast<double>(dp_ / ep_);
  for (int l = 0; l < n_moe; ++l) {
    const std::vector<double> p = popularity(opt_.routing, static_cast<std::int64_t>(E), rng);
    for (int mb = 0; mb < m_; ++mb) {
      auto& loads = loads_[static_cast<std::size_t>(l * m_ + mb)];
      if (opt_.routing.kind == RoutingKind::balanced)
        loads.assign(E, mean);
      else
        loads = sample_expert_loads(p, N, k, rng);
      stats_.tokens_routed += N * k * replicas;
      if (capacity_ > 0) stats_.tokens_dropped += dropped(loads, capacity_) * replicas;
      auto& share = rank_share_[static_cast<std::size_t>(l * m_ + mb)];
      share.assign(static_cast<std::size_t>(ep_), 0);
      double total = 0, busiest = 0;
      for (std::size_t q = 0; q < share.size(); ++q) {
        for (std::size_t x = q * per_rank; x < (q + 1) * per_rank; ++x) share[q] += loads[x];
        total += share[q];
        busiest = std::max(busiest, share[q]);
      }
      sum_max += busiest;
      sum_mean += total / static_cast<double>(share.size());
      for (double& s : share) s = total > 0 ? s / total : 1.0 / static_cast<double>(ep_);
    }
  }
  stats_.max_over_mean = sum_mean > 0 ? sum_max / sum_mean : 1;
}

void Run::build_templates() {
  templates_.assign(static_cast<std::size_t>(p_ * V_ * 2), {});
  const double sub = full_ ? 3 : 2;  // tp calls per sub-block: fwd, bwd (+ recompute)
  auto tp_seg = [&](const LayerParts& lp, std::vector<Segment>& out) {
    if (lp.tp_calls <= 0 || tp_ <= 1) return;
    const double calls = lp.tp_calls / sub;  // one pass's calls
    double lat = 0, lat2 = 0;
    double bw;
    if (sp_) {
      const double a =
          analytic(hw::CollectiveOp::reduce_scatter, static_cast<int>(tp_), 1, lp.tp_bytes, &lat);
      const double b =
          analytic(hw::CollectiveOp::all_gather, static_cast<int>(tp_), 1, lp.tp_bytes, &lat2);
      bw = a + b - lat - lat2;
      lat += lat2;
    } else {
      bw =
          analytic(hw::CollectiveOp::all_reduce, static_cast<int>(tp_), 1, lp.tp_bytes, &lat) - lat;
    }
    Segment s;
    s.kind = Seg::tp;
    s.time_bw_s = calls * bw;
    s.latency_s = calls * lat;
    out.push_back(s);
  };
  auto compute = [](double sec, std::vector<Segment>& out, int layer) {
    if (sec <= 0) return;
    if (!out.empty() && out.back().kind == Seg::compute) {
      out.back().seconds += sec;  // adjacent compute merges into one task
      return;
    }
    Segment s;
    s.kind = Seg::compute;
    s.seconds = sec;
    s.layer = layer;
    out.push_back(s);
  };
  auto seg = [](Seg kind, int layer, int pass, std::vector<Segment>& out) {
    Segment s;
    s.kind = kind;
    s.layer = layer;
    s.pass = pass;
    out.push_back(s);
  };
  // Forward of one layer (also its recompute in the backward pass with full recompute).
  auto forward_layer = [&](int l, bool recompute, std::vector<Segment>& out) {
    const LayerParts& lp = parts_[static_cast<std::size_t>(l)];
    const bool moe = moe_index_[static_cast<std::size_t>(l)] >= 0;
    const double other = (recompute ? lp.total.recompute_s - lp.routed_experts.recompute_s
                                    : lp.total.fwd_s - lp.routed_experts.fwd_s);
    compute(other, out, l);
    tp_seg(lp, out);
    if (moe) {
      if (ep_ > 1) seg(Seg::ep, l, 0, out);
      seg(Seg::experts, l, recompute ? 2 : 0, out);
      if (ep_ > 1) seg(Seg::ep, l, 1, out);
    }
  };
  const int last_v = p_ * V_ - 1;
  for (int s = 0; s < p_; ++s)
    for (int c = 0; c < V_; ++c) {
      const int vs = vstage(c, s);
      const auto& layers = chunk_layers_[static_cast<std::size_t>(s)][static_cast<std::size_t>(c)];
      auto& fwd = templates_[static_cast<std::size_t>((s * V_ + c) * 2 + kFwd)];
      auto& bwd = templates_[static_cast<std::size_t>((s * V_ + c) * 2 + kBwd)];
      if (vs == 0) compute(embed_.fwd_s, fwd, -1);
      for (int l : layers) {
        // ZeRO-3 gathers the layer for every micro-batch's forward (the first one's gather
        // subsumes the start-of-step one: enqueue_zero3), ZeRO-1/2 once at the step start.
        if (zero3_)
          seg(Seg::gather, l, 0, fwd);
        else if (layout_.zero >= 1 && step_opt_.overlap.dp_param_gather)
          seg(Seg::wait_param, l, 0, fwd);
        forward_layer(l, false, fwd);
      }
      if (vs == last_v) compute(head_.fwd_s, fwd, -1);
      if (vs < last_v) seg(Seg::pp_send, -1, 0, fwd);

      if (vs == last_v) compute(head_.bwd_s, bwd, -1);
      for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
        const int l = *it;
        const LayerParts& lp = parts_[static_cast<std::size_t>(l)];
        const bool moe = moe_index_[static_cast<std::size_t>(l)] >= 0;
        // ZeRO-3 gathers the layer again for its backward (and the recompute before it).
        if (zero3_) seg(Seg::gather, l, 1, bwd);
        if (full_) {
          forward_layer(l, true, bwd);
        }
        if (moe) {
          if (ep_ > 1) seg(Seg::ep, l, 1, bwd);  // combine's gradient
          seg(Seg::experts, l, 1, bwd);
          if (ep_ > 1) seg(Seg::ep, l, 0, bwd);  // dispatch's gradient
        }
        double other = lp.total.bwd_s - lp.routed_experts.bwd_s;
        if (!full_) other += lp.total.recompute_s;  // selective: scores recomputed here
        compute(other, bwd, l);
        tp_seg(lp, bwd);
        seg(Seg::grad_bucket, l, 0, bwd);
      }
      if (vs == 0) compute(embed_.bwd_s, bwd, -1);
      if (!step_opt_.fused_grad_accumulation) {
        // Unfused: the chunk's gradients added into the fp32 buffer (sim/step.cpp prices the
        // stage's in one add; the chunks' adds sum to it).
        double params = 0;
        for (int l : layers)
          params += dense_params_[static_cast<std::size_t>(l)] +
                    expert_params_[static_cast<std::size_t>(l)];
        compute(grad_accumulation_time_s(cluster_.accelerator, params), bwd, -1);
      }
      if (vs > 0) seg(Seg::pp_send, -1, 0, bwd);
    }
  // Operation orders per stage: 1F1B, or Megatron's interleaved order (groups of p
  // micro-batches, chunk by chunk; Narayanan et al. 2021 Sec. 2.2.2), backward chunks reversed.
  fwd_order_.assign(static_cast<std::size_t>(p_), {});
  bwd_order_.assign(static_cast<std::size_t>(p_), {});
  sequence_.assign(static_cast<std::size_t>(p_), {});
  for (int s = 0; s < p_; ++s) {
    auto& fo = fwd_order_[static_cast<std::size_t>(s)];
    auto& bo = bwd_order_[static_cast<std::size_t>(s)];
    for (int b0 = 0; b0 < m_; b0 += p_)
      for (int c = 0; c < V_; ++c)
        for (int mb = b0; mb < std::min(m_, b0 + p_); ++mb) {
          fo.push_back({c, mb});
          bo.push_back({V_ - 1 - c, mb});
        }
    // Megatron-LM's order (schedules.py): warm-up forwards, then one forward and one
    // backward in turn, then the cool-down backwards. Warm-up: p - s - 1 for 1F1B
    // (Narayanan et al. 2021 Fig. 4), (p - s - 1) * 2 + (V - 1) * p when interleaved.
    const int total = static_cast<int>(fo.size());
    const int warm = std::min(total, V_ > 1 ? (p_ - s - 1) * 2 + (V_ - 1) * p_ : p_ - s - 1);
    auto& seq = sequence_[static_cast<std::size_t>(s)];
    for (int k = 0; k < warm; ++k) seq.push_back({kFwd, k});
    for (int k = 0; k < total - warm; ++k) {
      seq.push_back({kFwd, warm + k});
      seq.push_back({kBwd, k});
    }
    for (int k = total - warm; k < total; ++k) seq.push_back({kBwd, k});
  }
}

void Run::build_ranks() {
  ranks_.resize(static_cast<std::size_t>(p_ * ep_));
  for (int s = 0; s < p_; ++s)
    for (int e = 0; e < ep_; ++e) {
      Rank& r = ranks_[static_cast<std::size_t>(s * ep_ + e)];
      r.stage = s;
      r.e = e;
      r.device = device(s, e);
      r.arrived.assign(static_cast<std::size_t>(2 * V_ * m_), 0);
      r.fwd_done.assign(static_cast<std::size_t>(V_ * m_), 0);
      r.param_ready.assign(costs_.size(), 0);
      if (opt_.trace) {
        const std::string proc = "device " + std::to_string(r.device);
        r.compute_track = track(proc, "compute", r.device, 0);
        r.comm_track = track(proc, "comm (tp, ep, pp)", r.device, 1);
        r.dp_track = track(proc, "dp", r.device, 2);
      }
    }
}

// ---------------------------------------------------------------- network

const Route* Run::route(int a, int b) {
  const std::uint64_t key = (static_cast<std::uint64_t>(a) << 32) | static_cast<std::uint32_t>(b);
  auto it = routes_.find(key);
  if (it != routes_.end()) return &it->second;
  ++stats_.routes;
  const std::vector<std::pair<int, double>>& shares = router_.spread_shares(a, b);
  if (cache_.parallel.empty()) {
    cache_.parallel = topo_.parallel_links();
    cache_.class_size.assign(cache_.parallel.size(), 0);
    for (int c : cache_.parallel) ++cache_.class_size[static_cast<std::size_t>(c)];
    cache_.seen_fraction.assign(cache_.parallel.size(), 0.0);
    cache_.seen_count.assign(cache_.parallel.size(), 0);
  }
  Route r;
  r.uniform = router_.last_spread_uniform();
  // Keep one link per class.
  std::size_t kept = 0;
  for (const auto& [l, f] : shares)
    kept += cache_.parallel[static_cast<std::size_t>(l)] == l ? 1 : 0;
  const std::span<int> net_links = cache_.link_arena.allocate(kept);
  const std::span<double> net_fraction = cache_.fraction_arena.allocate(kept);
  std::size_t k = 0;
  for (const auto& [l, f] : shares)
    if (cache_.parallel[static_cast<std::size_t>(l)] == l) {
      net_links[k] = l;
      net_fraction[k++] = f;
    }
  sort_by_link(net_links, net_fraction);  // one order for routes computed and moved
  r.net_links = net_links;
  r.net_fraction = net_fraction;
  if (!shares.empty()) {
    r.trace_link = shares.front().first;
    for (const auto& [l, f] : shares)
      if (topo_.link(l).kind == hw::LinkKind::scale_out) {
        r.trace_link = l;
        break;
      }
  }
#ifndef NDEBUG
  // Debug builds check what hw::Topology proves: the route crosses every link of a class
  // with one fraction, bit for bit, or none of them.
  auto& seen = cache_.seen_count;
  for (const auto& [l, f] : shares) {
    const auto c = static_cast<std::size_t>(cache_.parallel[static_cast<std::size_t>(l)]);
    if (seen[c]++ == 0) cache_.seen_fraction[c] = f;
    if (f != cache_.seen_fraction[c])
      throw std::logic_error("parallel links crossed with unequal fractions");
  }
  for (const auto& [l, f] : shares) {
    const auto c = static_cast<std::size_t>(cache_.parallel[static_cast<std::size_t>(l)]);
    if (seen[c] != 0 && seen[c] != cache_.class_size[c])
      throw std::logic_error("a route crosses part of a class of parallel links");
    seen[c] = 0;
  }
#endif
  return &routes_.emplace(key, std::move(r)).first->second;
}

void Run::add_route(Pattern& p, int a, int b) {
  p.routes.push_back(route(a, b));
  p.ends.emplace_back(a, b);
}

// What a lender must share with a pattern: its kind, its groups' sizes, and per member its
// place in its scale-up domain and the order in which its domain first appears.
std::vector<int> Run::pattern_shape(int kind, const std::vector<std::vector<int>>& groups) const {
  std::vector<int> shape{kind, static_cast<int>(groups.size())};
  std::unordered_map<int, int> order;  // domain -> first appearance
  const int size = topo_.domain_size();
  for (const auto& g : groups) {
    shape.push_back(static_cast<int>(g.size()));
    for (int d : g) {
      const int rank = order.emplace(d / size, static_cast<int>(order.size())).first->second;
      shape.push_back(d % size);
      shape.push_back(rank);
    }
  }
  return shape;
}

// Routes moved by an automorphism. hw::Topology::domain_image_map guesses a map taking the
// lender's devices onto `devices`; hw::Router::is_automorphism checks it, links alike (same
// latency, bandwidth, efficiency, kind). Distances then map exactly, and so do the equal-cost
// DAGs and their splits; a route whose vertices each received equal shares only sums them in
// any order to the same bits, so its image is exactly the route the Router would compute
// between the images (hw tests: SpreadsMoveWithAutomorphismsWhenSharesAreUniform). Other
// routes, and any link without a single image, are left to route().
void Run::map_routes(const Pattern& lender, const std::vector<int>& devices) {
  if (!topo_.domain_image_map(lender.devices, devices, sigma_)) return;
  if (!router_.is_automorphism(sigma_, std::numeric_limits<std::size_t>::max(), true)) return;
  link_image_.clear();
  const auto image = [&](int l) {
    const auto it = link_image_.find(l);
    if (it != link_image_.end()) return it->second;
    const int i = topo_.link_image(l, sigma_);
    link_image_.emplace(l, i);
    return i;
  };
  for (std::size_t f = 0; f < lender.routes.size(); ++f) {
    const Route& from = *lender.routes[f];
    if (!from.uniform) continue;
    const int a = sigma_[static_cast<std::size_t>(lender.ends[f].first)];
    const int b = sigma_[static_cast<std::size_t>(lender.ends[f].second)];
    const std::uint64_t key = (static_cast<std::uint64_t>(a) << 32) | static_cast<std::uint32_t>(b);
    if (routes_.count(key) != 0) continue;
    Route r;
    const std::span<int> links = cache_.link_arena.allocate(from.net_links.size());
    const std::span<double> fraction = cache_.fraction_arena.allocate(from.net_links.size());
    for (std::size_t i = 0; i < links.size(); ++i) {
      const int l = image(from.net_links[i]);
      if (l < 0) return;
      links[i] = cache_.parallel[static_cast<std::size_t>(l)];  // the image class's own
      fraction[i] = from.net_fraction[i];
    }
    sort_by_link(links, fraction);
    r.net_links = links;
    r.net_fraction = fraction;
    r.trace_link = from.trace_link >= 0 ? image(from.trace_link) : -1;
    if (from.trace_link >= 0 && r.trace_link < 0) return;
#ifndef NDEBUG
    // Debug builds compute the route too and compare, bit for bit.
    const Route& direct = *route(a, b);
    if (!std::equal(direct.net_links.begin(), direct.net_links.end(), links.begin(), links.end()) ||
        !std::equal(direct.net_fraction.begin(), direct.net_fraction.end(), fraction.begin(),
                    fraction.end()) ||
        direct.trace_link != r.trace_link)
      throw std::logic_error("a route moved by an automorphism differs from the computed one");
    continue;
#endif
    routes_.emplace(key, r);
    ++stats_.routes_by_symmetry;
  }
}

// Each flow's rate when the pattern runs alone (max-min over its own flows).
std::vector<double> Run::isolated(const std::vector<const Route*>& routes) {
  std::vector<std::span<const int>> paths;
  std::vector<std::span<const double>> coefficients;
  paths.reserve(routes.size());
  coefficients.reserve(routes.size());
  for (const Route* r : routes) {
    paths.push_back(r->net_links);
    coefficients.push_back(r->net_fraction);
  }
  if (!isolated_scratch_) isolated_scratch_ = std::make_unique<Scratch>(capacity_Bps_.size());
  return max_min_rates(capacity_Bps_, paths, coefficients, *isolated_scratch_);
}

double Run::analytic(hw::CollectiveOp op, int size, int stride, double bytes, double* latency) {
  if (latency) *latency = 0;
  if (size <= 1 || bytes <= 0) return 0;
  const hw::CollectiveCost c = coll_.cost(op, hw::GroupShape{size, stride, true}, bytes);
  if (latency) *latency = std::min(c.latency_s, c.time_s);
  return c.time_s;
}

template <class AddFlows>
int Run::cached_pattern(int kind, const std::vector<std::vector<int>>& groups,
                        AddFlows&& add_flows) {
  std::vector<int> key{kind};
  for (const auto& g : groups) key.insert(key.end(), g.begin(), g.end()), key.push_back(-1);
  auto it = pattern_cache_.find(key);
  if (it != pattern_cache_.end()) return it->second;
  const SetupTimer timer(stats_.setup_s);
  Pattern p;
  p.members = static_cast<int>(groups.front().size());
  for (const auto& g : groups) p.devices.insert(p.devices.end(), g.begin(), g.end());
  // Routes by symmetry: the first pattern of this kind and shape lends its routes to the
  // later ones (another pipeline stage's, another sibling group's) through an automorphism
  // of the network that maps its devices onto these (map_routes).
  std::vector<int> shape;
  int lender = -1;
  if (opt_.routes_by_symmetry && p.devices.size() >= kMinMappedMembers) {
    shape = pattern_shape(kind, groups);
    const auto t = shape_lender_.find(shape);
    if (t != shape_lender_.end()) lender = t->second;
    if (lender >= 0) map_routes(patterns_[static_cast<std::size_t>(lender)], p.devices);
  }
  add_flows(p);
  p.isolated_Bps = isolated(p.routes);
  fold(p, fold_use_, fold_position_);
  patterns_.push_back(std::move(p));
  const int id = static_cast<int>(patterns_.size()) - 1;
  pattern_cache_.emplace(key, id);
  if (!shape.empty() && lender < 0) shape_lender_.emplace(std::move(shape), id);
  return id;
}

// Ring: rank i sends to rank i+1 of its group (NCCL ring; Patarasuk & Yuan 2009).
int Run::ring_pattern(const std::vector<std::vector<int>>& groups) {
  return cached_pattern(0, groups, [&](Pattern& p) {
    for (const auto& g : groups) {
      const int n = static_cast<int>(g.size());
      for (int i = 0; i < n; ++i) {
        const int a = g[static_cast<std::size_t>(i)], b = g[static_cast<std::size_t>((i + 1) % n)];
        if (a == b) continue;
        add_route(p, a, b);
        p.src.push_back(i);
        p.dsts.push_back({(i + 1) % n});
      }
    }
  });
}

// Point to point: one flow, a to b (a pipeline send).
int Run::p2p_pattern(int a, int b) {
  return cached_pattern(2, {{a, b}}, [&](Pattern& p) {
    add_route(p, a, b);
    p.src.push_back(0);
    p.dsts.push_back({1});
  });
}

// All-to-all: a flow per pair inside a scale-up domain; across domains one flow per (source,
// destination domain) to the member on the source's rail, carrying the bytes of every
// member there (docs/simulate.md: bundling keeps the flow count at n * (k - 1 + D - 1)).
int Run::a2a_pattern(const std::vector<std::vector<int>>& groups) {
  return cached_pattern(1, groups, [&](Pattern& p) {
    const auto dom = topo_.domain_of();
    for (const auto& g : groups) {
      const int n = static_cast<int>(g.size());
      // Members by domain, in group order.
      std::map<int, std::vector<int>> by_domain;
      for (int i = 0; i < n; ++i)
        by_domain[dom[static_cast<std::size_t>(g[static_cast<std::size_t>(i)])]].push_back(i);
      for (int i = 0; i < n; ++i) {
        const int home = dom[static_cast<std::size_t>(g[static_cast<std::size_t>(i)])];
        const auto& mine = by_domain[home];
        const int pos = static_cast<int>(std::find(mine.begin(), mine.end(), i) - mine.begin());
        for (const auto& [d, members] : by_domain) {
          if (d == home) {
            for (int j : members) {
              if (j == i) continue;
              add_route(p, g[static_cast<std::size_t>(i)], g[static_cast<std::size_t>(j)]);
              p.src.push_back(i);
              p.dsts.push_back({j});
            }
          } else {
            const int j = members[static_cast<std::size_t>(pos) % members.size()];
            add_route(p, g[static_cast<std::size_t>(i)], g[static_cast<std::size_t>(j)]);
            p.src.push_back(i);
            p.dsts.push_back(members);
          }
        }
      }
    }
  });
}

int Run::start_instance(int pattern, double time_bw_s, double latency_s, std::vector<double> w,
                        int name) {
  Instance in;
  in.pattern = pattern;
  in.time_bw_s = std::max(0.0, time_bw_s);
  in.latency_s = std::max(0.0, latency_s);
  in.weights = std::move(w);
  in.name = name;
  instances_.push_back(std::move(in));
  return static_cast<int>(instances_.size()) - 1;
}

// Starts the flows of a collective whose members have all arrived. Volume calibration: a
// flow alone on the network would run at isolated_Bps; its volume is that rate times the
// analytic bandwidth time (times its weight under uneven all-to-all), so that a collective
// running alone takes exactly the analytic time and contention only slows it.
void Run::launch(int id) {
  ++stats_.collectives;
  Instance& in = instances_[static_cast<std::size_t>(id)];
  in.start_s = engine_.now_s();
  in.outstanding = 0;
  // What it would take alone: the slowest flow's weight times the bandwidth time.
  double wmax_alone = in.weights.empty() ? 1.0 : 0.0;
  for (double w : in.weights) wmax_alone = std::max(wmax_alone, w);
  in.alone_s = in.time_bw_s * wmax_alone + in.latency_s;
  const auto kind = static_cast<std::size_t>(in.name) % in.seen.size();
  in.in_flight_mask = 0;
  for (std::size_t k = 0; k < in.seen.size(); ++k)
    if (in_flight_[k] > 0) in.in_flight_mask |= 1u << k;
  ++launched_[kind];
  ++in_flight_[kind];
  in.seen = launched_;
  if (!opt_.contention) {
    // No contention: every collective takes its time alone (the analytic model's view).
    engine_.schedule(engine_.now_s() + in.alone_s, kCollectiveDone, id);
    return;
  }
  if (in.pattern >= 0 && in.time_bw_s > 0 && coflows_) {
    // One coflow: progress rate 1 = alone; the slowest (heaviest) flow sets its length and
    // the others are spread over the same time.
    const Pattern& p = patterns_[static_cast<std::size_t>(in.pattern)];
    net_->advance_to(engine_.now_s());
    double wmax = 1;
    if (!in.weights.empty()) {
      wmax = 0;
      for (double w : in.weights) wmax = std::max(wmax, w);
      in.coefficients.assign(p.links.size(), 0.0);
      const double scale = wmax > 0 ? 1 / wmax : 0;
      std::size_t k = 0;  // into p.position
      for (std::size_t f = 0; f < p.routes.size(); ++f)
        for (std::size_t i = 0; i < p.routes[f]->net_links.size(); ++i)
          in.coefficients[static_cast<std::size_t>(p.position[k++])] +=
              p.isolated_Bps[f] * in.weights[f] * p.routes[f]->net_fraction[i] * scale;
    }
    if (wmax > 0 && !p.links.empty()) {
      net_->add(p.links, in.time_bw_s * wmax, id,
                in.weights.empty() ? p.coefficients : in.coefficients, 1.0);
      ++in.outstanding;
      stats_.flows += static_cast<std::int64_t>(p.routes.size());
    }
  } else if (in.pattern >= 0 && in.time_bw_s > 0) {
    const Pattern& p = patterns_[static_cast<std::size_t>(in.pattern)];
    net_->advance_to(engine_.now_s());
    for (std::size_t f = 0; f < p.routes.size(); ++f) {
      const double w = in.weights.empty() ? 1.0 : in.weights[f];
      const double bytes = p.isolated_Bps[f] * in.time_bw_s * w;
      if (bytes <= 0 || p.routes[f]->net_links.empty()) continue;
      net_->add(p.routes[f]->net_links, bytes, id, p.routes[f]->net_fraction);
      ++in.outstanding;
      ++stats_.flows;
    }
  }
  if (in.outstanding == 0) {
    engine_.schedule(engine_.now_s() + in.latency_s, kCollectiveDone, id);
  } else {
    request_solve();
  }
}

void Run::request_solve() {
  if (solve_pending_) return;
  solve_pending_ = true;
  engine_.schedule(engine_.now_s(), kNetSolve);
}

void Run::on_net_solve() {
  solve_pending_ = false;
  net_->advance_to(engine_.now_s());
  finished_owners_.clear();
  net_->collect_finished(finished_owners_);
  for (std::int64_t owner : finished_owners_) {
    Instance& in = instances_[static_cast<std::size_t>(owner)];
    if (--in.outstanding == 0)
      engine_.schedule(engine_.now_s() + in.latency_s, kCollectiveDone, owner);
  }
  net_->solve();
  ++net_version_;
  if (net_->active() > 0)
    engine_.schedule(std::max(engine_.now_s(), net_->next_finish_s()), kNetUpdate, net_version_);
}

void Run::on_net_update(std::int64_t version) {
  if (version != net_version_) return;  // rates changed since: a newer update is queued
  request_solve();
}

void Run::on_collective_done(int id) {
  Instance& in = instances_[static_cast<std::size_t>(id)];
  const double now = engine_.now_s();
  {
    // Contention: time past its time alone, and which kinds of traffic ran meanwhile (in
    // flight at its start, or launched before its end).
    const auto kind = static_cast<std::size_t>(in.name) % in.seen.size();
    --in_flight_[kind];
    const double extra = (now - in.start_s) - in.alone_s;
    if (extra > 1e-6 * std::max(in.alone_s, 1e-9)) {
      extra_s_[kind] += extra;
      overlapped_[kind] |= in.in_flight_mask;
      for (std::size_t k = 0; k < in.seen.size(); ++k)
        if (launched_[k] > in.seen[k]) overlapped_[kind] |= 1u << k;
    }
    alone_total_s_[kind] += in.alone_s;
  }
  if (opt_.trace && in.pattern >= 0 && in.time_bw_s > 0) {
    // Flows as spans on link tracks: each flow on its first scale-out link, else its first
    // link (the collective's start to its end).
    const Pattern& p = patterns_[static_cast<std::size_t>(in.pattern)];
    for (std::size_t f = 0; f < p.routes.size(); ++f) {
      const int link = p.routes[f]->trace_link;
      if (link < 0 || (!in.weights.empty() && in.weights[f] <= 0)) continue;
      auto it = link_track_.find(link);
      if (it == link_track_.end()) {
        const auto& info = topo_.link(link);
        const std::string thread =
            "link " + std::to_string(link) + " " + std::to_string(topo_.link_source(link)) + "->" +
            std::to_string(topo_.link_target(link)) +
            (info.kind == hw::LinkKind::scale_out ? " (scale-out)" : " (scale-up)");
        it = link_track_.emplace(link, track("network", thread, -1, link)).first;
      }
      span(it->second, in.name, in.start_s, now - in.start_s);
    }
  }
  if (in.notify_rank >= 0) {
    Rank& t = ranks_[static_cast<std::size_t>(in.notify_rank)];
    t.arrived[static_cast<std::size_t>(in.notify_slot)] = 1;
    try_start(in.notify_rank);
  }
  if (in.hidden_rank >= 0) {
    // A tp collective's hidden part: it ran beside the compute; resume the rank if it waits
    // for it (at its next tp collective, pipeline send or the end of its pass).
    const int r = in.hidden_rank;
    Rank& rk = ranks_[static_cast<std::size_t>(r)];
    span(rk.comm_track, in.name, in.start_s, now - in.start_s, in.span_mb, in.span_layer);
    rk.tp_hidden_s += now - in.start_s;
    rk.tp_hidden = -1;
    if (rk.waiting_hidden) {
      rk.waiting_hidden = false;
      const double waited = now - rk.wait_start_s;
      rk.tp_s += waited;
      rk.tp_hidden_wait_s += waited;
      advance(r);
    }
    return;
  }
  std::vector<int> waiting = std::move(in.waiting);
  // Done with the weights: free them (a long simulation keeps every instance).
  std::vector<double>().swap(in.weights);
  std::vector<double>().swap(in.coefficients);
  const bool dp = in.dp_rank_job != 0;
  const double start_s = in.start_s;
  const int name = in.name;
  // Resuming ranks starts new collectives: `in` may move, so only the copies are used below.
  for (int r : waiting) {
    Rank& rk = ranks_[static_cast<std::size_t>(r)];
    if (dp) {
      const DpJob job = rk.dp_queue.front();
      rk.dp_queue.pop_front();
      rk.dp_busy = false;
      span(rk.dp_track, job.gather ? n_dp_ag_ : n_dp_rs_, start_s, now - start_s, -1, job.layer);
      dp_done(r, job);
      run_dp(r);
    } else {
      const double waited = now - rk.wait_start_s;
      const Segment& sg =
          templates_[static_cast<std::size_t>((rk.stage * V_ + rk.op_chunk) * 2 + rk.op_phase)]
                    [static_cast<std::size_t>(rk.seg)];
      if (sg.kind == Seg::tp) rk.tp_s += waited;
      if (sg.kind == Seg::ep) rk.ep_s += waited;
      if (sg.kind == Seg::pp_send) rk.pp_s += waited;
      span(rk.comm_track, name, rk.wait_start_s, waited, rk.op_mb, sg.layer);
      if (sg.kind == Seg::tp && tp_hidden_ > 0) launch_tp_hidden(r, sg);
      ++rk.seg;
      advance(r);
    }
  }
}

// ---------------------------------------------------------------- ranks

void Run::try_start(int r) {
  Rank& rk = ranks_[static_cast<std::size_t>(r)];
  if (rk.busy || rk.ops_done) return;
  const auto& seq = sequence_[static_cast<std::size_t>(rk.stage)];
  if (rk.next_f >= static_cast<int>(seq.size())) return;
  // The next operation in the stage's fixed order runs once its input is there (blocking
  // receive, as Megatron-LM's schedules do).
  const Step st = seq[static_cast<std::size_t>(rk.next_f)];
  const OpRef op =
      (st.phase == kFwd
           ? fwd_order_
           : bwd_order_)[static_cast<std::size_t>(rk.stage)][static_cast<std::size_t>(st.index)];
  const int vs = vstage(op.chunk, rk.stage);
  bool ready;
  if (st.phase == kFwd)
    ready = vs == 0 || rk.arrived[slot(kFwd, op.chunk, op.mb)] != 0;
  else
    ready = vs == p_ * V_ - 1 ? rk.fwd_done[static_cast<std::size_t>(op.chunk * m_ + op.mb)] != 0
                              : rk.arrived[slot(kBwd, op.chunk, op.mb)] != 0;
  if (!ready) return;
  ++rk.next_f;
  rk.op_phase = st.phase, rk.op_chunk = op.chunk, rk.op_mb = op.mb, rk.seg = 0;
  rk.busy = true;
  advance(r);
}

double Run::expert_seconds(int r, int layer, int mb, int pass) {
  const Rank& rk = ranks_[static_cast<std::size_t>(r)];
  const int mi = moe_index_[static_cast<std::size_t>(layer)];
  const auto& loads = loads_[static_cast<std::size_t>(mi * m_ + mb)];
  const std::size_t per = loads.size() / static_cast<std::size_t>(ep_);
  double sec = 0;
  for (std::size_t x = static_cast<std::size_t>(rk.e) * per; x < (rk.e + 1) * per; ++x) {
    // Padded to capacity when a capacity factor is set (the step model's rows); dropless:
    // the tokens routed there.
    const double rows = capacity_ > 0 ? rows_balanced_ : loads[x];
    auto it = expert_memo_.find(rows);
    if (it == expert_memo_.end())
      it = expert_memo_.emplace(rows, expert_ffn_time(spec_, cluster_.accelerator, layout_, rows))
               .first;
    sec += pass == 0 ? it->second.fwd_s : pass == 1 ? it->second.bwd_s : it->second.recompute_s;
  }
  return sec;
}

void Run::advance(int r) {
  Rank& rk = ranks_[static_cast<std::size_t>(r)];
  const auto& segs =
      templates_[static_cast<std::size_t>((rk.stage * V_ + rk.op_chunk) * 2 + rk.op_phase)];
  const double now = engine_.now_s();
  while (rk.seg < static_cast<int>(segs.size())) {
    const Segment& sg = segs[static_cast<std::size_t>(rk.seg)];
    switch (sg.kind) {
      case Seg::compute:
      case Seg::experts: {
        const double sec =
            sg.kind == Seg::compute ? sg.seconds : expert_seconds(r, sg.layer, rk.op_mb, sg.pass);
        if (sec <= 0) break;
        rk.compute_s += sec;
        (rk.op_phase == kFwd ? rk.fwd_compute_s : rk.bwd_compute_s) += sec;
        ++stats_.tasks;
        span(rk.compute_track, sg.kind == Seg::compute ? n_compute_ : n_experts_, now, sec,
             rk.op_mb, sg.layer);
        ++rk.seg;
        engine_.schedule(now + sec, kResume, r);
        return;
      }
      case Seg::tp: {
        if (wait_tp_hidden(r)) return;  // the previous collective's hidden part first
        const int pattern = tp_group_pattern(rk);
        if (tp_hidden_ >= 1) {
          launch_tp_hidden(r, sg);  // nothing exposed
          break;
        }
        // Only the exposed part, 1 - h, blocks (sim/step.cpp: tp_exposed = tp * (1 - h));
        // its hidden part follows when it ends (on_collective_done). h = 0: all of it.
        const double exposed = 1 - tp_hidden_;
        const int id =
            start_instance(pattern, sg.time_bw_s * exposed, sg.latency_s * exposed, {}, n_tp_);
        instances_[static_cast<std::size_t>(id)].waiting.push_back(r);
        rk.wait_start_s = now;
        launch(id);
        return;
      }
      case Seg::ep: {
        // A barrier over the stage's ep ranks, keyed by (stage, op, segment).
        const std::uint64_t key =
            ((((static_cast<std::uint64_t>(rk.stage) * V_ + rk.op_chunk) * m_ + rk.op_mb) * 2 +
              rk.op_phase) *
                 4096 +
             static_cast<std::uint64_t>(rk.seg));
        auto it = barriers_.find(key);
        int id;
        if (it == barriers_.end()) {
          auto pk = std::make_tuple(rk.stage, 0, 0);
          auto pit = ep_pattern_.find(pk);
          if (pit == ep_pattern_.end()) {
            // The representative group and up to max_sibling_groups - 1 siblings of the stage
            // (other dp/ep groups, then other tp offsets).
            std::vector<std::vector<int>> groups;
            const std::int64_t per_stage = dp_ / ep_;
            for (std::int64_t t = 0; t < tp_; ++t)
              for (std::int64_t gi = 0; gi < per_stage; ++gi) {
                if (static_cast<int>(groups.size()) >= std::max(1, opt_.max_sibling_groups)) break;
                std::vector<int> g;
                for (std::int64_t e = 0; e < ep_; ++e)
                  g.push_back(static_cast<int>(tp_ * (gi * ep_ + e + dp_ * rk.stage) + t));
                groups.push_back(std::move(g));
              }
            pit = ep_pattern_.emplace(pk, a2a_pattern(groups)).first;
          }
          const LayerParts& lp = parts_[static_cast<std::size_t>(sg.layer)];
          double lat = 0;
          const double t = analytic(hw::CollectiveOp::all_to_all, static_cast<int>(ep_),
                                    static_cast<int>(tp_), lp.ep_bytes, &lat);
          std::vector<double> w;
          if (capacity_ <= 0 && opt_.routing.kind != RoutingKind::balanced) {
            const int mi = moe_index_[static_cast<std::size_t>(sg.layer)];
            const auto& share = rank_share_[static_cast<std::size_t>(mi * m_ + rk.op_mb)];
            const Pattern& p = patterns_[static_cast<std::size_t>(pit->second)];
            const double n = static_cast<double>(share.size());
            w.resize(p.routes.size());
            for (std::size_t f = 0; f < p.routes.size(); ++f) {
              // Dispatch (forward pass 0, or its gradient): bytes to the destinations'
              // experts; combine: bytes from the source's experts back.
              const bool to_experts = sg.pass == 0;
              double x = 0;
              if (to_experts) {
                for (int q : p.dsts[f]) x += share[static_cast<std::size_t>(q)];
                x *= n / static_cast<double>(p.dsts[f].size());
              } else {
                x = share[static_cast<std::size_t>(p.src[f])] * n;
              }
              w[f] = x;
            }
          }
          id = start_instance(pit->second, t - lat, lat, std::move(w), n_a2a_);
          instances_[static_cast<std::size_t>(id)].expected = static_cast<int>(ep_);
          barriers_.emplace(key, id);
        } else {
          id = it->second;
        }
        Instance& in = instances_[static_cast<std::size_t>(id)];
        in.waiting.push_back(r);
        rk.wait_start_s = now;
        if (++in.arrived == in.expected) {
          barriers_.erase(key);
          launch(id);
        }
        return;
      }
      case Seg::gather: {
        // ZeRO-3: the pass's gather of this layer (queued ahead, or now when
        // --overlap-param-gather is off); the n-th gather the rank uses is the n-th completed.
        if (!step_opt_.overlap.dp_param_gather) enqueue_zero3(r, rk.op_phase, rk.op_mb, sg.layer);
        if (rk.zero3_done <= rk.zero3_used) {
          rk.waiting_gather = true;
          rk.wait_start_s = now;
          return;  // dp_done resumes
        }
        ++rk.zero3_used;
        queue_zero3_ahead(r);
        break;
      }
      case Seg::wait_param: {
        const bool first = rk.op_mb == 0;
        if (first && !rk.param_ready[static_cast<std::size_t>(sg.layer)]) {
          rk.waiting_param = sg.layer;
          rk.wait_start_s = now;
          return;  // dp_done resumes
        }
        break;
      }
      case Seg::grad_bucket: {
        // Buckets reduce during the backward that produced them (DDP buckets, Megatron-Core
        // --overlap-grad-reduce): the last micro-batch's, every micro-batch's under ZeRO-2/3.
        // Without the overlap: ZeRO-0/1 after the flush (finish_op), ZeRO-2/3 at the end of
        // each backward (reduce_after_backward).
        const bool every = layout_.zero >= 2;
        if (step_opt_.overlap.dp_grad_reduce && (every || rk.op_mb == m_ - 1)) {
          rk.grads_outstanding += queue_layer_jobs(rk, sg.layer, false);
          run_dp(r);
        }
        break;
      }
      case Seg::pp_send: {
        // The pass's output is complete once its last tp collective is, hidden part included.
        if (wait_tp_hidden(r)) return;
        const int vs = vstage(rk.op_chunk, rk.stage);
        const int to_vs = rk.op_phase == kFwd ? vs + 1 : vs - 1;
        const int to_stage = to_vs % p_, to_chunk = to_vs / p_;
        const int target = to_stage * static_cast<int>(ep_) + rk.e;
        const int to_device = ranks_[static_cast<std::size_t>(target)].device;
        double lat = 0, t = 0;
        int pattern = -1;
        if (to_device != rk.device) {
          // Narayanan et al. 2021 Sec. 4.1: b*s*h per boundary, /t with scatter/gather.
          const double bytes = static_cast<double>(layout_.micro_batch * spec_.seq_len) *
                               static_cast<double>(spec_.d_model) * kBf16 /
                               static_cast<double>(tp_ > 1 ? tp_ : 1);
          t = analytic(hw::CollectiveOp::p2p, 2, static_cast<int>(tp_ * dp_), bytes, &lat);
          auto key = std::make_tuple(rk.device, to_device, 0);
          auto it = pp_pattern_.find(key);
          if (it == pp_pattern_.end())
            it = pp_pattern_.emplace(key, p2p_pattern(rk.device, to_device)).first;
          pattern = it->second;
        }
        const int id = start_instance(pattern, t - lat, lat, {}, n_p2p_);
        Instance& in = instances_[static_cast<std::size_t>(id)];
        if (pattern >= 0) {
          in.weights.assign(1, 1.0);
        }
        in.waiting.push_back(r);
        in.notify_rank = target;
        in.notify_slot = static_cast<int>(slot(rk.op_phase, to_chunk, rk.op_mb));
        rk.wait_start_s = now;
        launch(id);
        return;
      }
    }
    ++rk.seg;
  }
  if (wait_tp_hidden(r)) return;  // the pass ends with its tp collectives done
  if (reduce_after_backward(r)) return;
  finish_op(r);
}

// A layer's data-parallel jobs on the rank's dp stream: its dense parameters over the dp
// group, its expert parameters over the dp/ep replicas, where there are any. Returns how many.
int Run::queue_layer_jobs(Rank& rk, int layer, bool gather, std::uint8_t zero3) {
  int queued = 0;
  if (dp_ > 1) rk.dp_queue.push_back({layer, false, gather, zero3}), ++queued;
  if (dp_ / ep_ > 1 && expert_params_[static_cast<std::size_t>(layer)] > 0)
    rk.dp_queue.push_back({layer, true, gather, zero3}), ++queued;
  return queued;
}

// ZeRO-2/3 without --overlap-grad-reduce. ZeRO-2/3 keep only a shard of the gradients, so
// every micro-batch's gradients are reduce-scattered (Rajbhandari et al. 2019 Sec. 5.2;
// DeepSpeed's stages 2 and 3 reduce in every backward, on the compute stream when
// `overlap_comm` is off);
// sim/step.cpp counts m reduce-scatters per step, all exposed without the overlap. So at the
// end of a backward of a chunk (its pipeline send included) its buckets, in backward order,
// go on the dp stream and the compute stream waits for them before its next operation
// (true: waiting, dp_done resumes with finish_op). The dp stream is one queue: a ZeRO-3
// gather prefetched for the next operation was queued before (when this backward's last
// layer started) and runs first, in the same order on every rank of the stage, so the dense
// barriers match. ZeRO-0/1 accumulate locally and reduce once after the flush (finish_op).
bool Run::reduce_after_backward(int r) {
  Rank& rk = ranks_[static_cast<std::size_t>(r)];
  if (!grads_per_backward_ || rk.op_phase != kBwd) return false;
  for (int l : std::views::reverse(chunk_layers_[static_cast<std::size_t>(rk.stage)]
                                                [static_cast<std::size_t>(rk.op_chunk)]))
    rk.grads_outstanding += queue_layer_jobs(rk, l, false);
  if (rk.grads_outstanding <= 0) return false;
  rk.waiting_grads = true;
  rk.wait_start_s = engine_.now_s();
  run_dp(r);
  return true;
}

void Run::finish_op(int r) {
  Rank& rk = ranks_[static_cast<std::size_t>(r)];
  rk.busy = false;
  if (rk.op_phase == kFwd) {
    rk.fwd_done[static_cast<std::size_t>(rk.op_chunk * m_ + rk.op_mb)] = 1;
  } else {
    rk.last_backward_end_s = engine_.now_s();
  }
  const auto total = static_cast<int>(sequence_[static_cast<std::size_t>(rk.stage)].size());
  if (rk.next_f == total) {
    rk.ops_done = true;
    if (!step_opt_.overlap.dp_grad_reduce && !grads_per_backward_) {
      // No overlap, ZeRO-0/1: the gradients accumulate locally (Megatron-LM's DDP reduces
      // them in finalize_model_grads after the last micro-batch), so every bucket follows
      // the flush, once, in backward order (layers reversed).
      const auto& chunks = chunk_layers_[static_cast<std::size_t>(rk.stage)];
      for (auto c = chunks.rbegin(); c != chunks.rend(); ++c)
        for (auto l = c->rbegin(); l != c->rend(); ++l)
          rk.grads_outstanding += queue_layer_jobs(rk, *l, false);
      run_dp(r);
    }
    maybe_optimizer(r);
    return;
  }
  try_start(r);
}

void Run::run_dp(int r) {
  Rank& rk = ranks_[static_cast<std::size_t>(r)];
  if (rk.dp_busy || rk.dp_queue.empty()) return;
  rk.dp_busy = true;
  const DpJob job = rk.dp_queue.front();
  const double params = job.expert ? expert_params_[static_cast<std::size_t>(job.layer)]
                                   : dense_params_[static_cast<std::size_t>(job.layer)];
  // Gradients in fp32, parameters gathered in bf16 (sim/step.cpp; Rajbhandari et al. 2019).
  hw::CollectiveOp op = hw::CollectiveOp::all_gather;
  double bytes = params * kBf16;
  if (!job.gather) {
    op = layout_.zero == 0 ? hw::CollectiveOp::all_reduce : hw::CollectiveOp::reduce_scatter;
    bytes = params * kFp32;
  }
  const int size = static_cast<int>(job.expert ? dp_ / ep_ : dp_);
  const int stride = static_cast<int>(job.expert ? tp_ * ep_ : tp_);
  double lat = 0;
  const double t = analytic(op, size, stride, bytes, &lat);
  // The group: dense over the stage's dp ranks (members: the stage's ep ranks, a barrier);
  // expert over this rank's dp/ep replicas.
  const int first = job.expert ? rk.device : device(rk.stage, 0);
  auto key = std::make_tuple(first, size, stride);
  auto it = dp_pattern_.find(key);
  if (it == dp_pattern_.end()) {
    std::vector<int> g;
    for (int i = 0; i < size; ++i) g.push_back(first + i * stride);
    it = dp_pattern_.emplace(key, ring_pattern({g})).first;
  }
  const int name = job.gather ? n_dp_ag_ : n_dp_rs_;
  if (job.expert || ep_ == 1) {
    const int id = start_instance(it->second, t - lat, lat, {}, name);
    instances_[static_cast<std::size_t>(id)].waiting.push_back(r);
    instances_[static_cast<std::size_t>(id)].dp_rank_job = 1;
    launch(id);
    return;
  }
  const std::uint64_t bkey = (1ull << 62) | (static_cast<std::uint64_t>(rk.stage) << 40) |
                             (static_cast<std::uint64_t>(job.layer) << 4) | (job.gather ? 1u : 0u);
  auto b = barriers_.find(bkey);
  int id;
  if (b == barriers_.end()) {
    id = start_instance(it->second, t - lat, lat, {}, name);
    instances_[static_cast<std::size_t>(id)].expected = static_cast<int>(ep_);
    instances_[static_cast<std::size_t>(id)].dp_rank_job = 1;
    barriers_.emplace(bkey, id);
  } else {
    id = b->second;
  }
  Instance& in = instances_[static_cast<std::size_t>(id)];
  in.waiting.push_back(r);
  if (++in.arrived == in.expected) {
    barriers_.erase(bkey);
    launch(id);
  }
}

void Run::dp_done(int r, const DpJob& job) {
  Rank& rk = ranks_[static_cast<std::size_t>(r)];
  if (job.zero3 != 0) {
    if (job.zero3 == 2) ++rk.zero3_done;
    if (rk.waiting_gather && rk.zero3_done > rk.zero3_used) {
      rk.waiting_gather = false;
      rk.dp_wait_s += engine_.now_s() - rk.wait_start_s;
      ++rk.zero3_used;
      queue_zero3_ahead(r);
      ++rk.seg;
      advance(r);
    }
    return;
  }
  if (job.gather) {
    if (--rk.gathers_outstanding <= 0) std::fill(rk.param_ready.begin(), rk.param_ready.end(), 1);
    // A layer is ready once both its dense and expert gathers are done: the queue runs
    // them in order, so a later job of another layer means this one is complete.
    bool pending = false;
    for (const DpJob& j : rk.dp_queue)
      if (j.gather && j.layer == job.layer) pending = true;
    if (!pending) rk.param_ready[static_cast<std::size_t>(job.layer)] = 1;
    if (rk.waiting_param >= 0 && rk.param_ready[static_cast<std::size_t>(rk.waiting_param)]) {
      rk.waiting_param = -1;
      rk.dp_wait_s += engine_.now_s() - rk.wait_start_s;
      ++rk.seg;
      advance(r);
    }
    if (rk.optimizer_done && !rk.busy && rk.gathers_outstanding <= 0 && !rk.finished) {
      // Gathers after the optimizer (no overlap): exposed data-parallel time.
      rk.finished = true;
      rk.done_s = engine_.now_s();
      rk.dp_wait_s += rk.done_s - rk.optimizer_end_s;
    }
  } else {
    --rk.grads_outstanding;
    if (rk.waiting_grads && rk.grads_outstanding <= 0) {
      // The backward's reductions are done: its operation ends (reduce_after_backward).
      rk.waiting_grads = false;
      rk.dp_wait_s += engine_.now_s() - rk.wait_start_s;
      finish_op(r);
      return;
    }
    maybe_optimizer(r);
  }
}

// ZeRO-3 (Rajbhandari et al. 2019 Sec. 5.3; sim/step.cpp counts 2m gathers per step): the
// parameters of one layer for one pass (a forward or backward of a micro-batch), dense then
// expert, on the dp stream. The first micro-batch's forward also carries the start-of-step
// gather of the updated parameters that sim/step.cpp counts for every ZeRO >= 1 (ZeRO-1/2
// queue it at the step start, before any forward).
void Run::enqueue_zero3(int r, int phase, int mb, int layer) {
  Rank& rk = ranks_[static_cast<std::size_t>(r)];
  const bool with_start = phase == kFwd && mb == 0 && step_opt_.overlap.dp_param_gather;
  const std::size_t first = rk.dp_queue.size();
  for (int k = with_start ? 0 : 1; k < 2; ++k) queue_layer_jobs(rk, layer, true, 1);
  if (rk.dp_queue.size() > first) rk.dp_queue.back().zero3 = 2;
  run_dp(r);
}

// Prefetch in the order of use (DeepSpeed's ZeRO-3 prefetch, PyTorch FSDP's forward and
// backward prefetch): while the compute uses layer n's gather, the next
// kZero3PrefetchLayers are queued, across operation boundaries (the next operation's first
// layer follows this one's last), so that layer n+1's gather runs while layer n computes.
// Bounded like theirs (gathered copies take memory): the stream runs at most that far ahead.
void Run::queue_zero3_ahead(int r) {
  if (!zero3_ || !step_opt_.overlap.dp_param_gather) return;
  Rank& rk = ranks_[static_cast<std::size_t>(r)];
  const auto& seq = sequence_[static_cast<std::size_t>(rk.stage)];
  while (rk.zero3_queued < rk.zero3_used + kZero3PrefetchLayers &&
         rk.zero3_op < static_cast<int>(seq.size())) {
    const Step st = seq[static_cast<std::size_t>(rk.zero3_op)];
    const OpRef op =
        (st.phase == kFwd
             ? fwd_order_
             : bwd_order_)[static_cast<std::size_t>(rk.stage)][static_cast<std::size_t>(st.index)];
    const auto& layers =
        chunk_layers_[static_cast<std::size_t>(rk.stage)][static_cast<std::size_t>(op.chunk)];
    // Forward passes use the chunk's layers in order, backward passes reversed.
    const std::size_t n = layers.size(), i = static_cast<std::size_t>(rk.zero3_pos);
    enqueue_zero3(r, st.phase, op.mb, layers[st.phase == kFwd ? i : n - 1 - i]);
    ++rk.zero3_queued;
    if (++rk.zero3_pos == static_cast<int>(n)) rk.zero3_pos = 0, ++rk.zero3_op;
  }
}

int Run::tp_group_pattern(const Rank& rk) {
  std::vector<int> g;
  for (int t = 0; t < tp_; ++t) g.push_back(device(rk.stage, rk.e, t));
  auto key = std::make_tuple(rk.stage, rk.e, 0);
  auto it = tp_pattern_.find(key);
  if (it == tp_pattern_.end()) it = tp_pattern_.emplace(key, ring_pattern({g})).first;
  return it->second;
}

// --tp-overlap h (Transformer Engine's comm/GEMM overlap; sim/step.cpp exposes 1 - h): the
// hidden part, h of the collective's bytes and latency, runs on the rank's comm track beside
// the compute that follows; nobody waits for it until the rank's next tp collective, its
// pass's pipeline send or the end of its pass.
void Run::launch_tp_hidden(int r, const Segment& sg) {
  Rank& rk = ranks_[static_cast<std::size_t>(r)];
  const int id = start_instance(tp_group_pattern(rk), sg.time_bw_s * tp_hidden_,
                                sg.latency_s * tp_hidden_, {}, n_tp_);
  Instance& in = instances_[static_cast<std::size_t>(id)];
  in.hidden_rank = r;
  in.span_mb = rk.op_mb;
  in.span_layer = sg.layer;
  rk.tp_hidden = id;
  launch(id);
}

// Blocks the compute stream while the rank's hidden tp part is in flight (true: wait,
// on_collective_done resumes it).
bool Run::wait_tp_hidden(int r) {
  Rank& rk = ranks_[static_cast<std::size_t>(r)];
  if (rk.tp_hidden < 0) return false;
  rk.waiting_hidden = true;
  rk.wait_start_s = engine_.now_s();
  return true;
}

void Run::maybe_optimizer(int r) {
  Rank& rk = ranks_[static_cast<std::size_t>(r)];
  if (!rk.ops_done || rk.grads_outstanding > 0 || rk.optimizer_done || rk.busy) return;
  // Adam over the local shard, 30 bytes per parameter, memory bound (sim/step.cpp).
  const double dp = static_cast<double>(dp_);
  const double dpe = std::max(1.0, dp / static_cast<double>(ep_));
  const double shard =
      stage_dense_[static_cast<std::size_t>(rk.stage)] / (layout_.zero >= 1 ? dp : 1) +
      stage_expert_[static_cast<std::size_t>(rk.stage)] / (layout_.zero >= 1 ? dpe : 1);
  const double sec = hw::memory_time_s(cluster_.accelerator, shard * 30);
  const double now = engine_.now_s();
  rk.dp_wait_s += now - rk.last_backward_end_s;
  rk.optimizer_s = sec;
  rk.optimizer_done = true;
  rk.busy = true;
  span(rk.compute_track, n_opt_, now, sec);
  // The optimizer ends the rank's step, unless its parameter gathers still follow (no
  // overlap with the next step's forward).
  rk.seg = -1;
  engine_.schedule(now + sec, kResume, r);
}

// ---------------------------------------------------------------- trace

int Run::name_id(const std::string& s) {
  auto it = names_.find(s);
  if (it != names_.end()) return it->second;
  timeline_.names.push_back(s);
  names_.emplace(s, static_cast<int>(timeline_.names.size()) - 1);
  return static_cast<int>(timeline_.names.size()) - 1;
}

int Run::track(const std::string& process, const std::string& thread, int pid, int tid) {
  timeline_.tracks.push_back({process, thread, pid, tid});
  return static_cast<int>(timeline_.tracks.size()) - 1;
}

void Run::span(int trk, int name, double start, double dur, int mb, int layer) {
  if (!opt_.trace || trk < 0 || dur <= 0) return;
  if (timeline_.spans.size() >= opt_.max_trace_spans) {
    timeline_.truncated = true;
    return;
  }
  timeline_.spans.push_back({trk, name, start, dur, mb, layer});
}

// ---------------------------------------------------------------- run

SimulationResult Run::go() {
  const auto wall0 = std::chrono::steady_clock::now();
  tp_ = layout_.tp, dp_ = layout_.dp, ep_ = std::max<std::int64_t>(1, layout_.ep);
  p_ = static_cast<int>(layout_.pp);
  V_ = std::max(1, layout_.schedule.virtual_stages);
  if (static_cast<std::int64_t>(model::layer_costs(spec_).size()) % (p_ * V_) != 0) V_ = 1;
  m_ = static_cast<int>(std::max<std::int64_t>(1, layout_.micro_batches()));
  moe_ = spec_.is_moe();
  full_ = layout_.recompute == Recompute::full;
  sp_ = layout_.sp() && tp_ > 1;
  zero3_ = layout_.zero == 3 && dp_ > 1;
  grads_per_backward_ = layout_.zero >= 2 && !step_opt_.overlap.dp_grad_reduce;
  tp_hidden_ = tp_ > 1 ? std::clamp(step_opt_.overlap.tp_hidden_fraction, 0.0, 1.0) : 0.0;
  n_compute_ = name_id("compute");
  n_experts_ = name_id("experts");
  n_tp_ = name_id("tp collective");
  n_a2a_ = name_id("ep all-to-all");
  n_p2p_ = name_id("pp send");
  n_dp_rs_ = name_id("dp gradient reduction");
  n_dp_ag_ = name_id("dp parameter gather");
  n_opt_ = name_id("optimizer");

  capacity_Bps_.resize(topo_.directed_link_count());
  for (std::size_t l = 0; l < capacity_Bps_.size(); ++l)
    capacity_Bps_[l] = topo_.link(static_cast<int>(l)).effective_Bps();
  net_ = std::make_unique<FlowNetwork>(capacity_Bps_);
  fold_use_.assign(capacity_Bps_.size(), 0.0);
  fold_position_.assign(capacity_Bps_.size(), -1);
  // Per-flow max-min for small simulations; coflows past that (docs/simulate.md).
  coflows_ = opt_.network == NetworkModel::coflows ||
             (opt_.network == NetworkModel::automatic &&
              static_cast<std::int64_t>(p_) * ep_ > opt_.coflow_threshold_ranks);

  build_layers();
  build_routing();
  build_templates();
  build_ranks();

  // Step start: parameter gathers of the updated weights (ZeRO >= 1) overlap the first
  // micro-batch's forward, layer by layer (Megatron-Core --overlap-param-gather).
  for (std::size_t r = 0; r < ranks_.size(); ++r) {
    Rank& rk = ranks_[r];
    if (zero3_ && step_opt_.overlap.dp_param_gather) {
      // ZeRO-3: the start-of-step gathers go with the first forward's (enqueue_zero3).
      std::fill(rk.param_ready.begin(), rk.param_ready.end(), 1);
      queue_zero3_ahead(static_cast<int>(r));
    } else if (layout_.zero >= 1 && step_opt_.overlap.dp_param_gather) {
      for (const auto& chunk : chunk_layers_[static_cast<std::size_t>(rk.stage)])
        for (int l : chunk) {
          rk.gathers_outstanding += queue_layer_jobs(rk, l, true);
          if (dp_ <= 1 && !(dp_ / ep_ > 1)) rk.param_ready[static_cast<std::size_t>(l)] = 1;
        }
      for (const auto& chunk : chunk_layers_[static_cast<std::size_t>(rk.stage)])
        for (int l : chunk)
          if (dp_ == 1) rk.param_ready[static_cast<std::size_t>(l)] = 1;
    } else {
      std::fill(rk.param_ready.begin(), rk.param_ready.end(), 1);
    }
  }
  for (std::size_t r = 0; r < ranks_.size(); ++r) {
    run_dp(static_cast<int>(r));
    try_start(static_cast<int>(r));
  }

  engine_.run([&](Engine&, const Event& ev) {
    switch (ev.kind) {
      case kResume: {
        Rank& rk = ranks_[static_cast<std::size_t>(ev.a)];
        if (rk.seg < 0) {
          // The optimizer finished.
          rk.busy = false;
          rk.optimizer_end_s = engine_.now_s();
          const bool gathers_after =
              layout_.zero >= 1 && !step_opt_.overlap.dp_param_gather && dp_ > 1;
          if (gathers_after) {
            for (const auto& chunk : chunk_layers_[static_cast<std::size_t>(rk.stage)])
              for (int l : chunk) rk.gathers_outstanding += queue_layer_jobs(rk, l, true);
            run_dp(static_cast<int>(ev.a));
          }
          if (rk.gathers_outstanding <= 0) {
            rk.finished = true;
            rk.done_s = engine_.now_s();
          }
          break;
        }
        advance(static_cast<int>(ev.a));
        break;
      }
      case kCollectiveDone:
        on_collective_done(static_cast<int>(ev.a));
        break;
      case kNetUpdate:
        on_net_update(ev.a);
        break;
      case kNetSolve:
        on_net_solve();
        break;
      default:
        break;
    }
  });

  // Every rank must have finished: anything else is a scheduling bug, not an input error.
  double step = 0;
  int busiest = 0;
  for (std::size_t r = 0; r < ranks_.size(); ++r) {
    const Rank& rk = ranks_[r];
    if (!rk.finished)
      throw std::logic_error("event simulation deadlocked: rank " + std::to_string(r) + " (stage " +
                             std::to_string(rk.stage) + ") did not finish");
    step = std::max(step, rk.done_s);
    if (rk.compute_s > ranks_[static_cast<std::size_t>(busiest)].compute_s)
      busiest = static_cast<int>(r);
  }

  SimulationResult out;
  StepResult& res = out.step;
  res.step_s = step;
  res.busiest_stage = ranks_[static_cast<std::size_t>(busiest)].stage;
  const Rank& b = ranks_[static_cast<std::size_t>(busiest)];
  StepBreakdown& br = res.breakdown;
  br.compute_s = b.compute_s;
  // tp overlap: the hidden parts' seconds not waited for are hidden (0 without overlap).
  br.tp_s = b.tp_s + (b.tp_hidden_s - b.tp_hidden_wait_s);
  br.tp_exposed_s = b.tp_s;
  br.ep_s = br.ep_exposed_s = b.ep_s;
  br.pp_s = br.pp_exposed_s = b.pp_s;
  br.dp_exposed_s = std::max(0.0, b.dp_wait_s);
  br.dp_s = br.dp_exposed_s;
  br.optimizer_s = b.optimizer_s;
  br.exposed_communication_s =
      br.tp_exposed_s + br.ep_exposed_s + br.pp_exposed_s + br.dp_exposed_s;
  // Idle time of the busiest rank waiting for its pipeline neighbours.
  br.pipeline_bubble_s =
      std::max(0.0, step - br.compute_s - br.exposed_communication_s - br.optimizer_s);
  br.ep_crosses_network =
      layout_.ep * layout_.tp > std::max(1, cluster_.scale_up.devices_per_domain);

  // Throughput, MFU, power: the formulas of sim/step.cpp.
  const model::ModelTotals totals = model::totals(spec_);
  const hw::Dtype dtype = layout_.dtype == MatrixDtype::fp8 ? hw::Dtype::fp8 : hw::Dtype::bf16;
  const double devices = static_cast<double>(layout_.devices());
  res.tokens_per_step =
      static_cast<double>(layout_.effective_global_batch()) * static_cast<double>(spec_.seq_len);
  res.tokens_per_s = step > 0 ? res.tokens_per_step / step : 0;
  const double peak = hw::effective_peak_flops(cluster_.accelerator, dtype);
  double hw_flops = totals.flops_per_token;
  if (layout_.recompute == Recompute::full) hw_flops = totals.flops_per_token_recompute_full;
  if (layout_.recompute == Recompute::selective)
    hw_flops = totals.flops_per_token_recompute_selective;
  if (step > 0 && peak > 0) {
    res.mfu = totals.flops_per_token * res.tokens_per_step / (step * devices * peak);
    res.hfu = hw_flops * res.tokens_per_step / (step * devices * peak);
    res.achieved_flops_per_device = hw_flops * res.tokens_per_step / (step * devices);
  }
  const auto& acc = cluster_.accelerator;
  const double idle = acc.idle_w > 0 ? acc.idle_w : step_opt_.idle_power_fraction * acc.tdp_w;
  const double busy = step > 0 ? std::clamp(br.compute_s / step, 0.0, 1.0) : 0;
  res.average_power_w = idle + busy * std::max(0.0, acc.tdp_w - idle);

  stats_.events = static_cast<std::int64_t>(engine_.processed());
  stats_.simulated_s = step;
  stats_.ranks = static_cast<std::int64_t>(ranks_.size());
  stats_.flow_solves = static_cast<std::int64_t>(net_->solves());
  stats_.coflows = coflows_;
  stats_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  out.stats = stats_;
  const std::vector<std::string> kind_names = timeline_.names;
  out.timeline = std::move(timeline_);
  for (std::size_t k = 0; k < extra_s_.size(); ++k) {
    if (alone_total_s_[k] <= 0 || extra_s_[k] <= 1e-3 * alone_total_s_[k]) continue;
    std::string with;
    for (std::size_t j = 0; j < extra_s_.size(); ++j)
      if (overlapped_[k] & (1u << j)) with += (with.empty() ? "" : ", ") + kind_names[j];
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100 * extra_s_[k] / alone_total_s_[k]);
    out.notes.push_back("contention: " + kind_names[k] + " took " + buf +
                        " longer than alone on the network, sharing links with traffic in "
                        "flight meanwhile (" +
                        (with.empty() ? std::string("its own kind") : with) + ")");
    out.contention.push_back({kind_names[k], extra_s_[k], alone_total_s_[k], with});
  }
  if (step_opt_.overlap.ep_dualpipe && ep_ > 1)
    out.notes.push_back(
        "simulate: DualPipe's overlap of all-to-alls with another micro-batch is not simulated; "
        "the all-to-alls are exposed");
  return out;
}

// Why the simulated schedule differs from the analytic bubble when nothing contends.
std::string schedule_reason(const Layout& l) {
  const std::int64_t m = std::max<std::int64_t>(1, l.micro_batches());
  if (l.schedule.interleaved() && m % l.pp != 0)
    return "the interleaved schedule with " + std::to_string(m) +
           " micro-batches, not a multiple of pp=" + std::to_string(l.pp) +
           " (Megatron-LM requires it), idles more than the analytic (p-1)/(V m) bubble";
  return "the pipeline schedule: the analytic bubble (sum of stage times - the slowest)/V "
         "assumes each stage waits only for the slowest; the simulated dependencies (unequal "
         "stages, blocking sends, per-stage data-parallel timing) differ";
}

}  // namespace

SimulationResult simulate_step(const model::ModelSpec& spec, const hw::ClusterSpec& cluster,
                               const ClusterNetwork& network, const Layout& layout,
                               const StepOptions& step_options, const SimulateOptions& options) {
  RouteCache routes(network.collectives().topology());
  Run run(spec, cluster, network, layout, step_options, options, routes);
  SimulationResult r = run.go();
  if (options.compare_balanced && options.routing.kind != RoutingKind::balanced) {
    SimulateOptions balanced = options;
    balanced.routing = RoutingSpec{};
    balanced.trace = false;
    Run base(spec, cluster, network, layout, step_options, balanced, routes);
    const SimulationResult b = base.go();
    r.stats.balanced_step_s = b.step.step_s;
    r.stats.slowdown = b.step.step_s > 0 ? r.step.step_s / b.step.step_s : 1;
  } else {
    r.stats.balanced_step_s = r.step.step_s;
    r.stats.slowdown = 1;
  }
  return r;
}

Simulation simulate(const EstimateInput& input, const SimulateOptions& options) {
  Simulation out;
  out.estimate = estimate(input);
  Estimate& e = out.estimate;
  if (!e.step) return out;
  out.analytic_step = e.step;
  const ClusterNetwork network(input.cluster);
  SimulationResult r =
      simulate_step(input.model, input.cluster, network, e.layout, input.step_options, options);
  e.step = r.step;
  if (e.tokens) {
    const double price =
        input.price_per_device_hour_usd.value_or(input.cluster.accelerator.price_per_hour_usd);
    e.training =
        training_totals(*e.step, e.layout.devices(), *e.tokens, price, input.step_options.pue);
  }
  for (auto& n : r.notes) e.notes.push_back(std::move(n));
  e.notes.push_back(std::string("simulate: network model ") +
                    (!options.contention ? "off (every collective as alone)"
                     : r.stats.coflows   ? "coflows (a collective's flows in lockstep)"
                                         : "flows (per-flow max-min)") +
                    "; routing " + options.routing.text() + ", seed " +
                    std::to_string(options.seed));
  const double diff =
      out.analytic_step->step_s > 0 ? r.step.step_s / out.analytic_step->step_s - 1 : 0;
  if (std::abs(diff) > 0.05) {
    // Say what the analytic model leaves out that this run saw (docs/simulate.md).
    std::string why;
    for (const auto& c : r.contention)
      why += (why.empty() ? "" : "; ") + c.kind + " +" + std::to_string(c.extra_s) +
             " s summed over the step (sharing links with " + c.sharing_with + ")";
    if (r.stats.slowdown > 1.0005)
      why += (why.empty() ? "" : "; ") + std::string("uneven expert load");
    char buf[64];
    std::snprintf(buf, sizeof buf, "%+.1f%%", 100 * diff);
    std::string reason = why.empty() ? "" : "link contention the analytic model ignores: " + why;
    const StepBreakdown& ab = out.analytic_step->breakdown;
    const StepBreakdown& sb = r.step.breakdown;
    if (e.layout.zero == 3 && std::abs(ab.dp_exposed_s - sb.dp_exposed_s) >
                                  0.5 * std::abs(diff) * out.analytic_step->step_s) {
      // The analytic model hides ZeRO-3's data-parallel stream under each pass's compute and
      // blocking communication, split evenly between the passes (sim/step.cpp); here the
      // stream is played out, gather by gather, one layer ahead.
      char dp[160];
      std::snprintf(dp, sizeof dp,
                    "%.3f s of data-parallel time exposed in the analytic step, %.3f s here",
                    ab.dp_exposed_s, sb.dp_exposed_s);
      reason += (reason.empty() ? "" : "; ") +
                std::string(
                    "ZeRO-3's parameter gathers and gradient reductions, hidden under the "
                    "passes in the analytic model, played out on one dp stream here: ") +
                dp;
    }
    e.notes.push_back(std::string("simulate differs from estimate by ") + buf + ": " +
                      (reason.empty() ? schedule_reason(e.layout) : reason));
  }
  out.stats = r.stats;
  out.timeline = std::move(r.timeline);
  return out;
}

}  // namespace moesim::sim::event
