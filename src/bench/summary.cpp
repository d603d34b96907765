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

// Lower-is-better (latency) winner among present values: "B (21% faster)".
std::string latency_winner(const BenchResult& r, const std::vector<std::optional<double>>& v) {
    int best = -1, n = 0;
    double worst = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i]) continue;
        ++n;
        if (best < 0 || *v[i] < *v[size_t(best)]) best = int(i);
        worst = std::max(worst, *v[i]);
    }
    if (n < 2) return "-";
    const double pct = percent_faster(*v[size_t(best)], worst);
    if (pct < 1.0) return "Tie";
    return r.targets[size_t(best)].spec.name + " (" + fmt("%.0f", pct) + "% faster)";
}

// Higher-is-better (rate) winner: "B (1.4x)" against the lowest.
std::string rate_winner(const BenchResult& r, const std::vector<std::optional<double>>& v) {
    int best = -1, n = 0;
    double low = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i]) continue;
        if (n == 0 || *v[i] < low) low = *v[i];
        ++n;
        if (best < 0 || *v[i] > *v[size_t(best)]) best = int(i);
    }
    if (n < 2 || low <= 0) return n < 2 ? "-" : r.targets[size_t(best)].spec.name;
    const double ratio = *v[size_t(best)] / low;
    if (ratio < 1.01) return "Tie";
    return r.targets[size_t(best)].spec.name + " (" + fmt("%.1f", ratio) + "x)";
}

using Getter = std::function<std::optional<double>(const TargetResult&)>;

std::vector<std::optional<double>> values(const BenchResult& r, const Getter& g) {
    std::vector<std::optional<double>> v;
    for (const auto& t : r.targets) v.push_back(t.alive ? g(t) : std::nullopt);
    return v;
}

std::optional<double> present(const Summary& s, double x) { return s.n > 0 ? std::optional<double>(x) : std::nullopt; }

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
        auto v = values(r, [&](const TargetResult& t) {
            const Summary s = latency_summary(select(t, kLatency, p.name));
            return present(s, s.p50);
        });
        if (std::count_if(v.begin(), v.end(), [](const auto& x) { return x.has_value(); }) < 2) continue;
        std::string line = p.name + ":";
        int best = -1, worst = -1;
        for (size_t i = 0; i < v.size(); ++i) {
            if (!v[i]) continue;
            line += " " + r.targets[i].spec.name + " p50=" + fmt_ms(*v[i]);
            if (best < 0 || *v[i] < *v[size_t(best)]) best = int(i);
            if (worst < 0 || *v[i] > *v[size_t(worst)]) worst = int(i);
        }
        const double pct = percent_faster(*v[size_t(best)], *v[size_t(worst)]);
        if (pct < 1.0)
            line += " → tie";
        else
            line += " → " + r.targets[size_t(best)].spec.name + " is " + fmt("%.0f", pct) + "% faster" +
                    (r.targets.size() > 2 ? " than " + r.targets[size_t(worst)].spec.name : "");
        out.push_back(line);
    }
    return out;
}

std::vector<TableRow> summary_table(const Workload& w, const BenchResult& r) {
    std::vector<TableRow> rows;
    auto add = [&](std::string metric, const Getter& g, bool lower_better, const std::function<std::string(double)>& show) {
        TableRow row{std::move(metric), {}, {}};
        auto v = values(r, g);
        for (const auto& x : v) row.cells.push_back(x ? show(*x) : "-");
        row.winner = lower_better ? latency_winner(r, v) : rate_winner(r, v);
        rows.push_back(std::move(row));
    };
    const auto show_ms = [](double x) { return fmt_ms(x); };
    const auto show_rate = [](double x) { return fmt("%.2f calls/sec", x); };

    add("Time to ready (spawned)", [](const TargetResult& t) { return t.ready_ms >= 0 ? std::optional<double>(t.ready_ms) : std::nullopt; }, true, show_ms);
    add("Warm-up (first request)", [](const TargetResult& t) {
        auto s = latency_summary(select(t, kWarmup));
        return present(s, s.max);
    }, true, show_ms);
    for (const auto& p : w.payloads)
        add("p50 latency (" + p.name + ")", [&](const TargetResult& t) {
            auto s = latency_summary(select(t, kLatency, p.name));
            return present(s, s.p50);
        }, true, show_ms);
    add("Sequential throughput", [](const TargetResult& t) {
        auto s = select(t, kSequential);
        return s.empty() ? std::nullopt : std::optional<double>(batch_calls_per_s(s));
    }, false, show_rate);
    for (int c : r.options.concurrency)
        add("Concurrent (" + std::to_string(c) + " slots)", [c](const TargetResult& t) {
            auto s = select(t, kConcurrent, "", c);
            return s.empty() ? std::nullopt : std::optional<double>(batch_calls_per_s(s));
        }, false, show_rate);
    if (!r.options.concurrency.empty()) {
        const int c = r.options.concurrency.back();
        add("p90 tail (" + std::to_string(c) + " slots)", [c](const TargetResult& t) {
            auto s = latency_summary(select(t, kConcurrent, "", c));
            return present(s, s.p90);
        }, true, show_ms);
    }
    add("Time to first token p50", [](const TargetResult& t) {
        auto s = ttft_summary(select(t, kLatency));
        return present(s, s.p50);
    }, true, show_ms);
    add("Decode rate p50", [](const TargetResult& t) {
        auto s = tokens_per_s_summary(measured_samples(t));
        return present(s, s.p50);
    }, false, [](double x) { return fmt("%.1f tok/s", x); });

    // Quality rows: counts, not a figure to rank by size.
    TableRow valid{r.options.request.fixed_length ? "Quality (exactly max_tokens)" : "Quality (valid JSON)", {}, "-"};
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
                if (r.targets[i].alive && n_valid(all) == best_valid) {
                    valid.winner = r.targets[i].spec.name;
                    break;
                }
            }
        }
        const bool same = !answers.empty() && !answers[0].empty() &&
                          std::all_of(answers.begin(), answers.end(), [&](const auto& a) { return a == answers[0]; });
        agree.winner = same ? "Same answer" : "Different answers";
    }
    rows.push_back(std::move(valid));
    rows.push_back(std::move(agree));
    return rows;
}

}  // namespace hotrod::bench
