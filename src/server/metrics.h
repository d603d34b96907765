// Metrics: the server's own counters (requests by endpoint and status, time-to-first-token and latency
// histograms, requests in flight) and their rendering, with the engine's snapshot, as Prometheus text format
// (version 0.0.4) for GET /metrics. Thread-safe: every HTTP thread records, /metrics reads.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "engine/engine.h"

namespace hotrod::server {

// Cumulative histogram with fixed upper bounds in seconds (the last bucket, +Inf, is implicit).
class Histogram {
public:
    static constexpr std::array<double, 14> kBoundsSeconds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                              1.0,   2.5,  5.0,   10.0, 30.0, 60.0, 120.0};
    void observe(double seconds);
    // Appends "<name>_bucket{le=...} n" lines, then _sum and _count.
    void render(std::string& out, const std::string& name) const;

private:
    std::array<uint64_t, kBoundsSeconds.size() + 1> counts_{};  // per bucket, not cumulative; last: +Inf
    double sum_ = 0;
    uint64_t count_ = 0;
};

// The HTTP front's own gauges (http_gate.h), read when /metrics is rendered.
struct HttpGauges {
    int connections = 0;  // open: served by a worker or waiting for one
    int served = 0;       // being served by a worker thread
};

class Metrics {
public:
    // One finished request (any endpoint, any status; status 499 is a client that went away).
    void record_request(const std::string& endpoint, int status);
    // A generation that produced its first token / finished, in milliseconds from arrival.
    void record_ttft(double ms);
    void record_latency(double ms);
    void add_in_flight(int delta);
    int in_flight() const;

    // The whole /metrics page: server counters and gauges, then the engine's (stats null while the model loads).
    std::string render(const engine::EngineStats* stats, HttpGauges http = {}) const;

private:
    mutable std::mutex mu_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;  // (endpoint, status) -> count
    Histogram ttft_, latency_;
    int in_flight_ = 0;
};

}  // namespace hotrod::server
