// The text report, in the layout of the published head-to-head (shared/reference/llama.cpp-vs-mlx-benchmark.txt):
// header and readiness, TEST 1..4, time to first token and decode rate, VERDICT, then the summary table.
#pragma once

#include <string>

#include "bench/results.h"
#include "bench/workload.h"

namespace hotrod::bench {

std::string text_report(const Workload& w, const BenchResult& r);

}  // namespace hotrod::bench
