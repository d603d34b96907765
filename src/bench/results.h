// What a benchmark run produced: per target, every request as a Sample (raw reply + verdict + timing), and
// the queries the reports share (select a test's samples, latency summary, valid count, wall time).
#pragma once

#include <string>
#include <vector>

#include "bench/http_client.h"
#include "bench/request.h"
#include "bench/stats.h"
#include "bench/validate.h"

namespace hotrod::bench {

// Test names as they appear in samples and the JSON output.
inline constexpr const char* kWarmup = "warmup";
inline constexpr const char* kLatency = "latency";        // TEST 1: each payload, `rounds` sequential calls
inline constexpr const char* kSequential = "sequential";  // TEST 2: medium payload, sequential_calls calls
inline constexpr const char* kConcurrent = "concurrent";  // TEST 3: medium payload, c in flight, c * calls_per_slot

struct Sample {
    std::string test;
    std::string payload;
    int concurrency = 1;
    int index = 0;          // order of issue within its batch
    double start_ms = 0;    // since the start of the batch (steady clock)
    double end_ms = 0;
    Reply reply;
    Verdict verdict;
};

struct TargetSpec {
    std::string name;
    std::string url;            // may be empty for a spawned target: then read from the command's --port
    std::string spawn_command;  // empty: the server is already running
};

struct TargetResult {
    TargetSpec spec;
    std::string url;          // the URL used
    std::string model_id;     // first id of /v1/models, for the report ("" when not offered)
    bool alive = false;
    std::string error;        // why the target is dead (not ready, warm-up failed)
    double ready_ms = -1;     // spawned only: start -> /health or /v1/models 200
    std::string log_path;     // spawned only: the server's output
    std::vector<Sample> samples;
};

struct BenchOptions {
    int rounds = 12;                        // TEST 1 calls per payload
    int sequential_calls = 10;              // TEST 2
    std::vector<int> concurrency = {2, 4};  // TEST 3 levels
    int calls_per_slot = 6;                 // TEST 3 calls = level * this (2 -> 12, 4 -> 24, as published)
    int timeout_ms = 120'000;               // one request, whole
    int ready_timeout_ms = 300'000;         // a spawned server's start
    RequestOptions request;
    std::string log_dir = "/tmp";           // spawned servers' logs: <log_dir>/hotrod-bench-<name>.log
};

struct BenchResult {
    std::string workload_name;
    std::string workload_path;
    BenchOptions options;
    std::string date;  // UTC, ISO 8601, at start
    std::string host;  // hostname, CPU model, core count
    std::vector<TargetResult> targets;
};

// Samples of one target in one test; payload "" matches any, concurrency 0 matches any.
std::vector<const Sample*> select(const TargetResult& t, const std::string& test, const std::string& payload = "",
                                  int concurrency = 0);
// Latency over the samples answered with HTTP 200 and no transport error (an invalid reply still counts: the
// server did the work); failed calls are counted in n_failed instead.
Summary latency_summary(const std::vector<const Sample*>& s);
int n_failed(const std::vector<const Sample*>& s);
int n_valid(const std::vector<const Sample*>& s);
// Wall time of a batch: last end - first start. Calls/s of a batch = answered calls / wall time.
double wall_ms(const std::vector<const Sample*>& s);
double batch_calls_per_s(const std::vector<const Sample*>& s);
// TTFT and decode tokens/s of streamed, answered samples (n == 0 when the server did not stream).
Summary ttft_summary(const std::vector<const Sample*>& s);
Summary tokens_per_s_summary(const std::vector<const Sample*>& s);

}  // namespace hotrod::bench
