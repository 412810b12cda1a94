#include "gui/main_window.hpp"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBarModelMapper>
#include <QHBoxLayout>
#include <QHorizontalStackedBarSeries>
#include <QLabel>
#include <QLegend>
#include <QListWidget>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QStringList>
#include <QVBoxLayout>
#include <QValueAxis>
#include <algorithm>
#include <cmath>
#include <exception>

#include "gui/memory_chart_model.hpp"
#include "io/loaders.hpp"

namespace moesim::gui {
namespace {

// Edits are batched: the analytic estimate takes microseconds, but typing "128" into a spin
// box should run one estimate, not three.
constexpr int kDebounceMs = 40;
constexpr int kMaxDevices = 1 << 24;  // the CLI's --devices limit

QSpinBox* make_spin(int min, int max, int value) {
  auto* s = new QSpinBox;
  s->setRange(min, max);
  s->setValue(value);
  s->setAccelerated(true);
  return s;
}

QLabel* caption_label(const QString& text) {
  return new QLabel(text);
}

// A value for a shell: quoted when it holds anything but safe characters (file paths).
QString shell_quote(const std::string& value) {
  const QString v = QString::fromStdString(value);
  static const QRegularExpression safe("^[A-Za-z0-9._/:=+@%-]+$");
  if (safe.match(v).hasMatch()) return v;
  return "'" + QString(v).replace("'", "'\\''") + "'";
}

// `moesim estimate` with the arguments one flag per line (layout sizes together), as a
// shell command with line continuations, so the label never wraps inside a flag.
QString cli_command_text(const std::vector<std::string>& args) {
  QStringList lines = {"moesim estimate"};
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    const QString flag = QString::fromStdString(args[i]);
    const QString pair = flag + " " + shell_quote(args[i + 1]);
    const bool same_line =
        flag == "--tp" || flag == "--pp" || flag == "--ep" || flag == "--recompute";
    if (same_line)
      lines.back() += " " + pair;
    else
      lines << "  " + pair;
  }
  return lines.join(" \\\n");
}

const char* const kFitsYes = "color: #1a7f37; font-weight: bold;";
const char* const kFitsNo = "color: #cf222e; font-weight: bold;";

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle("moesim — MoE training estimate");
  auto* splitter = new QSplitter(Qt::Horizontal);
  auto* form_scroll = new QScrollArea;
  form_scroll->setWidget(build_form());
  form_scroll->setWidgetResizable(true);
  form_scroll->setFrameShape(QFrame::NoFrame);
  form_scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  form_scroll->setMinimumWidth(form_scroll->widget()->sizeHint().width() + 16);
  splitter->addWidget(form_scroll);
  auto* results_scroll = new QScrollArea;
  results_scroll->setWidget(build_results());
  results_scroll->setWidgetResizable(true);
  results_scroll->setFrameShape(QFrame::NoFrame);
  splitter->addWidget(results_scroll);
  splitter->setStretchFactor(0, 0);
  splitter->setStretchFactor(1, 1);
  splitter->setChildrenCollapsible(false);
  setCentralWidget(splitter);
  resize(1320, 820);

  debounce_.setSingleShot(true);
  debounce_.setInterval(kDebounceMs);
  connect(&debounce_, &QTimer::timeout, this, &MainWindow::recompute_now);

  // Start on the project's worked example when the presets have it.
  select_model("mixtral-8x7b");
  select_cluster("dgx-h100");
  on_cluster_changed();
  recompute_now();
}

QWidget* MainWindow::build_form() {
  auto* panel = new QWidget;
  auto* column = new QVBoxLayout(panel);

  // Model and cluster.
  auto* inputs = new QGroupBox("Model and cluster");
  auto* inputs_form = new QFormLayout(inputs);
  model_combo_ = new QComboBox;
  model_combo_->setObjectName("model_preset");
  cluster_combo_ = new QComboBox;
  cluster_combo_->setObjectName("cluster_preset");
  try {
    for (const auto& p : io::list_presets("models"))
      model_combo_->addItem(QString::fromStdString(p.name), QString::fromStdString(p.summary));
    for (const auto& p : io::list_presets("clusters"))
      cluster_combo_->addItem(QString::fromStdString(p.name), QString::fromStdString(p.summary));
  } catch (const std::exception& e) {
    // An empty combo still works (the error label then says what is missing).
    qWarning("moesim-gui: cannot list presets: %s", e.what());
  }
  QFont small = font();
  small.setPointSizeF(small.pointSizeF() * 0.9);
  model_summary_ = new QLabel;
  model_summary_->setObjectName("model_summary");
  model_summary_->setWordWrap(true);
  model_summary_->setFont(small);
  cluster_summary_ = new QLabel;
  cluster_summary_->setObjectName("cluster_summary");
  cluster_summary_->setWordWrap(true);
  cluster_summary_->setFont(small);
  devices_ = make_spin(1, kMaxDevices, 8);
  devices_->setObjectName("devices");
  devices_->setToolTip("Number of accelerators (--devices); a torus takes the nearest slice");
  inputs_form->addRow("&Model:", model_combo_);
  inputs_form->addRow("", model_summary_);
  inputs_form->addRow("&Cluster:", cluster_combo_);
  inputs_form->addRow("", cluster_summary_);
  inputs_form->addRow("&Devices:", devices_);
  column->addWidget(inputs);

  // Layout.
  auto* layout_box = new QGroupBox("Parallel layout");
  auto* layout_form = new QFormLayout(layout_box);
  automatic_ = new QCheckBox("Automatic (moesim picks one that fits)");
  automatic_->setObjectName("automatic_layout");
  automatic_->setChecked(true);
  layout_form->addRow(automatic_);
  dp_ = make_spin(1, kMaxDevices, 1);
  dp_->setObjectName("dp");
  dp_->setToolTip("Data parallel (--dp); devices = dp × tp × pp");
  tp_ = make_spin(1, 4096, 1);
  tp_->setObjectName("tp");
  tp_->setToolTip("Tensor parallel (--tp)");
  pp_ = make_spin(1, 4096, 1);
  pp_->setObjectName("pp");
  pp_->setToolTip("Pipeline parallel (--pp)");
  ep_ = make_spin(1, kMaxDevices, 1);
  ep_->setObjectName("ep");
  ep_->setToolTip("Expert parallel (--ep), carved from dp: ep divides dp");
  auto* grid = new QGridLayout;
  grid->addWidget(new QLabel("dp"), 0, 0);
  grid->addWidget(dp_, 0, 1);
  grid->addWidget(new QLabel("tp"), 0, 2);
  grid->addWidget(tp_, 0, 3);
  grid->addWidget(new QLabel("pp"), 1, 0);
  grid->addWidget(pp_, 1, 1);
  grid->addWidget(new QLabel("ep"), 1, 2);
  grid->addWidget(ep_, 1, 3);
  grid->setColumnStretch(1, 1);
  grid->setColumnStretch(3, 1);
  layout_form->addRow(grid);
  zero_ = new QComboBox;
  zero_->setObjectName("zero");
  zero_->addItems({"0 (none)", "1 (optimizer states)", "2 (+ gradients)", "3 (+ weights)"});
  zero_->setCurrentIndex(1);  // the CLI's default for a manual layout
  recompute_ = new QComboBox;
  recompute_->setObjectName("recompute");
  for (auto r : {sim::Recompute::none, sim::Recompute::selective, sim::Recompute::full})
    recompute_->addItem(sim::to_string(r), static_cast<int>(r));
  recompute_->setCurrentIndex(1);
  micro_batch_ = make_spin(1, 1 << 20, 1);
  micro_batch_->setObjectName("micro_batch");
  micro_batch_->setSuffix(" seq");
  global_batch_ = make_spin(0, 1 << 30, 0);
  global_batch_->setObjectName("global_batch");
  global_batch_->setSuffix(" seq");
  global_batch_->setSpecialValueText("default (~4M tokens)");
  global_batch_->setToolTip("Sequences per optimizer step (--global-batch); 0 = default");
  layout_form->addRow("&ZeRO stage:", zero_);
  layout_form->addRow("&Recompute:", recompute_);
  layout_form->addRow("M&icro-batch:", micro_batch_);
  layout_form->addRow("&Global batch:", global_batch_);
  manual_controls_ = {dp_, tp_, pp_, ep_, zero_, recompute_, micro_batch_, global_batch_};
  for (QWidget* w : manual_controls_) w->setEnabled(false);
  column->addWidget(layout_box);

  // The error, next to the form, in the CLI's words.
  error_ = new QLabel;
  error_->setObjectName("error");
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_->setStyleSheet(
      "QLabel { color: #cf222e; background: #ffebe9; border: 1px solid #cf222e;"
      " border-radius: 4px; padding: 6px; }");
  error_->setVisible(false);
  column->addWidget(error_);

  auto* cli_box = new QGroupBox("Same estimate from the command line");
  auto* cli_layout = new QVBoxLayout(cli_box);
  cli_line_ = new QLabel;
  cli_line_->setObjectName("cli_command");
  cli_line_->setWordWrap(false);
  cli_line_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  cli_line_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  cli_layout->addWidget(cli_line_);
  column->addWidget(cli_box);
  column->addStretch(1);
  panel->setMinimumWidth(330);
  panel->setMaximumWidth(420);

  // Every edit recomputes (debounced).
  connect(model_combo_, &QComboBox::currentIndexChanged, this, [this] {
    model_summary_->setText(model_combo_->currentData().toString());
    schedule_recompute();
  });
  connect(cluster_combo_, &QComboBox::currentIndexChanged, this, [this] {
    cluster_summary_->setText(cluster_combo_->currentData().toString());
    on_cluster_changed();
  });
  connect(automatic_, &QCheckBox::toggled, this, &MainWindow::on_automatic_toggled);
  for (QSpinBox* s : {devices_, dp_, tp_, pp_, ep_, micro_batch_, global_batch_})
    connect(s, &QSpinBox::valueChanged, this, &MainWindow::schedule_recompute);
  for (QComboBox* c : {zero_, recompute_})
    connect(c, &QComboBox::currentIndexChanged, this, &MainWindow::schedule_recompute);
  model_summary_->setText(model_combo_->currentData().toString());
  cluster_summary_->setText(cluster_combo_->currentData().toString());
  return panel;
}

QLabel* MainWindow::add_value(QFormLayout* form, const QString& caption, const std::string& path,
                              ValueStyle style, const QString& tooltip) {
  auto* label = new QLabel("—");
  label->setObjectName(QString::fromStdString(path));
  label->setTextInteractionFlags(Qt::TextSelectableByMouse);
  const QString tip = tooltip.isEmpty() ? QString::fromStdString(path)
                                        : tooltip + " (" + QString::fromStdString(path) + ")";
  label->setToolTip(tip);
  form->addRow(caption_label(caption), label);
  values_.push_back({label, path, style, tip});
  return label;
}

QWidget* MainWindow::build_results() {
  auto* panel = new QWidget;
  auto* column = new QVBoxLayout(panel);
  auto* row = new QHBoxLayout;

  auto* model_box = new QGroupBox("Model");
  auto* model_form = new QFormLayout(model_box);
  add_value(model_form, "Parameters, total", "model.params_total", ValueStyle::count);
  add_value(model_form, "Parameters, active", "model.params_active", ValueStyle::count,
            "Parameters used per token");
  add_value(model_form, "Train FLOPs / token", "model.flops_per_token", ValueStyle::flops,
            "Forward + backward, no recompute");
  add_value(model_form, "Forward FLOPs / token", "model.flops_per_token_forward",
            ValueStyle::flops);
  add_value(model_form, "MoE layers", "model.moe_layers", ValueStyle::integer);
  add_value(model_form, "Dense layers", "model.dense_layers", ValueStyle::integer);
  add_value(model_form, "Granularity G", "model.granularity", ValueStyle::decimal,
            "d_ff / d_ff_expert (Krajewski et al. 2024)");
  row->addWidget(model_box, 1);

  auto* layout_box = new QGroupBox("Layout used");
  auto* layout_form = new QFormLayout(layout_box);
  add_value(layout_form, "Devices", "cluster.devices", ValueStyle::integer);
  add_value(layout_form, "Accelerator", "cluster.accelerator", ValueStyle::text);
  // dp × tp × pp on one line, one label per value.
  auto* dims = new QWidget;
  auto* dims_row = new QHBoxLayout(dims);
  dims_row->setContentsMargins(0, 0, 0, 0);
  dims_row->setSpacing(4);
  int dim_index = 0;
  for (const char* path : {"layout.dp", "layout.tp", "layout.pp"}) {
    if (dim_index++ > 0) dims_row->addWidget(new QLabel("×"));
    auto* l = new QLabel("—");
    l->setObjectName(path);
    l->setToolTip(path);
    l->setTextInteractionFlags(Qt::TextSelectableByMouse);
    dims_row->addWidget(l);
    values_.push_back({l, path, ValueStyle::integer, path});
  }
  dims_row->addStretch(1);
  layout_form->addRow(caption_label("dp × tp × pp"), dims);
  add_value(layout_form, "ep", "layout.ep", ValueStyle::integer, "Expert parallel");
  add_value(layout_form, "ZeRO stage", "layout.zero", ValueStyle::integer);
  add_value(layout_form, "Recompute", "layout.recompute", ValueStyle::text);
  add_value(layout_form, "Sequence parallel", "layout.sequence_parallel", ValueStyle::yes_no);
  add_value(layout_form, "Micro-batch (seq)", "layout.micro_batch", ValueStyle::integer);
  add_value(layout_form, "Global batch (seq)", "layout.global_batch", ValueStyle::integer);
  add_value(layout_form, "Chosen by moesim", "layout.chosen", ValueStyle::yes_no);
  row->addWidget(layout_box, 1);

  auto* memory_box = new QGroupBox("Memory per device");
  auto* memory_form = new QFormLayout(memory_box);
  QLabel* total =
      add_value(memory_form, "Peak (fullest device)", "memory.per_device_bytes", ValueStyle::bytes);
  total->setStyleSheet("font-weight: bold;");
  add_value(memory_form, "HBM", "memory.hbm_bytes", ValueStyle::bytes);
  add_value(memory_form, "Fits in HBM", "memory.fits", ValueStyle::yes_no);
  add_value(memory_form, "Weights", "memory.breakdown.weights", ValueStyle::bytes);
  add_value(memory_form, "Gradients", "memory.breakdown.gradients", ValueStyle::bytes);
  add_value(memory_form, "Optimizer states", "memory.breakdown.optimizer", ValueStyle::bytes);
  add_value(memory_form, "Activations", "memory.breakdown.activations", ValueStyle::bytes);
  add_value(memory_form, "MoE buffers", "memory.breakdown.moe_buffers", ValueStyle::bytes);
  row->addWidget(memory_box, 1);

  auto* step_box = new QGroupBox("Step time");
  auto* step_form = new QFormLayout(step_box);
  QLabel* step = add_value(step_form, "Step", "time.step_s", ValueStyle::seconds,
                           "One optimizer step (docs/step_model.md)");
  step->setStyleSheet("font-weight: bold;");
  add_value(step_form, "Compute", "time.breakdown.compute_s", ValueStyle::seconds);
  add_value(step_form, "Exposed comm.", "time.breakdown.exposed_communication_s",
            ValueStyle::seconds, "tp + ep + pp + dp communication no compute hides");
  add_value(step_form, "Pipeline bubble", "time.breakdown.pipeline_bubble_s", ValueStyle::seconds);
  add_value(step_form, "Optimizer", "time.breakdown.optimizer_s", ValueStyle::seconds);
  add_value(step_form, "Tokens", "throughput.tokens_per_s", ValueStyle::rate,
            "Tokens per second, whole cluster");
  add_value(step_form, "MFU", "throughput.mfu", ValueStyle::percent,
            "Model FLOPs utilization (no recompute)");
  row->addWidget(step_box, 1);
  column->addLayout(row);

  column->addWidget(build_chart(), 1);

  auto* notes_box = new QGroupBox("Notes");
  auto* notes_layout = new QVBoxLayout(notes_box);
  notes_ = new QListWidget;
  notes_->setObjectName("notes");
  notes_->setWordWrap(true);
  notes_->setSpacing(2);
  notes_->setFrameShape(QFrame::NoFrame);
  notes_->setFixedHeight(notes_->fontMetrics().lineSpacing() * 4 + 8);
  notes_->setSelectionMode(QAbstractItemView::NoSelection);
  notes_layout->addWidget(notes_);
  column->addWidget(notes_box);
  return panel;
}

QWidget* MainWindow::build_chart() {
  chart_model_ = new MemoryChartModel(this);
  auto* series = new QHorizontalStackedBarSeries;
  auto* mapper = new QHBarModelMapper(this);
  mapper->setFirstBarSetRow(0);
  mapper->setLastBarSetRow(MemoryChartModel::kRows - 1);
  mapper->setFirstColumn(0);
  mapper->setColumnCount(2);
  mapper->setSeries(series);
  mapper->setModel(chart_model_);
  // Colours: model state in blues, activations and MoE buffers warm, HBM a neutral grey.
  const QColor colors[MemoryChartModel::kRows] = {QColor("#1f4e8c"), QColor("#4f86c6"),
                                                  QColor("#9cc3e8"), QColor("#e8833a"),
                                                  QColor("#c94f7c"), QColor("#b8b8b8")};
  const auto sets = series->barSets();
  for (int i = 0; i < sets.size() && i < MemoryChartModel::kRows; ++i) {
    sets[i]->setColor(colors[i]);
    sets[i]->setBorderColor(colors[i].darker(120));
  }
  series->setBarWidth(0.6);

  auto* chart = new QChart;
  chart->addSeries(series);
  chart->setTitle("Memory of the fullest device against the accelerator's HBM");
  chart->setAnimationOptions(QChart::NoAnimation);
  chart->legend()->setAlignment(Qt::AlignBottom);
  chart->setMargins(QMargins(4, 4, 4, 4));

  auto* categories = new QBarCategoryAxis;
  categories->append({chart_model_->headerData(0, Qt::Horizontal).toString(),
                      chart_model_->headerData(1, Qt::Horizontal).toString()});
  categories->setTitleText("Device");
  chart->addAxis(categories, Qt::AlignLeft);
  series->attachAxis(categories);

  memory_axis_ = new QValueAxis;
  memory_axis_->setObjectName("memory_axis");
  memory_axis_->setTitleText("Memory per device (GB, 10⁹ bytes)");
  memory_axis_->setLabelFormat("%.0f");
  memory_axis_->setRange(0, 100);
  chart->addAxis(memory_axis_, Qt::AlignBottom);
  series->attachAxis(memory_axis_);

  auto* view = new QChartView(chart);
  view->setObjectName("memory_chart");
  view->setRenderHint(QPainter::Antialiasing);
  view->setMinimumHeight(260);
  return view;
}

bool MainWindow::select_model(const QString& name) {
  const int i = model_combo_->findText(name);
  if (i < 0) return false;
  model_combo_->setCurrentIndex(i);
  return true;
}

bool MainWindow::select_cluster(const QString& name) {
  const int i = cluster_combo_->findText(name);
  if (i < 0) return false;
  cluster_combo_->setCurrentIndex(i);
  return true;
}

void MainWindow::set_devices(int devices) {
  devices_->setValue(devices);
}

void MainWindow::set_automatic_layout(bool automatic) {
  automatic_->setChecked(automatic);
}

void MainWindow::set_manual_layout(const sim::Layout& layout) {
  automatic_->setChecked(false);
  dp_->setValue(static_cast<int>(layout.dp));
  tp_->setValue(static_cast<int>(layout.tp));
  pp_->setValue(static_cast<int>(layout.pp));
  ep_->setValue(static_cast<int>(layout.ep));
  zero_->setCurrentIndex(layout.zero);
  recompute_->setCurrentIndex(recompute_->findData(static_cast<int>(layout.recompute)));
  micro_batch_->setValue(static_cast<int>(layout.micro_batch));
  global_batch_->setValue(static_cast<int>(layout.global_batch));
}

EstimateRequest MainWindow::request() const {
  EstimateRequest r;
  r.model = model_combo_->currentText().toStdString();
  r.cluster = cluster_combo_->currentText().toStdString();
  r.devices = devices_->value();
  if (!automatic_->isChecked()) {
    // Fields the form does not offer keep sim::Layout's defaults, as in the CLI.
    sim::Layout l;
    l.dp = dp_->value();
    l.tp = tp_->value();
    l.pp = pp_->value();
    l.ep = ep_->value();
    l.zero = zero_->currentIndex();
    l.recompute = static_cast<sim::Recompute>(recompute_->currentData().toInt());
    l.micro_batch = micro_batch_->value();
    l.global_batch = global_batch_->value();
    r.layout = l;
  }
  return r;
}

QString MainWindow::error_text() const {
  return error_->text();
}

QLabel* MainWindow::value_label(const QString& path) const {
  for (const ValueView& v : values_)
    if (v.path == path.toStdString()) return v.label;
  return nullptr;
}

void MainWindow::schedule_recompute() {
  debounce_.start();
}

void MainWindow::on_cluster_changed() {
  // A new cluster starts at its own device count (what the CLI uses without --devices).
  try {
    const auto cluster = io::load_cluster(cluster_combo_->currentText().toStdString());
    if (cluster.devices > 0) devices_->setValue(std::min(cluster.devices, kMaxDevices));
  } catch (const std::exception&) {
    // The recompute shows the error in the CLI's words.
  }
  schedule_recompute();
}

void MainWindow::on_automatic_toggled(bool automatic) {
  for (QWidget* w : manual_controls_) w->setEnabled(!automatic);
  schedule_recompute();
}

void MainWindow::recompute_now() {
  debounce_.stop();
  const EstimateRequest r = request();
  outcome_ = run_estimate(r);
  cli_line_->setText(cli_command_text(cli_arguments(r)));
  show_outcome();
}

void MainWindow::show_outcome() {
  const io::Report* report = outcome_.report ? &*outcome_.report : nullptr;
  error_->setText(QString::fromStdString(outcome_.error));
  error_->setVisible(!outcome_.error.empty());

  for (const ValueView& v : values_) {
    const io::ReportValue* value = report ? find_value(*report, v.path) : nullptr;
    if (!value) {
      v.label->setText("—");
      v.label->setProperty("value", QVariant());
      v.label->setToolTip(v.tooltip);
      if (v.path == "memory.fits") v.label->setStyleSheet({});
      continue;
    }
    QString text = format_value(*value, v.style);
    if (v.path == "memory.fits") {
      const bool fits = std::get_if<bool>(value) && std::get<bool>(*value);
      text = fits ? "yes" : "no — exceeds HBM";
      v.label->setStyleSheet(fits ? kFitsYes : kFitsNo);
    }
    v.label->setText(text);
    const QVariant raw = to_variant(*value);
    v.label->setProperty("value", raw);
    // The exact value, for a reader who wants more digits than the label shows.
    v.label->setToolTip(v.tooltip + "\n= " +
                        (raw.typeId() == QMetaType::Double
                             ? QString::number(raw.toDouble(), 'g', 17)
                             : raw.toString()));
  }

  notes_->clear();
  if (report)
    for (const auto& n : report->notes) notes_->addItem(QString::fromStdString(n));

  chart_model_->set_report(report);
  const double max_gb = chart_model_->max_bar_gb();
  if (max_gb > 0) {
    // A little room right of the longest bar; then round ticks, with as many decimals as the
    // tick step needs (a 0.5 GB model gets 0.1 steps, not five labels reading "0").
    memory_axis_->setRange(0, max_gb * 1.05);
    memory_axis_->applyNiceNumbers();
    const double step =
        (memory_axis_->max() - memory_axis_->min()) / std::max(1, memory_axis_->tickCount() - 1);
    const int decimals = step > 0 ? std::clamp(-int(std::floor(std::log10(step))), 0, 6) : 0;
    memory_axis_->setLabelFormat(QString("%.%1f").arg(decimals));
  }

  if (report && automatic_->isChecked()) show_chosen_layout(*report);
}

void MainWindow::show_chosen_layout(const io::Report& report) {
  // The manual controls show the layout moesim chose, so unchecking "Automatic" starts from
  // it. Signals are blocked: this is a display of the result, not an edit.
  auto int_value = [&report](const char* path) -> int {
    const io::ReportValue* v = find_value(report, path);
    const std::int64_t* i = v ? std::get_if<std::int64_t>(v) : nullptr;
    return i ? static_cast<int>(*i) : 0;
  };
  const QSignalBlocker b1(dp_), b2(tp_), b3(pp_), b4(ep_), b5(zero_), b6(recompute_),
      b7(micro_batch_), b8(global_batch_);
  dp_->setValue(int_value("layout.dp"));
  tp_->setValue(int_value("layout.tp"));
  pp_->setValue(int_value("layout.pp"));
  ep_->setValue(int_value("layout.ep"));
  zero_->setCurrentIndex(int_value("layout.zero"));
  if (const io::ReportValue* v = find_value(report, "layout.recompute"))
    if (const std::string* s = std::get_if<std::string>(v))
      recompute_->setCurrentIndex(recompute_->findText(QString::fromStdString(*s)));
  micro_batch_->setValue(int_value("layout.micro_batch"));
  global_batch_->setValue(int_value("layout.global_batch"));
}

}  // namespace moesim::gui
