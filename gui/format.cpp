#include "gui/format.hpp"

#include <cmath>

namespace moesim::gui {
namespace {

// Scales v by 1000 until it is below 1000 and returns the prefix index (0 = none).
int scale_1000(double& v, int max_index) {
  int i = 0;
  while (std::fabs(v) >= 1000 && i < max_index) {
    v /= 1000;
    ++i;
  }
  return i;
}

double as_double(const io::ReportValue& value) {
  if (const double* d = std::get_if<double>(&value)) return *d;
  if (const std::int64_t* i = std::get_if<std::int64_t>(&value)) return static_cast<double>(*i);
  if (const bool* b = std::get_if<bool>(&value)) return *b ? 1 : 0;
  return 0;
}

}  // namespace

const io::ReportValue* find_value(const io::Report& report, std::string_view path) {
  for (const auto& f : report.fields)
    if (f.path == path) return &f.value;
  return nullptr;
}

QVariant to_variant(const io::ReportValue& value) {
  struct Visitor {
    QVariant operator()(bool b) const { return QVariant(b); }
    QVariant operator()(std::int64_t i) const { return QVariant(qlonglong{i}); }
    QVariant operator()(double d) const { return QVariant(d); }
    QVariant operator()(const std::string& s) const { return QVariant(QString::fromStdString(s)); }
  };
  return std::visit(Visitor{}, value);
}

QString format_count(double v) {
  static const char* const suffix[] = {"", " K", " M", " B", " T"};
  const int i = scale_1000(v, 4);
  return QString::number(v, 'f', i == 0 ? 0 : 2) + suffix[i];
}

QString format_flops(double v) {
  static const char* const prefix[] = {"", "k", "M", "G", "T", "P", "E"};
  const int i = scale_1000(v, 6);
  return QString::number(v, 'f', i == 0 ? 0 : 2) + " " + prefix[i] + "FLOP";
}

QString format_bytes(double v) {
  return QString::number(v / 1e9, 'f', 2) + " GB";
}

QString format_duration(double s) {
  if (s >= 2 * 86400) return QString::number(s / 86400, 'f', 2) + " days";
  if (s >= 3600) return QString::number(s / 3600, 'f', 2) + " h";
  if (s >= 60) return QString::number(s / 60, 'f', 1) + " min";
  return QString::number(s, 'f', 2) + " s";
}

QString format_usd(double v) {
  return "$" + format_count(v);
}

QString format_value(const io::ReportValue& value, ValueStyle style) {
  if (const std::string* s = std::get_if<std::string>(&value)) return QString::fromStdString(*s);
  if (const bool* b = std::get_if<bool>(&value)) return *b ? "yes" : "no";
  const double v = as_double(value);
  switch (style) {
    case ValueStyle::count:
      return format_count(v);
    case ValueStyle::flops:
      return format_flops(v);
    case ValueStyle::bytes:
      return format_bytes(v);
    case ValueStyle::decimal:
      return QString::number(v, 'f', 2);
    case ValueStyle::seconds:
      return QString::number(v, 'f', 3) + " s";
    case ValueStyle::percent:
      return QString::number(100 * v, 'f', 1) + " %";
    case ValueStyle::rate:
      return format_count(v) + " /s";
    case ValueStyle::duration:
      return format_duration(v);
    case ValueStyle::usd:
      return format_usd(v);
    case ValueStyle::energy:
      return QString::number(v / 1000, 'f', 2) + " MWh";
    case ValueStyle::hours:
      return format_count(v) + " device-h";
    case ValueStyle::loss:
      return QString::number(v, 'f', 4) + " nats/token";
    case ValueStyle::yes_no:
      return v != 0 ? "yes" : "no";
    case ValueStyle::integer:
    case ValueStyle::text:
      if (const std::int64_t* i = std::get_if<std::int64_t>(&value)) return QString::number(*i);
      return QString::number(v, 'g', 12);
  }
  return {};
}

}  // namespace moesim::gui
