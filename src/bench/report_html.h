// --html: one self-contained page (inline CSS and SVG, no scripts, no external fonts or links) with the
// verdict, the summary table, three charts (p50/p90 per payload per target, calls/s by concurrency, latency
// distributions) and the full text report.
#pragma once

#include <string>

#include "bench/results.h"
#include "bench/workload.h"

namespace hotrod::bench {

std::string html_report(const Workload& w, const BenchResult& r);

}  // namespace hotrod::bench
