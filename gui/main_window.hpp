#pragma once
// moesim-gui's window: a form on the left (model and cluster presets, devices, layout), the
// estimate on the right (summary values, a memory chart, the notes). Every number shown is a
// value of io::make_report for the same input the CLI would get (see estimate_request.hpp);
// each value label is named by its report path and carries the raw value in the dynamic
// property "value", so tests compare them with `moesim estimate --format json` exactly.
#include <QMainWindow>
#include <QString>
#include <QTimer>
#include <string>
#include <vector>

#include "gui/estimate_request.hpp"
#include "gui/format.hpp"

class QCheckBox;
class QComboBox;
class QFormLayout;
class QLabel;
class QListWidget;
class QSpinBox;
class QValueAxis;

namespace moesim::gui {

class MemoryChartModel;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);

  // What a test (or a script) drives. The select_* functions return false when the name is
  // not a listed preset. Every change schedules a recompute; recompute_now() runs it at once.
  bool select_model(const QString& name);
  bool select_cluster(const QString& name);
  void set_devices(int devices);
  void set_automatic_layout(bool automatic);
  // Fills the manual layout controls (dp, tp, pp, ep, ZeRO, recompute, micro and global
  // batch) and turns the automatic layout off.
  void set_manual_layout(const sim::Layout& layout);
  void recompute_now();

  // The request the form describes now, and the outcome of the last recompute.
  EstimateRequest request() const;
  const EstimateOutcome& outcome() const { return outcome_; }
  // The error line shown next to the form ("" when the input is valid).
  QString error_text() const;
  // The label that shows report path `path` (e.g. "memory.per_device_bytes"), or nullptr.
  QLabel* value_label(const QString& path) const;

 private:
  struct ValueView {
    QLabel* label;
    std::string path;
    ValueStyle style;
    QString tooltip;  // what the value is; the exact value is appended when there is one
  };

  QWidget* build_form();
  QWidget* build_results();
  QWidget* build_chart();
  QLabel* add_value(QFormLayout* form, const QString& caption, const std::string& path,
                    ValueStyle style, const QString& tooltip = {});
  void schedule_recompute();
  void on_cluster_changed();
  void on_automatic_toggled(bool automatic);
  void show_outcome();
  void show_chosen_layout(const io::Report& report);

  // Form.
  QComboBox* model_combo_ = nullptr;
  QLabel* model_summary_ = nullptr;
  QComboBox* cluster_combo_ = nullptr;
  QLabel* cluster_summary_ = nullptr;
  QSpinBox* devices_ = nullptr;
  QCheckBox* automatic_ = nullptr;
  QSpinBox* dp_ = nullptr;
  QSpinBox* tp_ = nullptr;
  QSpinBox* pp_ = nullptr;
  QSpinBox* ep_ = nullptr;
  QComboBox* zero_ = nullptr;
  QComboBox* recompute_ = nullptr;
  QSpinBox* micro_batch_ = nullptr;
  QSpinBox* global_batch_ = nullptr;
  std::vector<QWidget*> manual_controls_;
  QLabel* error_ = nullptr;
  QLabel* cli_line_ = nullptr;

  // Results.
  std::vector<ValueView> values_;
  QListWidget* notes_ = nullptr;
  MemoryChartModel* chart_model_ = nullptr;
  QValueAxis* memory_axis_ = nullptr;

  QTimer debounce_;
  EstimateOutcome outcome_;
};

}  // namespace moesim::gui
