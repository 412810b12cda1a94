#pragma once
// Text for report values: human units for people (the same units as the CLI's table:
// GB = 1e9 bytes, B params, FLOP with SI prefixes). Only unit scaling happens here; every
// number itself comes from io::make_report.
#include <QString>
#include <QVariant>
#include <string_view>

#include "io/report.hpp"

namespace moesim::gui {

enum class ValueStyle {
  count,     // 46.70 B (parameters)
  flops,     // 282.35 GFLOP
  bytes,     // 79.31 GB
  integer,   // 64
  decimal,   // 1.00
  yes_no,    // yes / no
  text,      // as is
  seconds,   // 8.458 s
  percent,   // 64.9 %  (a 0..1 fraction)
  rate,      // 495.88 K /s
  duration,  // 6.08 days, 14.2 h, 35.0 min (from seconds)
  usd,       // $1.04 M
  energy,    // 156.51 MWh (from kWh)
  hours,     // 298.87 K device-h
  loss,      // 1.8693 nats/token
};

// The field at `path`, or nullptr when the report has none.
const io::ReportValue* find_value(const io::Report& report, std::string_view path);

// The raw value for the "value" dynamic property: double, qlonglong, bool or QString.
QVariant to_variant(const io::ReportValue& value);

QString format_value(const io::ReportValue& value, ValueStyle style);
QString format_count(double v);
QString format_flops(double v);
QString format_bytes(double v);
QString format_duration(double seconds);
QString format_usd(double v);

}  // namespace moesim::gui
