#pragma once
// Topology: a ClusterSpec expanded into a Boost.Graph graph of devices, NICs and switches
// joined by links (bandwidth each way, latency, protocol efficiency), with routing over it.
//
// Generators (docs/hardware.md has the pictures and the closed forms the tests check):
//  - NVSwitch domains: every device has one link into its domain's switch (8 GPUs per HGX
//    node, 72 per GB200 NVL72 rack). The switch chips of a domain are one vertex: what a
//    device gets is its own port bandwidth, which that vertex preserves.
//  - Full mesh (AMD MI300X): one link per device pair inside a domain.
//  - 2D and 3D tori (TPU v3/v5e/v6e and v4/v5p): nearest-neighbour links, with wraparound
//    where the slice has it (a dimension of 2 gets no second, parallel wraparound link).
//  - Scale-out between domains: a fat tree of `tiers` levels of `switch_radix`-port switches
//    with the leaf oversubscription of the cluster file, plain (a domain's NICs share leaves)
//    or rail-optimized (NIC r of every domain on rail r's leaves); one tier is a single
//    non-blocking switch (the TPU data-center network between slices).
//
// Vertices 0 .. devices-1 are the devices, in the cluster's rank order: node-major for
// switched clusters, and x-fastest (x + X*(y + Y*z)) inside each torus slice.
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <unordered_map>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "hardware/cluster.hpp"

namespace moesim::hw {

enum class NodeKind : std::uint8_t { device, nic, switch_node };
enum class LinkKind : std::uint8_t { scale_up, scale_out };

struct NodeInfo {
  NodeKind kind = NodeKind::device;
  int tier = 0;  // 0 devices and NICs, 1 scale-up switches and leaves, 2 spines, 3 cores
};

// One direction of a link.
struct LinkInfo {
  double bandwidth_Bps = 0;  // line rate in this direction
  double latency_s = 0;
  double efficiency = 1.0;  // achievable fraction of line rate (protocol overhead)
  LinkKind kind = LinkKind::scale_up;
  int id = 0;  // index of this directed edge: 0 .. directed_link_count()-1
  double effective_Bps() const noexcept { return bandwidth_Bps * efficiency; }
};

using TopologyGraph =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, NodeInfo, LinkInfo>;

// Where a device sits; what the collective models read instead of walking the graph.
struct DeviceLocation {
  int domain = 0;       // scale-up domain: node, NVL72 rack or torus slice
  int local = 0;        // index inside the domain
  int nic = -1;         // network endpoint (a NIC, or a device with its own port); -1: none
  int leaf = -1;        // leaf switch vertex of that endpoint; -1: none
  int leaf_group = -1;  // domains whose endpoints share leaves (one leaf per rail); -1: none
  int pod = -1;         // group of leaves under one set of spines (three tiers); -1: none
  std::array<int, 3> coord = {0, 0, 0};  // torus coordinates inside the slice
};

class Topology {
 public:
  // Builds the graph; linear in devices + links (a 8960-chip torus builds in milliseconds).
  explicit Topology(const ClusterSpec& spec);

  const ClusterSpec& spec() const noexcept { return spec_; }
  const TopologyGraph& graph() const noexcept { return graph_; }
  int devices() const noexcept { return spec_.devices; }
  int domain_size() const noexcept { return domain_size_; }
  int domains() const noexcept { return domains_; }
  std::size_t vertex_count() const noexcept { return boost::num_vertices(graph_); }
  std::size_t directed_link_count() const noexcept { return links_.size(); }
  std::size_t link_count() const noexcept { return links_.size() / 2; }  // physical, duplex
  std::size_t count(NodeKind kind) const noexcept;
  std::size_t count_at_tier(int tier) const noexcept;  // switches at a tier
  const DeviceLocation& location(int device) const { return locations_.at(device); }
  std::span<const DeviceLocation> locations() const noexcept { return locations_; }
  // The same as flat arrays by device, for loops over large groups.
  std::span<const int> domain_of() const noexcept { return domain_of_; }
  std::span<const int> leaf_group_of() const noexcept { return leaf_group_of_; }
  const LinkInfo& link(int id) const { return links_.at(id); }
  int link_source(int id) const { return ends_.at(id).first; }
  int link_target(int id) const { return ends_.at(id).second; }
  int out_degree(int vertex) const;

  bool torus() const noexcept;
  const std::array<int, 3>& torus_dims() const noexcept { return spec_.scale_up.torus_dims; }
  bool wraparound() const noexcept { return spec_.scale_up.wraparound; }
  bool has_network() const noexcept { return network_; }
  int nic_endpoints() const noexcept { return nic_endpoints_; }
  int devices_per_nic() const noexcept { return devices_per_nic_; }  // >= 1
  double nic_bandwidth_Bps() const noexcept {
    return nic_bandwidth_Bps_;
  }  // line rate per endpoint
  int leaf_down_ports() const noexcept { return leaf_down_; }
  int leaf_up_ports() const noexcept { return leaf_up_; }
  int leaves() const noexcept { return leaves_; }

  // Torus links of a device: {+x, -x, +y, -y, +z, -z}; -1 where there is none.
  const std::array<int, 6>& torus_links(int device) const { return torus_links_.at(device); }

  // The directed links a message from device a to device b crosses, in order. Inside one
  // torus slice: dimension-order routing (x, then y, then z; the shorter way around a ring,
  // ties alternating with the source's parity so that half-way traffic splits evenly).
  // Elsewhere: a lowest-latency path (Dijkstra, fewer hops on ties). Among equal-cost next
  // hops the scale-up fabric comes first (a message crosses to the GPU on the destination's
  // rail before the network, as NCCL's PXN does), then a hash of (a, b) picks, as ECMP does.
  // Dijkstra runs once per destination and call; use a Router to reuse it across many messages.
  std::vector<int> route(int a, int b) const;
  int hops(int a, int b) const { return static_cast<int>(route(a, b).size()); }
  double path_latency_s(int a, int b) const;

  // Longest shortest path between two devices, in links (breadth-first search from every
  // device: O(devices * links), for tests and reports, not for inner loops).
  int diameter() const;
  // Bandwidth (line rate, one direction) across the worst of the canonical halvings: the
  // first and second half of the devices, and for a single torus slice each dimension cut
  // in the middle. Computed as a maximum flow over the graph (Boost push-relabel).
  double bisection_bandwidth_Bps() const;
  // The same for one explicit split: devices in `half_a` to all the others.
  double cut_bandwidth_Bps(std::span<const int> half_a) const;

  // Parallel links: by directed link, the lowest id of its class, where a class holds links
  // that every message Router::spread routes crosses with the same fraction, bit for bit, or
  // not at all (the uplinks of a leaf to the spines of a fat tree; the downlinks of those
  // spines into one leaf). Classes come from twin switches: switches with no device as
  // neighbour and the same neighbours over links of the same parameters; swapping two twins
  // maps the graph to itself and fixes every device, so (topology.cpp) every route's
  // fractions, and so every pattern of flows, are the same on u->s and u->t, s->u and t->u.
  // A link whose both ends have twins keeps a class of its own. Identity (no classes) unless
  // the weights are monotone (the argument needs Dijkstra's exact distances).
  std::vector<int> parallel_links() const;

  // A guessed automorphism taking device from[i] to to[i] (the domains of `from` onto those
  // of `to`, each device keeping its place in its domain; vertices past the devices follow
  // as in symmetry_map), as an image for every vertex. False where the members do not map
  // domain to domain. Unchecked: Router::is_automorphism(sigma, .., true) verifies it.
  bool domain_image_map(std::span<const int> from, std::span<const int> to,
                        std::vector<int>& sigma) const;
  // The link from sigma(source) to sigma(target) of `link`; -1 if none or several.
  int link_image(int link, std::span<const int> sigma) const;

 private:
  friend class Router;
  int add_vertex(NodeKind kind, int tier);
  // Adds both directions of a duplex link; returns the id of the a->b direction.
  int add_link(int a, int b, double bandwidth_Bps, double latency_s, double efficiency,
               LinkKind kind);
  void build_scale_up();
  void build_torus(int slice, int first_device, int count);
  void build_network();
  void build_adjacency();
  std::vector<int> torus_route(int a, int b) const;
  // A guessed automorphism taking vertex `from` to `to`, as a map of every vertex into
  // sigma: a swap of domains (with their leaf groups) and of rails, extended up the graph by
  // parent_ and slot_. False where none is guessed. Unchecked: Router verifies what it yields.
  bool symmetry_map(int from, int to, std::vector<int>& sigma) const;
  // The tail of symmetry_map and domain_image_map (topology.cpp).
  bool extend_past_devices(std::vector<int>& sigma) const;
  void find_twins();  // twin_groups_ and aligned_twin_ (topology.cpp)
  // The device that v hangs off (parent_), and its leaf group; -1 for none.
  int device_under(int v) const;
  int leaf_group_under(int v) const;

  ClusterSpec spec_;
  TopologyGraph graph_;
  std::vector<LinkInfo> links_;                  // by id
  std::vector<std::pair<int, int>> ends_;        // by id
  std::vector<DeviceLocation> locations_;        // by device
  std::vector<std::array<int, 6>> torus_links_;  // by device, tori only
  std::vector<int> domain_of_, leaf_group_of_;   // by device
  int domain_size_ = 1;
  int domains_ = 1;
  bool network_ = false;
  int nic_endpoints_ = 0;
  int devices_per_nic_ = 1;
  double nic_bandwidth_Bps_ = 0;
  int leaf_down_ = 0, leaf_up_ = 0, leaves_ = 0;
  // Out-links as flat arrays (compressed sparse rows) in Boost's out-edge order, for Router.
  std::vector<int> out_begin_;                    // by vertex, and one past the last
  std::vector<int> out_target_, out_link_;        // by out-link
  std::vector<double> out_latency_, out_weight_;  // latency; Dijkstra weight (+ hop tie-break)
  std::vector<char> out_scale_up_;
  // Every weight positive and every path far below 1e6 s, so that adding a link's weight
  // always grows a distance: what makes Router's exact shortcuts exact (topology.cpp).
  bool monotone_weights_ = false;
  bool duplex_weights_ = false;  // each link's two directions have one weight
  // By vertex past the devices: its first out-neighbour when of a lower index, else -1, and
  // its position among that neighbour's out-links (symmetry_map's extension).
  std::vector<int> parent_, slot_;
  // Domains by the leaf group of their first device (0 without a network): contiguous runs.
  std::vector<int> domain_group_, group_first_, group_size_;
  // Twin switches (topology.cpp, find_twins), groups of two or more, each in vertex order;
  // empty unless the weights are monotone. By vertex: the first twin of its group when its
  // out-links reach the same neighbours in the same order as that twin's, else -1.
  std::vector<std::vector<int>> twin_groups_;
  std::vector<int> aligned_twin_;
  std::vector<int> link_slot_;  // by link id: its index among its source's out-links
};

// Routes many messages on one topology. Distances to a destination are the minimum of
// Dijkstra's distances from a few sources with a start offset ("keys"): the destination
// itself, or, for a destination whose neighbours all have more links than it has (a GPU under
// its NVSwitch and leaf), each neighbour n at the link's weight; destinations under the same
// switches share those. Keys are computed once and kept (up to 4096 of them).
// Not thread-safe; cheap to create; one per evaluation.
class Router {
 public:
  explicit Router(const Topology& topology) : topo_(topology) {}
  // As Topology::route.
  const std::vector<int>& route(int a, int b);
  // Splits a message over every equal-cost path (adaptive routing, as a fluid model of a
  // multi-path fabric): calls visit(link id, fraction of the bytes) for each link used, and
  // returns the path latency. Tori inside a slice: the single dimension-order path.
  template <class Visit>
  double spread(int a, int b, Visit&& visit);
  // The same split as (link id, fraction) pairs, without the latency; valid until the next
  // call on this Router.
  const std::vector<std::pair<int, double>>& spread_shares(int a, int b) {
    spread_impl(a, b, shares_, false);
    return shares_;
  }
  // Whether every vertex of the last spread received equal shares only (so that the sum of
  // its shares is the same in any order, and a spread moved by an automorphism of the
  // network is exactly the spread between the images).
  bool last_spread_uniform() const noexcept { return last_uniform_; }
  // The distances of a key (from `source`, started at `offset`): moved from an earlier key by
  // a guessed automorphism where is_fixed_point accepts them (by_symmetry true), else Dijkstra.
  std::span<const double> key_distances(int source, double offset, bool* by_symmetry = nullptr);
  // Whether dist is the fixed point d[source] == offset, d[v] == min over links u->v of
  // fl(d[u] + w) (compared exactly): then Dijkstra's distances bit for bit (topology.cpp).
  bool is_fixed_point(int source, double offset, std::span<const double> dist) const;
  // Whether sigma (an image for every vertex) is an automorphism of the weighted graph;
  // costs the links of the vertices it moves and of their neighbours, and answers false
  // without looking when those are more than max_links.
  // With same_links, the links matched must also have equal bandwidth, latency, efficiency
  // and kind (an automorphism of the network, not only of its distances).
  bool is_automorphism(std::span<const int> sigma,
                       std::size_t max_links = std::numeric_limits<std::size_t>::max(),
                       bool same_links = false);

 private:
  friend class Topology;
  struct HeapEntry {
    double distance;
    int vertex;
  };
  // Fills out; returns the latency when `latency` (else 0).
  double spread_impl(int a, int b, std::vector<std::pair<int, double>>& out, bool latency = true);
  double walk_latency(int a, int b);  // latency of the path route(a, b) takes
  // Points view_ at the keys of destination b (computing missing ones).
  void distances_to(int b);
  // Distance from vertex v to the destination of the last distances_to.
  double distance(int v) const noexcept {
    if (v == view_destination_) return 0;
    switch (view_.size()) {
      case 1:
        return view_[0][v];
      case 2:
        return std::min(view_[0][v], view_[1][v]);
      default: {
        double d = std::numeric_limits<double>::infinity();
        for (const double* p : view_) d = std::min(d, p[v]);
        return d;
      }
    }
  }
  int key(int source, double offset);
  void clear_keys();
  void size_arrays();  // by-vertex arrays, once per topology
  // A key's distances moved from a template key of the same kind by Topology::symmetry_map,
  // into dist, if is_fixed_point accepts them.
  bool key_by_symmetry(int source, double offset, std::vector<double>& dist);
  // Equal-cost next hops from u toward the destination of the last distances_to, scale-up
  // links only where there are any (sender-side PXN); memoised per destination at vertices
  // with many links (switches), whose scan would otherwise dominate a route.
  std::span<const int> next_hops(int u);

  const Topology& topo_;
  // Keys: (source vertex, start offset) and their distances, by key index.
  std::vector<std::pair<int, double>> key_source_;
  std::vector<std::vector<double>> key_distances_;
  std::vector<std::vector<double>> spare_;                    // storage of cleared keys, for reuse
  std::vector<std::vector<std::pair<double, int>>> keys_at_;  // by source: (offset, key)
  // By destination: its keys, valid while dest_epoch_ == epoch_.
  std::vector<std::vector<int>> dest_keys_;
  std::vector<std::uint32_t> dest_epoch_;
  std::uint32_t epoch_ = 1;
  bool share_keys_ = true;  // false: one Dijkstra from the destination (one-off routes)
  // Keys from Dijkstra, the latest of each (kind, tier, degree, offset): symmetry's templates.
  // A template key, with what makes two keys' sources candidates for one another (kind, tier,
  // number of links, start offset) and its source's leaf group, precomputed.
  struct Template {
    int key = -1, source = -1, group = -1, kind = 0, tier = 0, degree = 0;
    double offset = 0;
    bool alike(const Template& o) const noexcept {
      return offset == o.offset && kind == o.kind && tier == o.tier && degree == o.degree;
    }
  };
  Template describe(int source, double offset, int key) const;
  std::vector<Template> templates_;
  std::vector<int> sigma_;
  int symmetry_hits_ = 0, symmetry_misses_ = 0;  // guesses accepted and rejected
  bool key_by_symmetry_ = false;                 // how the last key() computed its distances
  std::vector<const double*> view_;
  int view_destination_ = -1;
  // Scratch, sized once: all zero between calls (amount_), or written before read.
  std::vector<HeapEntry> heap_;
  std::vector<int> path_, candidates_;
  std::vector<std::pair<int, double>> shares_;
  std::vector<double> amount_;
  // Route suffixes by (u, b): the spread from u toward b of a whole message, for sources
  // whose only next hop is u (spread_impl); (offset, count) into suffix_pool_.
  struct Suffix {
    std::uint32_t offset = 0, count = 0;
    bool uniform = true;  // as last_uniform_, for the suffix
  };
  std::unordered_map<std::uint64_t, Suffix> suffixes_;
  // spread_impl: whether every vertex of the last spread received equal shares only; by
  // vertex, the first share it received (valid while its amount_ is not 0).
  bool last_uniform_ = true;
  std::vector<double> inflow_;
  std::vector<std::pair<int, double>> suffix_pool_;
  // Memo of next_hops: hub_ by vertex (index among vertices with 16 or more links, else -1);
  // by destination, (offset into hop_pool_, count) per hub, -1 while not computed.
  std::vector<int> hub_;
  int hubs_ = 0;
  std::vector<std::vector<int>> hop_memo_;
  std::vector<int> hop_pool_;
  // is_automorphism's scratch: marks by vertex (0 between calls), the moved and the checked
  // vertices, a vertex's links mapped and its image's own.
  std::vector<char> mark_;
  std::vector<int> moved_, checked_;
  std::vector<std::pair<int, double>> image_links_, own_links_;
  std::vector<std::uint32_t> stamp_;  // by vertex: stamp_epoch_ while in the compared list
  std::uint32_t stamp_epoch_ = 0;
  std::vector<int> stamp_out_;  // by vertex: the stamped out-link (CSR index)
};

template <class Visit>
double Router::spread(int a, int b, Visit&& visit) {
  const double latency = spread_impl(a, b, shares_);
  for (const auto& [id, fraction] : shares_) visit(id, fraction);
  return latency;
}

}  // namespace moesim::hw
