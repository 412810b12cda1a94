#pragma once
// ClusterSpec: the compact description of a machine (what a cluster file says). The
// hardware layer expands it into a topology graph; the step model reads sizes from it.
#include <array>
#include <string>

#include "hardware/accelerator.hpp"

namespace moesim::hw {

// Scale-up domain: the fast fabric inside a node (or a torus of chips).
enum class ScaleUpKind { nvswitch, full_mesh, torus2d, torus3d, none };
// Scale-out network between scale-up domains.
enum class ScaleOutKind { fat_tree, rail_optimized_fat_tree, dcn, none };

struct Link {
  double bandwidth_Bps = 0;  // per direction
  double latency_s = 0;
  double efficiency = 1.0;  // achievable fraction of line rate (protocol overhead)
};

struct ScaleUp {
  ScaleUpKind kind = ScaleUpKind::nvswitch;
  int devices_per_domain = 8;                 // GPUs per node, NVL72 = 72; torus: chips in a slice
  std::array<int, 3> torus_dims = {1, 1, 1};  // for tori (x, y, z); z = 1 for 2D
  bool wraparound = true;
  Link link;  // per device into the switch, per mesh pair, or per torus link
  // In-switch reduction (NVLink SHARP, "NVLS", on NVSwitch 3 and later): the fraction of the
  // per-device line rate an all-reduce through the switch reaches, counting the traffic
  // each device sends and receives (docs/hardware.md). 0: the switch cannot reduce.
  double switch_reduction_efficiency = 0;
};

struct ScaleOut {
  ScaleOutKind kind = ScaleOutKind::rail_optimized_fat_tree;
  int nics_per_domain = 8;        // e.g. one NIC per GPU
  double oversubscription = 1.0;  // leaf up-links : down-links
  int tiers = 2;
  Link link;              // per NIC
  int switch_radix = 64;  // ports per switch (NVIDIA Quantum-2 NDR switches have 64)
};

struct ClusterSpec {
  std::string name;
  Accelerator accelerator;
  int devices = 0;  // total accelerators
  ScaleUp scale_up;
  ScaleOut scale_out;
  double pue = 1.1;  // power usage effectiveness for the energy model
  std::string notes;

  int domains() const {
    return scale_up.devices_per_domain > 0
               ? (devices + scale_up.devices_per_domain - 1) / scale_up.devices_per_domain
               : 0;
  }
};

}  // namespace moesim::hw
