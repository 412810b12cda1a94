#pragma once
// What the event-driven simulator recorded: spans on tracks (one per device stream, one per
// network link that carried a flow), for io/trace's Chrome trace event writer.
#include <cstdint>
#include <string>
#include <vector>

namespace moesim::sim::event {

struct TraceTrack {
  std::string process;  // "device 17", "network"
  std::string thread;   // "compute", "comm", "dp", "link 42 (scale_out)"
  int pid = 0;
  int tid = 0;
};

struct TraceSpan {
  int track = 0;
  int name = 0;  // index into Timeline::names
  double start_s = 0;
  double duration_s = 0;
  std::int64_t micro_batch = -1;  // -1: none
  std::int64_t layer = -1;        // -1: none
};

struct Timeline {
  std::vector<std::string> names;
  std::vector<TraceTrack> tracks;
  std::vector<TraceSpan> spans;
  bool truncated = false;  // more spans than the cap: the rest were not recorded
};

}  // namespace moesim::sim::event
