#pragma once
// Chrome trace event JSON ("Trace Event Format", the JSON Perfetto and chrome://tracing
// open): one complete event ("ph": "X") per span, microseconds, and metadata events naming
// each process (a device, the network) and thread (a stream, a link).
#include <ostream>
#include <string>

#include "sim/event/timeline.hpp"

namespace moesim::io {

// Deterministic text: the same timeline gives the same bytes.
void write_chrome_trace(std::ostream& out, const sim::event::Timeline& timeline);
std::string render_chrome_trace(const sim::event::Timeline& timeline);
// Writes `path`; throws InputError when it cannot be written.
void write_chrome_trace_file(const std::string& path, const sim::event::Timeline& timeline);

}  // namespace moesim::io
