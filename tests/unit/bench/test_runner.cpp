// The runner against fake servers whose delays and replies are constructed (fake_server.h): percentiles,
// calls/s and valid counts come out as built, a dropping target counts failures, a dead one is reported.
// Timing bounds: a reply can never be faster than its constructed delay (sleep_for waits at least that long),
// so lower bounds are tight. There are no upper bounds but kUnitsFactor (milliseconds, not microseconds): on a
// loaded machine (CI runs ctest -j beside the engine tests) a 10 ms reply was measured at 74 ms. Which target
// wins a verdict or a summary row is tested on constructed samples (BenchSummary.*), not on measured ones.
#include <gtest/gtest.h>

#include <algorithm>
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

// A figure measured in the wrong unit is off by 1000x; a loaded machine slows a call by tens of milliseconds.
constexpr double kUnitsFactor = 100;

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
    EXPECT_LE(got, built * kUnitsFactor) << what;
}

// The most calls of a batch in flight at one time, from their start and end times.
int max_in_flight(const std::vector<const Sample*>& batch) {
    int most = 0;
    for (const Sample* a : batch) {
        int n = 0;
        for (const Sample* b : batch) n += b->start_ms <= a->start_ms && a->start_ms < b->end_ms;
        most = std::max(most, n);
    }
    return most;
}

Sample constructed(const char* test, const char* payload, int concurrency, double start_ms, double end_ms,
                   bool ok = true) {
    Sample s;
    s.test = test;
    s.payload = payload;
    s.concurrency = concurrency;
    s.start_ms = start_ms;
    s.end_ms = end_ms;
    s.reply.http_status = ok ? 200 : 0;
    s.reply.error = ok ? "" : "dropped after 120 bytes";
    s.reply.latency_ms = end_ms - start_ms;
    return s;
}

}  // namespace

TEST(BenchRunner, FullRunAgainstFakeServers) {
    FakeServer fast(1.0), slow(2.0), drop(1.0, /*drop_odd=*/true);
    const hotrod::bench::testing::DeadPort dead_port;
    const Workload w = fake_workload();
    const BenchOptions opt = small_options();
    std::vector<TargetSpec> targets = {{"fast", fast.url(), ""},
                                       {"slow", slow.url(), ""},
                                       {"drop", drop.url(), ""},
                                       {"dead", "http://127.0.0.1:" + std::to_string(dead_port.port()), ""}};
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

    // TEST 2: 6 sequential calls of at least 20 ms each -> at most 50 calls/s, one at a time.
    const auto seq = select(f, kSequential);
    EXPECT_EQ(seq.size(), 6u);
    EXPECT_LE(batch_calls_per_s(seq), 50.5);
    EXPECT_EQ(max_in_flight(seq), 1);
    // TEST 3: c slots -> at most c in flight, so at most c * 50 calls/s, and the calls overlap. (Two slots of
    // three 20 ms calls each that never overlap would need one slot to start after the other's 60 ms: a runner
    // that serializes its slots, not a slow machine.)
    for (int c : {2, 4}) {
        const auto batch = select(f, kConcurrent, "", c);
        EXPECT_EQ(int(batch.size()), 3 * c);
        EXPECT_LE(batch_calls_per_s(batch), 50.5 * c) << c;
        EXPECT_LE(max_in_flight(batch), c) << c;
        EXPECT_GE(max_in_flight(batch), 2) << c;
        EXPECT_EQ(n_valid(batch), 3 * c);
    }

    // The slower server: twice the delays. A verdict line per payload; who wins is BenchSummary.*'s to test.
    const TargetResult& sl = target(r, "slow");
    ASSERT_TRUE(sl.alive);
    expect_ms(latency_summary(select(sl, kLatency, "small")).p50, 50, "slow p50");
    const auto verdict = verdict_lines(w, r);
    ASSERT_EQ(verdict.size(), 3u);
    EXPECT_EQ(verdict[0].rfind("small: fast p50=", 0), 0u) << verdict[0];
    for (const auto& line : verdict) EXPECT_NE(line.find(" → "), std::string::npos) << line;

    // A target with failed calls is shown but never wins a row.
    for (const auto& row : summary_table(w, r)) {
        if (row.metric == "p50 latency (medium)" || row.metric == "Concurrent (4 slots)") {
            EXPECT_EQ(row.winner.rfind("drop", 0), std::string::npos) << row.winner;
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

// Who wins, on constructed samples: lower p50 wins a latency row and the verdict, more calls/s a throughput row,
// a target with failed calls is shown but cannot win, a dead one is left out.
TEST(BenchSummary, WinnersFromConstructedSamples) {
    const Workload w = fake_workload();
    BenchResult r;
    r.options.concurrency = {4};
    auto add = [&](const char* name, bool alive, std::vector<Sample> samples) {
        TargetResult t;
        t.spec.name = name;
        t.alive = alive;
        t.samples = std::move(samples);
        r.targets.push_back(std::move(t));
    };
    auto four_calls = [](double end_ms, bool one_fails = false) {
        std::vector<Sample> s;
        for (int i = 0; i < 4; ++i) s.push_back(constructed(kConcurrent, "medium", 4, 0, end_ms, !(one_fails && i == 0)));
        return s;
    };
    // A: small p50 110 ms, 4 calls in 50 ms (80 calls/s). B: p50 50 ms, 4 calls in 100 ms (40 calls/s).
    // C: fastest on both but one call of each batch failed. D: dead.
    std::vector<Sample> a = four_calls(50), b = four_calls(100), c = four_calls(10, true);
    a.push_back(constructed(kLatency, "small", 1, 0, 100));
    a.push_back(constructed(kLatency, "small", 1, 100, 220));
    b.push_back(constructed(kLatency, "small", 1, 0, 40));
    b.push_back(constructed(kLatency, "small", 1, 40, 100));
    c.push_back(constructed(kLatency, "small", 1, 0, 10));
    c.push_back(constructed(kLatency, "small", 1, 10, 15, /*ok=*/false));
    add("A", true, a);
    add("B", true, b);
    add("C", true, c);
    add("D", false, {});

    const auto verdict = verdict_lines(w, r);
    ASSERT_EQ(verdict.size(), 1u);  // only "small" has samples
    EXPECT_EQ(verdict[0], "small: A p50=110ms B p50=50ms C p50=10ms (1/2 failed) → B is 55% faster than A");
    int checked = 0;
    for (const auto& row : summary_table(w, r)) {
        if (row.metric == "p50 latency (small)") {
            EXPECT_EQ(row.winner, "B (55% faster)");
            ++checked;
        } else if (row.metric == "Concurrent (4 slots)") {
            EXPECT_EQ(row.winner, "A (2.0x)");
            EXPECT_EQ(row.cells[2], "300.00 calls/sec (1/4 failed)");
            EXPECT_EQ(row.cells[3], "-");
            ++checked;
        }
    }
    EXPECT_EQ(checked, 2);
}

TEST(BenchRunner, TimeoutIsAFailedCall) {
    // The reply comes 15x later than the timeout, so a client thread the machine wakes late still times out
    // first (the fake's handler then sleeps out its 3 s before the server stops).
    FakeServer sleepy(150.0);  // medium: 3000 ms
    BenchOptions opt = small_options();
    opt.timeout_ms = 200;
    const Workload w = fake_workload();
    const auto batch = run_batch(sleepy.url(), w, w.medium(), opt, kSequential, 1, 1);
    ASSERT_EQ(batch.size(), 1u);
    EXPECT_FALSE(batch[0].reply.ok());
    EXPECT_NE(batch[0].reply.error.find("timeout"), std::string::npos) << batch[0].reply.error;
    EXPECT_GE(batch[0].reply.latency_ms, 200);
    EXPECT_LT(batch[0].reply.latency_ms, 3000);  // did not wait for the reply
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
