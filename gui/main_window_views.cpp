// MainWindow's other views: loss and cost (the law along the expert count, the plan's
// loss/cost frontier), scenarios (pinned configurations side by side, studies saved and
// loaded through io/study_io), the sweep panel, and the export of charts and tables.
#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLegend>
#include <QLineEdit>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QScatterSeries>
#include <QSpinBox>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableWidget>
#include <QTextStream>
#include <QVBoxLayout>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

#include "gui/charts.hpp"
#include "gui/main_window.hpp"
#include "io/errors.hpp"
#include "io/units.hpp"

namespace moesim::gui {
namespace {

// Adds `series` to `chart` on a bottom x axis and a left y axis, attached to both.
void add_xy_series(QChart* chart, std::initializer_list<QXYSeries*> series, QAbstractAxis* x,
                   QAbstractAxis* y) {
  for (auto* s : series) chart->addSeries(s);
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  for (auto* s : series) {
    s->attachAxis(x);
    s->attachAxis(y);
  }
}

// The red marker of the configuration on screen, shared by the loss and Pareto charts.
QScatterSeries* current_configuration_marker() {
  auto* m = new QScatterSeries;
  m->setName("Current configuration");
  m->setMarkerSize(14);
  m->setColor(QColor("#cf222e"));
  return m;
}

// A base-2 log axis without minor ticks (expert counts, dollars).
QLogValueAxis* log2_axis(const char* label_format, const QString& title) {
  auto* a = new QLogValueAxis;
  a->setBase(2);
  a->setLabelFormat(label_format);
  a->setMinorTickCount(0);
  a->setTitleText(title);
  return a;
}

// The wrapped status line under a chart, named for the tests.
QLabel* chart_status_label(const char* object_name) {
  auto* l = new QLabel;
  l->setObjectName(object_name);
  l->setWordWrap(true);
  return l;
}

const QColor kScenarioColors[] = {QColor("#1f4e8c"), QColor("#e8833a"), QColor("#6b8e23"),
                                  QColor("#c94f7c")};
constexpr int kMaxPinned = 4;

double report_number(const io::Report* r, const char* path) {
  if (!r) return NAN;
  const io::ReportValue* v = find_value(*r, path);
  if (!v) return NAN;
  if (const double* d = std::get_if<double>(v)) return *d;
  if (const std::int64_t* i = std::get_if<std::int64_t>(v)) return static_cast<double>(*i);
  if (const bool* b = std::get_if<bool>(v)) return *b ? 1 : 0;
  return NAN;
}

QString report_text(const io::Report* r, const char* path, ValueStyle style) {
  if (!r) return "—";
  const io::ReportValue* v = find_value(*r, path);
  return v ? format_value(*v, style) : QString("—");
}

double loss_of(const EstimateOutcome& o) {
  return o.loss ? report_number(&*o.loss, "loss.value") : NAN;
}

// Sweep metrics: caption with unit, report path (or "loss"), scale to the unit shown.
struct Metric {
  const char* caption;
  const char* path;
  double scale;
};
const Metric kMetrics[] = {
    {"Step time (s)", "time.step_s", 1},
    {"Throughput (tokens/s)", "throughput.tokens_per_s", 1},
    {"MFU (%)", "throughput.mfu", 100},
    {"Memory per device (GB)", "memory.per_device_bytes", 1e-9},
    {"Time to train (days)", "training.wall_s", 1.0 / 86400},
    {"Cost to train (USD)", "training.cost_usd", 1},
    {"Energy to train (MWh)", "training.energy_kwh", 1e-3},
    {"Predicted loss (nats/token)", "loss.value", 1},
    {"Parameters, total (billions)", "model.params_total", 1e-9},
};

double metric_value(const EstimateOutcome& o, const Metric& m) {
  if (std::string(m.path) == "loss.value") return loss_of(o);
  return report_number(o.report ? &*o.report : nullptr, m.path) * m.scale;
}

QString axis_title(const std::string& key) {
  if (key == "experts") return "Routed experts per MoE layer (count)";
  if (key == "top_k") return "Top-k (experts per token)";
  if (key == "d_ff_expert") return "Expert width d_ff_expert (hidden units)";
  if (key == "moe_every") return "Expert layer every K layers (layers)";
  if (key == "first_dense_layers") return "Leading dense layers (layers)";
  if (key == "shared_experts") return "Shared experts (count)";
  if (key == "devices") return "Devices (accelerators)";
  if (key == "tokens") return "Training tokens (tokens)";
  return QString::fromStdString(key);
}

void set_log_range(QLogValueAxis* axis, double lo, double hi) {
  if (!(lo > 0) || !(hi >= lo)) {
    lo = 1;
    hi = 10;
  }
  axis->setRange(lo / 1.3, hi * 1.3);
}

QString csv_cell(const QString& s) {
  if (!s.contains(',') && !s.contains('"') && !s.contains('\n')) return s;
  return "\"" + QString(s).replace("\"", "\"\"") + "\"";
}

}  // namespace

// ---------------------------------------------------------------- loss and cost

QWidget* MainWindow::build_loss_tab() {
  auto* panel = new QWidget;
  auto* column = new QVBoxLayout(panel);

  auto* loss_chart = new QChart;
  loss_chart->setTitle("Predicted loss against the expert count (rest of the model kept)");
  loss_line_ = new QLineSeries;
  loss_line_->setName("Loss law");
  loss_points_ = new QScatterSeries;
  loss_points_->setName("E = 1, 2, 4, …, 512");
  loss_points_->setMarkerSize(8);
  loss_current_ = current_configuration_marker();
  loss_x_ = log2_axis("%g", "Routed experts per MoE layer (count, log scale)");
  loss_y_ = new QValueAxis;
  loss_y_->setTitleText("Predicted final loss (nats/token)");
  add_xy_series(loss_chart, {loss_line_, loss_points_, loss_current_}, loss_x_, loss_y_);
  loss_chart->legend()->setAlignment(Qt::AlignBottom);
  column->addWidget(with_export(make_chart_view(loss_chart, "loss_experts_chart", 320)), 1);
  loss_status_ = chart_status_label("loss_status");
  column->addWidget(loss_status_);

  auto* plan_chart = new QChart;
  plan_chart->setTitle("Loss against training cost: moesim plan around this model");
  plan_all_ = new QScatterSeries;
  plan_all_->setName("Candidates");
  plan_all_->setMarkerSize(7);
  plan_all_->setColor(QColor("#b8b8b8"));
  plan_all_->setBorderColor(QColor("#b8b8b8"));
  plan_front_ = new QLineSeries;
  plan_front_->setName("Pareto frontier (loss vs cost)");
  plan_front_->setColor(QColor("#1f4e8c"));
  plan_front_->setPointsVisible(true);
  plan_current_ = current_configuration_marker();
  plan_x_ = log2_axis("%.0f", "Training cost (USD, log scale)");
  plan_y_ = new QValueAxis;
  plan_y_->setTitleText("Predicted final loss (nats/token)");
  add_xy_series(plan_chart, {plan_all_, plan_front_, plan_current_}, plan_x_, plan_y_);
  plan_chart->legend()->setAlignment(Qt::AlignBottom);
  column->addWidget(with_export(make_chart_view(plan_chart, "pareto_chart", 320)), 1);
  plan_status_ = chart_status_label("plan_status");
  plan_status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  column->addWidget(plan_status_);
  return panel;
}

void MainWindow::start_analysis() {
  ++analysis_generation_;
  if (analysis_running_) {
    analysis_pending_ = true;
    return;
  }
  analysis_running_ = true;
  const quint64 generation = analysis_generation_;
  const EstimateRequest r = shown_request_;
  const double device_hours =
      report_number(outcome_.report ? &*outcome_.report : nullptr, "training.device_hours");
  const bool valid = outcome_.report.has_value();
  QPointer<MainWindow> self(this);
  pool_.start([self, generation, r, device_hours, valid] {
    LossCurve curve;
    Frontier frontier;
    if (valid) {
      curve = loss_vs_experts(r);
      frontier = loss_cost_frontier(r, device_hours);
    } else {
      curve.error = frontier.error = "the input is invalid";
    }
    if (!self) return;
    QMetaObject::invokeMethod(
        self.data(),
        [self, generation, curve = std::move(curve), frontier = std::move(frontier)]() mutable {
          if (self) self->on_analysis_done(generation, std::move(curve), std::move(frontier));
        },
        Qt::QueuedConnection);
  });
}

void MainWindow::on_analysis_done(quint64 generation, LossCurve curve, Frontier frontier) {
  analysis_running_ = false;
  if (generation == analysis_generation_ && !analysis_pending_) {
    loss_curve_ = std::move(curve);
    frontier_ = std::move(frontier);
    update_loss_views();
  }
  if (analysis_pending_) {
    analysis_pending_ = false;
    --analysis_generation_;
    start_analysis();
  }
}

void MainWindow::update_loss_views() {
  const double current_loss = loss_of(outcome_);
  // Loss against experts.
  QList<QPointF> pts;
  double lo = INFINITY, hi = -INFINITY;
  for (const LossPoint& p : loss_curve_.points) {
    pts << QPointF(static_cast<double>(p.experts), p.loss);
    lo = std::min(lo, p.loss);
    hi = std::max(hi, p.loss);
  }
  loss_line_->replace(pts);
  loss_points_->replace(pts);
  QList<QPointF> cur;
  if (outcome_.model && std::isfinite(current_loss)) {
    const double e = static_cast<double>(outcome_.model->moe.experts);
    if (e >= 1 && e <= 1024) {
      cur << QPointF(e, current_loss);
      lo = std::min(lo, current_loss);
      hi = std::max(hi, current_loss);
    }
  }
  loss_current_->replace(cur);
  loss_x_->setRange(0.8, 640);
  if (std::isfinite(lo)) fit_value_axis(loss_y_, lo, hi, false);
  QString status;
  if (!loss_curve_.error.empty()) {
    status = "No loss curve: " + QString::fromStdString(loss_curve_.error);
  } else {
    status = "Law " + QString::fromStdString(loss_curve_.law) +
             " (moesim loss --law … --model … --experts E), evaluated at E = 1, 2, …, 512.";
    if (std::any_of(loss_curve_.points.begin(), loss_curve_.points.end(),
                    [](const LossPoint& p) { return p.top_k_capped; }))
      status += " Where top-k exceeded E it is capped at E.";
  }
  loss_status_->setText(status);

  // The plan's frontier.
  QList<QPointF> all, front, mark;
  lo = INFINITY;
  hi = -INFINITY;
  double clo = INFINITY, chi = -INFINITY;
  auto extend = [&](double cost, double loss) {
    lo = std::min(lo, loss);
    hi = std::max(hi, loss);
    clo = std::min(clo, cost);
    chi = std::max(chi, cost);
  };
  for (const sim::PlanCandidate& c : frontier_.plan.kept)
    if (c.cost_usd > 0 && std::isfinite(c.loss)) {
      all << QPointF(c.cost_usd, c.loss);
      extend(c.cost_usd, c.loss);
    }
  for (const sim::PlanCandidate& c : frontier_.plan.frontier_cost)
    if (c.cost_usd > 0 && std::isfinite(c.loss)) front << QPointF(c.cost_usd, c.loss);
  const double cost =
      report_number(outcome_.report ? &*outcome_.report : nullptr, "training.cost_usd");
  if (cost > 0 && std::isfinite(current_loss)) {
    mark << QPointF(cost, current_loss);
    extend(cost, current_loss);
  }
  plan_all_->replace(all);
  plan_front_->replace(front);
  plan_current_->replace(mark);
  set_log_range(plan_x_, clo, chi);
  if (std::isfinite(lo)) fit_value_axis(plan_y_, lo, hi, false);
  if (!frontier_.error.empty()) {
    plan_status_->setText("No frontier: " + QString::fromStdString(frontier_.error));
  } else {
    QStringList args;
    for (const auto& a : frontier_.cli_args) args << QString::fromStdString(a);
    plan_status_->setText(QString("%1 candidates kept of %2; %3 on the frontier. Same plan: "
                                  "moesim plan %4")
                              .arg(frontier_.plan.kept_count)
                              .arg(frontier_.plan.candidates)
                              .arg(frontier_.plan.frontier_cost.size())
                              .arg(args.join(' ')));
  }
}

// ---------------------------------------------------------------- scenarios

QWidget* MainWindow::build_scenarios_tab() {
  auto* panel = new QWidget;
  auto* column = new QVBoxLayout(panel);
  auto* buttons = new QHBoxLayout;
  auto* pin = new QPushButton("Pin current configuration");
  pin->setObjectName("pin_current");
  auto* clear = new QPushButton("Clear scenarios");
  clear->setObjectName("clear_pinned");
  auto* csv = new QPushButton("Export table as CSV…");
  csv->setObjectName("scenario_table_export");
  buttons->addWidget(pin);
  buttons->addWidget(clear);
  buttons->addWidget(csv);
  buttons->addStretch(1);
  column->addLayout(buttons);
  connect(pin, &QPushButton::clicked, this, [this] { pin_current(); });
  connect(clear, &QPushButton::clicked, this, &MainWindow::clear_pinned);
  connect(csv, &QPushButton::clicked, this, [this] {
    const QString f =
        QFileDialog::getSaveFileName(this, "Export scenarios", "scenarios.csv", "CSV (*.csv)");
    if (!f.isEmpty()) statusBar()->showMessage(export_table_csv("scenario_table", f), 5000);
  });
  scenario_status_ = new QLabel("Pin up to four configurations to compare them side by side.");
  scenario_status_->setObjectName("scenario_status");
  column->addWidget(scenario_status_);

  scenario_table_ = new QTableWidget;
  scenario_table_->setObjectName("scenario_table");
  scenario_table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  scenario_table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  scenario_table_->setMinimumHeight(260);
  column->addWidget(scenario_table_);

  auto make_compare = [this](const char* title, const char* name, const QStringList& categories,
                             const char* unit_title, QBarSeries*& series, QValueAxis*& axis) {
    auto* chart = new QChart;
    chart->setTitle(title);
    series = new QBarSeries;
    chart->addSeries(series);
    auto* cat = new QBarCategoryAxis;
    cat->append(categories);
    cat->setTitleText("Part");
    chart->addAxis(cat, Qt::AlignBottom);
    series->attachAxis(cat);
    axis = new QValueAxis;
    axis->setTitleText(unit_title);
    chart->addAxis(axis, Qt::AlignLeft);
    series->attachAxis(axis);
    chart->legend()->setAlignment(Qt::AlignBottom);
    return with_export(make_chart_view(chart, name, 300));
  };
  auto* charts = new QVBoxLayout;
  charts->addWidget(make_compare("Step time by scenario", "compare_step_chart",
                                 {"Compute", "Exposed comm.", "Pipeline bubble", "Optimizer"},
                                 "Time per step (s)", compare_step_, compare_step_axis_),
                    1);
  charts->addWidget(
      make_compare("Memory per device by scenario", "compare_memory_chart",
                   {"Weights", "Gradients", "Optimizer", "Activations", "MoE buffers"},
                   "Memory (GB, 10⁹ B)", compare_memory_, compare_memory_axis_),
      1);
  column->addLayout(charts, 1);
  update_scenarios();
  return panel;
}

bool MainWindow::pin_current() {
  if (!outcome_.report) {
    scenario_status_->setText("The current input is invalid: nothing to pin.");
    return false;
  }
  if (pinned_.size() >= kMaxPinned) {
    scenario_status_->setText("Four scenarios are pinned: clear them to pin more.");
    return false;
  }
  const QString name = QString(QChar('A' + pinned_serial_++ % 26));
  pinned_.push_back({name, shown_request_, outcome_});
  scenario_status_->setText(QString("%1 scenario(s) pinned.").arg(pinned_.size()));
  update_scenarios();
  return true;
}

void MainWindow::clear_pinned() {
  pinned_.clear();
  pinned_serial_ = 0;
  scenario_status_->setText("Pin up to four configurations to compare them side by side.");
  update_scenarios();
}

void MainWindow::update_scenarios() {
  struct Row {
    const char* caption;
    const char* path;
    ValueStyle style;
  };
  static const Row rows[] = {
      {"Model", "model.name", ValueStyle::text},
      {"Cluster", "cluster.name", ValueStyle::text},
      {"Devices", "cluster.devices", ValueStyle::integer},
      {"Layout (dp × tp × pp, ep)", "", ValueStyle::text},
      {"Parameters, total", "model.params_total", ValueStyle::count},
      {"Parameters, active", "model.params_active", ValueStyle::count},
      {"Granularity G", "model.granularity", ValueStyle::decimal},
      {"Memory per device", "memory.per_device_bytes", ValueStyle::bytes},
      {"Fits in HBM", "memory.fits", ValueStyle::yes_no},
      {"Step time", "time.step_s", ValueStyle::seconds},
      {"Throughput", "throughput.tokens_per_s", ValueStyle::rate},
      {"MFU", "throughput.mfu", ValueStyle::percent},
      {"Time to train", "training.wall_s", ValueStyle::duration},
      {"Cost to train", "training.cost_usd", ValueStyle::usd},
      {"Energy to train", "training.energy_kwh", ValueStyle::energy},
      {"Predicted loss", "loss.value", ValueStyle::loss},
      {"Overrides", "", ValueStyle::text},
  };
  const int n_rows = static_cast<int>(std::size(rows));
  scenario_table_->clear();
  scenario_table_->setRowCount(n_rows);
  scenario_table_->setColumnCount(static_cast<int>(pinned_.size()));
  QStringList headers;
  for (const Pinned& p : pinned_) headers << "Scenario " + p.name;
  scenario_table_->setHorizontalHeaderLabels(headers);
  QStringList captions;
  for (const Row& r : rows) captions << r.caption;
  scenario_table_->setVerticalHeaderLabels(captions);
  for (int c = 0; c < static_cast<int>(pinned_.size()); ++c) {
    const Pinned& p = pinned_[static_cast<std::size_t>(c)];
    const io::Report* report = p.outcome.report ? &*p.outcome.report : nullptr;
    for (int r = 0; r < n_rows; ++r) {
      QString text;
      const std::string path = rows[r].path;
      if (path == "loss.value") {
        text = p.outcome.loss ? report_text(&*p.outcome.loss, "loss.value", ValueStyle::loss)
                              : QString("—");
      } else if (!path.empty()) {
        text = report_text(report, rows[r].path, rows[r].style);
      } else if (r == 3) {
        text = report_text(report, "layout.dp", ValueStyle::integer) + " × " +
               report_text(report, "layout.tp", ValueStyle::integer) + " × " +
               report_text(report, "layout.pp", ValueStyle::integer) + ", ep " +
               report_text(report, "layout.ep", ValueStyle::integer);
      } else {
        QStringList sets;
        for (const auto& s : p.request.sets) sets << QString::fromStdString(s);
        text = sets.isEmpty() ? "none" : sets.join(", ");
      }
      auto* item = new QTableWidgetItem(text);
      item->setToolTip(text);
      scenario_table_->setItem(r, c, item);
    }
  }

  // Overlaid bars: one set per scenario.
  const char* step_paths[] = {"time.breakdown.compute_s", "time.breakdown.exposed_communication_s",
                              "time.breakdown.pipeline_bubble_s", "time.breakdown.optimizer_s"};
  const char* memory_paths[] = {"memory.breakdown.weights", "memory.breakdown.gradients",
                                "memory.breakdown.optimizer", "memory.breakdown.activations",
                                "memory.breakdown.moe_buffers"};
  compare_step_->clear();
  compare_memory_->clear();
  double step_max = 0, memory_max = 0;
  for (std::size_t i = 0; i < pinned_.size(); ++i) {
    const io::Report* report = pinned_[i].outcome.report ? &*pinned_[i].outcome.report : nullptr;
    auto* step = new QBarSet("Scenario " + pinned_[i].name);
    auto* memory = new QBarSet("Scenario " + pinned_[i].name);
    for (const char* path : step_paths) {
      const double v = report_number(report, path);
      step->append(std::isfinite(v) ? v : 0);
      if (std::isfinite(v)) step_max = std::max(step_max, v);
    }
    for (const char* path : memory_paths) {
      const double v = report_number(report, path) / 1e9;
      memory->append(std::isfinite(v) ? v : 0);
      if (std::isfinite(v)) memory_max = std::max(memory_max, v);
    }
    const QColor color = kScenarioColors[i % std::size(kScenarioColors)];
    step->setColor(color);
    memory->setColor(color);
    compare_step_->append(step);
    compare_memory_->append(memory);
  }
  fit_value_axis(compare_step_axis_, 0, step_max);
  fit_value_axis(compare_memory_axis_, 0, memory_max);
}

// ---------------------------------------------------------------- studies

io::StudyScenario MainWindow::scenario_of(const QString& name, const EstimateRequest& r) const {
  io::StudyScenario s;
  s.name = name.toStdString();
  s.model = load_request_model(r);
  if (r.model_json.empty()) {
    s.preset = r.model;
    s.sets = r.sets;
  }
  s.cluster = r.cluster;
  s.devices = r.devices;
  s.layout = r.layout;
  if (!r.tokens.empty()) {
    s.tokens = io::parse_count(r.tokens, "--tokens");
    if (!(*s.tokens > 0)) throw io::InputError("--tokens", "value", "must be positive");
  }
  s.law = r.law;
  return s;
}

EstimateRequest MainWindow::request_of(const io::StudyScenario& s) {
  EstimateRequest r;
  const std::string model_text = io::render_model_json(s.model);
  bool from_preset = false;
  if (!s.preset.empty()) {
    try {
      r.model = s.preset;
      r.sets = s.sets;
      from_preset = io::render_model_json(load_request_model(r)) == model_text;
    } catch (const std::exception&) {
    }
  }
  if (!from_preset) {
    r = EstimateRequest{};
    r.model = s.model.name;
    r.model_json = model_text;
    r.model_source = "study model " + s.model.name;
  }
  r.cluster = s.cluster;
  r.devices = static_cast<int>(s.devices);
  r.layout = s.layout;
  if (s.tokens) r.tokens = format_tokens(*s.tokens);
  r.law = s.law;
  return r;
}

void MainWindow::apply_request_to_form(const EstimateRequest& r) {
  model::ModelSpec spec = load_request_model(r);
  if (r.model_json.empty()) {
    select_model(QString::fromStdString(r.model));
  } else {
    // A model that is no preset gets its own entry in the model box.
    const QString label = QString::fromStdString(spec.name) + " (study)";
    int i = model_combo_->findText(label);
    if (i < 0) {
      model_combo_->addItem(label, "Model from a study file");
      i = model_combo_->count() - 1;
    }
    model_combo_->setItemData(i, QString::fromStdString(r.model_json), Qt::UserRole + 1);
    model_combo_->setItemData(i, QString::fromStdString(r.model_source), Qt::UserRole + 2);
    if (model_combo_->currentIndex() == i)
      on_model_changed();
    else
      model_combo_->setCurrentIndex(i);
  }
  load_base_model();
  set_knobs(spec);
  select_cluster(QString::fromStdString(r.cluster));
  if (r.devices > 0) set_devices(r.devices);
  if (r.layout)
    set_manual_layout(*r.layout);
  else
    set_automatic_layout(true);
  set_tokens(QString::fromStdString(r.tokens));
  select_law(QString::fromStdString(r.law));
}

QString MainWindow::save_study(const QString& path) {
  try {
    io::Study study;
    study.current = scenario_of("current", request());
    for (const Pinned& p : pinned_) study.pinned.push_back(scenario_of(p.name, p.request));
    io::save_study(path.toStdString(), study);
    statusBar()->showMessage("Saved study " + path, 5000);
    return {};
  } catch (const io::InputError& e) {
    const QString error = QString("error: ") + e.what();
    statusBar()->showMessage(error, 10000);
    return error;
  } catch (const std::exception& e) {
    return QString("internal error: ") + e.what();
  }
}

QString MainWindow::load_study(const QString& path) {
  try {
    const io::Study study = io::load_study(path.toStdString());
    EstimateRequest current = request_of(study.current);
    apply_request_to_form(current);
    // The knobs hold only the MoE fields: a preset with other overrides comes in as its
    // full model instead, so the form always describes exactly the saved model.
    if (io::render_model_json(load_request_model(request())) !=
        io::render_model_json(study.current.model)) {
      io::StudyScenario inline_model = study.current;
      inline_model.preset.clear();
      apply_request_to_form(request_of(inline_model));
    }
    pinned_.clear();
    pinned_serial_ = 0;
    for (const io::StudyScenario& s : study.pinned) {
      if (pinned_.size() >= kMaxPinned) break;
      EstimateRequest r = request_of(s);
      pinned_.push_back({QString::fromStdString(s.name), r, run_estimate(r)});
      ++pinned_serial_;
    }
    update_scenarios();
    recompute_now();
    statusBar()->showMessage("Loaded study " + path, 5000);
    return {};
  } catch (const io::InputError& e) {
    const QString error = QString("error: ") + e.what();
    statusBar()->showMessage(error, 10000);
    return error;
  } catch (const std::exception& e) {
    return QString("internal error: ") + e.what();
  }
}

QString MainWindow::save_model_file(const QString& path) {
  try {
    const std::string text = io::render_model_json(load_request_model(request()));
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
        f.write(text.data(), static_cast<qint64>(text.size())) != static_cast<qint64>(text.size()))
      return "error: " + path + ": cannot write the file";
    return {};
  } catch (const std::exception& e) {
    return QString("error: ") + e.what();
  }
}

// ---------------------------------------------------------------- timeline

namespace {
constexpr int kTimelineRanks = 8;  // ranks drawn (three streams each)
}

QWidget* MainWindow::build_timeline_tab() {
  auto* panel = new QWidget;
  auto* column = new QVBoxLayout(panel);
  auto* intro = new QLabel(
      "One optimizer step of <code>moesim simulate</code> (event-driven, balanced routing, "
      "seed 1) for the current configuration: each row is a device stream, each bar a traced "
      "span. The first " +
      QString::number(kTimelineRanks) + " simulated ranks are drawn.");
  intro->setWordWrap(true);
  column->addWidget(intro);
  auto* buttons = new QHBoxLayout;
  simulate_button_ = new QPushButton("Simulate step");
  simulate_button_->setObjectName("simulate_button");
  simulate_button_->setToolTip("Run `moesim simulate` with the trace on for the current input");
  connect(simulate_button_, &QPushButton::clicked, this, &MainWindow::start_simulation);
  buttons->addWidget(simulate_button_);
  auto* export_button = new QPushButton("Export timeline…");
  export_button->setObjectName("gantt_view_export");
  export_button->setToolTip("Save the Gantt chart as PNG");
  buttons->addWidget(export_button);
  buttons->addStretch(1);
  column->addLayout(buttons);
  simulation_summary_ = new QLabel("Not simulated yet.");
  simulation_summary_->setObjectName("simulation_summary");
  simulation_summary_->setWordWrap(true);
  simulation_summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  column->addWidget(simulation_summary_);
  gantt_ = new GanttView;
  column->addWidget(gantt_, 1);
  connect(export_button, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, "Export timeline", "timeline.png",
                                                   "PNG image (*.png);;SVG (*.svg);;PDF (*.pdf)");
    if (f.isEmpty()) return;
    const QString error = gantt_->export_to(f);
    statusBar()->showMessage(error.isEmpty() ? "Saved " + f : error, 5000);
  });
  return panel;
}

void MainWindow::start_simulation() {
  if (simulation_running_) return;
  simulation_running_ = true;
  simulate_button_->setEnabled(false);
  simulation_summary_->setText("Simulating…");
  const EstimateRequest r = request();
  QPointer<MainWindow> self(this);
  pool_.start([self, r] {
    SimulationOutcome outcome = simulate_request(r, kTimelineRanks);
    if (!self) return;
    QMetaObject::invokeMethod(
        self.data(),
        [self, outcome = std::move(outcome)]() mutable {
          if (self) self->on_simulation_done(std::move(outcome));
        },
        Qt::QueuedConnection);
  });
}

void MainWindow::on_simulation_done(SimulationOutcome outcome) {
  simulation_running_ = false;
  simulate_button_->setEnabled(true);
  simulation_summary_->setText(simulation_summary(outcome));
  simulation_summary_->setStyleSheet(outcome.error.empty() ? QString() : "color: #cf222e;");
  gantt_->set_data(std::move(outcome.gantt));
}

QString MainWindow::simulation_summary_text() const {
  return simulation_summary_->text();
}

// ---------------------------------------------------------------- export

QStringList MainWindow::chart_names() const {
  QStringList names;
  for (QChartView* v : chart_views_) names << v->objectName();
  return names;
}

QString MainWindow::export_chart(const QString& name, const QString& path) {
  for (QChartView* v : chart_views_)
    if (v->objectName() == name) return gui::export_chart(v, path);
  return "no chart named '" + name + "'";
}

void MainWindow::export_chart_dialog(QChartView* view) {
  const QString f = QFileDialog::getSaveFileName(this, "Export chart", view->objectName() + ".png",
                                                 "PNG image (*.png);;SVG (*.svg);;PDF (*.pdf)");
  if (f.isEmpty()) return;
  const QString error = gui::export_chart(view, f);
  statusBar()->showMessage(error.isEmpty() ? "Saved " + f : error, 5000);
}

QString MainWindow::export_table_csv(const QString& table_name, const QString& path) {
  auto* table = findChild<QTableWidget*>(table_name);
  if (!table) return "no table named '" + table_name + "'";
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text))
    return "cannot write '" + path + "'";
  QTextStream out(&f);
  const bool row_headers = table == scenario_table_;
  QStringList header;
  if (row_headers) header << "metric";
  for (int c = 0; c < table->columnCount(); ++c)
    header << csv_cell(table->horizontalHeaderItem(c) ? table->horizontalHeaderItem(c)->text()
                                                      : QString());
  out << header.join(',') << '\n';
  for (int r = 0; r < table->rowCount(); ++r) {
    QStringList cells;
    if (row_headers)
      cells << csv_cell(table->verticalHeaderItem(r) ? table->verticalHeaderItem(r)->text()
                                                     : QString());
    for (int c = 0; c < table->columnCount(); ++c)
      cells << csv_cell(table->item(r, c) ? table->item(r, c)->text() : QString());
    out << cells.join(',') << '\n';
  }
  return f.error() == QFile::NoError ? QString() : "cannot write '" + path + "'";
}

// ---------------------------------------------------------------- sweep

QWidget* MainWindow::build_sweep_tab() {
  auto* panel = new QWidget;
  auto* column = new QVBoxLayout(panel);
  auto* axes_box = new QGroupBox("Axes (over the configuration in the form)");
  auto* grid = new QGridLayout(axes_box);
  grid->addWidget(new QLabel("Field"), 0, 1);
  grid->addWidget(new QLabel("From"), 0, 2);
  grid->addWidget(new QLabel("To"), 0, 3);
  grid->addWidget(new QLabel("Progression"), 0, 4);
  grid->addWidget(new QLabel("By"), 0, 5);
  const char* defaults[2][4] = {{"experts", "8", "128", "2"}, {"devices", "32", "128", "2"}};
  for (int a = 0; a < 2; ++a) {
    AxisForm& f = axis_forms_[a];
    f.enabled = new QCheckBox(a == 0 ? "Axis 1" : "Axis 2");
    f.enabled->setChecked(a == 0);
    f.enabled->setEnabled(a == 1);
    f.key = new QComboBox;
    for (const auto& k : sweep_axis_keys()) f.key->addItem(QString::fromStdString(k));
    f.key->setCurrentText(defaults[a][0]);
    f.from = new QLineEdit(defaults[a][1]);
    f.to = new QLineEdit(defaults[a][2]);
    f.mode = new QComboBox;
    f.mode->addItems({"× factor", "+ step"});
    f.by = new QLineEdit(defaults[a][3]);
    const QString prefix = QString("sweep_axis%1_").arg(a + 1);
    f.key->setObjectName(prefix + "key");
    f.from->setObjectName(prefix + "from");
    f.to->setObjectName(prefix + "to");
    f.by->setObjectName(prefix + "by");
    grid->addWidget(f.enabled, a + 1, 0);
    grid->addWidget(f.key, a + 1, 1);
    grid->addWidget(f.from, a + 1, 2);
    grid->addWidget(f.to, a + 1, 3);
    grid->addWidget(f.mode, a + 1, 4);
    grid->addWidget(f.by, a + 1, 5);
  }
  column->addWidget(axes_box);
  auto* controls = new QHBoxLayout;
  sweep_metric_ = new QComboBox;
  sweep_metric_->setObjectName("sweep_metric");
  for (const Metric& m : kMetrics) sweep_metric_->addItem(m.caption);
  sweep_run_ = new QPushButton("Run sweep");
  sweep_run_->setObjectName("sweep_run");
  sweep_cancel_ = new QPushButton("Cancel");
  sweep_cancel_->setObjectName("sweep_cancel");
  sweep_cancel_->setEnabled(false);
  sweep_progress_ = new QProgressBar;
  sweep_progress_->setObjectName("sweep_progress");
  sweep_progress_->setRange(0, 1);
  sweep_progress_->setValue(0);
  auto* csv = new QPushButton("Export table as CSV…");
  csv->setObjectName("sweep_table_export");
  controls->addWidget(new QLabel("Plot:"));
  controls->addWidget(sweep_metric_, 1);
  controls->addWidget(sweep_run_);
  controls->addWidget(sweep_cancel_);
  controls->addWidget(sweep_progress_, 1);
  controls->addWidget(csv);
  column->addLayout(controls);
  sweep_status_ = new QLabel(
      "Each point is the configuration in the form with the axes' "
      "values set, estimated as moesim estimate would.");
  sweep_status_->setObjectName("sweep_status");
  sweep_status_->setWordWrap(true);
  column->addWidget(sweep_status_);
  sweep_chart_ = new QChart;
  sweep_chart_->setTitle("Sweep");
  sweep_chart_->legend()->setAlignment(Qt::AlignBottom);
  column->addWidget(with_export(make_chart_view(sweep_chart_, "sweep_chart", 320)), 1);
  sweep_table_ = new QTableWidget;
  sweep_table_->setObjectName("sweep_table");
  sweep_table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  sweep_table_->setMinimumHeight(180);
  column->addWidget(sweep_table_);

  connect(sweep_run_, &QPushButton::clicked, this, &MainWindow::start_sweep);
  connect(sweep_cancel_, &QPushButton::clicked, this, &MainWindow::cancel_sweep);
  connect(sweep_metric_, &QComboBox::currentIndexChanged, this,
          [this] { on_sweep_done(std::move(sweep_result_)); });
  connect(csv, &QPushButton::clicked, this, [this] {
    const QString f =
        QFileDialog::getSaveFileName(this, "Export sweep", "sweep.csv", "CSV (*.csv)");
    if (!f.isEmpty()) statusBar()->showMessage(export_table_csv("sweep_table", f), 5000);
  });
  return panel;
}

void MainWindow::set_sweep_axes(const std::vector<SweepAxisChoice>& axes) {
  for (int a = 0; a < 2; ++a) {
    AxisForm& f = axis_forms_[a];
    const bool on = a < static_cast<int>(axes.size());
    f.enabled->setChecked(on);
    if (!on) continue;
    const SweepAxisChoice& c = axes[static_cast<std::size_t>(a)];
    f.key->setCurrentText(QString::fromStdString(c.key));
    f.from->setText(QString::fromStdString(format_number(c.from)));
    f.to->setText(QString::fromStdString(format_number(c.to)));
    f.mode->setCurrentIndex(c.times > 1 ? 0 : 1);
    f.by->setText(QString::fromStdString(format_number(c.times > 1 ? c.times : c.step)));
  }
}

void MainWindow::start_sweep() {
  if (sweep_running_) return;
  std::vector<SweepAxisChoice> axes;
  std::int64_t count = 1;
  try {
    for (int a = 0; a < 2; ++a) {
      const AxisForm& f = axis_forms_[a];
      if (!f.enabled->isChecked()) continue;
      SweepAxisChoice c;
      c.key = f.key->currentText().toStdString();
      bool ok1 = false, ok2 = false, ok3 = false;
      c.from = f.from->text().toDouble(&ok1);
      c.to = f.to->text().toDouble(&ok2);
      const double by = f.by->text().toDouble(&ok3);
      if (!ok1 || !ok2 || !ok3)
        throw std::invalid_argument(
            QString("axis %1: from, to and by must be numbers").arg(a + 1).toStdString());
      if (f.mode->currentIndex() == 0) {
        if (!(by > 1)) throw std::invalid_argument("a factor must be above 1");
        c.times = by;
      } else {
        c.times = 0;
        c.step = by;
      }
      count *= static_cast<std::int64_t>(axis_values(c).size());
      axes.push_back(c);
    }
    if (count > 20000) throw std::invalid_argument("at most 20000 points per sweep");
  } catch (const std::exception& e) {
    sweep_status_->setText(QString("error: sweep: ") + e.what());
    return;
  }
  sweep_total_ = count;
  sweep_done_ = 0;
  sweep_cancel_flag_ = false;
  sweep_running_ = true;
  sweep_run_->setEnabled(false);
  sweep_cancel_->setEnabled(true);
  sweep_progress_->setRange(0, static_cast<int>(count));
  sweep_progress_->setValue(0);
  sweep_status_->setText(QString("Running %1 points…").arg(count));
  sweep_poll_.start();
  const EstimateRequest base = request();
  QPointer<MainWindow> self(this);
  pool_.start([self, base, axes, this] {
    SweepResult result;
    try {
      result = run_gui_sweep(base, axes, 2, sweep_done_, sweep_cancel_flag_);
    } catch (const std::exception&) {
      result.cancelled = true;
    }
    if (!self) return;
    QMetaObject::invokeMethod(
        self.data(),
        [self, result = std::move(result)]() mutable {
          if (!self) return;
          self->sweep_running_ = false;
          self->sweep_poll_.stop();
          self->on_sweep_done(std::move(result));
        },
        Qt::QueuedConnection);
  });
}

void MainWindow::cancel_sweep() {
  sweep_cancel_flag_ = true;
}

void MainWindow::update_sweep_views() {
  sweep_progress_->setValue(static_cast<int>(sweep_done_.load()));
}

void MainWindow::on_sweep_done(SweepResult result) {
  sweep_result_ = std::move(result);
  sweep_run_->setEnabled(!sweep_running_);
  sweep_cancel_->setEnabled(sweep_running_);
  if (sweep_running_) return;
  sweep_progress_->setValue(static_cast<int>(sweep_done_.load()));
  const SweepResult& r = sweep_result_;
  const Metric& metric = kMetrics[std::max(0, sweep_metric_->currentIndex())];

  // The table: axes, status, reason, then every metric in SI units (report paths).
  const int n_axes = static_cast<int>(r.keys.size());
  QStringList headers;
  for (const auto& k : r.keys) headers << QString::fromStdString(k);
  headers << "status"
          << "reason";
  for (const Metric& m : kMetrics) headers << m.path;
  sweep_table_->clear();
  sweep_table_->setColumnCount(static_cast<int>(headers.size()));
  sweep_table_->setHorizontalHeaderLabels(headers);
  sweep_table_->setRowCount(static_cast<int>(r.points.size()));
  int ok = 0, other = 0;
  for (int i = 0; i < static_cast<int>(r.points.size()); ++i) {
    const SweepPoint& p = r.points[static_cast<std::size_t>(i)];
    int c = 0;
    for (double v : p.axes)
      sweep_table_->setItem(i, c++, new QTableWidgetItem(QString::fromStdString(format_number(v))));
    sweep_table_->setItem(i, c++, new QTableWidgetItem(QString::fromStdString(p.status)));
    sweep_table_->setItem(i, c++, new QTableWidgetItem(QString::fromStdString(p.outcome.error)));
    for (const Metric& m : kMetrics) {
      const double v = metric_value(p.outcome, Metric{m.caption, m.path, 1});
      sweep_table_->setItem(
          i, c++,
          new QTableWidgetItem(std::isfinite(v) ? QString::fromStdString(format_number(v)) : ""));
    }
    (p.status == "ok" ? ok : other)++;
  }
  sweep_table_->resizeColumnsToContents();

  // The chart: the metric against axis 1, one line per value of axis 2.
  sweep_chart_->removeAllSeries();
  for (QAbstractAxis* a : sweep_chart_->axes()) {
    sweep_chart_->removeAxis(a);
    delete a;
  }
  if (r.points.empty()) return;
  std::map<double, QLineSeries*> lines;
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const SweepPoint& p : r.points) {
    const double y = p.status == "ok" ? metric_value(p.outcome, metric) : NAN;
    const double key = n_axes > 1 ? p.axes[1] : 0;
    QLineSeries*& line = lines[key];
    if (!line) {
      line = new QLineSeries;
      line->setPointsVisible(true);
      line->setName(n_axes > 1 ? QString::fromStdString(r.keys[1]) + " = " +
                                     QString::fromStdString(format_number(key))
                               : QString(metric.caption));
    }
    if (!std::isfinite(y)) continue;
    line->append(p.axes[0], y);
    xlo = std::min(xlo, p.axes[0]);
    xhi = std::max(xhi, p.axes[0]);
    ylo = std::min(ylo, y);
    yhi = std::max(yhi, y);
  }
  const bool geometric = axis_forms_[0].mode->currentIndex() == 0;
  QAbstractAxis* x = nullptr;
  if (geometric && xlo > 0) {
    auto* log = new QLogValueAxis;
    log->setBase(2);
    log->setLabelFormat("%g");
    log->setMinorTickCount(0);
    set_log_range(log, xlo, xhi);
    x = log;
  } else {
    auto* lin = new QValueAxis;
    fit_value_axis(lin, std::isfinite(xlo) ? xlo : 0, std::isfinite(xhi) ? xhi : 1, false);
    x = lin;
  }
  x->setTitleText(axis_title(r.keys[0]) + (geometric ? ", log scale" : ""));
  auto* y = new QValueAxis;
  y->setTitleText(metric.caption);
  fit_value_axis(y, std::isfinite(ylo) ? ylo : 0, std::isfinite(yhi) ? yhi : 1, false);
  sweep_chart_->addAxis(x, Qt::AlignBottom);
  sweep_chart_->addAxis(y, Qt::AlignLeft);
  int color = 0;
  for (auto& [key, line] : lines) {
    line->setColor(kScenarioColors[color++ % std::size(kScenarioColors)]);
    sweep_chart_->addSeries(line);
    line->attachAxis(x);
    line->attachAxis(y);
  }
  sweep_chart_->setTitle(QString(metric.caption) + " against " + QString::fromStdString(r.keys[0]));
  sweep_status_->setText(QString("%1 points: %2 fit, %3 infeasible, invalid or cancelled (not "
                                 "plotted)%4.")
                             .arg(r.points.size())
                             .arg(ok)
                             .arg(other)
                             .arg(r.cancelled ? "; cancelled" : ""));
}

}  // namespace moesim::gui
