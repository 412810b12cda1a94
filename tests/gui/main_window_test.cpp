// moesim-gui shows the CLI's numbers: for the same input, every value label of the window
// (named by its report path, raw value in the "value" property) equals the value at that path
// in `moesim estimate --format json` — exactly for integers, booleans and strings, to a
// relative 1e-12 for doubles (both sides print shortest round-trip doubles, so in practice
// they are equal too). Invalid input shows the CLI's stderr line. Run offscreen.
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QListWidget>
#include <QProcess>
#include <QSet>
#include <QtTest>
#include <cmath>
#include <limits>
#include <memory>

#include "gui/main_window.hpp"
#include "tests/gui/gui_test_support.hpp"

using moesim::gui::MainWindow;
using moesim::gui::test::at_path;
using moesim::gui::test::CliResult;
using moesim::gui::test::run_cli;
using moesim::gui::test::same_value;

namespace {

struct Comparison {
  QSet<QString> compared;  // paths whose shown value equals the CLI's
  QStringList mismatches;  // one line per difference
};

QString json_text(const QJsonValue& v) {
  return QString::fromUtf8(QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact));
}

// Compares every value label of `window` (a QLabel named by a dotted path and carrying a
// "value") and the notes list with the CLI report.
Comparison compare_with_cli(const MainWindow& window, const QJsonObject& cli) {
  Comparison c;
  for (QLabel* label : window.findChildren<QLabel*>()) {
    const QString path = label->objectName();
    const QVariant shown = label->property("value");
    if (!path.contains('.') || !shown.isValid()) continue;
    const QJsonValue expected = at_path(cli, path);
    const bool same = same_value(shown, expected);
    if (same) {
      c.compared.insert(path);
    } else {
      c.mismatches << QString("%1: shown %2 (%3), CLI %4")
                          .arg(path, shown.toString(), shown.typeName(), json_text(expected));
      if (shown.typeId() == QMetaType::Double)
        c.mismatches.back() += QString(" (shown %1)").arg(shown.toDouble(), 0, 'g', 17);
    }
  }
  auto* notes = window.findChild<QListWidget*>("notes");
  const QJsonArray cli_notes = cli.value("notes").toArray();
  QStringList shown_notes;
  for (int i = 0; notes && i < notes->count(); ++i) shown_notes << notes->item(i)->text();
  QStringList expected_notes;
  for (const QJsonValue& n : cli_notes) expected_notes << n.toString();
  if (shown_notes != expected_notes)
    c.mismatches << "notes: shown [" + shown_notes.join(" | ") + "], CLI [" +
                        expected_notes.join(" | ") + "]";
  return c;
}

// The paths the brief asks the window to show; each must have been compared.
const QStringList kRequiredPaths = {
    "model.params_total",
    "model.params_active",
    "model.flops_per_token",
    "layout.dp",
    "layout.tp",
    "layout.pp",
    "layout.ep",
    "layout.zero",
    "layout.micro_batch",
    "layout.global_batch",
    "memory.per_device_bytes",
    "memory.hbm_bytes",
    "memory.fits",
    "memory.breakdown.weights",
    "memory.breakdown.gradients",
    "memory.breakdown.optimizer",
    "memory.breakdown.activations",
    "memory.breakdown.moe_buffers",
    "time.step_s",
    "time.breakdown.compute_s",
    "time.breakdown.exposed_communication_s",
    "time.breakdown.pipeline_bubble_s",
    "throughput.tokens_per_s",
    "throughput.mfu",
};

QJsonObject parse_report(const CliResult& r) {
  QJsonParseError err;
  const QJsonDocument doc = QJsonDocument::fromJson(r.stdout_text, &err);
  if (err.error != QJsonParseError::NoError || !doc.isObject()) return {};
  return doc.object();
}

}  // namespace

class MainWindowTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QVERIFY2(QFileInfo::exists(MOESIM_CLI_PATH), MOESIM_CLI_PATH);
    window_ = std::make_unique<MainWindow>();
    window_->show();
    QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
  }

  void automatic_layout_matches_cli() {
    QVERIFY(window_->select_model("mixtral-8x7b"));
    QVERIFY(window_->select_cluster("dgx-h100"));
    window_->set_devices(64);
    window_->set_automatic_layout(true);
    window_->recompute_now();
    QVERIFY2(window_->error_text().isEmpty(), qPrintable(window_->error_text()));

    window_->set_tokens("1T");
    window_->recompute_now();
    const std::vector<std::string> args = {"--model",   "mixtral-8x7b", "--cluster", "dgx-h100",
                                           "--devices", "64",           "--tokens",  "1T"};
    QCOMPARE(moesim::gui::cli_arguments(window_->request()), args);
    const CliResult cli = run_cli("estimate", args);
    QCOMPARE(cli.exit_code, 0);
    const QJsonObject report = parse_report(cli);
    QVERIFY(!report.isEmpty());
    const Comparison c = compare_with_cli(*window_, report);
    QVERIFY2(c.mismatches.isEmpty(), qPrintable(c.mismatches.join('\n')));
    for (const QString& path : kRequiredPaths)
      QVERIFY2(c.compared.contains(path), qPrintable(path + " is not shown"));
    QCOMPARE(window_->value_label("layout.chosen")->property("value").toBool(), true);

    save_screenshot("gui-estimate.png");
  }

  void manual_layout_matches_cli() {
    QVERIFY(window_->select_model("mixtral-8x7b"));
    QVERIFY(window_->select_cluster("dgx-h100"));
    window_->set_devices(64);
    moesim::sim::Layout l;
    l.dp = 16;
    l.tp = 4;
    l.pp = 1;
    l.ep = 8;
    l.zero = 2;
    l.recompute = moesim::sim::Recompute::full;
    l.micro_batch = 2;
    l.global_batch = 512;
    window_->set_manual_layout(l);
    window_->recompute_now();
    QVERIFY2(window_->error_text().isEmpty(), qPrintable(window_->error_text()));

    const std::vector<std::string> args = {"--model",        "mixtral-8x7b",
                                           "--cluster",      "dgx-h100",
                                           "--devices",      "64",
                                           "--dp",           "16",
                                           "--tp",           "4",
                                           "--pp",           "1",
                                           "--ep",           "8",
                                           "--zero",         "2",
                                           "--recompute",    "full",
                                           "--micro-batch",  "2",
                                           "--global-batch", "512",
                                           "--tokens",       "1T"};
    QCOMPARE(moesim::gui::cli_arguments(window_->request()), args);
    const CliResult cli = run_cli("estimate", args);
    QCOMPARE(cli.exit_code, 0);
    const QJsonObject report = parse_report(cli);
    QVERIFY(!report.isEmpty());
    const Comparison c = compare_with_cli(*window_, report);
    QVERIFY2(c.mismatches.isEmpty(), qPrintable(c.mismatches.join('\n')));
    for (const QString& path : kRequiredPaths)
      QVERIFY2(c.compared.contains(path), qPrintable(path + " is not shown"));
    QCOMPARE(window_->value_label("layout.ep")->property("value").toLongLong(), 8);
    QCOMPARE(window_->value_label("layout.chosen")->property("value").toBool(), false);
  }

  void invalid_layout_shows_cli_error() {
    QVERIFY(window_->select_model("mixtral-8x7b"));
    QVERIFY(window_->select_cluster("dgx-h100"));
    window_->set_devices(64);
    moesim::sim::Layout l;
    l.dp = 64;
    l.ep = 3;  // does not divide dp = 64 (nor the 8 experts)
    l.zero = 1;
    window_->set_manual_layout(l);
    window_->recompute_now();

    const CliResult cli = run_cli("estimate", moesim::gui::cli_arguments(window_->request()));
    QCOMPARE(cli.exit_code, 2);
    QVERIFY(cli.stderr_line.startsWith("error: "));
    QCOMPARE(window_->error_text(), cli.stderr_line);
    auto* error = window_->findChild<QLabel*>("error");
    QVERIFY(error && error->isVisible());
    // No stale numbers: the values are cleared while the input is invalid.
    QVERIFY(!window_->value_label("memory.per_device_bytes")->property("value").isValid());

    save_screenshot("gui-invalid-layout.png");

    // Fixing the input clears the error again.
    l.ep = 8;
    window_->set_manual_layout(l);
    window_->recompute_now();
    QVERIFY2(window_->error_text().isEmpty(), qPrintable(window_->error_text()));
    QVERIFY(!error->isVisible());
    QVERIFY(window_->value_label("memory.per_device_bytes")->property("value").isValid());
  }

  void edits_recompute_after_the_debounce() {
    QVERIFY(window_->select_model("mixtral-8x7b"));
    QVERIFY(window_->select_cluster("dgx-h100"));
    window_->set_automatic_layout(true);
    window_->set_devices(64);
    window_->recompute_now();
    QCOMPARE(window_->value_label("cluster.devices")->property("value").toLongLong(), 64);
    // No explicit recompute: the edit alone updates the shown estimate.
    window_->set_devices(128);
    QTRY_COMPARE(window_->value_label("cluster.devices")->property("value").toLongLong(), 128);
  }

  void cleanupTestCase() { window_.reset(); }

 private:
  // Screenshots for docs/gui.md, into the build folder; MOESIM_SCREENSHOT_DIR=docs/screenshots
  // refreshes the ones in the documentation.
  void save_screenshot(const QString& name) {
    const QString dir =
        qEnvironmentVariable("MOESIM_SCREENSHOT_DIR", MOESIM_DEFAULT_SCREENSHOT_DIR);
    QVERIFY(QDir().mkpath(dir));
    QTest::qWait(100);  // let posted layout requests run, as the event loop would on screen
    QVERIFY(window_->grab().save(QDir(dir).filePath(name)));
  }

  std::unique_ptr<MainWindow> window_;
};

QTEST_MAIN(MainWindowTest)
#include "main_window_test.moc"
