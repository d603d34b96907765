// The runner against fake servers whose delays and replies are constructed (fake_server.h): percentiles,
// calls/s and valid counts come out as built, a dropping target counts failures, a dead one is reported.
// Timing bounds: a reply can never be faster than its constructed delay (sleep_for waits at least that long),
// so lower bounds are tight; upper bounds allow kSlackMs of loopback, ASan and a loaded 2-core machine.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "bench/report_html.h"
#include "bench/report_json.h"
#include "bench/report_text.h"
#include "bench/runner.h"
#include "bench/summary.h"
#include "fake_server.h"

using namespace hotrod::bench;
using hotrod::bench::testing::FakeServer;

namespace {

constexpr double kSlackMs = 30;

Workload fake_workload() {
    return parse_workload(R"({"name": "fake", "system": "classify", "max_tokens": 12, "temperature": 0,
        "phases": ["planning", "testing", "idle"], "expected_phase": "testing",
        "payloads": {"small": "small", "medium": "medium", "large": "large"}})",
                          "fake.json");
}

BenchOptions small_options() {
    BenchOptions o;
    o.rounds = 4;
    o.sequential_calls = 6;
    o.concurrency = {2, 4};
    o.calls_per_slot = 3;
    o.timeout_ms = 5000;
    return o;
}

const TargetResult& target(const BenchResult& r, const std::string& name) {
    for (const auto& t : r.targets)
        if (t.spec.name == name) return t;
    throw std::runtime_error("no target " + name);
}

void expect_ms(double got, double built, const char* what) {
    EXPECT_GE(got, built - 0.5) << what;
    EXPECT_LE(got, built + kSlackMs) << what;
}

}  // namespace

TEST(BenchRunner, FullRunAgainstFakeServers) {
    FakeServer fast(1.0), slow(2.0), drop(1.0, /*drop_odd=*/true);
    const int dead_port = hotrod::bench::testing::dead_port();
    const Workload w = fake_workload();
    const BenchOptions opt = small_options();
    std::vector<TargetSpec> targets = {{"fast", fast.url(), ""},
                                       {"slow", slow.url(), ""},
                                       {"drop", drop.url(), ""},
                                       {"dead", "http://127.0.0.1:" + std::to_string(dead_port), ""}};
    const BenchResult r = run_bench(w, targets, opt);
    ASSERT_EQ(r.targets.size(), 4u);

    const TargetResult& f = target(r, "fast");
    ASSERT_TRUE(f.alive) << f.error;
    EXPECT_EQ(f.model_id, "fake-model");
    EXPECT_EQ(f.samples.size(), 1u + 3 * 4 + 6 + 2 * 3 + 4 * 3);
    EXPECT_EQ(select(f, kWarmup).size(), 1u);

    // TEST 1 small: constructed delays 10, 20, 30, 40 ms -> p50 25, p90 37 (linear interpolation).
    const auto small = select(f, kLatency, "small");
    ASSERT_EQ(small.size(), 4u);
    const Summary s = latency_summary(small);
    EXPECT_EQ(s.n, 4);
    expect_ms(s.p50, 25, "p50");
    expect_ms(s.p90, 37, "p90");
    expect_ms(s.min, 10, "min");
    expect_ms(s.max, 40, "max");
    expect_ms(s.avg, 25, "avg");
    EXPECT_EQ(n_valid(small), 4);
    // The first content chunk comes at half the delay: 5, 10, 15, 20 -> p50 12.5.
    const Summary tt = ttft_summary(small);
    EXPECT_EQ(tt.n, 4);
    expect_ms(tt.p50, 12.5, "ttft p50");
    EXPECT_EQ(small[0]->reply.n_completion_tokens, 12);  // from the usage chunk
    EXPECT_GT(small[0]->reply.tokens_per_s, 0);
    EXPECT_EQ(small[0]->reply.content, R"({"phase": "testing", "scope": "Check the JWT middleware"})");

    // large: replies cycle valid, not JSON, phase not allowed, missing key.
    const auto large = select(f, kLatency, "large");
    EXPECT_EQ(n_valid(large), 1);
    EXPECT_EQ(n_failed(large), 0);
    EXPECT_EQ(large[1]->verdict.reason, "not JSON");
    EXPECT_EQ(large[2]->verdict.reason, "phase 'coding' not allowed");
    EXPECT_EQ(large[3]->verdict.reason, "missing key 'scope'");
    EXPECT_EQ(n_valid(select(f, kLatency, "medium")), 4);

    // TEST 2: 6 sequential 20 ms calls -> at most 50 calls/s.
    const auto seq = select(f, kSequential);
    EXPECT_EQ(seq.size(), 6u);
    const double seq_rate = batch_calls_per_s(seq);
    EXPECT_LE(seq_rate, 50.5);
    EXPECT_GE(seq_rate, 6 * 1000.0 / (6 * (20 + kSlackMs)));
    // TEST 3: c in flight -> at most c * 50 calls/s, and truly overlapping (well above sequential).
    for (int c : {2, 4}) {
        const auto batch = select(f, kConcurrent, "", c);
        EXPECT_EQ(int(batch.size()), 3 * c);
        const double rate = batch_calls_per_s(batch);
        EXPECT_LE(rate, 50.5 * c) << c;
        EXPECT_GE(rate, 1.4 * seq_rate * (c / 2.0) * 0.7) << c;
        EXPECT_EQ(n_valid(batch), 3 * c);
    }

    // The slower server: twice the delays; the verdict names the faster one.
    const TargetResult& sl = target(r, "slow");
    ASSERT_TRUE(sl.alive);
    expect_ms(latency_summary(select(sl, kLatency, "small")).p50, 50, "slow p50");
    const auto verdict = verdict_lines(w, r);
    ASSERT_EQ(verdict.size(), 3u);
    EXPECT_EQ(verdict[0].rfind("small: fast p50=", 0), 0u) << verdict[0];
    EXPECT_NE(verdict[0].find("→ fast is"), std::string::npos) << verdict[0];
    EXPECT_NE(verdict[1].find("→ fast is"), std::string::npos) << verdict[1];

    // A target with failed calls is shown but never wins a row.
    for (const auto& row : summary_table(w, r)) {
        if (row.metric == "p50 latency (medium)" || row.metric == "Concurrent (4 slots)") {
            EXPECT_EQ(row.winner.rfind("fast (", 0), 0u) << row.winner;
        } else if (row.metric == "Quality (valid JSON)") {
            EXPECT_EQ(row.winner, "fast = slow");
        } else if (row.metric == "Answer (phase)") {
            EXPECT_EQ(row.winner, "Same answer");
        }
    }

    // The dropping server: odd calls of each payload lose the connection after the first chunk.
    const TargetResult& d = target(r, "drop");
    ASSERT_TRUE(d.alive) << d.error;
    const auto dsmall = select(d, kLatency, "small");
    EXPECT_EQ(n_failed(dsmall), 2);
    EXPECT_EQ(n_valid(dsmall), 2);
    EXPECT_EQ(latency_summary(dsmall).n, 2);
    EXPECT_NE(dsmall[0]->reply.error.find("dropped"), std::string::npos) << dsmall[0]->reply.error;

    // The dead target is reported, not a crash.
    const TargetResult& dead = target(r, "dead");
    EXPECT_FALSE(dead.alive);
    EXPECT_NE(dead.error.find("warm-up failed"), std::string::npos) << dead.error;

    // Every target got the same body.
    EXPECT_EQ(fast.last_body(), slow.last_body());
    EXPECT_EQ(fast.last_body()["chat_template_kwargs"]["enable_thinking"], false);

    const std::string text = text_report(w, r);
    for (const char* section : {"HEAD-TO-HEAD: fast vs slow vs drop vs dead", "TEST 1: Latency by payload size",
                                "Payload: small (5 chars)", "TEST 2: Sequential throughput", "TEST 3a: Concurrent throughput (2 slots, 6 calls)",
                                "TEST 3b: Concurrent throughput (4 slots, 12 calls)", "TEST 4: Output quality", "[OK] {",
                                "Agreement:", "VERDICT", "SUMMARY", "| p50 latency (small) |", "dead", "DEAD: warm-up failed",
                                "failed=2", "Schema: not sent"})
        EXPECT_NE(text.find(section), std::string::npos) << "missing '" << section << "' in\n" << text;

    const auto j = json_report(w, r);
    EXPECT_EQ(j["targets"].size(), 4u);
    EXPECT_EQ(j["targets"][0]["samples"].size(), f.samples.size());
    EXPECT_EQ(j["options"]["schema"], false);

    const std::string html = html_report(w, r);
    EXPECT_NE(html.find("<svg"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("<link"), std::string::npos);
    EXPECT_EQ(html.find("https://"), std::string::npos);
    EXPECT_EQ(html.find("@import"), std::string::npos);

    // To look at the reports by eye: HOTROD_BENCH_DUMP_DIR=/tmp/x test_bench --gtest_filter=*FullRun*
    if (const char* dir = std::getenv("HOTROD_BENCH_DUMP_DIR")) {
        std::ofstream(std::string(dir) + "/fake.txt") << text;
        std::ofstream(std::string(dir) + "/fake.html") << html;
    }
}

TEST(BenchRunner, TimeoutIsAFailedCall) {
    FakeServer sleepy(50.0);  // medium: 1000 ms
    BenchOptions opt = small_options();
    opt.timeout_ms = 200;
    const Workload w = fake_workload();
    const auto batch = run_batch(sleepy.url(), w, w.medium(), opt, kSequential, 1, 1);
    ASSERT_EQ(batch.size(), 1u);
    EXPECT_FALSE(batch[0].reply.ok());
    EXPECT_NE(batch[0].reply.error.find("timeout"), std::string::npos) << batch[0].reply.error;
    EXPECT_LT(batch[0].reply.latency_ms, 900);
    EXPECT_FALSE(batch[0].verdict.valid);
}

TEST(BenchRunner, NotStreamedAndFixedLength) {
    FakeServer srv;
    BenchOptions opt = small_options();
    opt.request.stream = false;
    opt.request.fixed_length = true;
    const Workload w = fake_workload();  // max_tokens 12, what the fake's usage reports
    const auto batch = run_batch(srv.url(), w, w.payloads[2], opt, kLatency, 4, 1);
    for (const auto& s : batch) {
        EXPECT_TRUE(s.reply.ok()) << s.reply.error;
        EXPECT_FALSE(s.reply.streamed);
        EXPECT_EQ(s.reply.ttft_ms, -1);
        EXPECT_TRUE(s.verdict.valid) << s.verdict.reason;  // content is not judged under --fixed-length
    }
    EXPECT_EQ(srv.last_body()["ignore_eos"], true);
    EXPECT_FALSE(srv.last_body().contains("stream"));
}

TEST(BenchRunner, BadUrlAndDeadSpawnAreReported) {
    const Workload w = fake_workload();
    const auto r = run_bench(w,
                             {{"badurl", "127.0.0.1:1", ""},
                              {"noport", "", "sleep 30"},
                              {"noexec", "", "/nonexistent/srv --port 1"}},
                             small_options());
    ASSERT_EQ(r.targets.size(), 3u);
    for (const auto& t : r.targets) EXPECT_FALSE(t.alive) << t.spec.name;
    EXPECT_NE(r.targets[0].error.find("expected http://"), std::string::npos) << r.targets[0].error;
    EXPECT_NE(r.targets[1].error.find("no --port"), std::string::npos) << r.targets[1].error;
    EXPECT_NE(r.targets[2].error.find("cannot run"), std::string::npos) << r.targets[2].error;
    const std::string text = text_report(w, r);
    EXPECT_NE(text.find("fewer than two targets answered"), std::string::npos);
}
