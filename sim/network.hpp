#pragma once
// The step model's Network answered by the hardware layer's collective models on the
// cluster's topology (built once; each group shape analysed once and cached).
#include <memory>

#include "hardware/collective.hpp"
#include "sim/step.hpp"

namespace moesim::sim {

class ClusterNetwork final : public Network {
 public:
  explicit ClusterNetwork(const hw::ClusterSpec& cluster);
  double time_s(Collective op, CommGroup group, double bytes) const override;
  const hw::CollectiveModel& collectives() const { return model_; }

 private:
  hw::CollectiveModel model_;
};

}  // namespace moesim::sim
