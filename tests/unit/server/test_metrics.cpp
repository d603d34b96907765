// /metrics text: checked line by line against the Prometheus text format rules (a sample line is
// `name{label="v",...} value`; a family's HELP and TYPE come before its samples; histogram buckets are cumulative
// and le="+Inf" equals _count), not against a stored copy of our own output.
#include <gtest/gtest.h>

#include <map>
// GCC 12 reports a false "may be used uninitialized" inside libstdc++'s <regex> when optimising with the
// sanitizers on (RelWithDebInfo + ASan); the warning is in the library's code, not ours.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#include <sstream>

#include "server/metrics.h"

namespace hotrod::server {
namespace {

struct Parsed {
    std::map<std::string, double> samples;  // "name{labels}" -> value
    std::map<std::string, std::string> types;
};

Parsed parse_prometheus(const std::string& text) {
    static const std::regex sample_re(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|\+Inf|NaN)$)");
    static const std::regex type_re(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary)$)");
    Parsed p;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::smatch m;
        if (line.starts_with("# HELP ")) continue;
        if (std::regex_match(line, m, type_re)) {
            p.types[m[1]] = m[2];
            continue;
        }
        EXPECT_TRUE(std::regex_match(line, m, sample_re)) << "not a sample line: " << line;
        if (m.empty()) continue;
        std::string family = m[1];
        for (const char* suffix : {"_bucket", "_sum", "_count"})
            if (family.ends_with(suffix) && !p.types.count(family)) family.resize(family.size() - strlen(suffix));
        EXPECT_TRUE(p.types.count(family)) << "sample before its TYPE: " << line;
        p.samples[std::string(m[1]) + std::string(m[2])] = std::stod(m[3]);
    }
    return p;
}

TEST(Metrics, RenderIsValidPrometheusText) {
    Metrics m;
    m.record_request("chat", 200);
    m.record_request("chat", 200);
    m.record_request("chat", 400);
    m.record_ttft(3);
    m.record_ttft(700);
    m.record_latency(1200);
    m.add_in_flight(2);
    m.add_in_flight(-1);
    engine::EngineStats s;
    s.queue_depth = 3;
    s.busy_slots = 2;
    s.kv_blocks_used = 10;
    s.prefix_lookups = 4;
    s.prefix_hits = 1;
    s.prompt_tokens = 100;
    s.step_seconds = 2.5;
    s.forward_seconds = 2.25;
    s.backend_counters.push_back({"cuda_graphs_replayed", "Replays.", 41});
    const Parsed p = parse_prometheus(m.render(&s));
    EXPECT_DOUBLE_EQ(p.samples.at("hotrod_engine_step_seconds_total"), 2.5);
    EXPECT_DOUBLE_EQ(p.samples.at("hotrod_engine_forward_seconds_total"), 2.25);
    EXPECT_EQ(p.samples.at("hotrod_backend_cuda_graphs_replayed_total"), 41);
    EXPECT_EQ(p.types.at("hotrod_backend_cuda_graphs_replayed_total"), "counter");
    EXPECT_EQ(p.samples.at("hotrod_requests_total{endpoint=\"chat\",status=\"200\"}"), 2);
    EXPECT_EQ(p.samples.at("hotrod_requests_total{endpoint=\"chat\",status=\"400\"}"), 1);
    EXPECT_EQ(p.samples.at("hotrod_requests_in_flight"), 1);
    EXPECT_EQ(p.samples.at("hotrod_queue_depth"), 3);
    EXPECT_EQ(p.samples.at("hotrod_busy_slots"), 2);
    EXPECT_EQ(p.samples.at("hotrod_kv_blocks_used"), 10);
    EXPECT_EQ(p.samples.at("hotrod_prompt_tokens_total"), 100);
    EXPECT_DOUBLE_EQ(p.samples.at("hotrod_prefix_cache_hit_rate"), 0.25);
    EXPECT_EQ(p.types.at("hotrod_time_to_first_token_seconds"), "histogram");
    // 3 ms falls in le=0.005; 700 ms in le=1; cumulative counts; +Inf equals _count.
    EXPECT_EQ(p.samples.at("hotrod_time_to_first_token_seconds_bucket{le=\"0.005\"}"), 1);
    EXPECT_EQ(p.samples.at("hotrod_time_to_first_token_seconds_bucket{le=\"0.5\"}"), 1);
    EXPECT_EQ(p.samples.at("hotrod_time_to_first_token_seconds_bucket{le=\"1\"}"), 2);
    EXPECT_EQ(p.samples.at("hotrod_time_to_first_token_seconds_bucket{le=\"+Inf\"}"), 2);
    EXPECT_EQ(p.samples.at("hotrod_time_to_first_token_seconds_count"), 2);
    EXPECT_NEAR(p.samples.at("hotrod_time_to_first_token_seconds_sum"), 0.703, 1e-9);
    EXPECT_EQ(p.samples.at("hotrod_request_latency_seconds_bucket{le=\"1\"}"), 0);
    EXPECT_EQ(p.samples.at("hotrod_request_latency_seconds_bucket{le=\"2.5\"}"), 1);
}

TEST(Metrics, WhileLoadingOnlyServerCounters) {
    Metrics m;
    const Parsed p = parse_prometheus(m.render(nullptr));
    EXPECT_EQ(p.samples.at("hotrod_model_loaded"), 0);
    EXPECT_FALSE(p.samples.count("hotrod_busy_slots"));
}

}  // namespace
}  // namespace hotrod::server
