#include "gui/charts.hpp"

#include <QApplication>
#include <QChart>
#include <QChartView>
#include <QFileInfo>
#include <QGraphicsScene>
#include <QImage>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgGenerator>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

namespace moesim::gui {

QChartView* make_chart_view(QChart* chart, const QString& object_name, int min_height) {
  chart->setAnimationOptions(QChart::NoAnimation);
  chart->setMargins(QMargins(4, 4, 4, 4));
  auto* view = new QChartView(chart);
  view->setObjectName(object_name);
  view->setRenderHint(QPainter::Antialiasing);
  view->setMinimumHeight(min_height);
  return view;
}

void fit_value_axis(QValueAxis* axis, double min, double max, bool from_zero) {
  if (!std::isfinite(min) || !std::isfinite(max)) min = max = 0;
  if (from_zero) min = std::min(0.0, min);
  if (!(max > min)) {
    min = from_zero ? 0 : min - 0.5;
    max = min + 1;
  }
  const double pad = (max - min) * 0.05;
  axis->setRange(from_zero && min == 0 ? 0 : min - pad, max + pad);
  axis->applyNiceNumbers();
  const double step = (axis->max() - axis->min()) / std::max(1, axis->tickCount() - 1);
  const int decimals = step > 0 ? std::clamp(-int(std::floor(std::log10(step))), 0, 6) : 0;
  axis->setLabelFormat(QString("%.%1f").arg(decimals));
}

QString export_chart(QChartView* view, const QString& path, QSize size) {
  if (!view || !view->chart()) return "no such chart";
  QChart* chart = view->chart();
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix != "png" && suffix != "svg" && suffix != "pdf")
    return "'" + path + "': the file name must end in .png, .svg or .pdf";
  // Lay the chart out at the export size, render it, and give it back to its view.
  const QSizeF old_size = chart->size();
  chart->resize(size);
  QApplication::processEvents();
  const QRectF source(chart->pos(), QSizeF(size));
  const QRectF target(QPointF(0, 0), QSizeF(size));
  QString error;
  if (suffix == "png") {
    QImage image(size * 2, QImage::Format_ARGB32);
    image.setDevicePixelRatio(2);
    image.fill(Qt::white);
    {
      QPainter p(&image);
      p.setRenderHint(QPainter::Antialiasing);
      view->scene()->render(&p, target, source);
    }
    if (!image.save(path)) error = "cannot write '" + path + "'";
  } else if (suffix == "svg") {
    QSvgGenerator svg;
    svg.setFileName(path);
    svg.setSize(size);
    svg.setViewBox(target);
    svg.setTitle(chart->title());
    svg.setDescription("moesim-gui chart");
    QPainter p;
    if (!p.begin(&svg)) {
      error = "cannot write '" + path + "'";
    } else {
      p.fillRect(target, Qt::white);
      view->scene()->render(&p, target, source);
      p.end();
    }
  } else {
    QPdfWriter pdf(path);
    pdf.setResolution(72);
    pdf.setPageSize(QPageSize(QSizeF(size), QPageSize::Point));
    pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
    pdf.setTitle(chart->title());
    pdf.setCreator("moesim-gui");
    QPainter p;
    if (!p.begin(&pdf)) {
      error = "cannot write '" + path + "'";
    } else {
      view->scene()->render(&p, target, source);
      p.end();
    }
  }
  chart->resize(old_size);
  QApplication::processEvents();
  return error;
}

}  // namespace moesim::gui
