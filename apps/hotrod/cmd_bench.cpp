// `hotrod bench`: the head-to-head benchmark of OpenAI-compatible servers on a workload file. Parses flags,
// runs hotrod::bench::run_bench, prints the text report, writes --json / --html. Sends requests only to the
// URLs given by --target and the ones spawned servers listen on.
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/report_html.h"
#include "bench/report_json.h"
#include "bench/report_text.h"
#include "bench/runner.h"
#include "commands.h"

namespace hotrod::app {
namespace {

// "NAME=VALUE" -> {NAME, VALUE}; throws CLI::ValidationError naming the flag otherwise.
std::pair<std::string, std::string> name_value(const std::string& flag, const std::string& s) {
    const size_t eq = s.find('=');
    if (eq == 0 || eq == std::string::npos || eq + 1 == s.size())
        throw CLI::ValidationError(flag, "expected NAME=VALUE, found '" + s + "'");
    return {s.substr(0, eq), s.substr(eq + 1)};
}

std::vector<int> parse_levels(const std::string& s) {
    std::vector<int> out;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, ',');) {
        size_t used = 0;
        int v = 0;
        try {
            v = std::stoi(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != item.size() || v < 1 || v > 256)
            throw CLI::ValidationError("--concurrency", "expected a list of integers in [1, 256] like 1,2,4,8, found '" + s + "'");
        out.push_back(v);
    }
    return out;
}

bool write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out) std::fprintf(stderr, "hotrod bench: cannot write %s\n", path.c_str());
    return bool(out);
}

}  // namespace

int cmd_bench(int argc, char** argv) {
    CLI::App app{"Head-to-head benchmark of OpenAI-compatible servers: latency by payload, sequential and concurrent "
                 "throughput, output quality, time to first token. Targets run one after another.",
                 "hotrod bench"};
    std::vector<std::string> target_args, spawn_args;
    std::string workload_path, json_path, html_path, concurrency = "2,4", model;
    bench::BenchOptions opt;
    double timeout_s = 120, ready_timeout_s = 300;
    bool no_stream = false;
    app.add_option("--target", target_args, "NAME=URL of a running server (repeatable), e.g. llama=http://127.0.0.1:8091");
    app.add_option("--spawn", spawn_args,
                   "NAME='command line' of a server to start, wait for, and stop afterwards (repeatable); its URL comes "
                   "from --port/--host in the command, or from a --target of the same NAME");
    app.add_option("--workload", workload_path, "workload JSON (shared/workloads/phase_classification.json format)")->required();
    app.add_option("--rounds", opt.rounds, "TEST 1 calls per payload")->check(CLI::Range(1, 100000))->capture_default_str();
    app.add_option("--sequential-calls", opt.sequential_calls, "TEST 2 calls")->check(CLI::Range(1, 100000))->capture_default_str();
    app.add_option("--concurrency", concurrency, "TEST 3 levels, calls in flight")->capture_default_str();
    app.add_option("--calls-per-slot", opt.calls_per_slot, "TEST 3 calls = level x this")->check(CLI::Range(1, 10000))->capture_default_str();
    app.add_flag("--schema", opt.request.schema, "send response_format json_schema built from the workload's keys and values");
    app.add_flag("--fixed-length", opt.request.fixed_length, "send ignore_eos; valid = exactly max_tokens tokens");
    app.add_flag("--no-stream", no_stream, "do not stream (no time to first token)");
    app.add_option("--model", model, "\"model\" field of every request (default: omitted)");
    app.add_option("--timeout", timeout_s, "seconds per request")->check(CLI::Range(0.1, 86400.0))->capture_default_str();
    app.add_option("--ready-timeout", ready_timeout_s, "seconds a spawned server may take to be ready")
        ->check(CLI::Range(0.1, 86400.0))->capture_default_str();
    app.add_option("--log-dir", opt.log_dir, "where spawned servers' output goes")->capture_default_str();
    app.add_option("--json", json_path, "write every raw sample to this JSON file");
    app.add_option("--html", html_path, "write a self-contained HTML page with charts");
    try {
        app.parse(argc, argv);
        opt.concurrency = parse_levels(concurrency);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    opt.request.stream = !no_stream;
    opt.request.model = model;
    opt.timeout_ms = int(timeout_s * 1000);
    opt.ready_timeout_ms = int(ready_timeout_s * 1000);

    // Targets in the order their names first appear on the command line; --target and --spawn of one NAME merge.
    std::vector<bench::TargetSpec> targets;
    auto find = [&](const std::string& name) -> bench::TargetSpec& {
        for (auto& t : targets)
            if (t.name == name) return t;
        targets.push_back({name, "", ""});
        return targets.back();
    };
    try {
        size_t it = 0, is = 0;
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if ((a == "--target" || a.rfind("--target=", 0) == 0) && it < target_args.size()) {
                auto [name, url] = name_value("--target", target_args[it++]);
                find(name).url = url;
            } else if ((a == "--spawn" || a.rfind("--spawn=", 0) == 0) && is < spawn_args.size()) {
                auto [name, cmd] = name_value("--spawn", spawn_args[is++]);
                find(name).spawn_command = cmd;
            }
        }
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (targets.empty()) {
        std::fprintf(stderr, "hotrod bench: give at least one --target NAME=URL or --spawn NAME='command'\n");
        return 2;
    }

    bench::Workload workload;
    try {
        workload = bench::load_workload(workload_path);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotrod bench: %s\n", e.what());
        return 1;
    }
    auto result = bench::run_bench(workload, targets, opt, [](const std::string& line) {
        std::fprintf(stderr, "[bench] %s\n", line.c_str());
    });
    result.workload_path = workload_path;
    const std::string report = bench::text_report(workload, result);
    std::fwrite(report.data(), 1, report.size(), stdout);
    std::fflush(stdout);

    bool ok = true;
    if (!json_path.empty())
        ok = write_file(json_path, bench::json_report(workload, result).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n") && ok;
    if (!html_path.empty()) ok = write_file(html_path, bench::html_report(workload, result)) && ok;
    for (const auto& t : result.targets)
        if (!t.alive) ok = false;
    return ok ? 0 : 1;
}

}  // namespace hotrod::app
