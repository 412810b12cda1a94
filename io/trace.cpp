#include "io/trace.hpp"

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "io/errors.hpp"

namespace moesim::io {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

// Seconds to microseconds with nanosecond resolution, the trace format's unit.
std::string micros(double seconds) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", seconds * 1e6);
  return buf;
}

// Chrome's pid must be a non-negative integer: the network goes after every device.
int pid_of(const sim::event::TraceTrack& t, int network_pid) {
  return t.pid < 0 ? network_pid : t.pid;
}

}  // namespace

void write_chrome_trace(std::ostream& out, const sim::event::Timeline& tl) {
  int network_pid = 0;
  for (const auto& t : tl.tracks) network_pid = std::max(network_pid, t.pid + 1);
  out << "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"moesim simulate\","
         "\"truncated\":"
      << (tl.truncated ? "true" : "false") << "},\"traceEvents\":[\n";
  bool first = true;
  auto sep = [&]() {
    if (!first) out << ",\n";
    first = false;
  };
  std::set<int> named_processes;
  for (const auto& t : tl.tracks) {
    const int pid = pid_of(t, network_pid);
    if (named_processes.insert(pid).second) {
      sep();
      out << "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":" << pid << ",\"args\":{\"name\":\""
          << escape(t.process) << "\"}}";
    }
    sep();
    out << "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":" << pid << ",\"tid\":" << t.tid
        << ",\"args\":{\"name\":\"" << escape(t.thread) << "\"}}";
  }
  for (const auto& s : tl.spans) {
    const auto& t = tl.tracks[static_cast<std::size_t>(s.track)];
    sep();
    out << "{\"ph\":\"X\",\"name\":\"" << escape(tl.names[static_cast<std::size_t>(s.name)])
        << "\",\"pid\":" << pid_of(t, network_pid) << ",\"tid\":" << t.tid
        << ",\"ts\":" << micros(s.start_s) << ",\"dur\":" << micros(s.duration_s);
    if (s.micro_batch >= 0 || s.layer >= 0) {
      out << ",\"args\":{";
      if (s.micro_batch >= 0) out << "\"micro_batch\":" << s.micro_batch;
      if (s.micro_batch >= 0 && s.layer >= 0) out << ',';
      if (s.layer >= 0) out << "\"layer\":" << s.layer;
      out << '}';
    }
    out << '}';
  }
  out << "\n]}\n";
}

std::string render_chrome_trace(const sim::event::Timeline& timeline) {
  std::ostringstream out;
  write_chrome_trace(out, timeline);
  return out.str();
}

void write_chrome_trace_file(const std::string& path, const sim::event::Timeline& timeline) {
  std::ofstream f(path, std::ios::binary);
  if (!f) throw InputError("--trace", path, "cannot be written");
  write_chrome_trace(f, timeline);
  if (!f) throw InputError("--trace", path, "cannot be written");
}

}  // namespace moesim::io
