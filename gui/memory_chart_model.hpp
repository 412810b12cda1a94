#pragma once
// The memory breakdown of an estimate as a table for Qt Charts (QHBarModelMapper): one row
// per bar set (weights, gradients, optimizer states, activations, MoE buffers, HBM
// capacity), one column per bar (the accelerator's HBM, the fullest device). Values in GB.
#include <QAbstractTableModel>
#include <array>

#include "io/report.hpp"

namespace moesim::gui {

class MemoryChartModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  struct Row {
    const char* path;   // report path, e.g. "memory.breakdown.weights"
    const char* label;  // legend text
  };
  static constexpr int kRows = 6;
  static constexpr int kHbmRow = 5;
  // Horizontal bar charts draw the first category at the bottom: HBM below, device on top.
  static constexpr int kHbmColumn = 0;
  static constexpr int kDeviceColumn = 1;
  static const std::array<Row, kRows>& rows();

  explicit MemoryChartModel(QObject* parent = nullptr);

  // Takes the values from `report` (io::make_report's paths); nullptr clears them to zero.
  // Emits dataChanged (not a reset) so the mapped bar sets keep their colours.
  void set_report(const io::Report* report);
  // The largest bar in GB (the stacked device total or the HBM), for the axis range.
  double max_bar_gb() const { return max_bar_gb_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  std::array<std::array<double, 2>, kRows> gb_{};
  double max_bar_gb_ = 0;
};

}  // namespace moesim::gui
