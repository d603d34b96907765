// Verdict and summary table. Winners are decided among targets that have the figure; a difference under
// 1% (latency) or under 1.01x (throughput) is called a tie, since rounding would otherwise name a winner.
#include "bench/summary.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>

namespace hotrod::bench {
namespace {

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

// A figure of one target; a target whose batch had failed calls is shown but cannot win: a server that
// drops half its calls must not look fast on the half it answered.
struct Figure {
    std::optional<double> value;
    int n_failed = 0;
    int n_calls = 0;
    bool contends() const { return value.has_value() && n_failed == 0; }
};

Figure batch_figure(const std::vector<const Sample*>& s, std::optional<double> value) {
    return {s.empty() ? std::nullopt : value, n_failed(s), int(s.size())};
}

std::string failed_suffix(const Figure& f) {
    return f.n_failed ? " (" + std::to_string(f.n_failed) + "/" + std::to_string(f.n_calls) + " failed)" : "";
}

// Lower-is-better (latency) winner among contenders: "B (21% faster)" against the slowest.
std::string latency_winner(const BenchResult& r, const std::vector<Figure>& v) {
    int best = -1, n = 0;
    double worst = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].contends()) continue;
        ++n;
        if (best < 0 || *v[i].value < *v[size_t(best)].value) best = int(i);
        worst = std::max(worst, *v[i].value);
    }
    if (n < 2) return n == 1 && v.size() > 1 ? r.targets[size_t(best)].spec.name + " (only one without failures)" : "-";
    const double pct = percent_faster(*v[size_t(best)].value, worst);
    if (pct < 1.0) return "Tie";
    return r.targets[size_t(best)].spec.name + " (" + fmt("%.0f", pct) + "% faster)";
}

// Higher-is-better (rate) winner among contenders: "B (1.4x)" against the lowest.
std::string rate_winner(const BenchResult& r, const std::vector<Figure>& v) {
    int best = -1, n = 0;
    double low = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].contends()) continue;
        if (n == 0 || *v[i].value < low) low = *v[i].value;
        ++n;
        if (best < 0 || *v[i].value > *v[size_t(best)].value) best = int(i);
    }
    if (n < 2) return n == 1 && v.size() > 1 ? r.targets[size_t(best)].spec.name + " (only one without failures)" : "-";
    if (low <= 0) return r.targets[size_t(best)].spec.name;
    const double ratio = *v[size_t(best)].value / low;
    if (ratio < 1.01) return "Tie";
    return r.targets[size_t(best)].spec.name + " (" + fmt("%.1f", ratio) + "x)";
}

using Getter = std::function<Figure(const TargetResult&)>;

std::vector<Figure> values(const BenchResult& r, const Getter& g) {
    std::vector<Figure> v;
    for (const auto& t : r.targets) v.push_back(t.alive ? g(t) : Figure{});
    return v;
}

Figure latency_p50(const TargetResult& t, const std::string& test, const std::string& payload, int concurrency = 0) {
    const auto s = select(t, test, payload, concurrency);
    const Summary m = latency_summary(s);
    return batch_figure(s, m.n ? std::optional<double>(m.p50) : std::nullopt);
}

}  // namespace

double percent_faster(double fast_ms, double slow_ms) { return slow_ms > 0 ? (slow_ms - fast_ms) / slow_ms * 100.0 : 0; }

std::string fmt_ms(double ms) { return fmt("%.0fms", ms); }

std::vector<const Sample*> measured_samples(const TargetResult& t) {
    std::vector<const Sample*> out;
    for (const auto& s : t.samples)
        if (s.test != kWarmup) out.push_back(&s);
    return out;
}

std::vector<std::pair<std::string, int>> answer_counts(const TargetResult& t) {
    std::map<std::string, int> counts;
    for (const Sample* s : measured_samples(t))
        if (s->verdict.valid && !s->verdict.answer.empty()) ++counts[s->verdict.answer];
    std::vector<std::pair<std::string, int>> out(counts.begin(), counts.end());
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    return out;
}

std::vector<std::string> verdict_lines(const Workload& w, const BenchResult& r) {
    std::vector<std::string> out;
    for (const auto& p : w.payloads) {
        auto v = values(r, [&](const TargetResult& t) { return latency_p50(t, kLatency, p.name); });
        if (std::count_if(v.begin(), v.end(), [](const Figure& x) { return x.value.has_value(); }) < 2) continue;
        std::string line = p.name + ":";
        int best = -1, worst = -1;
        for (size_t i = 0; i < v.size(); ++i) {
            if (!v[i].value) continue;
            line += " " + r.targets[i].spec.name + " p50=" + fmt_ms(*v[i].value) + failed_suffix(v[i]);
            if (!v[i].contends()) continue;
            if (best < 0 || *v[i].value < *v[size_t(best)].value) best = int(i);
            if (worst < 0 || *v[i].value > *v[size_t(worst)].value) worst = int(i);
        }
        if (best < 0 || best == worst) {
            line += best < 0 ? " → every target failed calls" : " → only " + r.targets[size_t(best)].spec.name + " answered every call";
        } else {
            const double pct = percent_faster(*v[size_t(best)].value, *v[size_t(worst)].value);
            if (pct < 1.0)
                line += " → tie";
            else
                line += " → " + r.targets[size_t(best)].spec.name + " is " + fmt("%.0f", pct) + "% faster" +
                        (r.targets.size() > 2 ? " than " + r.targets[size_t(worst)].spec.name : "");
        }
        out.push_back(line);
    }
    return out;
}

std::vector<TableRow> summary_table(const Workload& w, const BenchResult& r) {
    std::vector<TableRow> rows;
    auto add = [&](std::string metric, const Getter& g, bool lower_better, const std::function<std::string(double)>& show) {
        TableRow row{std::move(metric), {}, {}};
        auto v = values(r, g);
        for (const auto& x : v) row.cells.push_back(x.value ? show(*x.value) + failed_suffix(x) : "-");
        row.winner = lower_better ? latency_winner(r, v) : rate_winner(r, v);
        rows.push_back(std::move(row));
    };
    const auto show_ms = [](double x) { return fmt_ms(x); };
    const auto show_rate = [](double x) { return fmt("%.2f calls/sec", x); };
    const auto whole = [](std::optional<double> x) { return Figure{x, 0, 1}; };

    add("Time to ready (spawned)", [&](const TargetResult& t) {
        return whole(t.ready_ms >= 0 ? std::optional<double>(t.ready_ms) : std::nullopt);
    }, true, show_ms);
    add("Warm-up (first request)", [](const TargetResult& t) {
        const auto s = select(t, kWarmup);
        const Summary m = latency_summary(s);
        return batch_figure(s, m.n ? std::optional<double>(m.max) : std::nullopt);
    }, true, show_ms);
    for (const auto& p : w.payloads)
        add("p50 latency (" + p.name + ")", [&](const TargetResult& t) { return latency_p50(t, kLatency, p.name); }, true, show_ms);
    add("Sequential throughput", [](const TargetResult& t) {
        const auto s = select(t, kSequential);
        return batch_figure(s, batch_calls_per_s(s));
    }, false, show_rate);
    for (int c : r.options.concurrency)
        add("Concurrent (" + std::to_string(c) + " slots)", [c](const TargetResult& t) {
            const auto s = select(t, kConcurrent, "", c);
            return batch_figure(s, batch_calls_per_s(s));
        }, false, show_rate);
    if (!r.options.concurrency.empty()) {
        const int c = r.options.concurrency.back();
        add("p90 tail (" + std::to_string(c) + " slots)", [c](const TargetResult& t) {
            const auto s = select(t, kConcurrent, "", c);
            const Summary m = latency_summary(s);
            return batch_figure(s, m.n ? std::optional<double>(m.p90) : std::nullopt);
        }, true, show_ms);
    }
    // Both from TEST 1 (one call in flight), as the text report's TTFT section.
    add("Time to first token p50", [](const TargetResult& t) {
        const auto s = select(t, kLatency);
        const Summary m = ttft_summary(s);
        return batch_figure(s, m.n ? std::optional<double>(m.p50) : std::nullopt);
    }, true, show_ms);
    add("Decode rate p50", [](const TargetResult& t) {
        const auto s = select(t, kLatency);
        const Summary m = tokens_per_s_summary(s);
        return batch_figure(s, m.n ? std::optional<double>(m.p50) : std::nullopt);
    }, false, [](double x) { return fmt("%.1f tok/s", x); });

    // Quality rows: counts, not a figure to rank by size.
    TableRow valid{r.options.request.fixed_length ? "Quality (exactly max_tokens)" : "Quality (valid JSON)", {}, ""};
    TableRow agree{"Answer (" + (w.enum_key.empty() ? std::string("enum key") : w.enum_key) + ")", {}, "-"};
    int best_valid = -1, n_best = 0, n_alive = 0;
    std::vector<std::string> answers;
    for (const auto& t : r.targets) {
        if (!t.alive) {
            valid.cells.push_back("-");
            agree.cells.push_back("dead");
            continue;
        }
        ++n_alive;
        const auto all = measured_samples(t);
        const int nv = n_valid(all);
        valid.cells.push_back(std::to_string(nv) + "/" + std::to_string(all.size()) + " (" +
                              fmt("%.0f", all.empty() ? 0.0 : 100.0 * nv / double(all.size())) + "%)");
        if (nv > best_valid) {
            best_valid = nv;
            n_best = 1;
        } else if (nv == best_valid) {
            ++n_best;
        }
        const auto counts = answer_counts(t);
        answers.push_back(counts.empty() ? "" : counts.front().first);
        agree.cells.push_back(counts.empty() ? "(none)" : "\"" + counts.front().first + "\"");
    }
    if (n_alive >= 2) {
        if (n_best == n_alive) {
            valid.winner = "Tie";
        } else {
            for (size_t i = 0; i < r.targets.size(); ++i) {
                const auto all = measured_samples(r.targets[i]);
                if (r.targets[i].alive && n_valid(all) == best_valid)
                    valid.winner += (valid.winner.empty() ? "" : " = ") + r.targets[i].spec.name;
            }
        }
        const bool same = !answers.empty() && !answers[0].empty() &&
                          std::all_of(answers.begin(), answers.end(), [&](const auto& a) { return a == answers[0]; });
        agree.winner = same ? "Same answer" : "Different answers";
    }
    if (valid.winner.empty()) valid.winner = "-";
    rows.push_back(std::move(valid));
    rows.push_back(std::move(agree));
    return rows;
}

}  // namespace hotrod::bench
