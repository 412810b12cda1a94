// moesim plot, the Qt half: a Chart (io/plot/plot.hpp) drawn with Qt Charts on an offscreen
// QChartView and written as PNG (QImage), SVG (QSvgGenerator) or PDF (QPdfWriter).
#include <unistd.h>

#include <QApplication>
#include <QFrame>
#include <QImage>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgGenerator>
#include <QtCharts/QBarCategoryAxis>
#include <QtCharts/QBarSet>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QLegend>
#include <QtCharts/QLineSeries>
#include <QtCharts/QLogValueAxis>
#include <QtCharts/QScatterSeries>
#include <QtCharts/QStackedBarSeries>
#include <QtCharts/QValueAxis>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "io/errors.hpp"
#include "io/plot/plot.hpp"

namespace moesim::io::plot {
namespace {

namespace fs = std::filesystem;

QString q(const std::string& s) {
  return QString::fromStdString(s);
}

// Qt's warnings (platform plugin notes, font fallbacks) would break the one-line stderr
// contract of CLI.md; they are dropped while a chart is rendered.
void drop_qt_message(QtMsgType, const QMessageLogContext&, const QString&) {}

struct QtSession {
  std::unique_ptr<QApplication> app;
  QtMessageHandler previous = nullptr;
  QtSession() {
    previous = qInstallMessageHandler(drop_qt_message);
    if (QCoreApplication::instance()) {
      if (!qobject_cast<QApplication*>(QCoreApplication::instance()))
        throw std::runtime_error("plot: a QCoreApplication that is not a QApplication exists");
      return;
    }
    // No display needed: the offscreen platform unless the user chose one.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    static int argc = 1;
    static char name[] = "moesim";
    static char* argv[] = {name, nullptr};
    app = std::make_unique<QApplication>(argc, argv);
  }
  ~QtSession() { qInstallMessageHandler(previous); }
  QtSession(const QtSession&) = delete;
  QtSession& operator=(const QtSession&) = delete;
};

bool is_power_of_two(double v) {
  if (!(v > 0) || v != std::floor(v) || v > 9.007e15) return false;
  const auto i = static_cast<std::uint64_t>(v);
  return (i & (i - 1)) == 0;
}

struct Range {
  double lo = 0, hi = 0;
  bool all_powers_of_two = true;
  void add(double v, bool first) {
    lo = first ? v : std::min(lo, v);
    hi = first ? v : std::max(hi, v);
    all_powers_of_two = all_powers_of_two && is_power_of_two(v);
  }
};

// Tick labels: plain numbers ("%g") for magnitudes between 1e-3 and 1e5, else scientific
// with up to three digits, so one axis never mixes "100000" with "1e+06".
QString label_format(double lo, double hi) {
  const double big = std::max(std::fabs(lo), std::fabs(hi));
  const double small = std::min(lo == 0 ? big : std::fabs(lo), hi == 0 ? big : std::fabs(hi));
  return big < 1e5 && small >= 1e-3 ? QStringLiteral("%g") : QStringLiteral("%.3g");
}

// A log axis over whole powers of its base, so every tick is a round number: base 2 when
// every value is a power of two spanning at most 16 octaves (expert counts, device counts),
// else base 10, or 100 when more than 12 decades would crowd the labels.
QAbstractAxis* log_axis(const Range& r) {
  auto* axis = new QLogValueAxis;
  double base = 10;
  if (r.all_powers_of_two && r.hi / r.lo <= 65536.0) base = 2;
  if (base == 10 && std::log10(r.hi / r.lo) > 12) base = 100;
  const double lb = std::log(base);
  double lo = std::pow(base, std::floor(std::log(r.lo) / lb + 1e-9));
  double hi = std::pow(base, std::ceil(std::log(r.hi) / lb - 1e-9));
  if (!(hi > lo)) hi = lo * base;
  axis->setBase(base);
  axis->setRange(lo, hi);
  axis->setLabelFormat(label_format(lo, hi));
  axis->setMinorTickCount(base == 10 ? 8 : 0);  // 2..9 times each decade
  return axis;
}

// A linear axis with 5% room around the data, rounded to nice tick values.
QAbstractAxis* value_axis(const Range& r, bool from_zero = false) {
  auto* axis = new QValueAxis;
  double lo = r.lo, hi = r.hi;
  if (from_zero) {
    lo = std::min(lo, 0.0);
    hi = std::max(hi, 0.0);
  }
  double pad = (hi - lo) * 0.05;
  if (!(pad > 0)) pad = lo != 0 ? std::fabs(lo) * 0.1 : 1.0;
  // The room stops at zero: data that is all positive gets no negative ticks.
  double lower = lo - pad, upper = hi + pad;
  if (lo >= 0 && lower < 0) lower = 0;
  if (hi <= 0 && upper > 0) upper = 0;
  axis->setRange(lower, upper);
  axis->applyNiceNumbers();
  axis->setLabelFormat(label_format(axis->min(), axis->max()));
  return axis;
}

// Series colours: Okabe and Ito's colour-blind-safe palette (Okabe & Ito 2008, "Color
// Universal Design"), then evenly spaced hues for series beyond it.
QColor series_color(std::size_t i) {
  static const QColor palette[] = {
      QColor(0, 114, 178),   QColor(230, 159, 0),  QColor(0, 158, 115),  QColor(213, 94, 0),
      QColor(204, 121, 167), QColor(86, 180, 233), QColor(240, 228, 66), QColor(90, 90, 90)};
  constexpr std::size_t n = sizeof palette / sizeof palette[0];
  if (i < n) return palette[i];
  return QColor::fromHsvF(std::fmod(0.618034 * static_cast<double>(i - n), 1.0), 0.75, 0.8);
}

constexpr double kMarkerPx = 9.0;
// Up to this many points a scatter is drawn as vector circles (QScatterSeries), above it with
// marker images (QXYSeries light markers), which Qt draws in linear time.
constexpr std::size_t kVectorMarkersMax = 1000;

// A filled circle with a darker rim, kMarkerPx across: the scatter and pareto marker.
QImage marker_image(const QColor& color) {
  const int n = static_cast<int>(kMarkerPx);
  QImage image(n, n, QImage::Format_ARGB32_Premultiplied);
  image.fill(Qt::transparent);
  QPainter p(&image);
  p.setRenderHint(QPainter::Antialiasing);
  p.setPen(QPen(color.darker(130), 1.0));
  p.setBrush(color);
  p.drawEllipse(QRectF(0.5, 0.5, n - 1.0, n - 1.0));
  return image;
}

QList<QPointF> points_of(const Series& s) {
  QList<QPointF> points;
  points.reserve(static_cast<qsizetype>(s.x.size()));
  for (std::size_t i = 0; i < s.x.size(); ++i) points.append(QPointF(s.x[i], s.y[i]));
  return points;
}

// Builds the chart (owned by the caller's QChartView).
QChart* build(const Chart& c) {
  auto* chart = new QChart;
  chart->setAnimationOptions(QChart::NoAnimation);
  chart->setTheme(QChart::ChartThemeLight);
  chart->setTitle(q(c.title));
  QFont title_font = chart->titleFont();
  title_font.setPointSizeF(13);
  title_font.setBold(true);
  chart->setTitleFont(title_font);
  chart->legend()->setVisible(true);
  chart->legend()->setAlignment(Qt::AlignBottom);
  chart->setBackgroundRoundness(0);

  auto attach = [&](QAbstractAxis* x, QAbstractAxis* y) {
    x->setTitleText(q(c.x_title));
    y->setTitleText(q(c.y_title));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    for (QAbstractSeries* s : chart->series()) {
      s->attachAxis(x);
      s->attachAxis(y);
    }
  };

  if (c.kind == Kind::stacked_bar) {
    auto* bars = new QStackedBarSeries;
    Range y;
    std::vector<double> up(c.categories.size(), 0.0), down(c.categories.size(), 0.0);
    for (std::size_t i = 0; i < c.series.size(); ++i) {
      const Series& s = c.series[i];
      auto* set = new QBarSet(q(s.name));
      for (std::size_t j = 0; j < s.y.size(); ++j) {
        set->append(s.y[j]);
        (s.y[j] >= 0 ? up[j] : down[j]) += s.y[j];
      }
      bars->append(set);
    }
    bars->setBarWidth(0.7);
    bool first = true;
    for (std::size_t j = 0; j < up.size(); ++j) {
      y.add(up[j], first);
      y.add(down[j], false);
      first = false;
    }
    chart->addSeries(bars);
    const QList<QBarSet*> sets = bars->barSets();  // coloured after the theme has been applied
    for (qsizetype i = 0; i < sets.size(); ++i) {
      sets[i]->setColor(series_color(static_cast<std::size_t>(i)));
      sets[i]->setBorderColor(series_color(static_cast<std::size_t>(i)));
    }
    auto* x = new QBarCategoryAxis;
    QStringList labels;
    for (const auto& cat : c.categories) labels << q(cat);
    x->append(labels);
    if (c.categories.size() > 12) x->setLabelsAngle(-90);
    attach(x, value_axis(y, true));
    return chart;
  }

  Range x, y;
  bool first = true;
  for (const auto& s : c.series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      x.add(s.x[i], first);
      y.add(s.y[i], first);
      first = false;
    }
  std::size_t points = 0;
  for (const auto& s : c.series) points += s.x.size();
  for (std::size_t i = 0; i < c.series.size(); ++i) {
    const Series& s = c.series[i];
    if (c.kind == Kind::line) {
      auto* line = new QLineSeries;
      chart->addSeries(line);  // before styling: adding applies the theme's pen
      line->setName(q(s.name));
      line->append(points_of(s));
      line->setPointsVisible(true);
      QPen pen(series_color(i));
      pen.setWidthF(2.0);
      line->setPen(pen);
    } else if (points <= kVectorMarkersMax) {
      // Points as vector circles (crisp in SVG and PDF).
      auto* scatter = new QScatterSeries;
      chart->addSeries(scatter);
      scatter->setName(q(s.name));
      scatter->setMarkerSize(kMarkerPx);
      scatter->setColor(series_color(i));
      scatter->setBorderColor(series_color(i).darker(130));
      scatter->append(points_of(s));
    } else {
      // Many points: a line series with no pen that paints a marker image on each point
      // (Qt's "light markers"). A QScatterSeries makes one graphics item per point and, in
      // Qt 6.4, restyles all of them for each one: quadratic, minutes for ten thousand.
      auto* scatter = new QLineSeries;
      chart->addSeries(scatter);
      scatter->setName(q(s.name));
      QPen pen(series_color(i));
      pen.setStyle(Qt::NoPen);
      scatter->setPen(pen);
      scatter->setMarkerSize(kMarkerPx);
      scatter->setLightMarker(marker_image(series_color(i)));
      scatter->append(points_of(s));
    }
  }
  if (c.kind == Kind::pareto) {
    auto* frontier = new QLineSeries;
    chart->addSeries(frontier);
    frontier->setName(q(c.frontier.name));
    frontier->append(points_of(c.frontier));
    QPen pen(QColor(20, 20, 20));
    pen.setWidthF(2.0);
    frontier->setPen(pen);
  }
  attach(c.log_x ? log_axis(x) : value_axis(x), c.log_y ? log_axis(y) : value_axis(y));
  return chart;
}

void write(QChartView& view, const Chart& c, OutFormat format, const std::string& path, int w,
           int h) {
  switch (format) {
    case OutFormat::png: {
      QImage image(w, h, QImage::Format_ARGB32);
      image.fill(Qt::white);
      QPainter painter(&image);
      painter.setRenderHint(QPainter::Antialiasing);
      view.render(&painter, QRectF(0, 0, w, h), QRect(0, 0, w, h));
      painter.end();
      if (!image.save(q(path), "PNG")) throw std::runtime_error(path + ": cannot write the PNG");
      return;
    }
    case OutFormat::svg: {
      QSvgGenerator svg;
      svg.setFileName(q(path));
      svg.setSize(QSize(w, h));
      svg.setViewBox(QRect(0, 0, w, h));
      svg.setTitle(q(c.title));
      svg.setDescription("moesim plot");
      QPainter painter;
      if (!painter.begin(&svg)) throw std::runtime_error(path + ": cannot write the SVG");
      view.render(&painter, QRectF(0, 0, w, h), QRect(0, 0, w, h));
      painter.end();
      return;
    }
    case OutFormat::pdf: {
      QPdfWriter pdf(q(path));
      pdf.setCreator("moesim plot");
      pdf.setTitle(q(c.title));
      pdf.setResolution(96);  // one painter unit is one pixel of the PNG
      pdf.setPageSize(QPageSize(QSizeF(w * 72.0 / 96.0, h * 72.0 / 96.0), QPageSize::Point));
      pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
      QPainter painter;
      if (!painter.begin(&pdf)) throw std::runtime_error(path + ": cannot write the PDF");
      view.render(&painter, QRectF(0, 0, w, h), QRect(0, 0, w, h));
      painter.end();
      return;
    }
  }
}

}  // namespace

void render_chart(const Chart& chart, const PlotOptions& options) {
  const OutFormat format = out_format(options.out);
  const fs::path out(options.out);
  const fs::path folder = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    throw InputError("--out", "value", "folder " + folder.string() + " does not exist");
  if (fs::is_directory(out, ec)) throw InputError("--out", "value", options.out + " is a folder");
  const int w = options.width_px, h = options.height_px;

  QtSession session;
  QChartView view(build(chart));
  view.setAttribute(Qt::WA_DontShowOnScreen);
  view.setFrameShape(QFrame::NoFrame);
  view.setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  view.setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  view.setRenderHint(QPainter::Antialiasing);
  view.resize(w, h);
  view.show();  // lays the chart out at w x h (offscreen: nothing reaches a screen)
  QCoreApplication::processEvents();

  // Written beside the target and renamed over it: a failed or killed plot leaves no file.
  std::string tmp_name = out.filename().string();
  tmp_name.insert(tmp_name.begin(), '.');
  tmp_name.append(".tmp").append(std::to_string(::getpid())).append(out.extension().string());
  const fs::path tmp = folder / tmp_name;
  try {
    write(view, chart, format, tmp.string(), w, h);
    if (!fs::exists(tmp, ec) || fs::file_size(tmp, ec) == 0)
      throw std::runtime_error(options.out + ": nothing was written");
    fs::rename(tmp, out);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

}  // namespace moesim::io::plot
