#pragma once
// The Timeline tab's Gantt chart: one optimizer step of `moesim simulate` (sim::event) for the
// window's request, drawn as one row per device stream (compute, comm, dp) of the first ranks,
// a bar per traced span coloured by its kind, a time axis in ms and a legend. The simulation
// runs off the UI thread (simulate_request is plain C++, no widgets).
#include <QString>
#include <QWidget>
#include <optional>
#include <string>
#include <vector>

#include "gui/estimate_request.hpp"
#include "sim/event/timeline.hpp"

class QPainter;

namespace moesim::gui {

// What the chart draws: rows of spans, times in seconds.
struct GanttData {
  enum Kind { compute = 0, communication = 1, data_parallel = 2 };
  struct Bar {
    int row = 0;
    Kind kind = compute;
    double start_s = 0;
    double duration_s = 0;
  };
  std::vector<QString> rows;  // "device 3 · compute"
  std::vector<Bar> bars;
  double end_s = 0;       // the latest span's end
  int streams_total = 0;  // device streams in the timeline
  int ranks_total = 0;    // devices with streams
  int ranks_shown = 0;
  bool truncated = false;  // the simulator capped the trace
};

// The rows of the first `max_ranks` devices of `timeline` (network link tracks are left out).
GanttData gantt_data(const sim::event::Timeline& timeline, int max_ranks);

struct SimulationOutcome {
  std::string error;  // as EstimateOutcome::error; empty on success
  GanttData gantt;
  std::int64_t events = 0;
  double simulated_step_s = 0;
  std::optional<double> analytic_step_s;
  std::string layout;  // "dp 4 · tp 2 · pp 2 · ep 4"
};

// `moesim simulate` (balanced routing, seed 1, as the CLI's defaults) for `request` with the
// trace on; the first `max_ranks` ranks go to the chart. Never throws.
SimulationOutcome simulate_request(const EstimateRequest& request, int max_ranks);

// The summary line the tab shows for `outcome`.
QString simulation_summary(const SimulationOutcome& outcome);

class GanttView : public QWidget {
  Q_OBJECT

 public:
  explicit GanttView(QWidget* parent = nullptr);
  void set_data(GanttData data);
  const GanttData& data() const { return data_; }
  int row_count() const { return static_cast<int>(data_.rows.size()); }
  int span_count() const { return static_cast<int>(data_.bars.size()); }
  // Draws the chart into `rect` of `painter` (the widget and the PNG export share it).
  void render_to(QPainter& painter, const QRect& rect) const;
  // Saves the chart at `size` as PNG; "" on success, else what went wrong.
  QString export_to(const QString& path, QSize size = QSize(1400, 700)) const;
  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  GanttData data_;
};

}  // namespace moesim::gui
