#include "gui/main_window.hpp"

#include <QApplication>
#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDeadlineTimer>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBarModelMapper>
#include <QHBoxLayout>
#include <QHorizontalStackedBarSeries>
#include <QLabel>
#include <QLegend>
#include <QLineEdit>
#include <QListWidget>
#include <QPointer>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QStringList>
#include <QStyle>
#include <QTabWidget>
#include <QThread>
#include <QVBoxLayout>
#include <QValueAxis>
#include <algorithm>
#include <cmath>
#include <exception>

#include "gui/charts.hpp"
#include "gui/memory_chart_model.hpp"
#include "io/loaders.hpp"

namespace moesim::gui {
namespace {

// Edits are batched briefly: typing "128" into a spin box should start one estimate, not
// three. Jobs run off the UI thread, so the pause only needs to cover keystrokes.
constexpr int kDebounceMs = 10;
constexpr int kMaxDevices = 1 << 24;  // the CLI's --devices limit

QSpinBox* make_spin(int min, int max, int value) {
  auto* s = new QSpinBox;
  s->setRange(min, max);
  s->setValue(value);
  s->setAccelerated(true);
  return s;
}

// A value for a shell: quoted when it holds anything but safe characters (file paths).
QString shell_quote(const std::string& value) {
  const QString v = QString::fromStdString(value);
  static const QRegularExpression safe("^[A-Za-z0-9._/:=+@%,-]+$");
  if (safe.match(v).hasMatch()) return v;
  return "'" + QString(v).replace("'", "'\\''") + "'";
}

// `moesim VERB` with the arguments one flag per line (layout sizes together), as a shell
// command with line continuations, so the label never wraps inside a flag.
QString command_text(const char* verb, const std::vector<std::string>& args, bool one_line) {
  QStringList lines = {QString("moesim ") + verb};
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    const QString flag = QString::fromStdString(args[i]);
    const QString pair = flag + " " + shell_quote(args[i + 1]);
    const bool same_line =
        one_line || flag == "--tp" || flag == "--pp" || flag == "--ep" || flag == "--recompute";
    if (same_line)
      lines.back() += " " + pair;
    else
      lines << "  " + pair;
  }
  return lines.join(" \\\n");
}

const char* const kFitsYes = "color: #1a7f37; font-weight: bold;";
const char* const kFitsNo = "color: #cf222e; font-weight: bold;";
const char* const kFieldInvalid = "border: 2px solid #cf222e; border-radius: 3px;";

// The knobs of the form: model path, caption, tooltip, range.
struct KnobInfo {
  const char* path;
  const char* caption;
  const char* tooltip;
  int max;
};
const KnobInfo kKnobs[] = {
    {"moe.experts", "E&xperts:", "Routed experts per MoE layer (--experts); 1 = dense", 10'000'000},
    {"moe.d_ff_expert", "Expert &width:",
     "Hidden width of one expert, d_ff_expert (--expert-ff); granularity G = d_ff / d_ff_expert",
     100'000'000},
    {"moe.top_k", "&Top-k:", "Experts each token is routed to (--top-k)", 10'000'000},
    {"moe.every", "Expert layer e&very:",
     "An expert layer every K layers, the others dense (--moe-every)", 100'000},
    {"moe.first_dense_layers",
     "&Leading dense:", "Leading layers kept dense (--set moe.first_dense_layers=N)", 100'000},
    {"moe.shared_experts", "S&hared experts:",
     "Always-active experts of width d_ff_expert (--set moe.shared_experts=N)", 1'000'000},
};

double knob_value(const model::ModelSpec& s, const std::string& path) {
  if (path == "moe.experts") return static_cast<double>(s.moe.experts);
  if (path == "moe.d_ff_expert") return static_cast<double>(s.moe.d_ff_expert);
  if (path == "moe.top_k") return static_cast<double>(s.moe.top_k);
  if (path == "moe.every") return static_cast<double>(s.moe.every);
  if (path == "moe.first_dense_layers") return static_cast<double>(s.moe.first_dense_layers);
  if (path == "moe.shared_experts") return static_cast<double>(s.moe.shared_experts);
  if (path == "moe.capacity_factor") return s.moe.capacity_factor.value_or(0);
  return 0;
}

QLabel* make_field_error_label() {
  auto* l = new QLabel;
  l->setWordWrap(true);
  l->setStyleSheet("color: #cf222e;");
  l->setVisible(false);
  return l;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle("moesim — MoE training what-if studio");
  pool_.setMaxThreadCount(2);
  auto* splitter = new QSplitter(Qt::Horizontal);
  auto* form_scroll = new QScrollArea;
  form_scroll->setWidget(build_form());
  form_scroll->setWidgetResizable(true);
  form_scroll->setFrameShape(QFrame::NoFrame);
  form_scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  // Room for the vertical scroll bar too: the form is taller than a small screen.
  form_scroll->setMinimumWidth(form_scroll->widget()->sizeHint().width() +
                               style()->pixelMetric(QStyle::PM_ScrollBarExtent) + 16);
  splitter->addWidget(form_scroll);
  splitter->addWidget(build_results());
  splitter->setStretchFactor(0, 0);
  splitter->setStretchFactor(1, 1);
  splitter->setChildrenCollapsible(false);
  setCentralWidget(splitter);
  resize(1480, 980);

  debounce_.setSingleShot(true);
  debounce_.setInterval(kDebounceMs);
  connect(&debounce_, &QTimer::timeout, this, &MainWindow::start_recompute);
  sweep_poll_.setInterval(50);
  connect(&sweep_poll_, &QTimer::timeout, this, &MainWindow::update_sweep_views);

  // Start on the project's worked example when the presets have it.
  select_model("mixtral-8x7b");
  select_cluster("dgx-h100");
  select_law("joint");
  load_base_model();
  on_cluster_changed();
  recompute_now();
}

MainWindow::~MainWindow() {
  sweep_cancel_flag_ = true;
  pool_.waitForDone();
}

void MainWindow::add_field_row(QFormLayout* form, const QString& caption, QWidget* widget,
                               const QStringList& fields) {
  if (caption.isNull())
    form->addRow(widget);
  else
    form->addRow(caption, widget);
  QLabel* error = make_field_error_label();
  form->addRow(error);
  for (const QString& f : fields) {
    field_labels_[f.toStdString()] = error;
    field_widgets_[f.toStdString()] = widget;
  }
}

QWidget* MainWindow::build_form() {
  auto* panel = new QWidget;
  auto* column = new QVBoxLayout(panel);

  // The model: a preset, then its MoE knobs.
  auto* model_box = new QGroupBox("Model");
  auto* model_form = new QFormLayout(model_box);
  model_combo_ = new QComboBox;
  model_combo_->setObjectName("model_preset");
  cluster_combo_ = new QComboBox;
  cluster_combo_->setObjectName("cluster_preset");
  law_combo_ = new QComboBox;
  law_combo_->setObjectName("law");
  law_combo_->addItem("(none)", QString());
  try {
    for (const auto& p : io::list_presets("models"))
      model_combo_->addItem(QString::fromStdString(p.name), QString::fromStdString(p.summary));
    for (const auto& p : io::list_presets("clusters"))
      cluster_combo_->addItem(QString::fromStdString(p.name), QString::fromStdString(p.summary));
    for (const auto& p : io::list_presets("laws"))
      law_combo_->addItem(QString::fromStdString(p.name), QString::fromStdString(p.summary));
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
  add_field_row(model_form, "&Preset:", model_combo_, {"--model", "model"});
  model_form->addRow(model_summary_);
  for (const KnobInfo& k : kKnobs) {
    Knob knob;
    knob.path = k.path;
    knob.spin = make_spin(0, k.max, 1);
    knob.spin->setObjectName(k.path);
    knob.spin->setToolTip(k.tooltip);
    if (knob.path == "moe.d_ff_expert") knob.spin->setSpecialValueText("= ffn.d_ff");
    add_field_row(model_form, k.caption, knob.spin, {k.path});
    if (knob.path == "moe.d_ff_expert") {
      granularity_hint_ = new QLabel;
      granularity_hint_->setObjectName("granularity_hint");
      granularity_hint_->setFont(small);
      model_form->addRow(granularity_hint_);
    }
    knobs_.push_back(knob);
  }
  {
    Knob knob;
    knob.path = "moe.capacity_factor";
    knob.dspin = new QDoubleSpinBox;
    knob.dspin->setObjectName("moe.capacity_factor");
    knob.dspin->setRange(0, 1000);
    knob.dspin->setDecimals(2);
    knob.dspin->setSingleStep(0.25);
    knob.dspin->setSpecialValueText("dropless");
    knob.dspin->setToolTip(
        "Expert capacity as a multiple of the even share (--set moe.capacity_factor=C); "
        "0 = dropless");
    add_field_row(model_form, "&Capacity factor:", knob.dspin, {"moe.capacity_factor"});
    knobs_.push_back(knob);
  }
  column->addWidget(model_box);

  // Cluster and training.
  auto* run_box = new QGroupBox("Cluster and training");
  auto* run_form = new QFormLayout(run_box);
  cluster_summary_ = new QLabel;
  cluster_summary_->setObjectName("cluster_summary");
  cluster_summary_->setWordWrap(true);
  cluster_summary_->setFont(small);
  devices_ = make_spin(1, kMaxDevices, 8);
  devices_->setObjectName("devices");
  devices_->setToolTip("Number of accelerators (--devices); a torus takes the nearest slice");
  tokens_ = new QLineEdit("1T");
  tokens_->setObjectName("tokens");
  tokens_->setToolTip("Training tokens (--tokens): 1e12, 300B, 14.8T; empty = no totals");
  law_combo_->setToolTip("Loss scaling law (moesim loss --law); docs/laws.md");
  add_field_row(run_form, "Cl&uster:", cluster_combo_, {"--cluster"});
  run_form->addRow(cluster_summary_);
  add_field_row(run_form, "&Devices:", devices_, {"--devices"});
  add_field_row(run_form, "Trai&ning tokens:", tokens_, {"--tokens"});
  add_field_row(run_form, "Loss l&aw:", law_combo_, {"--law"});
  column->addWidget(run_box);

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
  auto* dims = new QWidget;
  auto* grid = new QGridLayout(dims);
  grid->setContentsMargins(0, 0, 0, 0);
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
  add_field_row(layout_form, QString(), dims, {"--dp", "--tp", "--pp", "--ep"});
  field_widgets_["--dp"] = dp_;
  field_widgets_["--tp"] = tp_;
  field_widgets_["--pp"] = pp_;
  field_widgets_["--ep"] = ep_;
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
  add_field_row(layout_form, "&ZeRO stage:", zero_, {"--zero"});
  add_field_row(layout_form, "&Recompute:", recompute_, {"--recompute"});
  add_field_row(layout_form, "M&icro-batch:", micro_batch_, {"--micro-batch"});
  add_field_row(layout_form, "&Global batch:", global_batch_, {"--global-batch"});
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
  auto* copy = new QPushButton("Copy as command");
  copy->setObjectName("copy_command");
  copy->setToolTip("Copy the moesim estimate command line to the clipboard");
  connect(copy, &QPushButton::clicked, this, &MainWindow::copy_command);
  cli_layout->addWidget(copy, 0, Qt::AlignLeft);
  column->addWidget(cli_box);

  auto* study_row = new QHBoxLayout;
  auto* open_study = new QPushButton("Open study…");
  auto* save_study_button = new QPushButton("Save study…");
  auto* save_model = new QPushButton("Save model file…");
  open_study->setObjectName("open_study");
  save_study_button->setObjectName("save_study");
  save_model->setObjectName("save_model");
  study_row->addWidget(open_study);
  study_row->addWidget(save_study_button);
  study_row->addWidget(save_model);
  column->addLayout(study_row);
  connect(open_study, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, "Open study", {}, "Study (*.json)");
    if (!f.isEmpty()) load_study(f);
  });
  connect(save_study_button, &QPushButton::clicked, this, [this] {
    const QString f =
        QFileDialog::getSaveFileName(this, "Save study", "study.json", "Study (*.json)");
    if (!f.isEmpty()) save_study(f);
  });
  connect(save_model, &QPushButton::clicked, this, [this] {
    const QString f =
        QFileDialog::getSaveFileName(this, "Save model file", "model.json", "Model file (*.json)");
    if (!f.isEmpty()) save_model_file(f);
  });
  column->addStretch(1);
  panel->setMinimumWidth(350);
  panel->setMaximumWidth(440);

  // Every edit recomputes (debounced, off the UI thread).
  connect(model_combo_, &QComboBox::currentIndexChanged, this, &MainWindow::on_model_changed);
  connect(cluster_combo_, &QComboBox::currentIndexChanged, this, [this] {
    cluster_summary_->setText(cluster_combo_->currentData().toString());
    on_cluster_changed();
  });
  connect(law_combo_, &QComboBox::currentIndexChanged, this, &MainWindow::schedule_recompute);
  connect(tokens_, &QLineEdit::textChanged, this, &MainWindow::schedule_recompute);
  connect(automatic_, &QCheckBox::toggled, this, &MainWindow::on_automatic_toggled);
  for (QSpinBox* s : {devices_, dp_, tp_, pp_, ep_, micro_batch_, global_batch_})
    connect(s, &QSpinBox::valueChanged, this, &MainWindow::schedule_recompute);
  for (const Knob& k : knobs_) {
    if (k.spin) connect(k.spin, &QSpinBox::valueChanged, this, &MainWindow::schedule_recompute);
    if (k.dspin)
      connect(k.dspin, &QDoubleSpinBox::valueChanged, this, &MainWindow::schedule_recompute);
  }
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
  form->addRow(new QLabel(caption), label);
  values_.push_back({label, path, style, tip});
  return label;
}

QWidget* MainWindow::build_results() {
  tabs_ = new QTabWidget;
  tabs_->setObjectName("result_tabs");
  auto scrolled = [](QWidget* w) {
    auto* s = new QScrollArea;
    s->setWidget(w);
    s->setWidgetResizable(true);
    s->setFrameShape(QFrame::NoFrame);
    return s;
  };
  tabs_->addTab(scrolled(build_estimate_tab()), "Estimate");
  tabs_->addTab(scrolled(build_loss_tab()), "Loss and cost");
  tabs_->addTab(scrolled(build_scenarios_tab()), "Scenarios");
  tabs_->addTab(scrolled(build_sweep_tab()), "Sweep");
  tabs_->addTab(scrolled(build_timeline_tab()), "Timeline");
  return tabs_;
}

QWidget* MainWindow::with_export(QChartView* view) {
  chart_views_.push_back(view);
  auto* box = new QWidget;
  auto* column = new QVBoxLayout(box);
  column->setContentsMargins(0, 0, 0, 0);
  column->addWidget(view, 1);
  auto* button = new QPushButton("Export chart…");
  button->setObjectName(view->objectName() + "_export");
  button->setToolTip("Save this chart as PNG, SVG or PDF");
  connect(button, &QPushButton::clicked, this, [this, view] { export_chart_dialog(view); });
  column->addWidget(button, 0, Qt::AlignRight);
  return box;
}

QWidget* MainWindow::build_estimate_tab() {
  auto* panel = new QWidget;
  auto* column = new QVBoxLayout(panel);
  auto* grid = new QGridLayout;

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
  grid->addWidget(model_box, 0, 0);

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
  layout_form->addRow(new QLabel("dp × tp × pp"), dims);
  add_value(layout_form, "ep", "layout.ep", ValueStyle::integer, "Expert parallel");
  add_value(layout_form, "ZeRO stage", "layout.zero", ValueStyle::integer);
  add_value(layout_form, "Recompute", "layout.recompute", ValueStyle::text);
  add_value(layout_form, "Sequence parallel", "layout.sequence_parallel", ValueStyle::yes_no);
  add_value(layout_form, "Micro-batch (seq)", "layout.micro_batch", ValueStyle::integer);
  add_value(layout_form, "Global batch (seq)", "layout.global_batch", ValueStyle::integer);
  add_value(layout_form, "Chosen by moesim", "layout.chosen", ValueStyle::yes_no);
  grid->addWidget(layout_box, 0, 1);

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
  grid->addWidget(memory_box, 0, 2);

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
  grid->addWidget(step_box, 1, 0);

  auto* train_box = new QGroupBox("Training");
  auto* train_form = new QFormLayout(train_box);
  add_value(train_form, "Tokens", "training.tokens", ValueStyle::count, "Training tokens");
  QLabel* wall = add_value(train_form, "Time to train", "training.wall_s", ValueStyle::duration,
                           "Wall-clock time for the training tokens");
  wall->setStyleSheet("font-weight: bold;");
  add_value(train_form, "Device-hours", "training.device_hours", ValueStyle::hours);
  add_value(train_form, "Cost", "training.cost_usd", ValueStyle::usd,
            "Device-hours × price per device-hour");
  add_value(train_form, "Energy", "training.energy_kwh", ValueStyle::energy,
            "Average device power × time × PUE");
  add_value(train_form, "Price", "training.price_per_device_hour_usd", ValueStyle::decimal,
            "USD per device-hour");
  grid->addWidget(train_box, 1, 1);

  auto* loss_box = new QGroupBox("Predicted loss");
  auto* loss_form = new QFormLayout(loss_box);
  loss_value_ = new QLabel("—");
  loss_value_->setObjectName("loss_value");
  loss_value_->setStyleSheet("font-weight: bold;");
  loss_value_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  loss_value_->setToolTip("The law's final loss (moesim loss: loss.value), nats per token");
  loss_form->addRow(new QLabel("Final loss"), loss_value_);
  loss_note_ = new QLabel;
  loss_note_->setObjectName("loss_note");
  loss_note_->setWordWrap(true);
  QFont small = font();
  small.setPointSizeF(small.pointSizeF() * 0.9);
  loss_note_->setFont(small);
  loss_form->addRow(loss_note_);
  grid->addWidget(loss_box, 1, 2);
  for (int c = 0; c < 3; ++c) grid->setColumnStretch(c, 1);
  column->addLayout(grid);

  // The step-time chart: one stacked bar of the step's parts, communication by kind.
  step_series_ = new QHorizontalStackedBarSeries;
  const std::pair<const char*, const char*> parts[] = {
      {"Compute", "#1f4e8c"},  {"TP comm.", "#e8833a"}, {"EP comm.", "#c94f7c"},
      {"PP comm.", "#8e5ea2"}, {"DP comm.", "#d9a441"}, {"Bubble", "#9cc3e8"},
      {"Optimizer", "#6b8e23"}};
  for (auto [name, color] : parts) {
    auto* set = new QBarSet(name);
    set->append(0);
    set->setColor(QColor(color));
    set->setBorderColor(QColor(color).darker(120));
    step_series_->append(set);
    step_sets_.push_back(set);
  }
  step_series_->setBarWidth(0.6);
  auto* step_chart = new QChart;
  step_chart->addSeries(step_series_);
  step_chart->setTitle("Step time breakdown (communication: the part no compute hides)");
  step_chart->legend()->setAlignment(Qt::AlignBottom);
  auto* step_cat = new QBarCategoryAxis;
  step_cat->append("Step");
  step_cat->setTitleText("Optimizer step");
  step_chart->addAxis(step_cat, Qt::AlignLeft);
  step_series_->attachAxis(step_cat);
  step_axis_ = new QValueAxis;
  step_axis_->setTitleText("Time per step (s)");
  step_chart->addAxis(step_axis_, Qt::AlignBottom);
  step_series_->attachAxis(step_axis_);

  // The memory chart (its model maps the report's breakdown).
  chart_model_ = new MemoryChartModel(this);
  auto* series = new QHorizontalStackedBarSeries;
  auto* mapper = new QHBarModelMapper(this);
  mapper->setFirstBarSetRow(0);
  mapper->setLastBarSetRow(MemoryChartModel::kRows - 1);
  mapper->setFirstColumn(0);
  mapper->setColumnCount(2);
  mapper->setSeries(series);
  mapper->setModel(chart_model_);
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
  auto* charts = new QVBoxLayout;
  charts->addWidget(with_export(make_chart_view(step_chart, "step_chart", 230)), 1);
  charts->addWidget(with_export(make_chart_view(chart, "memory_chart", 260)), 1);
  column->addLayout(charts, 1);

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

bool MainWindow::select_law(const QString& name) {
  const int i = name.isEmpty() ? 0 : law_combo_->findText(name);
  if (i < 0) return false;
  law_combo_->setCurrentIndex(i);
  return true;
}

void MainWindow::set_devices(int devices) {
  devices_->setValue(devices);
}

bool MainWindow::set_model_field(const QString& path, double value) {
  for (const Knob& k : knobs_) {
    if (k.path != path.toStdString()) continue;
    if (k.spin) k.spin->setValue(static_cast<int>(value));
    if (k.dspin) k.dspin->setValue(value);
    return true;
  }
  return false;
}

void MainWindow::set_tokens(const QString& tokens) {
  tokens_->setText(tokens);
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
  const QString json = model_combo_->currentData(Qt::UserRole + 1).toString();
  if (json.isEmpty()) {
    r.model = model_combo_->currentText().toStdString();
  } else {
    r.model_json = json.toStdString();
    r.model_source = model_combo_->currentData(Qt::UserRole + 2).toString().toStdString();
  }
  // A knob becomes an override when it differs from the model it starts from.
  for (const Knob& k : knobs_) {
    const double base = base_spec_valid_ ? knob_value(base_spec_, k.path) : -1;
    if (k.spin && k.spin->value() != base)
      r.sets.push_back(k.path + "=" + std::to_string(k.spin->value()));
    if (k.dspin && k.dspin->value() != base)
      r.sets.push_back(
          k.path + "=" +
          (k.dspin->value() == 0 ? std::string("null") : format_number(k.dspin->value())));
  }
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
  r.tokens = tokens_->text().trimmed().toStdString();
  r.law = law_combo_->currentIndex() > 0 ? law_combo_->currentText().toStdString() : "";
  return r;
}

QString MainWindow::error_text() const {
  return error_->text();
}

QString MainWindow::field_error(const QString& field) const {
  const auto it = field_labels_.find(field.toStdString());
  if (it == field_labels_.end() || it->second->isHidden()) return {};
  return it->second->text();
}

QLabel* MainWindow::value_label(const QString& path) const {
  for (const ValueView& v : values_)
    if (v.path == path.toStdString()) return v.label;
  return nullptr;
}

QString MainWindow::cli_command() const {
  return command_text("estimate", cli_arguments(request()), true);
}

void MainWindow::copy_command() {
  QString text = cli_command() + " --format json";
  const auto loss_args = loss_cli_arguments(request());
  if (!loss_args.empty()) text += "\n" + command_text("loss", loss_args, true) + " --format json";
  QApplication::clipboard()->setText(text);
}

void MainWindow::schedule_recompute() {
  debounce_.start();
}

void MainWindow::load_base_model() {
  // The knobs start from the chosen model's own values.
  base_spec_valid_ = false;
  try {
    EstimateRequest r;
    const QString json = model_combo_->currentData(Qt::UserRole + 1).toString();
    r.model = model_combo_->currentText().toStdString();
    r.model_json = json.toStdString();
    r.model_source = model_combo_->currentData(Qt::UserRole + 2).toString().toStdString();
    base_spec_ = load_request_model(r);
    base_spec_valid_ = true;
    set_knobs(base_spec_);
  } catch (const std::exception&) {
    // The recompute shows the error in the CLI's words.
  }
}

void MainWindow::set_knobs(const model::ModelSpec& spec) {
  for (const Knob& k : knobs_) {
    if (k.spin) {
      const QSignalBlocker block(k.spin);
      k.spin->setValue(static_cast<int>(knob_value(spec, k.path)));
    }
    if (k.dspin) {
      const QSignalBlocker block(k.dspin);
      k.dspin->setValue(knob_value(spec, k.path));
    }
  }
}

void MainWindow::on_model_changed() {
  model_summary_->setText(model_combo_->currentData().toString());
  load_base_model();
  schedule_recompute();
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

void MainWindow::start_recompute() {
  debounce_.stop();
  ++generation_;
  if (estimate_running_) {
    // Latest request wins: it runs when the current job ends; older ones never run.
    estimate_pending_ = true;
    return;
  }
  estimate_running_ = true;
  const quint64 generation = generation_;
  const EstimateRequest r = request();
  shown_request_ = r;
  cli_line_->setText(command_text("estimate", cli_arguments(r), false));
  QPointer<MainWindow> self(this);
  pool_.start([self, generation, r] {
    EstimateOutcome outcome = run_estimate(r);
    if (!self) return;
    QMetaObject::invokeMethod(
        self.data(),
        [self, generation, outcome = std::move(outcome)]() mutable {
          if (self) self->on_estimate_done(generation, std::move(outcome));
        },
        Qt::QueuedConnection);
  });
}

void MainWindow::on_estimate_done(quint64 generation, EstimateOutcome outcome) {
  estimate_running_ = false;
  if (generation == generation_) {
    outcome_ = std::move(outcome);
    show_outcome();
    start_analysis();
  }
  if (estimate_pending_ || generation != generation_) {
    estimate_pending_ = false;
    --generation_;  // start_recompute counts it again
    start_recompute();
  }
}

void MainWindow::recompute_now() {
  start_recompute();
  QDeadlineTimer deadline(60000);
  while ((estimate_running_ || estimate_pending_ || debounce_.isActive()) && !deadline.hasExpired())
    QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
}

bool MainWindow::busy() const {
  return debounce_.isActive() || estimate_running_ || estimate_pending_ || analysis_running_ ||
         analysis_pending_ || sweep_running_ || simulation_running_;
}

bool MainWindow::wait_until_idle(int timeout_ms) {
  QDeadlineTimer deadline(timeout_ms);
  while (busy()) {
    if (deadline.hasExpired()) return false;
    QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    if (busy()) QThread::msleep(1);
  }
  QCoreApplication::processEvents();
  return true;
}

void MainWindow::show_field_errors() {
  for (auto& [field, label] : field_labels_) label->setVisible(false);
  for (auto& [field, widget] : field_widgets_) widget->setStyleSheet({});
  auto mark = [this](const std::string& field, const std::string& message) {
    std::string f = field;
    if (!field_labels_.count(f)) f = field.rfind("--", 0) == 0 ? field : "model";
    const auto label = field_labels_.find(f);
    if (label == field_labels_.end()) return;
    label->second->setText(QString::fromStdString(message));
    label->second->setVisible(true);
    if (const auto w = field_widgets_.find(f); w != field_widgets_.end())
      w->second->setStyleSheet(kFieldInvalid);
  };
  if (!outcome_.error.empty() && !outcome_.error_field.empty())
    mark(outcome_.error_field, outcome_.error);
  if (outcome_.report && !outcome_.loss_error.empty()) {
    // A loss-law problem blocks only the loss: mark the field it names.
    const bool tokens = outcome_.loss_error.find("--tokens") != std::string::npos;
    mark(tokens ? "--tokens" : "--law", outcome_.loss_error);
  }
}

void MainWindow::show_outcome() {
  const io::Report* report = outcome_.report ? &*outcome_.report : nullptr;
  error_->setText(QString::fromStdString(outcome_.error));
  error_->setVisible(!outcome_.error.empty());
  show_field_errors();

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
    if (v.path == "training.price_per_device_hour_usd") text = "$" + text + " /device-h";
    v.label->setText(text);
    const QVariant raw = to_variant(*value);
    v.label->setProperty("value", raw);
    // The exact value, for a reader who wants more digits than the label shows.
    v.label->setToolTip(v.tooltip + "\n= " +
                        (raw.typeId() == QMetaType::Double
                             ? QString::number(raw.toDouble(), 'g', 17)
                             : raw.toString()));
  }

  // The loss, as `moesim loss` reports it.
  const io::ReportValue* loss =
      report && outcome_.loss ? find_value(*outcome_.loss, "loss.value") : nullptr;
  if (loss) {
    loss_value_->setText(format_value(*loss, ValueStyle::loss));
    loss_value_->setProperty("value", to_variant(*loss));
    QStringList lines;
    lines << "Law: " + QString::fromStdString(shown_request_.law);
    for (const auto& w : outcome_.loss_warnings) lines << QString::fromStdString(w);
    loss_note_->setText(lines.join("\n"));
  } else {
    loss_value_->setText("—");
    loss_value_->setProperty("value", QVariant());
    loss_note_->setText(shown_request_.law.empty() ? "No loss law chosen."
                                                   : QString::fromStdString(outcome_.loss_error));
  }
  if (const io::ReportValue* g = report ? find_value(*report, "model.granularity") : nullptr)
    granularity_hint_->setText("Granularity G = d_ff / d_ff_expert = " +
                               format_value(*g, ValueStyle::decimal));
  else
    granularity_hint_->setText({});

  notes_->clear();
  if (report)
    for (const auto& n : report->notes) notes_->addItem(QString::fromStdString(n));

  chart_model_->set_report(report);
  const double max_gb = chart_model_->max_bar_gb();
  if (max_gb > 0) fit_value_axis(memory_axis_, 0, max_gb);
  update_step_chart(report);

  if (report && automatic_->isChecked()) show_chosen_layout(*report);
}

void MainWindow::update_step_chart(const io::Report* report) {
  const char* paths[] = {"time.breakdown.compute_s",        "time.communication.tp_exposed_s",
                         "time.communication.ep_exposed_s", "time.communication.pp_exposed_s",
                         "time.communication.dp_exposed_s", "time.breakdown.pipeline_bubble_s",
                         "time.breakdown.optimizer_s"};
  double total = 0;
  for (std::size_t i = 0; i < step_sets_.size(); ++i) {
    double v = 0;
    if (report)
      if (const io::ReportValue* x = find_value(*report, paths[i]))
        if (const double* d = std::get_if<double>(x)) v = *d;
    step_sets_[i]->replace(0, v);
    total += v;
  }
  fit_value_axis(step_axis_, 0, total);
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
