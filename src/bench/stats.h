// Latency statistics. Percentiles use linear interpolation between closest ranks (numpy's default "linear",
// Hyndman & Fan type 7): sort x ascending, h = (n - 1) * p, result = x[floor h] + (h - floor h) *
// (x[floor h + 1] - x[floor h]). So p50 of an even count is the mean of the middle two, p0 = min, p100 = max.
#pragma once

#include <span>
#include <vector>

namespace hotrod::bench {

// p in [0, 1]; an empty input gives 0 (the report prints "-" where n == 0).
double percentile(std::vector<double> values, double p);

struct Summary {
    int n = 0;
    double p50 = 0, p90 = 0, avg = 0, min = 0, max = 0;
};

Summary summarize(std::span<const double> values);

// Calls per second of a batch: n_calls / (wall_ms / 1000); 0 when wall_ms <= 0.
double calls_per_s(int n_calls, double wall_ms);

}  // namespace hotrod::bench
