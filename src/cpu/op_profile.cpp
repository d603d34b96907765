// HOTROD_PROFILE=1 totals (see op_profile.h): a table keyed by op kind and detail, printed at exit sorted by time.
#include "cpu/op_profile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace hotrod::cpu {
namespace {

struct Totals {
    std::mutex mu;  // ops of different backends may run on different threads
    std::map<std::pair<std::string, std::string>, std::pair<double, long>> by_op;  // (kind, detail) -> (ms, calls)

    ~Totals() {
        if (by_op.empty()) return;
        std::vector<std::pair<std::pair<std::string, std::string>, std::pair<double, long>>> rows(by_op.begin(), by_op.end());
        std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
        double total = 0;
        for (const auto& r : rows) total += r.second.first;
        std::fprintf(stderr, "HOTROD_PROFILE: %.1f ms in CPU backend ops\n%10s %6s %10s %9s  %s\n", total, "ms", "%",
                     "calls", "us/call", "op");
        for (const auto& [key, v] : rows) {
            std::fprintf(stderr, "%10.1f %6.2f %10ld %9.2f  %s%s%s\n", v.first, 100 * v.first / total, v.second,
                         1000 * v.first / double(v.second), key.first.c_str(), key.second.empty() ? "" : " ",
                         key.second.c_str());
        }
    }
};

Totals& totals() {
    static Totals t;
    return t;
}

}  // namespace

bool op_profile_enabled() {
    static const bool on = [] {
        const char* v = std::getenv("HOTROD_PROFILE");
        if (v && std::string(v) == "1") {
            totals();  // constructed now, so destroyed (and printed) after the ops' users
            return true;
        }
        return false;
    }();
    return on;
}

OpTimer::~OpTimer() {
    if (!on_) return;
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count();
    Totals& t = totals();
    std::lock_guard<std::mutex> lock(t.mu);
    auto& v = t.by_op[{kind_, detail_}];
    v.first += ms;
    v.second += 1;
}

}  // namespace hotrod::cpu
