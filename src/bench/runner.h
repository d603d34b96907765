// Runs the published tests against each target in turn: (spawn and wait for ready), warm-up, TEST 1 latency
// by payload, TEST 2 sequential throughput, TEST 3 concurrent throughput per level, then stop. TEST 4
// (quality) is read from the samples of the other tests by the report. A dead target is recorded, not fatal.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bench/results.h"
#include "bench/workload.h"

namespace hotrod::bench {

using ProgressFn = std::function<void(const std::string& line)>;

// One batch: n_calls requests of one payload with `concurrency` in flight (a worker per slot pulling the next
// call index), start/end times relative to the batch start.
std::vector<Sample> run_batch(const std::string& url, const Workload& w, const Payload& p, const BenchOptions& opt,
                              const std::string& test, int n_calls, int concurrency);

// Targets run one after another, never overlapping, so they do not compete for the CPU; a spawned target
// is started just before its tests and stopped right after them.
BenchResult run_bench(const Workload& w, const std::vector<TargetSpec>& targets, const BenchOptions& opt,
                      const ProgressFn& progress = {});

}  // namespace hotrod::bench
