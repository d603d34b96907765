// Queries over samples, shared by the text, JSON and HTML reports.
#include "bench/results.h"

#include <algorithm>

namespace hotrod::bench {

std::vector<const Sample*> select(const TargetResult& t, const std::string& test, const std::string& payload,
                                  int concurrency) {
    std::vector<const Sample*> out;
    for (const auto& s : t.samples)
        if (s.test == test && (payload.empty() || s.payload == payload) && (concurrency == 0 || s.concurrency == concurrency))
            out.push_back(&s);
    return out;
}

Summary latency_summary(const std::vector<const Sample*>& s) {
    std::vector<double> v;
    for (const Sample* x : s)
        if (x->reply.ok()) v.push_back(x->reply.latency_ms);
    return summarize(v);
}

int n_failed(const std::vector<const Sample*>& s) {
    return int(std::count_if(s.begin(), s.end(), [](const Sample* x) { return !x->reply.ok(); }));
}

int n_valid(const std::vector<const Sample*>& s) {
    return int(std::count_if(s.begin(), s.end(), [](const Sample* x) { return x->verdict.valid; }));
}

double wall_ms(const std::vector<const Sample*>& s) {
    if (s.empty()) return 0;
    double first = s[0]->start_ms, last = s[0]->end_ms;
    for (const Sample* x : s) {
        first = std::min(first, x->start_ms);
        last = std::max(last, x->end_ms);
    }
    return last - first;
}

double batch_calls_per_s(const std::vector<const Sample*>& s) {
    return calls_per_s(int(s.size()) - n_failed(s), wall_ms(s));
}

Summary ttft_summary(const std::vector<const Sample*>& s) {
    std::vector<double> v;
    for (const Sample* x : s)
        if (x->reply.ok() && x->reply.ttft_ms >= 0) v.push_back(x->reply.ttft_ms);
    return summarize(v);
}

Summary tokens_per_s_summary(const std::vector<const Sample*>& s) {
    std::vector<double> v;
    for (const Sample* x : s)
        if (x->reply.ok() && x->reply.tokens_per_s > 0) v.push_back(x->reply.tokens_per_s);
    return summarize(v);
}

}  // namespace hotrod::bench
