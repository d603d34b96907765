// HTML report assembly; the charts come from svg_chart.cpp, the words from summary.cpp and report_text.cpp.
#include "bench/report_html.h"

#include "bench/report_text.h"
#include "bench/summary.h"
#include "bench/svg_chart.h"

namespace hotrod::bench {

std::string html_report(const Workload& w, const BenchResult& r) {
    std::vector<std::string> names;
    std::vector<const TargetResult*> alive;
    for (const auto& t : r.targets)
        if (t.alive) {
            names.push_back(t.spec.name);
            alive.push_back(&t);
        }

    // p50 bars with a p90 tick, per payload.
    std::vector<std::string> payload_names;
    for (const auto& p : w.payloads) payload_names.push_back(p.name + " (" + std::to_string(p.text.size()) + " chars)");
    std::vector<BarSeries> latency;
    for (const TargetResult* t : alive) {
        BarSeries s{t->spec.name, {}, {}};
        for (const auto& p : w.payloads) {
            const Summary m = latency_summary(select(*t, kLatency, p.name));
            s.values.push_back(m.n ? m.p50 : -1);
            s.whiskers.push_back(m.n ? m.p90 : -1);
        }
        latency.push_back(std::move(s));
    }

    // Calls/s: sequential (TEST 2) as one in flight, then each TEST 3 level.
    std::vector<std::string> levels = {"1 (sequential)"};
    for (int c : r.options.concurrency) levels.push_back(std::to_string(c));
    std::vector<BarSeries> rate;
    for (const TargetResult* t : alive) {
        BarSeries s{t->spec.name, {batch_calls_per_s(select(*t, kSequential))}, {}};
        for (int c : r.options.concurrency) s.values.push_back(batch_calls_per_s(select(*t, kConcurrent, "", c)));
        rate.push_back(std::move(s));
    }

    // Every answered call's latency, per payload (TEST 1) and per concurrency level (TEST 3).
    std::vector<StripRow> rows;
    auto add_rows = [&](const std::string& label, auto pick) {
        for (size_t i = 0; i < alive.size(); ++i) {
            StripRow row{label + " · " + alive[i]->spec.name, int(i), {}};
            for (const Sample* s : pick(*alive[i]))
                if (s->reply.ok()) row.values.push_back(s->reply.latency_ms);
            rows.push_back(std::move(row));
        }
    };
    for (const auto& p : w.payloads) add_rows(p.name, [&](const TargetResult& t) { return select(t, kLatency, p.name); });
    for (int c : r.options.concurrency)
        add_rows(std::to_string(c) + " slots", [&](const TargetResult& t) { return select(t, kConcurrent, "", c); });

    std::string title = "hotrod bench";
    if (!w.name.empty()) title += ": " + w.name;
    std::string h = "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>" + html_escape(title) +
                    "</title>\n<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
                    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}"
                    "th{background:#f4f4f4}pre{background:#f8f8f8;padding:1em;overflow-x:auto;font-size:12px}"
                    "figure{margin:1.5em 0}.dead{color:#b00}</style></head><body>\n";
    h += "<h1>" + html_escape(title) + "</h1>\n<p>" + html_escape(r.date + " — " + r.host) + "</p>\n";
    h += "<p>Schema " + std::string(r.options.request.schema ? "sent" : "not sent") + "; " +
         (r.options.request.fixed_length ? "fixed length (ignore_eos)" : "stops at EOS") + "; " +
         std::to_string(r.options.rounds) + " rounds per payload; percentiles by linear interpolation.</p>\n<ul>";
    for (const auto& t : r.targets) {
        h += "<li><b>" + html_escape(t.spec.name) + "</b> " + html_escape(t.url);
        if (!t.alive) h += " <span class='dead'>DEAD: " + html_escape(t.error) + "</span>";
        if (!t.spec.spawn_command.empty()) h += "<br><code>" + html_escape(t.spec.spawn_command) + "</code>";
        h += "</li>";
    }
    h += "</ul>\n<h2>Verdict</h2>\n<ul>";
    for (const auto& line : verdict_lines(w, r)) h += "<li>" + html_escape(line) + "</li>";
    h += "</ul>\n<h2>Summary</h2>\n<table><tr><th>Metric</th>";
    for (const auto& t : r.targets) h += "<th>" + html_escape(t.spec.name) + "</th>";
    h += "<th>Winner</th></tr>\n";
    for (const auto& row : summary_table(w, r)) {
        h += "<tr><td>" + html_escape(row.metric) + "</td>";
        for (const auto& c : row.cells) h += "<td>" + html_escape(c) + "</td>";
        h += "<td>" + html_escape(row.winner) + "</td></tr>\n";
    }
    h += "</table>\n<h2>Charts</h2>\n";
    h += "<figure>" + svg_grouped_bars("Latency by payload: p50 bar, p90 tick (lower is better)", "ms", payload_names, latency) +
         "</figure>\n";
    h += "<figure>" + svg_grouped_bars("Throughput by calls in flight (higher is better)", "calls/s", levels, rate) + "</figure>\n";
    h += "<figure>" + svg_strip_plot("Latency distribution, every answered call", "ms", rows, names) + "</figure>\n";
    h += "<h2>Full report</h2>\n<pre>" + html_escape(text_report(w, r)) + "</pre>\n</body></html>\n";
    return h;
}

}  // namespace hotrod::bench
