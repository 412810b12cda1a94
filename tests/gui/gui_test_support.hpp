#pragma once
// What the GUI test files share: running the CLI binary (MOESIM_CLI_PATH) on the same
// input as the window, reading its JSON report by dotted path, comparing a shown value with
// it exactly (doubles to 1e-12 relative), and telling a blank PNG from a picture.
#include <QImage>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStringList>
#include <QVariant>
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

namespace moesim::gui::test {

struct CliResult {
  int exit_code = -1;
  QByteArray stdout_text;
  QJsonObject json;     // stdout parsed, empty when it is not a JSON object
  QString stderr_line;  // stderr without the trailing newline
};

// `moesim VERB ARGS --format json`.
inline CliResult run_cli(const char* verb, const std::vector<std::string>& verb_args) {
  QStringList args = {verb};
  for (const auto& a : verb_args) args << QString::fromStdString(a);
  args << "--format"
       << "json";
  QProcess p;
  p.start(MOESIM_CLI_PATH, args);
  CliResult r;
  if (!p.waitForFinished(60000)) return r;
  r.exit_code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.stdout_text = p.readAllStandardOutput();
  r.json = QJsonDocument::fromJson(r.stdout_text).object();
  r.stderr_line = QString::fromUtf8(p.readAllStandardError()).trimmed();
  return r;
}

// The value at a dotted path of a nested JSON object; undefined when absent.
inline QJsonValue at_path(const QJsonObject& root, const QString& path) {
  QJsonValue node = root;
  for (const QString& key : path.split('.')) {
    if (!node.isObject()) return QJsonValue(QJsonValue::Undefined);
    node = node.toObject().value(key);
  }
  return node;
}

// A label's raw "value" against the CLI's: an integer in the report is an integer in the
// JSON (no ".0"), compared exactly; doubles to 1e-12 relative.
inline bool same_value(const QVariant& shown, const QJsonValue& expected) {
  switch (shown.typeId()) {
    case QMetaType::Bool:
      return expected.isBool() && expected.toBool() == shown.toBool();
    case QMetaType::LongLong:
      return expected.isDouble() &&
             expected.toInteger(std::numeric_limits<qint64>::min()) == shown.toLongLong();
    case QMetaType::Double: {
      const double a = shown.toDouble(), b = expected.toDouble();
      return expected.isDouble() &&
             std::fabs(a - b) <= 1e-12 * std::max(std::fabs(a), std::fabs(b));
    }
    case QMetaType::QString:
      return expected.isString() && expected.toString() == shown.toString();
    default:
      return false;
  }
}

// Fewer than four colours on a 7-pixel grid: nothing drawn.
inline bool png_is_blank(const QString& path) {
  const QImage image(path);
  if (image.isNull()) return true;
  std::set<QRgb> colors;
  for (int y = 0; y < image.height(); y += 7)
    for (int x = 0; x < image.width(); x += 7) colors.insert(image.pixel(x, y));
  return colors.size() < 4;
}

}  // namespace moesim::gui::test
