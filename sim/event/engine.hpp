#pragma once
// A discrete-event engine: a priority queue of timestamped events, earliest first, ties
// broken by the order in which they were scheduled (a sequence number), so that a run is
// fully deterministic. It owns its clock and queue (no shared state): many engines may run
// at once on threads. What an event means is the caller's: a kind and two integers.
#include <cstdint>
#include <queue>
#include <stdexcept>
#include <vector>

namespace moesim::sim::event {

struct Event {
  double time_s = 0;
  std::uint64_t sequence = 0;  // order of scheduling: the tie-breaker at equal times
  int kind = 0;
  std::int64_t a = 0;
  std::int64_t b = 0;
};

class Engine {
 public:
  double now_s() const noexcept { return now_s_; }
  bool empty() const noexcept { return queue_.empty(); }
  std::size_t pending() const noexcept { return queue_.size(); }
  std::uint64_t processed() const noexcept { return processed_; }

  // Schedules an event at `time_s` (not before now: the past cannot change).
  void schedule(double time_s, int kind, std::int64_t a = 0, std::int64_t b = 0) {
    if (!(time_s >= now_s_)) throw std::logic_error("event scheduled before the current time");
    queue_.push(Event{time_s, next_sequence_++, kind, a, b});
  }

  // Removes the earliest event and advances the clock to it.
  Event pop() {
    Event e = queue_.top();
    queue_.pop();
    now_s_ = e.time_s;
    ++processed_;
    return e;
  }

  // Runs until the queue is empty: handler(engine, event) may schedule more.
  template <class Handler>
  void run(Handler&& handler) {
    while (!queue_.empty()) handler(*this, pop());
  }

 private:
  struct Later {
    bool operator()(const Event& x, const Event& y) const noexcept {
      if (x.time_s != y.time_s) return x.time_s > y.time_s;
      return x.sequence > y.sequence;
    }
  };
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  double now_s_ = 0;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t processed_ = 0;
};

}  // namespace moesim::sim::event
