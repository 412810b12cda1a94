#pragma once
// moesim-gui's window: a form on the left (model preset and its MoE knobs, cluster, devices,
// layout, training tokens, loss law), the results on the right in tabs (estimate, loss and
// cost, scenarios, sweep, timeline). Every number shown is a value of io::make_report (or of
// io::make_loss_report, or of sim::plan) for the same input the CLI would get (see
// estimate_request.hpp); each value label is named by its report path and carries the raw
// value in the dynamic property "value", so tests compare them with the CLI's JSON exactly.
//
// Estimates run off the UI thread: every edit starts (after a short debounce) a job on the
// window's thread pool; when edits come faster than jobs, only the latest request runs next
// and stale results are dropped. wait_until_idle() lets a test wait for that deterministically.
#include <QMainWindow>
#include <QString>
#include <QStringList>
#include <QThreadPool>
#include <QTimer>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gui/analysis.hpp"
#include "gui/estimate_request.hpp"
#include "gui/format.hpp"
#include "gui/gantt_view.hpp"
#include "io/study_io.hpp"

class QCheckBox;
class QChart;
class QChartView;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QTableWidget;
class QValueAxis;
class QLogValueAxis;
class QBarSet;
class QBarSeries;
class QBarCategoryAxis;
class QLineSeries;
class QScatterSeries;
class QHorizontalStackedBarSeries;

namespace moesim::gui {

class MemoryChartModel;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // What a test (or a script) drives. The select_* functions return false when the name is
  // not listed. Every change schedules a recompute; recompute_now() runs it and waits.
  bool select_model(const QString& name);
  bool select_cluster(const QString& name);
  bool select_law(const QString& name);  // "" = none
  void set_devices(int devices);
  // A MoE knob by its model path: moe.experts, moe.top_k, moe.d_ff_expert, moe.every,
  // moe.first_dense_layers, moe.shared_experts, moe.capacity_factor (0 = dropless).
  bool set_model_field(const QString& path, double value);
  void set_tokens(const QString& tokens);
  void set_automatic_layout(bool automatic);
  // Fills the manual layout controls (dp, tp, pp, ep, ZeRO, recompute, micro and global
  // batch) and turns the automatic layout off.
  void set_manual_layout(const sim::Layout& layout);
  void recompute_now();
  // Processes events until no estimate, analysis or sweep job runs or waits; false on
  // timeout.
  bool wait_until_idle(int timeout_ms = 60000);
  bool busy() const;

  // The request the form describes now, and the outcome of the last recompute.
  EstimateRequest request() const;
  const EstimateOutcome& outcome() const { return outcome_; }
  // The error line shown next to the form ("" when the input is valid).
  QString error_text() const;
  // The message shown at the input `field` ("moe.top_k", "--ep", "--tokens", ...), or "".
  QString field_error(const QString& field) const;
  // The label that shows report path `path` (e.g. "memory.per_device_bytes"), or nullptr.
  QLabel* value_label(const QString& path) const;
  // The `moesim estimate` command for the current input, as one line.
  QString cli_command() const;

  // Scenarios: pin the current result (at most four; false when full or invalid).
  bool pin_current();
  void clear_pinned();
  int pinned_count() const { return static_cast<int>(pinned_.size()); }
  QTableWidget* scenario_table() const { return scenario_table_; }

  // Studies (io/study_io): "" on success, else the error line.
  QString save_study(const QString& path);
  QString load_study(const QString& path);
  QString save_model_file(const QString& path);

  // Export: every chart by object name (see chart_names()), tables to CSV.
  QStringList chart_names() const;
  QString export_chart(const QString& name, const QString& path);
  QString export_table_csv(const QString& table_name, const QString& path);

  // Sweep panel: axes (one or two) and a start; the sweep runs on threads.
  void set_sweep_axes(const std::vector<SweepAxisChoice>& axes);
  void start_sweep();
  void cancel_sweep();
  bool sweep_running() const { return sweep_running_; }
  const SweepResult& sweep_result() const { return sweep_result_; }

  QTabWidget* tabs() const { return tabs_; }
  // Loss curve and frontier as last shown (for tests).
  const LossCurve& loss_curve() const { return loss_curve_; }
  const Frontier& frontier() const { return frontier_; }

  // Timeline tab: `moesim simulate` with the trace on for the current request, off the UI
  // thread; the Gantt chart and the summary line show the result (busy() until it is done).
  void start_simulation();
  bool simulation_running() const { return simulation_running_; }
  GanttView* gantt() const { return gantt_; }
  QString simulation_summary_text() const;

 private:
  struct ValueView {
    QLabel* label;
    std::string path;
    ValueStyle style;
    QString tooltip;  // what the value is; the exact value is appended when there is one
  };
  struct Knob {
    std::string path;  // model path, e.g. "moe.experts"
    QSpinBox* spin = nullptr;
    QDoubleSpinBox* dspin = nullptr;  // capacity factor
  };
  struct Pinned {
    QString name;
    EstimateRequest request;
    EstimateOutcome outcome;
  };

  QWidget* build_form();
  QWidget* build_results();
  QWidget* build_estimate_tab();
  QWidget* build_loss_tab();
  QWidget* build_scenarios_tab();
  QWidget* build_sweep_tab();
  QWidget* build_timeline_tab();
  void on_simulation_done(SimulationOutcome outcome);
  QWidget* with_export(QChartView* view);
  QLabel* add_value(QFormLayout* form, const QString& caption, const std::string& path,
                    ValueStyle style, const QString& tooltip = {});
  void add_field_row(QFormLayout* form, const QString& caption, QWidget* widget,
                     const QStringList& fields);
  void schedule_recompute();
  void start_recompute();
  void on_estimate_done(quint64 generation, EstimateOutcome outcome);
  void start_analysis();
  void on_analysis_done(quint64 generation, LossCurve curve, Frontier frontier);
  void on_model_changed();
  void on_cluster_changed();
  void on_automatic_toggled(bool automatic);
  void load_base_model();
  void set_knobs(const model::ModelSpec& spec);
  void show_outcome();
  void show_field_errors();
  void show_chosen_layout(const io::Report& report);
  void update_step_chart(const io::Report* report);
  void update_loss_views();
  void update_scenarios();
  void update_sweep_views();
  void on_sweep_done(SweepResult result);
  io::StudyScenario scenario_of(const QString& name, const EstimateRequest& r) const;
  EstimateRequest request_of(const io::StudyScenario& s);
  void apply_request_to_form(const EstimateRequest& r);
  void copy_command();
  void export_chart_dialog(QChartView* view);

  // Form.
  QComboBox* model_combo_ = nullptr;
  QLabel* model_summary_ = nullptr;
  std::vector<Knob> knobs_;
  QLabel* granularity_hint_ = nullptr;
  QComboBox* cluster_combo_ = nullptr;
  QLabel* cluster_summary_ = nullptr;
  QSpinBox* devices_ = nullptr;
  QLineEdit* tokens_ = nullptr;
  QComboBox* law_combo_ = nullptr;
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
  // Per-field error labels and the widgets they mark, by field ("moe.top_k", "--ep").
  std::map<std::string, QLabel*> field_labels_;
  std::map<std::string, QWidget*> field_widgets_;
  model::ModelSpec base_spec_;
  bool base_spec_valid_ = false;

  // Results.
  QTabWidget* tabs_ = nullptr;
  std::vector<ValueView> values_;
  QLabel* loss_value_ = nullptr;
  QLabel* loss_note_ = nullptr;
  QListWidget* notes_ = nullptr;
  MemoryChartModel* chart_model_ = nullptr;
  QValueAxis* memory_axis_ = nullptr;
  QHorizontalStackedBarSeries* step_series_ = nullptr;
  QValueAxis* step_axis_ = nullptr;
  std::vector<QBarSet*> step_sets_;
  std::vector<QChartView*> chart_views_;

  // Loss and cost.
  QLineSeries* loss_line_ = nullptr;
  QScatterSeries* loss_points_ = nullptr;
  QScatterSeries* loss_current_ = nullptr;
  QLogValueAxis* loss_x_ = nullptr;
  QValueAxis* loss_y_ = nullptr;
  QLabel* loss_status_ = nullptr;
  QScatterSeries* plan_all_ = nullptr;
  QLineSeries* plan_front_ = nullptr;
  QScatterSeries* plan_current_ = nullptr;
  QLogValueAxis* plan_x_ = nullptr;
  QValueAxis* plan_y_ = nullptr;
  QLabel* plan_status_ = nullptr;
  LossCurve loss_curve_;
  Frontier frontier_;

  // Scenarios.
  std::vector<Pinned> pinned_;
  int pinned_serial_ = 0;
  QTableWidget* scenario_table_ = nullptr;
  QBarSeries* compare_step_ = nullptr;
  QValueAxis* compare_step_axis_ = nullptr;
  QBarSeries* compare_memory_ = nullptr;
  QValueAxis* compare_memory_axis_ = nullptr;
  QLabel* scenario_status_ = nullptr;

  // Sweep.
  struct AxisForm {
    QCheckBox* enabled = nullptr;
    QComboBox* key = nullptr;
    QLineEdit* from = nullptr;
    QLineEdit* to = nullptr;
    QComboBox* mode = nullptr;  // "× factor" or "+ step"
    QLineEdit* by = nullptr;
  };
  AxisForm axis_forms_[2];
  QComboBox* sweep_metric_ = nullptr;
  QPushButton* sweep_run_ = nullptr;
  QPushButton* sweep_cancel_ = nullptr;
  QProgressBar* sweep_progress_ = nullptr;
  QLabel* sweep_status_ = nullptr;
  QChart* sweep_chart_ = nullptr;
  QTableWidget* sweep_table_ = nullptr;
  QTimer sweep_poll_;
  std::atomic<std::int64_t> sweep_done_{0};
  std::atomic<bool> sweep_cancel_flag_{false};
  std::int64_t sweep_total_ = 0;
  bool sweep_running_ = false;
  SweepResult sweep_result_;

  // Timeline.
  GanttView* gantt_ = nullptr;
  QPushButton* simulate_button_ = nullptr;
  QLabel* simulation_summary_ = nullptr;
  bool simulation_running_ = false;

  // Jobs.
  QTimer debounce_;
  QThreadPool pool_;
  quint64 generation_ = 0;  // of the latest request
  bool estimate_running_ = false;
  bool estimate_pending_ = false;
  quint64 analysis_generation_ = 0;
  bool analysis_running_ = false;
  bool analysis_pending_ = false;
  EstimateRequest shown_request_;  // the request outcome_ belongs to
  EstimateOutcome outcome_;
};

}  // namespace moesim::gui
