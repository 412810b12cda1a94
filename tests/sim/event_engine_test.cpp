// The event engine's ordering and the flow network's max-min fairness, on cases worked by
// hand (docs/simulate.md).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "hardware/topology.hpp"
#include "sim/event/engine.hpp"
#include "sim/event/flow_network.hpp"

namespace moesim::sim::event {
namespace {

TEST(EventEngine, EarliestFirstTiesInSchedulingOrder) {
  Engine e;
  e.schedule(2.0, 0, 1);
  e.schedule(1.0, 0, 2);
  e.schedule(2.0, 0, 3);  // same time as the first: after it
  e.schedule(1.0, 0, 4);
  std::vector<std::int64_t> order;
  e.run([&](Engine& eng, const Event& ev) {
    order.push_back(ev.a);
    if (ev.a == 2) eng.schedule(eng.now_s(), 0, 5);  // now: after everything already at 1.0
  });
  EXPECT_EQ(order, (std::vector<std::int64_t>{2, 4, 5, 1, 3}));
  EXPECT_DOUBLE_EQ(e.now_s(), 2.0);
  EXPECT_EQ(e.processed(), 5u);
}

TEST(EventEngine, RefusesThePast) {
  Engine e;
  e.schedule(1.0, 0);
  e.pop();
  EXPECT_THROW(e.schedule(0.5, 0), std::logic_error);
}

// Two flows on one 10 B/s link: each gets half (5 B/s).
TEST(MaxMinFairness, TwoFlowsOnOneLinkGetHalfEach) {
  const auto r = max_min_rates({10.0}, {{0}, {0}});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_DOUBLE_EQ(r[0], 5.0);
  EXPECT_DOUBLE_EQ(r[1], 5.0);
}

// Flow A crosses links 0 (10 B/s) and 1 (2 B/s); flow B only link 0. A is held to 2 B/s by
// link 1, so B gets the rest of link 0: 10 - 2 = 8 B/s (not the equal split 5).
TEST(MaxMinFairness, AFlowLimitedElsewhereLeavesTheRest) {
  const auto r = max_min_rates({10.0, 2.0}, {{0, 1}, {0}});
  EXPECT_DOUBLE_EQ(r[0], 2.0);
  EXPECT_DOUBLE_EQ(r[1], 8.0);
}

// The classic parking lot: links 0 and 1 of 1 B/s; flow 0 crosses both, flows 1 and 2 one
// each: every flow gets 1/2 (Bertsekas & Gallager Example 6.6-like).
TEST(MaxMinFairness, ParkingLot) {
  const auto r = max_min_rates({1.0, 1.0}, {{0, 1}, {0}, {1}});
  for (double x : r) EXPECT_DOUBLE_EQ(x, 0.5);
}

// Weighted (coflow) form: an entity using 2 units of link 0 per unit of rate, beside a flow
// of weight 1, on 9 B/s: common level x with 2x + x = 9, so x = 3; capped entities stop at
// their cap and leave the rest.
TEST(MaxMinFairness, WeightsAndCaps) {
  auto r = max_min_rates({9.0}, {{0}, {0}}, {{2.0}, {1.0}}, {});
  EXPECT_DOUBLE_EQ(r[0], 3.0);
  EXPECT_DOUBLE_EQ(r[1], 3.0);
  r = max_min_rates({9.0}, {{0}, {0}}, {{2.0}, {1.0}}, {1.0, 100.0});
  EXPECT_DOUBLE_EQ(r[0], 1.0);
  EXPECT_DOUBLE_EQ(r[1], 7.0);
}

// Rates are recomputed when a flow ends: two 10-byte flows on a 10 B/s link share it (5 B/s
// each) for 1 s; when the short one (5 bytes) ends, the other gets all 10 B/s and its last
// 5 bytes take 0.5 s: it ends at 1.5 s.
TEST(FlowNetwork, RatesChangeWhenAFlowEnds) {
  FlowNetwork net({10.0});
  const std::vector<int> path{0};
  net.add(&path, 5.0, 1);
  net.add(&path, 10.0, 2);
  net.solve();
  EXPECT_DOUBLE_EQ(net.next_finish_s(), 1.0);
  net.advance_to(1.0);
  std::vector<std::int64_t> done;
  net.collect_finished(done);
  EXPECT_EQ(done, (std::vector<std::int64_t>{1}));
  net.solve();
  EXPECT_DOUBLE_EQ(net.next_finish_s(), 1.5);
  net.advance_to(1.5);
  done.clear();
  net.collect_finished(done);
  EXPECT_EQ(done, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(net.active(), 0u);
}

// Only contended links enter FlowNetwork's recomputation. Two coflows of coefficient 5 and
// cap 1 on a 10 B/s link fill it exactly at their caps (5 + 5 = 10: the link is cold), so
// both run at 1; a third makes it hot: 5x * 3 = 10, x = 2/3 each; when it ends, back to 1.
TEST(FlowNetwork, ColdLinksLeaveCoflowsAtTheirCaps) {
  FlowNetwork net({10.0});
  const std::vector<int> path{0};
  const std::vector<double> coef{5.0};
  const int a = net.add(&path, 1.0, 1, &coef, 1.0);
  const int b = net.add(&path, 1.0, 2, &coef, 1.0);
  net.solve();
  EXPECT_EQ(net.filled_pairs(), 0u);  // nothing contended: no filling at all
  EXPECT_DOUBLE_EQ(net.rate(a), 1.0);
  EXPECT_DOUBLE_EQ(net.rate(b), 1.0);
  const int c = net.add(&path, 0.5, 3, &coef, 1.0);
  net.solve();
  EXPECT_DOUBLE_EQ(net.rate(a), 2.0 / 3);
  EXPECT_DOUBLE_EQ(net.rate(c), 2.0 / 3);
  net.advance_to(0.75);  // c's 0.5 s-alone of work at 2/3
  std::vector<std::int64_t> done;
  net.collect_finished(done);
  EXPECT_EQ(done, (std::vector<std::int64_t>{3}));
  net.solve();
  EXPECT_DOUBLE_EQ(net.rate(a), 1.0);
  EXPECT_DOUBLE_EQ(net.rate(b), 1.0);
}

// The hot-link recomputation against the full progressive filling (max_min_rates over every
// active entity and every link), on random networks through a sequence of starts and ends:
// dropping a cold link's constraint (sum of coefficient * cap <= capacity) leaves the
// feasible set, hence the max-min rates, unchanged (Bertsekas & Gallager Sec. 6.5.2), so the
// two agree to rounding. Half the networks are coflows (caps 1, coefficients up to a link's
// capacity, many links exactly full at rate 1), half plain flows (no cap: every link hot).
TEST(FlowNetwork, HotLinkRecomputationMatchesTheFullFilling) {
  std::mt19937_64 rng(12345);
  auto uniform = [&rng] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  for (int trial = 0; trial < 200; ++trial) {
    const bool coflows = trial % 2 == 0;
    const int L = 3 + static_cast<int>(rng() % 10);
    std::vector<double> capacity(static_cast<std::size_t>(L));
    for (double& c : capacity) c = 1 + std::floor(uniform() * 8);  // small integers: ties
    const int E = 4 + static_cast<int>(rng() % 20);
    std::vector<std::vector<int>> paths(static_cast<std::size_t>(E));
    std::vector<std::vector<double>> coefs(static_cast<std::size_t>(E));
    for (int e = 0; e < E; ++e)
      for (int l = 0; l < L; ++l)
        if (rng() % 3 == 0) {
          paths[static_cast<std::size_t>(e)].push_back(l);
          // Coflows: a share of the link alone, often all of it (rate 1 fills it).
          const double c = coflows ? capacity[static_cast<std::size_t>(l)] *
                                         (rng() % 2 ? 1.0 : std::floor(1 + uniform() * 4) / 4)
                                   : 1.0;
          coefs[static_cast<std::size_t>(e)].push_back(c);
        }
    FlowNetwork net(capacity);
    std::vector<int> id(static_cast<std::size_t>(E), -1);
    std::vector<int> active;  // entity indices in start order
    int next = 0;
    for (int step = 0; step < 3 * E && (next < E || !active.empty()); ++step) {
      // Start one or two entities, then check the rates, then run to the next end.
      for (int k = 0; k < 1 + static_cast<int>(rng() % 2) && next < E; ++k, ++next) {
        const auto u = static_cast<std::size_t>(next);
        id[u] = net.add(&paths[u], 0.1 + uniform(), next, &coefs[u],
                        coflows ? 1.0 : std::numeric_limits<double>::infinity());
        active.push_back(next);
      }
      net.solve();
      std::vector<std::vector<int>> p;
      std::vector<std::vector<double>> c;
      std::vector<double> caps;
      for (int e : active) {
        p.push_back(paths[static_cast<std::size_t>(e)]);
        c.push_back(coefs[static_cast<std::size_t>(e)]);
        caps.push_back(coflows ? 1.0 : std::numeric_limits<double>::infinity());
      }
      const auto full = max_min_rates(capacity, p, c, caps);
      for (std::size_t i = 0; i < active.size(); ++i) {
        const double got = net.rate(id[static_cast<std::size_t>(active[i])]);
        const double want =
            p[i].empty() && !coflows ? std::numeric_limits<double>::infinity() : full[i];
        if (std::isinf(want)) {
          EXPECT_TRUE(std::isinf(got));
        } else {
          EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, want))
              << "trial " << trial << " step " << step << " entity " << active[i];
        }
      }
      if (net.next_finish_s() < std::numeric_limits<double>::infinity()) {
        net.advance_to(net.next_finish_s());
        std::vector<std::int64_t> done;
        net.collect_finished(done);
        for (std::int64_t e : done) std::erase(active, static_cast<int>(e));
      }
    }
  }
}

TEST(FlowNetwork, ParallelLinksAsOneConstraintGiveTheSameRates) {
  // hw::Topology::parallel_links: the links of a class carry every message with the same
  // fraction and have one capacity, so keeping one link per class (what the simulator hands
  // FlowNetwork) drops only repeated constraints. On random small fat trees, coflows and
  // plain flows over Router::spread routes get the same rates, bit for bit, through starts
  // and ends, with every link or one per class.
  std::mt19937_64 rng(2024);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % (hi - lo + 1)); };
  auto uniform = [&rng] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  int merged = 0;
  for (int trial = 0; trial < 60; ++trial) {
    hw::ClusterSpec c;
    c.name = "random";
    c.scale_up.kind = hw::ScaleUpKind::nvswitch;
    c.scale_up.devices_per_domain = pick(1, 8);
    c.scale_up.link = {400e9, 1e-6, 0.8};
    c.devices = c.scale_up.devices_per_domain * pick(2, 24);
    c.scale_out.kind =
        pick(0, 1) ? hw::ScaleOutKind::fat_tree : hw::ScaleOutKind::rail_optimized_fat_tree;
    c.scale_out.nics_per_domain = pick(1, c.scale_up.devices_per_domain);
    c.scale_out.tiers = pick(2, 3);
    c.scale_out.oversubscription = pick(1, 3);
    c.scale_out.switch_radix = pick(4, 16);
    c.scale_out.link = {50e9, 2e-6, 0.96};
    const hw::Topology t(c);
    hw::Router router(t);
    const std::vector<int> cls = t.parallel_links();
    std::vector<double> capacity(t.directed_link_count());
    for (std::size_t l = 0; l < capacity.size(); ++l)
      capacity[l] = t.link(static_cast<int>(l)).effective_Bps();
    const bool coflows = trial % 3 != 0;
    // Entities: a coflow folds a few messages (per link: the sum of rate x fraction, links in
    // ascending order); a plain flow is one message with its fractions as coefficients.
    const int E = pick(4, 24);
    std::vector<std::vector<int>> all_links(E), one_links(E);
    std::vector<std::vector<double>> all_coef(E), one_coef(E);
    std::vector<double> use(capacity.size(), 0.0);
    std::vector<char> in(capacity.size(), 0);
    for (int e = 0; e < E; ++e) {
      std::vector<int> touched;
      for (int m = 0, n = coflows ? pick(1, 6) : 1; m < n; ++m) {
        const int a = pick(0, c.devices - 1), b = pick(0, c.devices - 1);
        const double rate = coflows ? 1e9 * (1 + std::floor(uniform() * 50)) : 1.0;
        router.spread(a, b, [&](int l, double f) {
          const auto u = static_cast<std::size_t>(l);
          if (!in[u]) in[u] = 1, touched.push_back(l);
          use[u] += rate * f;
        });
      }
      std::sort(touched.begin(), touched.end());
      for (int l : touched) {
        const auto u = static_cast<std::size_t>(l);
        all_links[e].push_back(l), all_coef[e].push_back(use[u]);
        if (cls[u] == l) one_links[e].push_back(l), one_coef[e].push_back(use[u]);
        use[u] = 0, in[u] = 0;
      }
      if (one_links[e].size() < all_links[e].size()) ++merged;
    }
    const double cap = coflows ? 1.0 : std::numeric_limits<double>::infinity();
    FlowNetwork all(capacity), one(capacity);
    std::vector<int> id_all(E), id_one(E);
    int next = 0;
    for (int step = 0; step < 3 * E && (next < E || all.active() > 0); ++step) {
      for (int k = 0; k < pick(1, 2) && next < E; ++k, ++next) {
        const double work = coflows ? 0.1 + uniform() : 1e6 * (1 + uniform());
        id_all[next] = all.add(&all_links[next], work, next, &all_coef[next], cap);
        id_one[next] = one.add(&one_links[next], work, next, &one_coef[next], cap);
      }
      all.solve();
      one.solve();
      for (int e = 0; e < next; ++e)
        EXPECT_EQ(all.rate(id_all[e]), one.rate(id_one[e]))
            << "trial " << trial << " step " << step;
      ASSERT_EQ(all.next_finish_s(), one.next_finish_s()) << "trial " << trial;
      if (all.next_finish_s() < std::numeric_limits<double>::infinity()) {
        all.advance_to(all.next_finish_s());
        one.advance_to(one.next_finish_s());
        std::vector<std::int64_t> done_all, done_one;
        all.collect_finished(done_all);
        one.collect_finished(done_one);
        ASSERT_EQ(done_all, done_one) << "trial " << trial;
      }
    }
  }
  EXPECT_GT(merged, 100);  // the classes were there to merge
}

}  // namespace
}  // namespace moesim::sim::event
