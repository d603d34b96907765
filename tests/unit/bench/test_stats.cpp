// Percentiles follow the stated definition (linear interpolation, numpy's default): the expected values
// below were computed once with numpy 2.x np.percentile(xs, q) in /tmp/pyref, not by our code.
#include <gtest/gtest.h>

#include "bench/stats.h"

using namespace hotrod::bench;

TEST(BenchStats, PercentileMatchesNumpyLinear) {
    const std::vector<double> a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    EXPECT_DOUBLE_EQ(percentile(a, 0.0), 1.0);
    EXPECT_DOUBLE_EQ(percentile(a, 0.5), 5.5);
    EXPECT_NEAR(percentile(a, 0.9), 9.1, 1e-12);
    EXPECT_NEAR(percentile(a, 0.99), 9.91, 1e-12);
    EXPECT_DOUBLE_EQ(percentile(a, 1.0), 10.0);
    // Unsorted input, as latencies arrive.
    const std::vector<double> b = {237, 231, 247, 240, 233, 236, 238, 239, 235, 241, 234, 244};
    EXPECT_DOUBLE_EQ(percentile(b, 0.5), 237.5);
    EXPECT_NEAR(percentile(b, 0.9), 243.7, 1e-9);
    EXPECT_NEAR(percentile(b, 0.99), 246.67, 1e-9);
    EXPECT_NEAR(percentile({3, 1, 2}, 0.9), 2.8, 1e-12);
    EXPECT_NEAR(percentile({10, 20, 30, 40}, 0.9), 37.0, 1e-12);
    EXPECT_DOUBLE_EQ(percentile({5}, 0.9), 5.0);
}

TEST(BenchStats, EmptyAndClamped) {
    EXPECT_EQ(percentile({}, 0.5), 0.0);
    EXPECT_DOUBLE_EQ(percentile({1, 2}, -1), 1.0);
    EXPECT_DOUBLE_EQ(percentile({1, 2}, 2), 2.0);
    const Summary s = summarize(std::vector<double>{});
    EXPECT_EQ(s.n, 0);
}

TEST(BenchStats, Summary) {
    const std::vector<double> v = {40, 10, 30, 20};
    const Summary s = summarize(v);
    EXPECT_EQ(s.n, 4);
    EXPECT_DOUBLE_EQ(s.p50, 25);
    EXPECT_DOUBLE_EQ(s.p90, 37);
    EXPECT_DOUBLE_EQ(s.avg, 25);
    EXPECT_DOUBLE_EQ(s.min, 10);
    EXPECT_DOUBLE_EQ(s.max, 40);
}

TEST(BenchStats, CallsPerSecond) {
    EXPECT_DOUBLE_EQ(calls_per_s(10, 2000), 5.0);
    EXPECT_DOUBLE_EQ(calls_per_s(12, 500), 24.0);
    EXPECT_EQ(calls_per_s(3, 0), 0.0);
}
