#include "gui/gantt_view.hpp"

#include <QFileInfo>
#include <QPageSize>
#include <QPdfWriter>
#include <QSvgGenerator>

#include <QFontMetrics>
#include <QImage>
#include <QPaintEvent>
#include <QPainter>
#include <algorithm>
#include <cmath>
#include <exception>
#include <map>

#include "io/errors.hpp"
#include "io/loaders.hpp"
#include "io/units.hpp"
#include "sim/event/simulator.hpp"

namespace moesim::gui {
namespace {

const QColor kKindColors[] = {QColor("#4c78a8"), QColor("#f58518"), QColor("#54a24b")};
const char* const kKindNames[] = {"Compute (layers, experts, optimizer)",
                                  "Communication (tp, ep all-to-all, pp)",
                                  "Data-parallel (gradient reduction, parameter gather)"};

GanttData::Kind kind_of(const std::string& name) {
  if (name.rfind("dp ", 0) == 0) return GanttData::data_parallel;
  if (name == "compute" || name == "experts" || name == "optimizer") return GanttData::compute;
  return GanttData::communication;
}

// A round tick step (1, 2 or 5 times a power of ten) giving about `ticks` intervals.
double tick_step(double range, int ticks) {
  if (!(range > 0)) return 1;
  const double raw = range / std::max(1, ticks);
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

}  // namespace

GanttData gantt_data(const sim::event::Timeline& timeline, int max_ranks) {
  GanttData d;
  d.truncated = timeline.truncated;
  // Device tracks in the order the simulator made them, ranks by first appearance.
  std::map<int, int> row_of_track;
  std::vector<int> ranks;
  for (std::size_t t = 0; t < timeline.tracks.size(); ++t) {
    const auto& track = timeline.tracks[t];
    if (track.process.rfind("device ", 0) != 0) continue;
    ++d.streams_total;
    if (std::find(ranks.begin(), ranks.end(), track.pid) == ranks.end()) ranks.push_back(track.pid);
    const auto rank_index = std::find(ranks.begin(), ranks.end(), track.pid) - ranks.begin();
    if (rank_index >= max_ranks) continue;
    std::string thread = track.thread;
    if (const auto paren = thread.find(" ("); paren != std::string::npos)
      thread = thread.substr(0, paren);  // "comm (tp, ep, pp)" -> "comm"
    row_of_track[static_cast<int>(t)] = static_cast<int>(d.rows.size());
    d.rows.push_back(QString::fromStdString(track.process + " · " + thread));
  }
  d.ranks_total = static_cast<int>(ranks.size());
  d.ranks_shown = std::min(d.ranks_total, max_ranks);
  for (const auto& s : timeline.spans) {
    d.end_s = std::max(d.end_s, s.start_s + s.duration_s);
    const auto it = row_of_track.find(s.track);
    if (it == row_of_track.end()) continue;
    const std::string& name = s.name >= 0 && s.name < static_cast<int>(timeline.names.size())
                                  ? timeline.names[s.name]
                                  : std::string();
    d.bars.push_back({it->second, kind_of(name), s.start_s, s.duration_s});
  }
  return d;
}

SimulationOutcome simulate_request(const EstimateRequest& request, int max_ranks) {
  SimulationOutcome out;
  try {
    const sim::EstimateInput in = estimate_input(request);
    sim::event::SimulateOptions opt;  // the CLI's defaults: balanced routing, seed 1
    opt.trace = true;
    const sim::event::Simulation s = sim::event::simulate(in, opt);
    out.gantt = gantt_data(s.timeline, max_ranks);
    out.events = s.stats.events;
    out.simulated_step_s = s.estimate.step ? s.estimate.step->step_s : s.stats.simulated_s;
    if (s.analytic_step) out.analytic_step_s = s.analytic_step->step_s;
    const sim::Layout& l = s.estimate.layout;
    out.layout = "dp " + std::to_string(l.dp) + " · tp " + std::to_string(l.tp) + " · pp " +
                 std::to_string(l.pp) + " · ep " + std::to_string(l.ep);
  } catch (const io::InputError& e) {
    out.error = std::string("error: ") + e.what();
  } catch (const std::exception& e) {
    out.error = std::string("internal error: ") + e.what();
  }
  return out;
}

QString simulation_summary(const SimulationOutcome& o) {
  if (!o.error.empty()) return QString::fromStdString(o.error);
  const GanttData& g = o.gantt;
  QString text = QString("Simulated step time %1 ms").arg(o.simulated_step_s * 1e3, 0, 'f', 2);
  if (o.analytic_step_s && *o.analytic_step_s > 0)
    text += QString(" vs analytic %1 ms (%2%3%)")
                .arg(*o.analytic_step_s * 1e3, 0, 'f', 2)
                .arg(o.simulated_step_s >= *o.analytic_step_s ? "+" : "")
                .arg((o.simulated_step_s / *o.analytic_step_s - 1) * 100, 0, 'f', 1);
  text += QString(" · %1 events · layout %2 · showing %3 of %4 device streams (%5 of %6 ranks)")
              .arg(o.events)
              .arg(QString::fromStdString(o.layout))
              .arg(g.rows.size())
              .arg(g.streams_total)
              .arg(g.ranks_shown)
              .arg(g.ranks_total);
  if (g.truncated) text += " · trace truncated";
  return text;
}

GanttView::GanttView(QWidget* parent) : QWidget(parent) {
  setObjectName("gantt_view");
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
  setAutoFillBackground(false);
}

void GanttView::set_data(GanttData data) {
  data_ = std::move(data);
  updateGeometry();
  update();
}

QSize GanttView::sizeHint() const {
  return {900, 120 + 22 * std::max(4, row_count())};
}
QSize GanttView::minimumSizeHint() const {
  return {400, 60 + 16 * std::max(4, row_count())};
}

void GanttView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  render_to(p, rect());
}

void GanttView::render_to(QPainter& p, const QRect& area) const {
  p.save();
  p.fillRect(area, Qt::white);
  p.setRenderHint(QPainter::Antialiasing, false);
  const QFontMetrics fm(p.font());
  const int line = fm.height();
  if (data_.rows.empty()) {
    p.setPen(QColor("#57606a"));
    p.drawText(area, Qt::AlignCenter, "Press “Simulate step” to play out one optimizer step.");
    p.restore();
    return;
  }
  // Legend on top.
  int x = area.left() + 8;
  const int legend_y = area.top() + 6;
  for (int k = 0; k < 3; ++k) {
    p.fillRect(QRect(x, legend_y + (line - 10) / 2, 14, 10), kKindColors[k]);
    p.setPen(Qt::black);
    p.drawText(QPoint(x + 18, legend_y + fm.ascent()), kKindNames[k]);
    x += 18 + fm.horizontalAdvance(kKindNames[k]) + 20;
  }
  int label_w = 0;
  for (const QString& r : data_.rows) label_w = std::max(label_w, fm.horizontalAdvance(r));
  const QRect plot(area.left() + label_w + 16, legend_y + line + 10,
                   area.width() - label_w - 16 - 24, area.height() - (line + 16) - 2 * line - 18);
  if (plot.width() < 10 || plot.height() < 10) {
    p.restore();
    return;
  }
  const int n = row_count();
  const double row_h = static_cast<double>(plot.height()) / n;
  const double end_ms = std::max(data_.end_s * 1e3, 1e-9);
  const double step = tick_step(end_ms, std::max(2, plot.width() / 110));
  const double axis_ms = std::ceil(end_ms / step - 1e-9) * step;
  auto to_x = [&](double ms) { return plot.left() + ms / axis_ms * plot.width(); };

  // Row backgrounds and labels.
  for (int r = 0; r < n; ++r) {
    const QRectF band(plot.left(), plot.top() + r * row_h, plot.width(), row_h);
    if (r % 2 == 0) p.fillRect(band, QColor("#f6f8fa"));
    p.setPen(Qt::black);
    p.drawText(QRectF(area.left() + 6, band.top(), label_w + 4, row_h),
               Qt::AlignVCenter | Qt::AlignLeft, data_.rows[static_cast<std::size_t>(r)]);
  }
  // Grid and tick labels.
  p.setPen(QColor("#d0d7de"));
  for (double t = 0; t <= axis_ms + step * 1e-6; t += step) {
    const double gx = to_x(t);
    p.drawLine(QPointF(gx, plot.top()), QPointF(gx, plot.bottom()));
  }
  p.setPen(Qt::black);
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  for (double t = 0; t <= axis_ms + step * 1e-6; t += step) {
    const double gx = to_x(t);
    const QString label = QString::number(t, 'f', decimals);
    const int w = fm.horizontalAdvance(label);
    p.drawLine(QPointF(gx, plot.bottom()), QPointF(gx, plot.bottom() + 4));
    p.drawText(QPointF(gx - w / 2.0, plot.bottom() + 6 + fm.ascent()), label);
  }
  const QString title = "Time (ms)";
  p.drawText(QPointF(plot.center().x() - fm.horizontalAdvance(title) / 2.0,
                     plot.bottom() + 10 + line + fm.ascent()),
             title);
  // Spans: at least a pixel wide, so short collectives stay visible.
  const double pad = std::min(3.0, row_h * 0.15);
  for (const auto& b : data_.bars) {
    const double x0 = to_x(b.start_s * 1e3);
    const double x1 = std::max(x0 + 1.0, to_x((b.start_s + b.duration_s) * 1e3));
    p.fillRect(QRectF(x0, plot.top() + b.row * row_h + pad, x1 - x0, row_h - 2 * pad),
               kKindColors[b.kind]);
  }
  p.setPen(QColor("#57606a"));
  p.drawRect(plot.adjusted(0, 0, -1, -1));
  p.restore();
}

// PNG, SVG or PDF by the file's suffix, drawn by the same render_to as the screen.
QString GanttView::export_to(const QString& path, QSize size) const {
  const QString suffix = QFileInfo(path).suffix().toLower();
  const QRect area(QPoint(0, 0), size);
  if (suffix == "png") {
    QImage image(size, QImage::Format_ARGB32);
    image.fill(Qt::white);
    {
      QPainter p(&image);
      render_to(p, area);
    }
    return image.save(path, "PNG") ? QString() : "cannot write '" + path + "'";
  }
  QPainter p;
  if (suffix == "svg") {
    QSvgGenerator svg;
    svg.setFileName(path);
    svg.setSize(size);
    svg.setViewBox(area);
    svg.setTitle("moesim simulate timeline");
    if (!p.begin(&svg)) return "cannot write '" + path + "'";
    p.fillRect(area, Qt::white);
    render_to(p, area);
    p.end();
    return {};
  }
  if (suffix == "pdf") {
    QPdfWriter pdf(path);
    pdf.setResolution(72);
    pdf.setPageSize(QPageSize(QSizeF(size), QPageSize::Point));
    pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
    pdf.setTitle("moesim simulate timeline");
    if (!p.begin(&pdf)) return "cannot write '" + path + "'";
    render_to(p, area);
    p.end();
    return {};
  }
  return "'" + path + "': the timeline exports to .png, .svg or .pdf";
}

}  // namespace moesim::gui
