// The event engine's ordering and the flow network's max-min fairness, on cases worked by
// hand (docs/simulate.md).
#include <gtest/gtest.h>

#include <vector>

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

}  // namespace
}  // namespace moesim::sim::event
