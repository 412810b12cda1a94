#pragma once
// Chart plumbing shared by the window's views: axes with units, and export of any chart to
// PNG, SVG (QSvgGenerator) or PDF (QPdfWriter) by the file's suffix. Qt Charts stays in gui/.
#include <QSize>
#include <QString>

class QChart;
class QChartView;
class QValueAxis;

namespace moesim::gui {

// A view on `chart`, named `object_name` (what MainWindow::export_chart takes).
QChartView* make_chart_view(QChart* chart, const QString& object_name, int min_height = 240);

// Sets the axis to [min, max] with a little room, round ticks, and as many decimals as the
// tick step needs. A range of zero width gets [0, 1].
void fit_value_axis(QValueAxis* axis, double min, double max, bool from_zero = true);

// Renders the chart at `size` (independent of the window) to `path`; the format is the
// suffix: .png, .svg or .pdf. Returns "" on success, else what went wrong.
QString export_chart(QChartView* view, const QString& path, QSize size = QSize(960, 600));

}  // namespace moesim::gui
