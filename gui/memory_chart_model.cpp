#include "gui/memory_chart_model.hpp"

#include <algorithm>

#include "gui/format.hpp"

namespace moesim::gui {

const std::array<MemoryChartModel::Row, MemoryChartModel::kRows>& MemoryChartModel::rows() {
  static const std::array<Row, kRows> r = {{
      {"memory.breakdown.weights", "Weights"},
      {"memory.breakdown.gradients", "Gradients"},
      {"memory.breakdown.optimizer", "Optimizer states"},
      {"memory.breakdown.activations", "Activations"},
      {"memory.breakdown.moe_buffers", "MoE buffers"},
      {"memory.hbm_bytes", "HBM capacity"},
  }};
  return r;
}

MemoryChartModel::MemoryChartModel(QObject* parent) : QAbstractTableModel(parent) {}

void MemoryChartModel::set_report(const io::Report* report) {
  double device_total = 0;
  for (int row = 0; row < kRows; ++row) {
    double bytes = 0;
    if (report) {
      if (const io::ReportValue* v = find_value(*report, rows()[row].path))
        if (const double* d = std::get_if<double>(v)) bytes = *d;
    }
    // The device bar stacks the breakdown; the HBM bar holds only the capacity.
    const int column = row == kHbmRow ? kHbmColumn : kDeviceColumn;
    gb_[row] = {0, 0};
    gb_[row][column] = bytes / 1e9;
    if (row != kHbmRow) device_total += bytes / 1e9;
  }
  max_bar_gb_ = std::max(device_total, gb_[kHbmRow][kHbmColumn]);
  emit dataChanged(index(0, 0), index(kRows - 1, 1));
}

int MemoryChartModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : kRows;
}

int MemoryChartModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : 2;
}

QVariant MemoryChartModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || (role != Qt::DisplayRole && role != Qt::EditRole)) return {};
  return gb_[index.row()][index.column()];
}

QVariant MemoryChartModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (role != Qt::DisplayRole) return {};
  if (orientation == Qt::Vertical) {
    if (section >= 0 && section < kRows) return QString(rows()[section].label);
    return {};
  }
  return section == kDeviceColumn ? QString("Fullest device") : QString("HBM capacity");
}

}  // namespace moesim::gui
