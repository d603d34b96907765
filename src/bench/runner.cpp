// The test sequence of one benchmark run. Every request body comes from chat_request() with the same
// options for all targets.
#include "bench/runner.h"

#include <atomic>
#include <chrono>
#include <ctime>
#include <fstream>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench/spawn.h"

namespace hotrod::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string host_text() {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    std::string cpu;
    std::ifstream info("/proc/cpuinfo");
    for (std::string line; std::getline(info, line);)
        if (line.rfind("model name", 0) == 0) {
            cpu = line.substr(line.find(':') + 2);
            break;
        }
    return std::string(name) + ", " + (cpu.empty() ? "unknown CPU" : cpu) + ", " +
           std::to_string(std::thread::hardware_concurrency()) + " hardware threads";
}

Verdict judge(const Workload& w, const BenchOptions& opt, const Reply& r) {
    // Transport failures are grouped by kind in the quality counts; the exact text stays in the reply.
    if (!r.error.empty()) {
        for (const char* kind : {"connection dropped", "timeout", "cannot connect"})
            if (r.error.rfind(kind, 0) == 0) return {false, kind, ""};
        return {false, r.error, ""};
    }
    if (opt.request.fixed_length) return validate_fixed_length(w, r.http_status, r.n_completion_tokens);
    return validate_reply(w, r.http_status, r.content);
}

std::string first_model_id(const std::string& url) {
    ChatClient c(parse_endpoint(url), 5000);
    std::string body;
    if (c.get("/v1/models", &body, 5000) != 200) return "";
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("data") && j["data"].is_array() && !j["data"].empty() && j["data"][0].is_object() &&
        j["data"][0].contains("id") && j["data"][0]["id"].is_string())
        return j["data"][0]["id"].get<std::string>();
    return "";
}

std::string ms_text(double ms) { return std::to_string(long(ms + 0.5)) + " ms"; }

void run_target_tests(const Workload& w, const BenchOptions& opt, TargetResult& t, const ProgressFn& say) {
    auto add = [&](std::vector<Sample> batch) {
        for (auto& s : batch) t.samples.push_back(std::move(s));
    };
    say(t.spec.name + ": warm-up");
    auto warm = run_batch(t.url, w, w.payloads.front(), opt, kWarmup, 1, 1);
    if (!warm[0].reply.error.empty()) {
        t.error = "warm-up failed: " + warm[0].reply.error;
        add(std::move(warm));
        return;
    }
    t.alive = true;
    add(std::move(warm));
    for (const auto& p : w.payloads) {
        say(t.spec.name + ": TEST 1 payload " + p.name + " x" + std::to_string(opt.rounds));
        add(run_batch(t.url, w, p, opt, kLatency, opt.rounds, 1));
    }
    say(t.spec.name + ": TEST 2 sequential x" + std::to_string(opt.sequential_calls));
    add(run_batch(t.url, w, w.medium(), opt, kSequential, opt.sequential_calls, 1));
    for (int c : opt.concurrency) {
        say(t.spec.name + ": TEST 3 concurrency " + std::to_string(c) + " x" + std::to_string(c * opt.calls_per_slot));
        add(run_batch(t.url, w, w.medium(), opt, kConcurrent, c * opt.calls_per_slot, c));
    }
}

}  // namespace

std::vector<Sample> run_batch(const std::string& url, const Workload& w, const Payload& p, const BenchOptions& opt,
                              const std::string& test, int n_calls, int concurrency) {
    const std::string body = chat_request(w, p, opt.request).dump();
    const Endpoint endpoint = parse_endpoint(url);
    std::vector<Sample> out(size_t(std::max(n_calls, 0)));
    std::atomic<int> next{0};
    const auto t0 = Clock::now();
    auto since = [&](Clock::time_point t) { return std::chrono::duration<double, std::milli>(t - t0).count(); };
    auto worker = [&] {
        ChatClient client(endpoint, opt.timeout_ms);
        for (int i = next++; i < n_calls; i = next++) {
            Sample& s = out[size_t(i)];
            s.test = test;
            s.payload = p.name;
            s.concurrency = concurrency;
            s.index = i;
            s.start_ms = since(Clock::now());
            s.reply = client.chat(body);
            s.end_ms = since(Clock::now());
            s.verdict = judge(w, opt, s.reply);
        }
    };
    std::vector<std::thread> pool;
    for (int k = 1; k < std::max(concurrency, 1); ++k) pool.emplace_back(worker);
    worker();
    for (auto& th : pool) th.join();
    return out;
}

BenchResult run_bench(const Workload& w, const std::vector<TargetSpec>& targets, const BenchOptions& opt,
                      const ProgressFn& progress) {
    auto say = [&](const std::string& line) {
        if (progress) progress(line);
    };
    BenchResult result;
    result.workload_name = w.name;
    result.options = opt;
    result.date = utc_now();
    result.host = host_text();
    for (const auto& spec : targets) {
        TargetResult t;
        t.spec = spec;
        t.url = spec.url;
        SpawnedServer server;
        try {
            if (!spec.spawn_command.empty()) {
                const auto argv = split_command(spec.spawn_command);
                if (t.url.empty()) t.url = url_from_command(argv);
                t.log_path = opt.log_dir + "/hotrod-bench-" + spec.name + ".log";
                say(spec.name + ": starting " + spec.spawn_command + " (log " + t.log_path + ")");
                server.start(argv, t.log_path);
                t.ready_ms = server.wait_ready(t.url, opt.ready_timeout_ms);
                say(spec.name + ": ready after " + ms_text(t.ready_ms));
            }
            parse_endpoint(t.url);  // a bad URL is this target's error, not the run's
            t.model_id = first_model_id(t.url);
            run_target_tests(w, opt, t, say);
        } catch (const std::exception& e) {
            t.alive = false;
            t.error = e.what();
        }
        if (!t.error.empty()) say(spec.name + ": DEAD: " + t.error);
        server.stop();
        result.targets.push_back(std::move(t));
    }
    return result;
}

}  // namespace hotrod::bench
