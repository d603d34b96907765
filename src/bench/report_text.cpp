// Text report. Latency lines count only answered calls (HTTP 200, no transport error); a batch with failed
// calls says how many failed, so a fast but broken target cannot look good.
#include "bench/report_text.h"

#include <cstdio>
#include <map>
#include <sstream>

#include "bench/summary.h"

namespace hotrod::bench {
namespace {

const std::string kRule(72, '=');
std::string thin_rule() {
    std::string s;
    for (int i = 0; i < 72; ++i) s += "─";
    return s;
}

std::string pad(std::string s, size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

std::string num(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string latency_cells(const Summary& s) {
    if (s.n == 0) return "p50=    - p90=    - avg=    -";
    return "p50=" + num("%5.0f", s.p50) + "ms p90=" + num("%5.0f", s.p90) + "ms avg=" + num("%5.0f", s.avg) + "ms";
}

std::string failed_note(const std::vector<const Sample*>& s) {
    const int n = n_failed(s);
    if (n == 0) return "";
    std::string first;
    for (const Sample* x : s)
        if (!x->reply.ok()) {
            first = x->reply.error.empty() ? "HTTP " + std::to_string(x->reply.http_status) : x->reply.error;
            break;
        }
    return "  failed=" + std::to_string(n) + " (" + first + ")";
}

std::string one_line(std::string s, size_t max_len) {
    for (char& c : s)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (s.size() > max_len) s = s.substr(0, max_len) + "...";
    return s;
}

}  // namespace

std::string text_report(const Workload& w, const BenchResult& r) {
    std::ostringstream o;
    size_t name_w = 8;
    std::string title;
    for (const auto& t : r.targets) {
        name_w = std::max(name_w, t.spec.name.size() + 2);
        title += (title.empty() ? "" : " vs ") + t.spec.name;
    }
    const auto& opt = r.options;
    o << kRule << "\nHEAD-TO-HEAD: " << title << " — " << (w.name.empty() ? std::string("workload") : w.name) << "\n"
      << kRule << "\n";
    o << "Rounds per test: " << opt.rounds << "\n";
    o << "Host: " << r.host << "\nDate: " << r.date << "\n";
    o << "Requests: " << (opt.request.stream ? "streamed (SSE)" : "not streamed") << ", max_tokens=" << w.max_tokens
      << ", temperature=" << num("%g", w.temperature) << ", chat_template_kwargs {\"enable_thinking\": false}\n";
    o << "Schema: " << (opt.request.schema ? "sent (response_format json_schema from the workload's keys and values)" : "not sent")
      << "; fixed length: " << (opt.request.fixed_length ? "yes (ignore_eos, valid = exactly max_tokens tokens)" : "no") << "\n";
    o << "Percentiles: linear interpolation between closest ranks; latency counts answered calls only\n";
    for (const auto& t : r.targets) {
        o << pad(t.spec.name, name_w);
        if (t.alive) {
            const auto warm = select(t, kWarmup);
            o << "READY (" << fmt_ms(warm.empty() ? 0 : warm[0]->reply.latency_ms) << " warmup";
            if (t.ready_ms >= 0) o << ", " << fmt_ms(t.ready_ms) << " to ready";
            o << ")";
        } else {
            o << "DEAD: " << t.error;
        }
        o << "  " << t.url << (t.model_id.empty() ? "" : "  model=" + t.model_id) << "\n";
    }

    auto section = [&](const std::string& name) { o << thin_rule() << "\n" << name << "\n" << thin_rule() << "\n"; };
    section("TEST 1: Latency by payload size");
    for (const auto& p : w.payloads) {
        o << "Payload: " << p.name << " (" << p.text.size() << " chars)\n";
        for (const auto& t : r.targets) {
            if (!t.alive) continue;
            const auto s = select(t, kLatency, p.name);
            const Summary m = latency_summary(s);
            o << "  " << pad(t.spec.name, name_w) << latency_cells(m);
            if (m.n) o << " min=" << num("%5.0f", m.min) << "ms max=" << num("%5.0f", m.max) << "ms";
            o << " valid=" << n_valid(s) << "/" << s.size() << failed_note(s) << "\n";
        }
    }
    section("TEST 2: Sequential throughput (" + w.medium().name + " payload, " + std::to_string(opt.sequential_calls) + " calls)");
    for (const auto& t : r.targets) {
        if (!t.alive) continue;
        const auto s = select(t, kSequential);
        o << "  " << pad(t.spec.name, name_w) << num("%.2f", batch_calls_per_s(s)) << " calls/sec " << latency_cells(latency_summary(s))
          << failed_note(s) << "\n";
    }
    for (size_t k = 0; k < opt.concurrency.size(); ++k) {
        const int c = opt.concurrency[k];
        std::string label = "TEST 3";
        if (opt.concurrency.size() > 1) label += k < 26 ? std::string(1, char('a' + k)) : std::to_string(k + 1);
        section(label + ": Concurrent throughput (" + std::to_string(c) + " slots, " + std::to_string(c * opt.calls_per_slot) + " calls)");
        for (const auto& t : r.targets) {
            if (!t.alive) continue;
            const auto s = select(t, kConcurrent, "", c);
            o << "  " << pad(t.spec.name, name_w) << num("%.2f", batch_calls_per_s(s)) << " calls/sec "
              << latency_cells(latency_summary(s)) << failed_note(s) << "\n";
        }
    }
    section("TEST 4: Output quality (all calls after warm-up; samples from the " + w.medium().name + " payload)");
    for (const auto& t : r.targets) {
        if (!t.alive) {
            o << t.spec.name << ": DEAD, no replies\n";
            continue;
        }
        const auto all = measured_samples(t);
        const int nv = n_valid(all);
        o << t.spec.name << ": valid " << nv << "/" << all.size() << " ("
          << num("%.0f", all.empty() ? 0.0 : 100.0 * nv / double(all.size())) << "%)";
        const auto counts = answer_counts(t);
        if (!counts.empty()) {
            o << "; answers:";
            for (const auto& [a, n] : counts) o << " " << a << " x" << n;
        }
        std::map<std::string, int> reasons;
        for (const Sample* s : all)
            if (!s->verdict.valid) ++reasons[s->verdict.reason];
        if (!reasons.empty()) {
            o << "; rejected:";
            for (const auto& [why, n] : reasons) o << " " << one_line(why, 60) << " x" << n;
        }
        o << "\n";
        int shown = 0;
        for (const Sample* s : select(t, kLatency, w.medium().name)) {
            if (shown++ == 3) break;
            o << "  " << (s->verdict.valid ? "[OK] " : "[BAD: " + s->verdict.reason + "] ") << one_line(s->reply.content, 110);
            if (s->reply.content.empty() && !s->reply.reasoning.empty())
                o << "(reasoning_content: " << one_line(s->reply.reasoning, 60) << ")";
            o << "\n";
        }
    }
    {
        std::string line = "Agreement:";
        std::vector<std::string> answers;
        for (const auto& t : r.targets) {
            if (!t.alive) continue;
            const auto counts = answer_counts(t);
            answers.push_back(counts.empty() ? "" : counts.front().first);
            line += " " + t.spec.name + (answers.back().empty() ? " (no valid answer)" : " \"" + answers.back() + "\"");
        }
        if (answers.size() >= 2) {
            bool same = !answers[0].empty();
            for (const auto& a : answers) same = same && a == answers[0];
            line += same ? " → same answer" : " → different answers";
        }
        if (!w.expected_value.empty()) line += " (expected \"" + w.expected_value + "\")";
        o << line << "\n";
    }
    section("Time to first token and decode rate (streamed calls of TEST 1)");
    for (const auto& t : r.targets) {
        if (!t.alive) continue;
        const auto s = select(t, kLatency);
        const Summary tt = ttft_summary(s), tps = tokens_per_s_summary(s);
        o << "  " << pad(t.spec.name, name_w);
        if (tt.n == 0) {
            o << "not streamed\n";
            continue;
        }
        o << "ttft p50=" << num("%5.0f", tt.p50) << "ms p90=" << num("%5.0f", tt.p90) << "ms  decode p50="
          << (tps.n ? num("%.1f", tps.p50) + " tok/s" : std::string("-")) << "  (n=" << tt.n << "; ttft p50 by payload:";
        for (const auto& p : w.payloads) o << " " << p.name << " " << fmt_ms(ttft_summary(select(t, kLatency, p.name)).p50);
        o << ")\n";
    }

    o << kRule << "\nVERDICT\n" << kRule << "\n";
    const auto verdict = verdict_lines(w, r);
    if (verdict.empty()) o << "(fewer than two targets answered: no comparison)\n";
    for (const auto& line : verdict) o << line << "\n";

    o << "\nSUMMARY\n";
    o << "| Metric |";
    for (const auto& t : r.targets) o << " " << t.spec.name << " |";
    o << " Winner |\n|---|";
    for (size_t i = 0; i < r.targets.size(); ++i) o << "---|";
    o << "---|\n";
    for (const auto& row : summary_table(w, r)) {
        o << "| " << row.metric << " |";
        for (const auto& c : row.cells) o << " " << c << " |";
        o << " " << row.winner << " |\n";
    }
    return o.str();
}

}  // namespace hotrod::bench
