// Percentiles, summaries and rates; see stats.h for the definitions.
#include "bench/stats.h"

#include <algorithm>
#include <cmath>

namespace hotrod::bench {

double percentile(std::vector<double> x, double p) {
    if (x.empty()) return 0;
    std::sort(x.begin(), x.end());
    p = std::clamp(p, 0.0, 1.0);
    const double h = double(x.size() - 1) * p;
    const size_t lo = size_t(std::floor(h));
    const size_t hi = std::min(lo + 1, x.size() - 1);
    return x[lo] + (h - double(lo)) * (x[hi] - x[lo]);
}

Summary summarize(std::span<const double> values) {
    Summary s;
    s.n = int(values.size());
    if (values.empty()) return s;
    std::vector<double> v(values.begin(), values.end());
    s.p50 = percentile(v, 0.5);
    s.p90 = percentile(v, 0.9);
    double sum = 0;
    for (double x : v) sum += x;
    s.avg = sum / double(v.size());
    auto [mn, mx] = std::minmax_element(v.begin(), v.end());
    s.min = *mn;
    s.max = *mx;
    return s;
}

double calls_per_s(int n_calls, double wall_ms) { return wall_ms > 0 ? double(n_calls) * 1000.0 / wall_ms : 0.0; }

}  // namespace hotrod::bench
