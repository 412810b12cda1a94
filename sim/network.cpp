#include "sim/network.hpp"

namespace moesim::sim {

ClusterNetwork::ClusterNetwork(const hw::ClusterSpec& cluster) : model_(cluster) {}

double ClusterNetwork::time_s(Collective op, CommGroup group, double bytes) const {
  if (group.size <= 1 || bytes <= 0) return 0;
  hw::CollectiveOp hop = hw::CollectiveOp::all_reduce;
  switch (op) {
    case Collective::all_reduce:
      hop = hw::CollectiveOp::all_reduce;
      break;
    case Collective::all_gather:
      hop = hw::CollectiveOp::all_gather;
      break;
    case Collective::reduce_scatter:
      hop = hw::CollectiveOp::reduce_scatter;
      break;
    case Collective::all_to_all:
      hop = hw::CollectiveOp::all_to_all;
      break;
    case Collective::p2p:
      hop = hw::CollectiveOp::p2p;
      break;
  }
  const hw::GroupShape shape{static_cast<int>(group.size), static_cast<int>(group.stride), true};
  return model_.time_s(hop, shape, bytes);
}

}  // namespace moesim::sim
