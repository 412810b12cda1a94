#include "hardware/topology.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <queue>
#include <stdexcept>
#include <tuple>

#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <boost/graph/push_relabel_max_flow.hpp>
#include <boost/property_map/transform_value_property_map.hpp>

namespace moesim::hw {
namespace {

// Dijkstra weights: latency plus a nanosecond per hop, so that equal latencies prefer
// fewer links (a modelling tie-break, far below any real latency).
constexpr double kHopTieBreak_s = 1e-9;
// Two path lengths closer than this are equal (ECMP candidates).
constexpr double kEqualCost_s = 1e-12;
// Router's memory bounds: distance arrays kept, and memoised next hops (ints).
constexpr std::size_t kMaxKeys = 4096;
constexpr std::size_t kMaxMemoHops = std::size_t{1} << 24;
// Memoised route suffixes (Router::spread_impl), in (link, fraction) entries: 64 MiB.
constexpr std::size_t kMaxSuffixEntries = std::size_t{1} << 22;

std::uint64_t mix(std::uint64_t x) noexcept {
  // splitmix64 finalizer (Steele, Lea and Flood 2014): a cheap, well-spread hash.
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool is_torus(ScaleUpKind k) {
  return k == ScaleUpKind::torus2d || k == ScaleUpKind::torus3d;
}

}  // namespace

Topology::Topology(const ClusterSpec& spec) : spec_(spec) {
  if (spec_.devices < 1) throw std::invalid_argument("Topology: a cluster needs devices");
  if (torus()) {
    const auto& d = spec_.scale_up.torus_dims;
    domain_size_ = std::max(1, d[0] * d[1] * d[2]);
  } else {
    domain_size_ = std::max(1, spec_.scale_up.devices_per_domain);
  }
  domains_ = (spec_.devices + domain_size_ - 1) / domain_size_;
  locations_.resize(spec_.devices);
  const std::size_t expected_links = static_cast<std::size_t>(spec_.devices) * 8;
  links_.reserve(expected_links);
  ends_.reserve(expected_links);
  for (int d = 0; d < spec_.devices; ++d) add_vertex(NodeKind::device, 0);
  for (int d = 0; d < spec_.devices; ++d) {
    locations_[d].domain = d / domain_size_;
    locations_[d].local = d % domain_size_;
  }
  build_scale_up();
  build_network();
  build_adjacency();
  domain_of_.resize(spec_.devices);
  leaf_group_of_.resize(spec_.devices);
  for (int d = 0; d < spec_.devices; ++d) {
    domain_of_[d] = locations_[d].domain;
    leaf_group_of_[d] = locations_[d].leaf_group;
  }
}

bool Topology::torus() const noexcept {
  return is_torus(spec_.scale_up.kind);
}

int Topology::add_vertex(NodeKind kind, int tier) {
  return static_cast<int>(boost::add_vertex(NodeInfo{kind, tier}, graph_));
}

int Topology::add_link(int a, int b, double bandwidth_Bps, double latency_s, double efficiency,
                       LinkKind kind) {
  const int id = static_cast<int>(links_.size());
  for (int dir = 0; dir < 2; ++dir) {
    LinkInfo info{bandwidth_Bps, latency_s, efficiency, kind, id + dir};
    const int from = dir == 0 ? a : b, to = dir == 0 ? b : a;
    boost::add_edge(from, to, info, graph_);
    links_.push_back(info);
    ends_.emplace_back(from, to);
  }
  return id;
}

std::size_t Topology::count(NodeKind kind) const noexcept {
  std::size_t n = 0;
  for (auto v : boost::make_iterator_range(boost::vertices(graph_)))
    if (graph_[v].kind == kind) ++n;
  return n;
}

std::size_t Topology::count_at_tier(int tier) const noexcept {
  std::size_t n = 0;
  for (auto v : boost::make_iterator_range(boost::vertices(graph_)))
    if (graph_[v].kind == NodeKind::switch_node && graph_[v].tier == tier) ++n;
  return n;
}

int Topology::out_degree(int vertex) const {
  return static_cast<int>(boost::out_degree(vertex, graph_));
}

void Topology::build_scale_up() {
  const ScaleUp& su = spec_.scale_up;
  const Link& l = su.link;
  if (torus()) torus_links_.assign(spec_.devices, {-1, -1, -1, -1, -1, -1});
  for (int dom = 0; dom < domains_; ++dom) {
    const int first = dom * domain_size_;
    const int count = std::min(domain_size_, spec_.devices - first);
    switch (su.kind) {
      case ScaleUpKind::nvswitch: {
        // One vertex for the domain's switch chips; half the device-to-device latency on
        // each side, so that a transfer through the switch costs link.latency.
        const int sw = add_vertex(NodeKind::switch_node, 1);
        for (int i = 0; i < count; ++i)
          add_link(first + i, sw, l.bandwidth_Bps, l.latency_s / 2, l.efficiency,
                   LinkKind::scale_up);
        break;
      }
      case ScaleUpKind::full_mesh:
        for (int i = 0; i < count; ++i)
          for (int j = i + 1; j < count; ++j)
            add_link(first + i, first + j, l.bandwidth_Bps, l.latency_s, l.efficiency,
                     LinkKind::scale_up);
        break;
      case ScaleUpKind::torus2d:
      case ScaleUpKind::torus3d:
        build_torus(dom, first, count);
        break;
      case ScaleUpKind::none:
        break;
    }
  }
}

void Topology::build_torus(int /*slice*/, int first, int count) {
  const auto& dims = spec_.scale_up.torus_dims;
  const Link& l = spec_.scale_up.link;
  const bool wrap = spec_.scale_up.wraparound;
  for (int local = 0; local < count; ++local) {
    const int x = local % dims[0], y = (local / dims[0]) % dims[1], z = local / (dims[0] * dims[1]);
    locations_[first + local].coord = {x, y, z};
  }
  const std::array<int, 3> step = {1, dims[0], dims[0] * dims[1]};
  for (int local = 0; local < count; ++local) {
    const auto& c = locations_[first + local].coord;
    for (int dim = 0; dim < 3; ++dim) {
      const int len = dims[dim];
      if (len < 2) continue;
      int nb;
      if (c[dim] + 1 < len) {
        nb = local + step[dim];
      } else if (wrap && len > 2) {
        nb = local - (len - 1) * step[dim];  // wraparound link back to coordinate 0
      } else {
        continue;
      }
      if (nb >= count) continue;
      const int a = first + local, b = first + nb;
      const int id = add_link(a, b, l.bandwidth_Bps, l.latency_s, l.efficiency, LinkKind::scale_up);
      torus_links_[a][2 * dim] = id;          // a -> b is the + direction
      torus_links_[b][2 * dim + 1] = id + 1;  // b -> a is the - direction
    }
  }
}

void Topology::build_network() {
  const ScaleOut& so = spec_.scale_out;
  if (so.kind == ScaleOutKind::none || so.nics_per_domain < 1) return;
  network_ = true;
  const Link& l = so.link;
  const int per_domain = so.nics_per_domain;

  // Network endpoints: a device with its own port(s), or a NIC shared by several devices.
  struct Endpoint {
    int domain, rail, vertex;
  };
  std::vector<Endpoint> endpoints;
  if (per_domain >= domain_size_) {
    devices_per_nic_ = 1;
    nic_bandwidth_Bps_ = l.bandwidth_Bps * per_domain / domain_size_;
    for (int d = 0; d < spec_.devices; ++d) {
      locations_[d].nic = d;
      endpoints.push_back({locations_[d].domain, locations_[d].local, d});
    }
  } else {
    devices_per_nic_ = (domain_size_ + per_domain - 1) / per_domain;
    nic_bandwidth_Bps_ = l.bandwidth_Bps;
    int nic_index = 0;
    for (int dom = 0; dom < domains_; ++dom) {
      const int first = dom * domain_size_;
      const int count = std::min(domain_size_, spec_.devices - first);
      for (int r = 0; r * devices_per_nic_ < count; ++r) {
        const int nic = add_vertex(NodeKind::nic, 0);
        endpoints.push_back({dom, r, nic});
        for (int i = r * devices_per_nic_; i < std::min(count, (r + 1) * devices_per_nic_); ++i) {
          // Device to NIC (PCIe): not the bottleneck, the NIC's own port is.
          add_link(first + i, nic, l.bandwidth_Bps, 0, 1.0, LinkKind::scale_out);
          locations_[first + i].nic = nic_index;
        }
        ++nic_index;
      }
    }
  }
  nic_endpoints_ = static_cast<int>(endpoints.size());
  auto attach = [&](const Endpoint& e, int leaf, int group, int pod) {
    add_link(e.vertex, leaf, nic_bandwidth_Bps_, l.latency_s / 2, l.efficiency,
             LinkKind::scale_out);
    // Every device behind this endpoint learns its leaf.
    const int first = e.domain * domain_size_ + e.rail * devices_per_nic_;
    const int last =
        std::min({spec_.devices, (e.domain + 1) * domain_size_, first + devices_per_nic_});
    for (int d = first; d < last; ++d) {
      locations_[d].leaf = leaf;
      locations_[d].leaf_group = group;
      locations_[d].pod = pod;
    }
  };

  const int tiers = std::clamp(so.tiers, 1, 3);
  if (tiers == 1 || so.kind == ScaleOutKind::dcn) {
    // One non-blocking switch: the data-center network between TPU slices, or a single
    // leaf. Oversubscription does not apply.
    const int sw = add_vertex(NodeKind::switch_node, 1);
    for (const auto& e : endpoints) attach(e, sw, 0, 0);
    leaves_ = 1;
    leaf_down_ = nic_endpoints_;
    leaf_up_ = 0;
    return;
  }

  // Leaf ports: down : up = oversubscription : 1 within the switch radix.
  const int radix = std::max(4, so.switch_radix);
  const double o = std::max(1.0, so.oversubscription);
  leaf_down_ = std::clamp(static_cast<int>(std::floor(radix * o / (o + 1))), 1, radix - 1);
  leaf_up_ = std::max(1, static_cast<int>(std::lround(leaf_down_ / o)));

  // Endpoint order: rail-major for a rail-optimized tree (a leaf holds one rail only),
  // domain-major otherwise (a domain's NICs share leaves).
  std::vector<int> order(endpoints.size());
  std::iota(order.begin(), order.end(), 0);
  const bool rails = so.kind == ScaleOutKind::rail_optimized_fat_tree;
  if (rails)
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return endpoints[a].rail < endpoints[b].rail; });
  std::vector<std::vector<int>> leaf_members;
  std::vector<int> leaf_group, leaf_rail;  // by leaf: position within its rail, and the rail
  int current_rail = -1, position = 0;
  for (int idx : order) {
    const bool new_rail = rails && endpoints[idx].rail != current_rail;
    if (new_rail) position = 0;
    if (leaf_members.empty() || new_rail ||
        static_cast<int>(leaf_members.back().size()) >= leaf_down_) {
      leaf_members.emplace_back();
      leaf_group.push_back(position++);
      leaf_rail.push_back(rails ? endpoints[idx].rail : 0);
    }
    current_rail = endpoints[idx].rail;
    leaf_members.back().push_back(idx);
  }
  leaves_ = static_cast<int>(leaf_members.size());
  // Pods: leaves under one set of spines. Two tiers: one pod. Three tiers: a spine's
  // down-ports (radix/2) bound the leaves per pod, and on a rail-optimized tree a pod holds
  // one rail's leaves (the rail's spine group); cores join the pods.
  const int pod_leaves = tiers == 2 ? std::max(1, leaves_) : std::max(1, radix / 2);
  int rail_leaves = 0;
  for (int g : leaf_group) rail_leaves = std::max(rail_leaves, g + 1);
  const int pods_per_rail = (rail_leaves + pod_leaves - 1) / pod_leaves;
  std::vector<int> pod_of(leaves_);
  int pods = 0;
  for (int i = 0; i < leaves_; ++i) {
    pod_of[i] = tiers == 2 ? 0
                : rails    ? leaf_rail[i] * pods_per_rail + leaf_group[i] / pod_leaves
                           : i / pod_leaves;
    pods = std::max(pods, pod_of[i] + 1);
  }
  std::vector<std::vector<int>> pod_members(pods);
  std::vector<int> leaf_vertex(leaves_);
  for (int i = 0; i < leaves_; ++i) {
    leaf_vertex[i] = add_vertex(NodeKind::switch_node, 1);
    pod_members[pod_of[i]].push_back(i);
    for (int idx : leaf_members[i])
      attach(endpoints[idx], leaf_vertex[i], rails ? leaf_group[i] : i, pod_of[i]);
  }
  if (leaves_ == 1) return;  // a single leaf needs no spine
  const double port = l.bandwidth_Bps;
  std::vector<std::vector<int>> pod_spines(pods);
  for (int p = 0; p < pods; ++p) {
    if (pod_members[p].empty() || (pod_members[p].size() == 1 && pods == 1)) continue;
    // One spine per leaf up-port, each leaf with one link to each spine of its pod. A spine
    // vertex of a two-tier tree larger than the radix stands for several switches.
    for (int s = 0; s < leaf_up_; ++s) {
      const int spine = add_vertex(NodeKind::switch_node, 2);
      pod_spines[p].push_back(spine);
      for (int i : pod_members[p])
        add_link(leaf_vertex[i], spine, port, l.latency_s / 2, l.efficiency, LinkKind::scale_out);
    }
  }
  if (tiers < 3 || pods == 1) return;
  // Cores, one vertex per plane: spine s of every pod joins plane s with as much bandwidth
  // up as the spine has down (non-blocking above the leaves). A pod of one leaf still gets
  // its spines, so that every pod reaches the cores the same way.
  for (int s = 0; s < leaf_up_; ++s) {
    const int core = add_vertex(NodeKind::switch_node, 3);
    for (int p = 0; p < pods; ++p) {
      if (pod_spines[p].empty()) continue;
      add_link(pod_spines[p][s], core, port * pod_members[p].size(), l.latency_s / 2, l.efficiency,
               LinkKind::scale_out);
    }
  }
}

void Topology::build_adjacency() {
  const auto n = boost::num_vertices(graph_);
  out_begin_.assign(n + 1, 0);
  const std::size_t m = boost::num_edges(graph_);
  out_target_.reserve(m), out_link_.reserve(m), out_latency_.reserve(m);
  out_weight_.reserve(m), out_scale_up_.reserve(m);
  link_slot_.assign(links_.size(), -1);
  double total = 0, least = std::numeric_limits<double>::infinity();
  for (std::size_t u = 0; u < n; ++u) {
    out_begin_[u] = static_cast<int>(out_target_.size());
    for (auto e : boost::make_iterator_range(boost::out_edges(u, graph_))) {
      const LinkInfo& l = graph_[e];
      const double weight = l.latency_s + kHopTieBreak_s;  // as Dijkstra's weight map
      link_slot_[l.id] = static_cast<int>(out_target_.size()) - out_begin_[u];
      out_target_.push_back(static_cast<int>(boost::target(e, graph_)));
      out_link_.push_back(l.id);
      out_latency_.push_back(l.latency_s);
      out_weight_.push_back(weight);
      out_scale_up_.push_back(l.kind == LinkKind::scale_up ? 1 : 0);
      total += weight;
      least = std::min(least, weight);
    }
  }
  out_begin_[n] = static_cast<int>(out_target_.size());
  // A weight above half a unit in the last place of any distance (ulp(1e6) ~ 1.2e-10).
  monotone_weights_ = std::isfinite(total) && total < 1e6 && least >= kHopTieBreak_s / 2;
  duplex_weights_ = true;
  for (std::size_t id = 0; id + 1 < links_.size(); id += 2)
    duplex_weights_ = duplex_weights_ && links_[id].latency_s == links_[id + 1].latency_s;
  // symmetry_map's extension: every vertex past the devices hangs off its first out-neighbour.
  const int devices = spec_.devices;
  parent_.assign(n, -1);
  slot_.assign(n, -1);
  for (int v = devices; v < static_cast<int>(n); ++v) {
    if (out_begin_[v] == out_begin_[v + 1]) continue;
    const int p = out_target_[out_begin_[v]];
    if (p >= v) continue;
    for (int e = out_begin_[p]; e < out_begin_[p + 1]; ++e)
      if (out_target_[e] == v) {
        parent_[v] = p, slot_[v] = e - out_begin_[p];
        break;
      }
  }
  domain_group_.assign(domains_, 0);
  int groups = 1;
  for (int dom = 0; dom < domains_; ++dom) {
    domain_group_[dom] = std::max(0, locations_[dom * domain_size_].leaf_group);
    groups = std::max(groups, domain_group_[dom] + 1);
  }
  group_first_.assign(groups, domains_);
  group_size_.assign(groups, 0);
  for (int dom = 0; dom < domains_; ++dom) {
    group_first_[domain_group_[dom]] = std::min(group_first_[domain_group_[dom]], dom);
    ++group_size_[domain_group_[dom]];
  }
  find_twins();
}

// Twin switches (parallel_links, Router::next_hops): switches with no device as neighbour and
// the same neighbours over links of the same parameters, both directions. Only where the
// weights are monotone: the argument that twins are crossed alike needs Dijkstra's exact
// distances.
void Topology::find_twins() {
  const int n = static_cast<int>(vertex_count());
  twin_groups_.clear();
  aligned_twin_.assign(n, -1);
  if (!monotone_weights_) return;
  // A vertex's links as (neighbour, out-link and in-link parameters), sorted: twins have
  // equal lists. Devices and their neighbours (route ends, Router's key sources) and vertices
  // with two links to one neighbour are left out.
  using Entry = std::tuple<int, double, double, double, int, double, double, double, int>;
  std::map<std::vector<Entry>, std::vector<int>> groups;
  for (int v = spec_.devices; v < n; ++v) {
    std::vector<Entry> sig;
    bool candidate = out_begin_[v + 1] > out_begin_[v];
    for (int e = out_begin_[v]; candidate && e < out_begin_[v + 1]; ++e) {
      const int u = out_target_[e];
      candidate = u >= spec_.devices;
      const LinkInfo& out = links_[out_link_[e]];
      const LinkInfo& in = links_[out_link_[e] ^ 1];  // the other direction (add_link)
      sig.emplace_back(u, out.bandwidth_Bps, out.latency_s, out.efficiency,
                       static_cast<int>(out.kind), in.bandwidth_Bps, in.latency_s, in.efficiency,
                       static_cast<int>(in.kind));
    }
    if (!candidate) continue;
    std::sort(sig.begin(), sig.end());
    if (std::adjacent_find(sig.begin(), sig.end(), [](const Entry& a, const Entry& b) {
          return std::get<0>(a) == std::get<0>(b);
        }) != sig.end())
      continue;
    groups[std::move(sig)].push_back(v);
  }
  for (auto& [sig, twins] : groups) {
    if (twins.size() < 2) continue;
    // Aligned: out-links to the same neighbours in the same order as the first twin's.
    const int first = twins[0];
    for (int v : twins) {
      if (v == first) continue;
      bool aligned = true;
      for (int e = out_begin_[v], f = out_begin_[first]; aligned && e < out_begin_[v + 1]; ++e, ++f)
        aligned = out_target_[e] == out_target_[f];
      if (aligned) aligned_twin_[v] = first;
    }
    twin_groups_.push_back(std::move(twins));
  }
}

// The guess: swap the domains of `from` and `to` (through their first devices), and when their
// leaf groups differ, those whole groups, offset by offset; swap the rails (NIC positions in a
// domain) of those devices in every domain. Vertices past the devices follow their parent:
// sigma(v) is the slot_[v]-th out-neighbour of sigma(parent_[v]). On the fat trees built
// above this is an automorphism wherever the groups, domains and pods swapped match.
bool Topology::symmetry_map(int from, int to, std::vector<int>& sigma) const {
  const int n = static_cast<int>(vertex_count()), devices = spec_.devices;
  const int a0 = device_under(from), a = device_under(to);
  if (a0 < 0 || a < 0) return false;
  const int size = domain_size_, per_nic = devices_per_nic_;
  const int d0 = a0 / size, d1 = a / size;
  const int g0 = domain_group_[d0], g1 = domain_group_[d1];
  const int o0 = d0 - group_first_[g0], o1 = d1 - group_first_[g1];
  const int r0 = a0 % size / per_nic, r1 = a % size / per_nic;
  const auto swap = [](int x, int p, int q) { return x == p ? q : x == q ? p : x; };
  sigma.resize(n);
  const auto map_device = [&](int d) {
    const int dom = d / size, g = domain_group_[dom];
    int image = dom;
    if (g == g0 || g == g1) {
      const int offset = swap(dom - group_first_[g], o0, o1);
      const int target = g0 == g1 ? g : g == g0 ? g1 : g0;
      if (offset >= group_size_[target]) return false;
      image = group_first_[target] + offset;
    }
    const int local = d % size;
    const int moved = swap(local / per_nic, r0, r1) * per_nic + local % per_nic;
    if (moved >= size) return false;
    sigma[d] = image * size + moved;
    return sigma[d] < devices;
  };
  if (r0 != r1) {
    for (int d = 0; d < devices; ++d)
      if (!map_device(d)) return false;
  } else {
    // Rails stay: only the devices of groups g0 and g1 (contiguous domains) can move.
    std::iota(sigma.begin(), sigma.begin() + devices, 0);
    for (const int g : {g0, g1}) {
      const int first = group_first_[g] * size;
      const int last = std::min(devices, (group_first_[g] + group_size_[g]) * size);
      for (int d = first; d < last; ++d)
        if (!map_device(d)) return false;
      if (g0 == g1) break;
    }
  }
  return extend_past_devices(sigma) && sigma[from] == to;
}

// Vertices past the devices follow their parent: sigma(v) is the slot_[v]-th out-neighbour
// of sigma(parent_[v]) (parents come first: a lower index). False where that is undefined.
bool Topology::extend_past_devices(std::vector<int>& sigma) const {
  const int n = static_cast<int>(vertex_count());
  for (int v = spec_.devices; v < n; ++v) {
    if (parent_[v] < 0) return false;
    const int p = sigma[parent_[v]];
    if (out_begin_[p] + slot_[v] >= out_begin_[p + 1]) return false;
    sigma[v] = out_target_[out_begin_[p] + slot_[v]];
  }
  return true;
}

bool Topology::domain_image_map(std::span<const int> from, std::span<const int> to,
                                std::vector<int>& sigma) const {
  if (from.size() != to.size() || torus()) return false;
  const int n = static_cast<int>(vertex_count()), devices = spec_.devices, size = domain_size_;
  std::vector<int> image(domains_, -1), preimage(domains_, -1);
  for (std::size_t i = 0; i < from.size(); ++i) {
    const int a = from[i], b = to[i];
    if (a < 0 || a >= devices || b < 0 || b >= devices || a % size != b % size) return false;
    const int da = a / size, db = b / size;
    if (image[da] < 0 && preimage[db] < 0) {
      image[da] = db, preimage[db] = da;
    } else if (image[da] != db) {
      return false;
    }
  }
  // Complete to a permutation: the image's domains that are not mapped from go to the mapped
  // domains that are not an image, in order; every other domain stays.
  std::vector<int> sources, targets;
  for (int d = 0; d < domains_; ++d) {
    if (preimage[d] >= 0 && image[d] < 0) sources.push_back(d);
    if (image[d] >= 0 && preimage[d] < 0) targets.push_back(d);
  }
  for (std::size_t k = 0; k < sources.size(); ++k) image[sources[k]] = targets[k];
  for (int d = 0; d < domains_; ++d)
    if (image[d] < 0) image[d] = d;
  sigma.resize(n);
  for (int d = 0; d < devices; ++d) {
    sigma[d] = image[d / size] * size + d % size;
    if (sigma[d] >= devices) return false;  // a partial last domain
  }
  return extend_past_devices(sigma);
}

int Topology::link_image(int link, std::span<const int> sigma) const {
  const int u = sigma[ends_[link].first], v = sigma[ends_[link].second];
  int found = -1;
  for (int e = out_begin_[u]; e < out_begin_[u + 1]; ++e)
    if (out_target_[e] == v) {
      if (found >= 0) return -1;  // two links to one neighbour: no single image
      found = out_link_[e];
    }
  return found;
}

std::vector<int> Topology::torus_route(int a, int b) const {
  std::vector<int> path;
  const auto& dims = spec_.scale_up.torus_dims;
  const bool wrap = spec_.scale_up.wraparound;
  std::array<int, 3> cur = locations_[a].coord;
  const std::array<int, 3> dst = locations_[b].coord;
  const int parity = (cur[0] + cur[1] + cur[2]) & 1;
  int at = a;
  for (int dim = 0; dim < 3; ++dim) {
    const int len = dims[dim];
    int delta = dst[dim] - cur[dim];
    if (delta == 0) continue;
    int dir;  // +1 or -1
    int distance;
    if (wrap && len > 2) {
      const int fwd = ((delta % len) + len) % len;
      const int bwd = len - fwd;
      if (fwd < bwd || (fwd == bwd && parity == 0)) {
        dir = 1, distance = fwd;
      } else {
        dir = -1, distance = bwd;
      }
    } else {
      dir = delta > 0 ? 1 : -1;
      distance = std::abs(delta);
    }
    for (int i = 0; i < distance; ++i) {
      const int id = torus_links_[at][2 * dim + (dir > 0 ? 0 : 1)];
      path.push_back(id);
      at = ends_[id].second;
    }
    cur[dim] = dst[dim];
  }
  return path;
}

std::vector<int> Topology::route(int a, int b) const {
  if (a == b) return {};
  if (torus() && locations_[a].domain == locations_[b].domain) return torus_route(a, b);
  Router router(*this);
  router.share_keys_ = false;  // one destination: its own Dijkstra is the cheapest
  return router.route(a, b);
}

double Topology::path_latency_s(int a, int b) const {
  double t = 0;
  for (int id : route(a, b)) t += links_[id].latency_s;
  return t;
}

// A key's template description: what makes two keys' sources candidates for one another.
Router::Template Router::describe(int source, double offset, int key) const {
  const auto& t = topo_;
  const auto& g = t.graph();
  Template x;
  x.key = key, x.source = source, x.offset = offset;
  x.group = t.leaf_group_under(source);
  x.kind = static_cast<int>(g[source].kind), x.tier = g[source].tier;
  x.degree = t.out_degree(source);
  return x;
}

// Exactness of the keys. Dijkstra's distances, as computed in floating point, are the
// unique solution of d[s] = c, d[v] = min over links u->v of fl(d[u] + w) when adding a
// weight always grows a distance (monotone_weights_): the minimum over paths of the
// left-to-right sum of their weights. Any correct Dijkstra therefore yields the same bits
// as Boost's, and distances from b are bit for bit the minimum over b's out-links b->n of
// the distances from n started at fl(0 + w) = w (a path back through b is never shorter).
void Router::clear_keys() {
  templates_.clear();
  hop_pool_.clear();
  for (const auto& [source, offset] : key_source_) keys_at_[source].clear();
  for (auto& d : key_distances_) spare_.push_back(std::move(d));
  key_source_.clear();
  key_distances_.clear();
  ++epoch_;
}

int Router::key(int source, double offset) {
  for (const auto& [c, k] : keys_at_[source])
    if (c == offset) return k;
  const auto& t = topo_;
  const auto n = t.vertex_count();
  std::vector<double> dist;
  if (!spare_.empty()) {
    dist = std::move(spare_.back());
    spare_.pop_back();
  }
  key_by_symmetry_ = key_by_symmetry(source, offset, dist);  // verified: Dijkstra's bits
  if (!key_by_symmetry_ && t.monotone_weights_) {
    dist.assign(n, std::numeric_limits<double>::infinity());
    // Dijkstra (1959) with a binary heap and lazy deletion, over the flat out-links.
    auto later = [](const HeapEntry& x, const HeapEntry& y) { return x.distance > y.distance; };
    heap_.clear();
    dist[source] = offset;
    heap_.push_back({offset, source});
    while (!heap_.empty()) {
      std::pop_heap(heap_.begin(), heap_.end(), later);
      const auto [du, u] = heap_.back();
      heap_.pop_back();
      if (du > dist[u]) continue;  // stale entry
      for (int e = t.out_begin_[u]; e < t.out_begin_[u + 1]; ++e) {
        const double dv = du + t.out_weight_[e];
        const int v = t.out_target_[e];
        if (dv < dist[v]) {
          dist[v] = dv;
          heap_.push_back({dv, v});
          std::push_heap(heap_.begin(), heap_.end(), later);
        }
      }
    }
  } else if (!key_by_symmetry_) {
    // Weights the argument above does not cover: Boost's Dijkstra from the destination
    // itself (offset 0; distances_to makes no other keys then).
    dist.assign(n, std::numeric_limits<double>::infinity());
    const auto& g = t.graph_;
    auto weight = boost::make_transform_value_property_map(
        [](const LinkInfo& l) { return l.latency_s + kHopTieBreak_s; },
        boost::get(boost::edge_bundle, g));
    boost::dijkstra_shortest_paths(
        g, static_cast<TopologyGraph::vertex_descriptor>(source),
        boost::weight_map(weight)
            .distance_inf(std::numeric_limits<double>::infinity())  // not DBL_MAX: unreachable
            .distance_map(boost::make_iterator_property_map(dist.begin(),
                                                            boost::get(boost::vertex_index, g))));
  }
  const int k = static_cast<int>(key_source_.size());
  key_source_.emplace_back(source, offset);
  key_distances_.push_back(std::move(dist));
  keys_at_[source].emplace_back(offset, k);
  if (t.monotone_weights_) {
    // The latest key of its kind and leaf group is the template (keys by symmetry are
    // Dijkstra's bits too): a guess from the same group moves few vertices (key_by_symmetry).
    const Template mine = describe(source, offset, k);
    const auto it = std::find_if(templates_.begin(), templates_.end(), [&](const Template& x) {
      return x.alike(mine) && x.group == mine.group;
    });
    if (it != templates_.end()) {
      *it = mine;
    } else {
      templates_.push_back(mine);
    }
  }
  return k;
}

// Guess by symmetry, then verify: if sigma is an automorphism of the weighted graph taking
// template key k0's source to this one, d(sigma(v)) = d0(v) is this key's fixed point, and
// uniqueness (above) makes it Dijkstra's, bit for bit. is_automorphism checks the map on the
// vertices it moves; failing that, is_fixed_point checks the moved distances in O(links).
bool Router::key_by_symmetry(int source, double offset, std::vector<double>& dist) {
  const auto& t = topo_;
  // Guesses that keep failing (tori, uneven pods) stop being tried.
  if (!t.monotone_weights_ || !t.duplex_weights_ || symmetry_misses_ > 2 * symmetry_hits_ + 8)
    return false;
  // A template of the same kind, from the source's own leaf group if there is one.
  const Template mine = describe(source, offset, -1);
  int k0 = -1;
  for (const Template& x : templates_)
    if (x.alike(mine) && (k0 < 0 || x.group == mine.group)) k0 = x.key;
  if (k0 < 0) return false;
  bool ok = t.symmetry_map(key_source_[k0].first, source, sigma_);
  if (ok) {
    const auto& d0 = key_distances_[k0];
    dist.assign(d0.size(), std::numeric_limits<double>::quiet_NaN());  // unmapped: rejected
    for (std::size_t v = 0; v < d0.size(); ++v) dist[sigma_[v]] = d0[v];
    // An automorphism maps the template's fixed point onto this key's (checked on the
    // vertices it moves and their neighbours); else the full sweep decides.
    ok = is_automorphism(sigma_, t.out_target_.size() / 4) || is_fixed_point(source, offset, dist);
#ifndef NDEBUG
    if (ok && !is_fixed_point(source, offset, dist))
      throw std::logic_error("Router: an automorphism's distances are not the fixed point");
#endif
  }
  ++(ok ? symmetry_hits_ : symmetry_misses_);
  return ok;
}

int Topology::device_under(int v) const {
  while (v >= spec_.devices && parent_[v] >= 0) v = parent_[v];
  return v < spec_.devices ? v : -1;
}

int Topology::leaf_group_under(int v) const {
  const int d = device_under(v);
  return d >= 0 ? domain_group_[d / domain_size_] : -1;
}

// Whether sigma, a map of every vertex, is an automorphism of the weighted graph: a
// permutation under which every vertex's out-links (neighbour, Dijkstra weight) are those of
// its image. A vertex that sigma fixes, with every neighbour fixed, maps its links onto
// themselves, so only the moved vertices and their neighbours (links are duplex: in- and
// out-neighbours alike) are checked: their links, not the graph's.
bool Router::is_automorphism(std::span<const int> sigma, std::size_t max_links, bool same_links) {
  const auto& t = topo_;
  const int n = static_cast<int>(t.vertex_count());
  if (static_cast<int>(sigma.size()) != n) return false;
  mark_.resize(static_cast<std::size_t>(n), 0);  // all 0 between calls
  moved_.clear();
  checked_.clear();
  for (int v = 0; v < n; ++v)
    if (sigma[v] != v) {
      if (sigma[v] < 0 || sigma[v] >= n) {
        for (int u : moved_) mark_[u] = 0;
        return false;
      }
      moved_.push_back(v);
      mark_[v] = 1;
    }
  bool ok = true;
  // A permutation: the moved vertices' images are moved vertices, each hit once.
  for (int v : moved_) {
    char& m = mark_[sigma[v]];
    ok = ok && (m & 1) && !(m & 2);
    m |= 2;
  }
  for (int v : moved_)
    for (int e = t.out_begin_[v]; ok && e <= t.out_begin_[v + 1]; ++e) {
      const int x = e == t.out_begin_[v + 1] ? v : t.out_target_[e];
      if (mark_[x] & 4) continue;
      mark_[x] |= 4;
      checked_.push_back(x);
    }
  std::size_t links = 0;
  for (int x : checked_) links += static_cast<std::size_t>(t.out_begin_[x + 1] - t.out_begin_[x]);
  ok = ok && links <= max_links;
  // Two directed links alike: the same Dijkstra weight, and with same_links the same
  // bandwidth, latency, efficiency and kind.
  const auto alike = [&](int ex, int ey) {
    if (t.out_weight_[ex] != t.out_weight_[ey]) return false;
    if (!same_links) return true;
    const LinkInfo& lx = t.links_[t.out_link_[ex]];
    const LinkInfo& ly = t.links_[t.out_link_[ey]];
    return lx.bandwidth_Bps == ly.bandwidth_Bps && lx.latency_s == ly.latency_s &&
           lx.efficiency == ly.efficiency && lx.kind == ly.kind;
  };
  for (std::size_t i = 0; ok && i < checked_.size(); ++i) {
    const int x = checked_[i], y = sigma[x];
    const int bx = t.out_begin_[x], by = t.out_begin_[y], deg = t.out_begin_[x + 1] - bx;
    if (t.out_begin_[y + 1] - by != deg) {
      ok = false;
      break;
    }
    bool in_order = true;  // the common case: images in the image's own order
    for (int k = 0; in_order && k < deg; ++k)
      in_order = sigma[t.out_target_[bx + k]] == t.out_target_[by + k] && alike(bx + k, by + k);
    if (in_order) continue;
    // Else as sets: y's links stamped by neighbour, then each of x's images looked up and
    // used once. Two links of y to one neighbour: compared as sorted lists instead.
    if (++stamp_epoch_ == 0) std::fill(stamp_.begin(), stamp_.end(), 0), stamp_epoch_ = 1;
    stamp_.resize(static_cast<std::size_t>(n), 0);
    stamp_out_.resize(static_cast<std::size_t>(n));
    bool simple = true;
    for (int k = 0; simple && k < deg; ++k) {
      const int v = t.out_target_[by + k];
      simple = stamp_[v] != stamp_epoch_;
      stamp_[v] = stamp_epoch_;
      stamp_out_[v] = by + k;
    }
    if (simple) {
      for (int k = 0; ok && k < deg; ++k) {
        const int v = sigma[t.out_target_[bx + k]];
        ok = stamp_[v] == stamp_epoch_ && alike(bx + k, stamp_out_[v]);
        stamp_[v] = 0;  // used
      }
      continue;
    }
    if (same_links) {  // parallel links to one neighbour: not matched one to one here
      ok = false;
      break;
    }
    image_links_.clear();
    own_links_.clear();
    for (int k = 0; k < deg; ++k) {
      image_links_.emplace_back(sigma[t.out_target_[bx + k]], t.out_weight_[bx + k]);
      own_links_.emplace_back(t.out_target_[by + k], t.out_weight_[by + k]);
    }
    std::sort(image_links_.begin(), image_links_.end());
    std::sort(own_links_.begin(), own_links_.end());
    ok = image_links_ == own_links_;
  }
  for (int v : moved_) mark_[v] = 0;
  for (int v : moved_) mark_[sigma[v]] = 0;
  for (int x : checked_) mark_[x] = 0;
  return ok;
}

bool Router::is_fixed_point(int source, double offset, std::span<const double> dist) const {
  const auto& t = topo_;
  const int n = static_cast<int>(t.vertex_count());
  if (!t.monotone_weights_ || !t.duplex_weights_ || static_cast<int>(dist.size()) != n ||
      !(dist[source] == offset))
    return false;
  for (int v = 0; v < n; ++v) {
    if (v == source) continue;
    // In-links of v: its out-links reversed, of the same weight (duplex_weights_).
    double best = std::numeric_limits<double>::infinity();
    for (int e = t.out_begin_[v]; e < t.out_begin_[v + 1]; ++e)
      best = std::min(best, dist[t.out_target_[e]] + t.out_weight_[e]);
    if (!(dist[v] == best)) return false;  // NaN (an unmapped vertex) fails here
  }
  return true;
}

std::span<const double> Router::key_distances(int source, double offset, bool* by_symmetry) {
  size_arrays();
  if (key_source_.size() >= kMaxKeys) clear_keys();
  const std::size_t before = key_source_.size();
  const int k = key(source, offset);
  if (by_symmetry) *by_symmetry = key_source_.size() > before && key_by_symmetry_;
  return key_distances_[k];
}

void Router::size_arrays() {
  const auto& t = topo_;
  const auto n = t.vertex_count();
  if (dest_epoch_.size() == n) return;
  dest_epoch_.assign(n, 0);
  dest_keys_.assign(n, {});
  keys_at_.assign(n, {});
  hop_memo_.assign(n, {});
  hub_.assign(n, -1);
  for (std::size_t v = 0; v < n; ++v)
    if (t.out_begin_[v + 1] - t.out_begin_[v] >= 16) hub_[v] = hubs_++;
}

void Router::distances_to(int b) {
  const auto& t = topo_;
  size_arrays();
  if (hop_pool_.size() > kMaxMemoHops) clear_keys();
  if (dest_epoch_[b] != epoch_) {
    if (key_source_.size() >= kMaxKeys) clear_keys();
    auto& keys = dest_keys_[b];
    keys.clear();
    // Through its neighbours when every one of them has more links than b (they are shared
    // by other destinations); else from b itself. Links are duplex with equal latency both
    // ways, so distances from b are distances to b.
    const int degree = t.out_begin_[b + 1] - t.out_begin_[b];
    bool through_neighbours = share_keys_ && t.monotone_weights_;
    for (int e = t.out_begin_[b]; through_neighbours && e < t.out_begin_[b + 1]; ++e) {
      const int v = t.out_target_[e];
      through_neighbours = t.out_begin_[v + 1] - t.out_begin_[v] > degree;
    }
    if (through_neighbours) {
      for (int e = t.out_begin_[b]; e < t.out_begin_[b + 1]; ++e) {
        const int k = key(t.out_target_[e], 0.0 + t.out_weight_[e]);
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
      }
    } else {
      keys.push_back(key(b, 0.0));
    }
    if (hubs_ > 0) hop_memo_[b].assign(2 * static_cast<std::size_t>(hubs_), -1);
    dest_epoch_[b] = epoch_;
  }
  view_.clear();
  for (int k : dest_keys_[b]) view_.push_back(key_distances_[k].data());
  view_destination_ = b;
}

std::span<const int> Router::next_hops(int u) {
  const auto& t = topo_;
  const int hub = hub_[u];
  int* memo = hub >= 0 ? hop_memo_[view_destination_].data() + 2 * hub : nullptr;
  if (memo && memo[0] >= 0) return {hop_pool_.data() + memo[0], static_cast<std::size_t>(memo[1])};
  const int twin = t.aligned_twin_[u];
  if (memo && twin >= 0 && view_destination_ < t.spec_.devices) {
    // A twin switch's next hops, moved to u's out-links by position. Exact: the swap of u and
    // its twin fixes the destination (a device) and its keys' sources (a device or a
    // device's neighbour, never a twin), so both have the same distance bit for bit
    // (parallel_links' argument) and the same neighbours over links of the same parameters:
    // the equal-cost test passes at the same positions. Saves scanning every spine's links.
    const std::span<const int> first = next_hops(twin);  // a hub too (same degree): memoised
    const auto from = static_cast<std::size_t>(first.data() - hop_pool_.data());
    const std::size_t count = first.size();
    memo[0] = static_cast<int>(hop_pool_.size());
    memo[1] = static_cast<int>(count);
    for (std::size_t i = 0; i < count; ++i)
      hop_pool_.push_back(t.out_link_[t.out_begin_[u] + t.link_slot_[hop_pool_[from + i]]]);
    return {hop_pool_.data() + memo[0], count};
  }
  auto& next = candidates_;
  next.clear();
  const double du = distance(u);
  bool scale_up = false;
  for (int e = t.out_begin_[u]; e < t.out_begin_[u + 1]; ++e) {
    const double dv = distance(t.out_target_[e]);
    if (std::abs(dv + t.out_latency_[e] + kHopTieBreak_s - du) < kEqualCost_s) {
      next.push_back(t.out_link_[e]);
      scale_up = scale_up || t.out_scale_up_[e];
    }
  }
  if (scale_up)
    std::erase_if(next, [&](int id) { return t.links_[id].kind != LinkKind::scale_up; });
  if (!memo) return next;
  memo[0] = static_cast<int>(hop_pool_.size());
  memo[1] = static_cast<int>(next.size());
  hop_pool_.insert(hop_pool_.end(), next.begin(), next.end());
  return {hop_pool_.data() + memo[0], next.size()};
}

const std::vector<int>& Router::route(int a, int b) {
  path_.clear();
  if (a == b) return path_;
  if (topo_.torus() && topo_.locations_[a].domain == topo_.locations_[b].domain) {
    path_ = topo_.torus_route(a, b);
    return path_;
  }
  distances_to(b);
  const auto& t = topo_;
  if (!std::isfinite(distance(a))) return path_;  // unreachable: no path (empty)
  int u = a;
  for (int guard = 0; u != b && guard < 64; ++guard) {
    const std::span<const int> candidates = next_hops(u);
    if (candidates.empty()) break;
    // ECMP: a hash of the flow and the hop picks among equal-cost next hops.
    const std::uint64_t h =
        mix((static_cast<std::uint64_t>(a) << 32) ^ static_cast<std::uint64_t>(b) ^
            (static_cast<std::uint64_t>(u) << 17));
    const int id = candidates[h % candidates.size()];
    path_.push_back(id);
    u = t.ends_[id].second;
  }
  return path_;
}

double Router::spread_impl(int a, int b, std::vector<std::pair<int, double>>& out, bool latency) {
  out.clear();
  last_uniform_ = true;  // empty, torus and unreachable routes: no unequal shares
  if (a == b) return 0;
  const bool in_slice = topo_.torus() && topo_.locations_[a].domain == topo_.locations_[b].domain;
  if (in_slice) {
    double latency = 0;
    for (int id : topo_.torus_route(a, b)) {
      out.emplace_back(id, 1.0);
      latency += topo_.links_[id].latency_s;
    }
    return latency;
  }
  distances_to(b);
  const double da = distance(a);
  if (!std::isfinite(da)) return 0;
  const auto& t = topo_;
  const auto n = t.vertex_count();
  if (amount_.size() != n) amount_.assign(n, 0), inflow_.assign(n, 0);  // amount_: 0 between calls
  // A source with one next hop a->u hands u the whole message (share 1 / 1 == 1 exactly),
  // and the heap then holds u alone: the rest of the spread is the spread from u, whatever
  // a was (no path returns to a: every hop lowers the distance). So that rest (the suffix)
  // is memoised by (u, b) and shared by every source whose only next hop is u: the GPUs of
  // a node or a leaf sending to one destination.
  const std::span<const int> first = next_hops(a);
  const int u0 = first.size() == 1 ? t.ends_[first[0]].second : -1;
  const std::uint64_t suffix_key =
      (static_cast<std::uint64_t>(static_cast<std::uint32_t>(u0)) << 32) |
      static_cast<std::uint32_t>(b);
  if (u0 >= 0 && u0 != b) {
    const auto hit = suffixes_.find(suffix_key);
    if (hit != suffixes_.end()) {
      out.emplace_back(first[0], 1.0);
      const Suffix& sf = hit->second;
      out.insert(out.end(), suffix_pool_.begin() + sf.offset,
                 suffix_pool_.begin() + sf.offset + sf.count);
      last_uniform_ = sf.uniform;  // u's one inflow is the 1.0 from a
      return latency ? walk_latency(a, b) : 0;
    }
  }
  // Push the message down the shortest-path DAG toward b, vertices in order of decreasing
  // distance, splitting evenly among the equal-cost next hops (scale-up hops first, as in
  // route()). The work is the DAG's vertices and their links, not the graph.
  auto farther = [](const HeapEntry& x, const HeapEntry& y) { return x.distance < y.distance; };
  heap_.clear();
  heap_.push_back({da, a});
  amount_[a] = 1;
  while (!heap_.empty()) {
    std::pop_heap(heap_.begin(), heap_.end(), farther);
    const int u = heap_.back().vertex;
    heap_.pop_back();
    if (u == b) continue;
    const std::span<const int> next = next_hops(u);
    const double share = amount_[u] / std::max<std::size_t>(1, next.size());
    for (int id : next) {
      out.emplace_back(id, share);
      const int v = t.ends_[id].second;
      if (amount_[v] == 0) {
        heap_.push_back({distance(v), v});
        std::push_heap(heap_.begin(), heap_.end(), farther);
        inflow_[v] = share;
      } else if (share != inflow_[v]) {
        last_uniform_ = false;  // v sums unequal shares: their order could matter
      }
      amount_[v] += share;
    }
    amount_[u] = 0;
  }
  amount_[b] = 0;
  if (u0 >= 0 && u0 != b && !out.empty()) {
    if (suffix_pool_.size() + out.size() > kMaxSuffixEntries) {
      suffixes_.clear();
      suffix_pool_.clear();
    }
    suffixes_.emplace(suffix_key,
                      Suffix{static_cast<std::uint32_t>(suffix_pool_.size()),
                             static_cast<std::uint32_t>(out.size() - 1), last_uniform_});
    suffix_pool_.insert(suffix_pool_.end(), out.begin() + 1, out.end());
  }
  return latency ? walk_latency(a, b) : 0;
}

// Latency: every equal-cost path has the same length; take the one route() walks (its
// candidates at each vertex are the next hops spread split over).
double Router::walk_latency(int a, int b) {
  double latency = 0;
  for (int id : route(a, b)) latency += topo_.links_[id].latency_s;
  return latency;
}

// Exactness of parallel_links (twins). Let s and t be twins and sigma the map that swaps
// them (and their links) and fixes every other vertex: an automorphism of the weighted graph
// (equal neighbours over links of equal parameters; twins are never adjacent, as each would
// list itself) that fixes every device and every neighbour of a device, hence every route's
// ends and every key's source. Distances being the unique solution above, sigma maps them to
// themselves: distance(s) == distance(t) bit for bit. spread_impl's equal-cost test reads
// only distances and link parameters, so a vertex u has u->s among its next hops iff it has
// u->t, with the same share; s and t then receive the same shares from the same vertices in
// the same (heap) order, hence the same amount bit for bit, and split it evenly over next
// hops that sigma maps onto each other (s->v and t->v). Equal fractions are transitive, so
// the classes are the union (union-find) of {u->s : s twin} and {s->u : s twin} over u.
std::vector<int> Topology::parallel_links() const {
  const std::size_t m = links_.size();
  std::vector<int> rep(m);
  std::iota(rep.begin(), rep.end(), 0);
  const int n = static_cast<int>(vertex_count());
  // Union-find over link ids, the lowest id of a class as its root.
  const auto find = [&rep](int l) {
    while (rep[l] != l) l = rep[l] = rep[rep[l]];
    return l;
  };
  const auto unite = [&](int a, int b) {
    a = find(a), b = find(b);
    if (a != b) rep[std::max(a, b)] = std::min(a, b);
  };
  std::vector<int> first_out(n, -1), first_in(n, -1);  // by neighbour: a link of the class
  for (const auto& twins : twin_groups_) {
    for (int s : twins)
      for (int e = out_begin_[s]; e < out_begin_[s + 1]; ++e) {
        const int u = out_target_[e], out = out_link_[e], in = out ^ 1;
        if (first_out[u] < 0) {
          first_out[u] = out, first_in[u] = in;
        } else {
          unite(first_out[u], out);  // s->u with t->u
          unite(first_in[u], in);    // u->s with u->t
        }
      }
    for (int e = out_begin_[twins[0]]; e < out_begin_[twins[0] + 1]; ++e)
      first_out[out_target_[e]] = first_in[out_target_[e]] = -1;
  }
  for (std::size_t l = 0; l < m; ++l) rep[l] = find(static_cast<int>(l));
  return rep;
}

int Topology::diameter() const {
  const auto n = boost::num_vertices(graph_);
  int worst = 0;
  std::vector<int> dist(n);
  for (int s = 0; s < spec_.devices; ++s) {
    std::fill(dist.begin(), dist.end(), -1);
    std::queue<int> q;
    dist[s] = 0;
    q.push(s);
    // Breadth-first search (boost::breadth_first_search with a distance recorder does the
    // same; a plain queue avoids its colour map per source).
    while (!q.empty()) {
      const int u = q.front();
      q.pop();
      for (auto e : boost::make_iterator_range(boost::out_edges(u, graph_))) {
        const int v = static_cast<int>(boost::target(e, graph_));
        if (dist[v] < 0) dist[v] = dist[u] + 1, q.push(v);
      }
    }
    for (int d = 0; d < spec_.devices; ++d) worst = std::max(worst, dist[d]);
  }
  return worst;
}

double Topology::cut_bandwidth_Bps(std::span<const int> half_a) const {
  using Traits = boost::adjacency_list_traits<boost::vecS, boost::vecS, boost::directedS>;
  using FlowGraph = boost::adjacency_list<
      boost::vecS, boost::vecS, boost::directedS, boost::no_property,
      boost::property<
          boost::edge_capacity_t, double,
          boost::property<boost::edge_residual_capacity_t, double,
                          boost::property<boost::edge_reverse_t, Traits::edge_descriptor>>>>;
  const int n = static_cast<int>(boost::num_vertices(graph_));
  FlowGraph fg(n + 2);
  auto cap = boost::get(boost::edge_capacity, fg);
  auto rev = boost::get(boost::edge_reverse, fg);
  auto add = [&](int u, int v, double c) {
    auto e = boost::add_edge(u, v, fg).first;
    auto r = boost::add_edge(v, u, fg).first;
    cap[e] = c, cap[r] = 0, rev[e] = r, rev[r] = e;
  };
  double total = 0;
  for (std::size_t id = 0; id < links_.size(); ++id) {
    add(ends_[id].first, ends_[id].second, links_[id].bandwidth_Bps);
    total += links_[id].bandwidth_Bps;
  }
  const int source = n, sink = n + 1;
  std::vector<char> in_a(spec_.devices, 0);
  for (int d : half_a)
    if (d >= 0 && d < spec_.devices) in_a[d] = 1;
  const double unlimited = 2 * total + 1;
  for (int d = 0; d < spec_.devices; ++d) {
    if (in_a[d]) {
      add(source, d, unlimited);
    } else {
      add(d, sink, unlimited);
    }
  }
  return boost::push_relabel_max_flow(fg, source, sink);
}

double Topology::bisection_bandwidth_Bps() const {
  if (spec_.devices < 2) return 0;
  std::vector<int> half;
  for (int d = 0; d < spec_.devices / 2; ++d) half.push_back(d);
  double best = cut_bandwidth_Bps(half);
  if (torus() && domains_ == 1) {
    const auto& dims = spec_.scale_up.torus_dims;
    for (int dim = 0; dim < 3; ++dim) {
      if (dims[dim] < 2) continue;
      half.clear();
      for (int d = 0; d < spec_.devices; ++d)
        if (locations_[d].coord[dim] < dims[dim] / 2) half.push_back(d);
      best = std::min(best, cut_bandwidth_Bps(half));
    }
  }
  return best;
}

}  // namespace moesim::hw
