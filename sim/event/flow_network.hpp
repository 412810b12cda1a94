#pragma once
// Flow-level network: flows over directed links share each link's capacity by max-min
// fairness, computed by progressive filling (Bertsekas & Gallager, "Data Networks", 2nd ed.,
// Sec. 6.5.2): raise every unfrozen flow's rate together until a link saturates, freeze the
// flows crossing it at that rate, repeat. Rates are recomputed whenever a flow starts or
// ends; between those instants every flow moves at a constant rate. No packets.
//
// An entity may also be a coflow (Chowdhury & Stoica 2012): the flows of one collective
// moving in lockstep. It then has a progress rate x (1 = as fast as it runs alone) and uses
// coefficient_l * x of each link l it crosses; its work is in seconds-alone and its rate is
// capped at 1. Max-min fairness then applies to the progress rates (weighted progressive
// filling). A plain flow is the special case of coefficients 1, work in bytes, no cap.
//
// Only contended links enter the recomputation. A link whose entities could all run at their
// caps at once (sum of coefficient * cap <= capacity) never limits anyone: its constraint is
// implied by the caps, so dropping it leaves the feasible set and the max-min rates as they
// are. FlowNetwork keeps per link the entities on it and that sum, updated as entities start
// and end, and fills only over the links where the sum exceeds the capacity (hot links) and
// the entities on them; every other entity runs at its cap. The rates are the full filling's
// to rounding (docs/simulate.md, "Performance"), and a recomputation costs the contended
// (entity, link) pairs, not every link of every active entity. An uncapped entity (a plain
// flow) can be limited by any link it crosses: while one is active (per-flow max-min) the
// full filling runs, as it always did.
#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

namespace moesim::sim::event {

// Working memory of the progressive filling, sized to the link count; reused between calls
// so that a recomputation allocates nothing once warm.
struct Scratch {
  explicit Scratch(std::size_t links)
      : rem(links),
        weight(links, 0),
        count(links, 0),
        version(links, 0),
        begin(links, 0),
        end(links, 0) {}
  std::vector<double> rem, weight;
  std::vector<int> count, version, begin, end, on_link, touched;
  std::vector<char> frozen;
  std::vector<std::pair<double, int>> heap, capped;
};

// Max-min fair rates (bytes/s) of flows over links: `paths[f]` lists the links of flow f,
// `capacity_Bps[l]` the capacity of link l. A flow with no link gets rate 0.
std::vector<double> max_min_rates(const std::vector<double>& capacity_Bps,
                                  const std::vector<std::vector<int>>& paths);
// Weighted form: entity f uses coefficients[f][i] * rate of link paths[f][i], and its rate
// is at most caps[f] (empty: no caps).
std::vector<double> max_min_rates(const std::vector<double>& capacity_Bps,
                                  const std::vector<std::vector<int>>& paths,
                                  const std::vector<std::vector<double>>& coefficients,
                                  const std::vector<double>& caps);
// The same with caller-owned working memory (`scratch` sized to capacity_Bps), for callers
// that solve many small problems on one large link set.
std::vector<double> max_min_rates(const std::vector<double>& capacity_Bps,
                                  const std::vector<std::vector<int>>& paths,
                                  const std::vector<std::vector<double>>& coefficients,
                                  const std::vector<double>& caps, Scratch& scratch);

// The weighted form without caps over paths held elsewhere (paths[f], coefficients[f] point
// at flow f's), so that callers with routes in place copy none.
std::vector<double> max_min_rates(const std::vector<double>& capacity_Bps,
                                  std::span<const std::span<const int>> paths,
                                  std::span<const std::span<const double>> coefficients,
                                  Scratch& scratch);

class FlowNetwork {
 public:
  explicit FlowNetwork(std::vector<double> capacity_Bps);

  // Adds an entity of `work` (bytes, or seconds-alone for a coflow) over `links` with
  // `coefficients` (empty: all 1) and a rate cap, tagged `owner`, at the current time.
  // What both spans view must outlive the entity. Call solve() after a batch of changes.
  int add(std::span<const int> links, double work, std::int64_t owner,
          std::span<const double> coefficients = {},
          double cap = std::numeric_limits<double>::infinity());
  // The same over vectors (coefficients nullptr: all 1).
  int add(const std::vector<int>* links, double work, std::int64_t owner,
          const std::vector<double>* coefficients = nullptr,
          double cap = std::numeric_limits<double>::infinity()) {
    return add(std::span<const int>(*links), work, owner,
               coefficients ? std::span<const double>(*coefficients) : std::span<const double>(),
               cap);
  }
  // Moves every entity forward at its current rate to `time_s`.
  void advance_to(double time_s);
  // Recomputes the max-min rates of the active entities (over the hot links only).
  void solve();
  // Absolute time at which the next entity finishes at the current rates (infinity: none).
  double next_finish_s() const noexcept { return next_finish_s_; }
  // Removes entities that have finished and appends their owners (in start order).
  void collect_finished(std::vector<std::int64_t>& owners);

  std::size_t active() const noexcept { return active_.size(); }
  double now_s() const noexcept { return now_s_; }
  double rate(int id) const { return flows_[static_cast<std::size_t>(id)].rate; }
  std::uint64_t solves() const noexcept { return solves_; }
  std::uint64_t started() const noexcept { return started_; }
  // (entity, link) pairs the recomputations filled over, summed over every solve().
  std::uint64_t filled_pairs() const noexcept { return filled_pairs_; }
  const std::vector<double>& capacity_Bps() const noexcept { return capacity_; }

 private:
  struct Flow {
    std::span<const int> links;
    std::span<const double> coefficients;  // empty: all 1
    double remaining = 0;
    double tolerance = 0;
    double rate = 0;
    double cap = std::numeric_limits<double>::infinity();
    std::int64_t owner = -1;
  };
  struct OnLink {
    int id = 0;       // entity
    double coef = 0;  // its coefficient on the link
    double load = 0;  // coef * its cap
  };
  // Puts link l in or out of the hot set after its entities changed.
  void update_hot(int l);
  // The filling over the hot links and their entities only.
  void solve_hot();

  std::vector<double> capacity_;
  std::vector<Flow> flows_;
  std::vector<int> free_;    // reusable slots
  std::vector<int> active_;  // ids in start order
  double now_s_ = 0;
  double next_finish_s_ = std::numeric_limits<double>::infinity();
  std::uint64_t solves_ = 0, started_ = 0, filled_pairs_ = 0;
  // Per link: the capped entities on it, the sum of their coefficient * cap, and its place
  // in hot_ (-1: not hot).
  std::vector<std::vector<OnLink>> on_link_;
  std::vector<double> load_;
  std::vector<int> hot_pos_;
  std::vector<int> hot_;
  // Active uncapped entities (plain flows): while there are any, the full filling runs, and
  // they are kept off the per-link lists.
  std::size_t uncapped_active_ = 0;
  // Recomputation buffers: the entities on hot links (in start order), their index there,
  // and their hot links and coefficients in CSR form; mark_ == stamp_: on a hot link.
  std::vector<int> involved_, local_, sub_begin_, sub_links_, cursor_;
  std::vector<double> sub_coef_;
  std::vector<std::uint64_t> mark_;
  std::uint64_t stamp_ = 0;
  Scratch scratch_;
  std::vector<double> rates_, caps_;
};

}  // namespace moesim::sim::event
