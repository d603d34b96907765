// --json: every raw sample of the run (timings, status, content, verdict) with the options and targets, so
// any figure of the report can be recomputed elsewhere.
#pragma once

#include <nlohmann/json.hpp>

#include "bench/results.h"
#include "bench/workload.h"

namespace hotrod::bench {

nlohmann::json json_report(const Workload& w, const BenchResult& r);

}  // namespace hotrod::bench
