// Plain reference of the sampler chain for the tests: every stage in double precision over the whole
// vocabulary with a full sort, written straight from the definitions on SamplingParams (no shortcut, no
// threshold trick). The Sampler under test is compared against this, never against itself.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "sample/params.h"

namespace hotrod::sample::ref {

inline constexpr double kNegInf = -std::numeric_limits<double>::infinity();

struct History {
    std::vector<int32_t> prompt;
    std::vector<int32_t> generated;
};

// Logits after mask (allowed empty = no mask), NaN, repetition / presence / frequency penalties and bias.
// The penalty arithmetic is done in float, as the spec states it on float logits, so results match bit for bit.
inline std::vector<double> process(const std::vector<float>& raw, const SamplingParams& p, const History& h,
                                   const std::vector<bool>& allowed = {}) {
    const size_t n = raw.size();
    std::vector<int32_t> all = h.prompt;
    all.insert(all.end(), h.generated.begin(), h.generated.end());
    std::map<int32_t, int> in_window, n_generated;
    const size_t window = p.repeat_last_n < 0 ? all.size() : std::min<size_t>(all.size(), p.repeat_last_n);
    for (size_t i = all.size() - window; i < all.size(); ++i) in_window[all[i]] = 1;
    for (const int32_t t : h.generated) ++n_generated[t];
    std::map<int32_t, double> bias;
    for (const auto& [t, b] : p.logit_bias) bias[t] += b;
    std::vector<double> out(n);
    for (size_t i = 0; i < n; ++i) {
        float x = raw[i];
        if (std::isnan(x) || (!allowed.empty() && !allowed[i]) || x == -INFINITY) {
            out[i] = kNegInf;
            continue;
        }
        const int32_t id = static_cast<int32_t>(i);
        if (in_window.count(id) && p.repetition_penalty != 1.0f) x = x > 0 ? x / p.repetition_penalty : x * p.repetition_penalty;
        if (n_generated.count(id)) x -= p.presence_penalty + p.frequency_penalty * static_cast<float>(n_generated[id]);
        double y = x;
        if (bias.count(id)) y = bias[id] <= kBanBias ? kNegInf : static_cast<double>(static_cast<float>(x + static_cast<float>(bias[id])));
        out[i] = y;
    }
    return out;
}

// Indices sorted by value descending, id ascending on ties.
inline std::vector<int32_t> sorted_ids(const std::vector<double>& x) {
    std::vector<int32_t> ids(x.size());
    for (size_t i = 0; i < x.size(); ++i) ids[i] = static_cast<int32_t>(i);
    std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return x[a] > x[b]; });
    return ids;
}

inline int32_t argmax(const std::vector<double>& x) {
    int32_t best = -1;
    for (size_t i = 0; i < x.size(); ++i)
        if (x[i] != kNegInf && (best < 0 || x[i] > x[best])) best = static_cast<int32_t>(i);
    return best;
}

// The final distribution: (id, probability) most likely first, probabilities summing to 1.
inline std::vector<std::pair<int32_t, double>> distribution(const std::vector<double>& x, const SamplingParams& p) {
    std::vector<std::pair<int32_t, double>> out;
    if (p.temperature == 0.0f) {
        const int32_t best = argmax(x);
        if (best >= 0) out.push_back({best, 1.0});
        return out;
    }
    const std::vector<int32_t> ids = sorted_ids(x);
    if (ids.empty() || x[ids[0]] == kNegInf) return out;
    const double max = x[ids[0]];
    std::vector<std::pair<int32_t, double>> w;  // weight relative to the top token
    for (const int32_t id : ids) {
        if (x[id] == kNegInf) break;
        w.push_back({id, std::exp((x[id] - max) / p.temperature)});
    }
    if (p.top_k > 0 && static_cast<size_t>(p.top_k) < w.size()) w.resize(p.top_k);
    if (p.top_p < 1.0f) {
        double z = 0.0;
        for (const auto& e : w) z += e.second;
        double cum = 0.0;
        for (size_t i = 0; i < w.size(); ++i) {
            cum += w[i].second;
            if (cum >= p.top_p * z) {
                w.resize(i + 1);
                break;
            }
        }
    }
    if (p.min_p > 0.0f)
        while (w.size() > 1 && w.back().second < p.min_p) w.pop_back();
    double z = 0.0;
    for (const auto& e : w) z += e.second;
    for (auto& e : w) e.second /= z;
    return w;
}

// Random logits that look like a model's: a normal bulk plus a few tokens well above it.
inline std::vector<float> model_like_logits(size_t n, uint64_t seed, float sigma = 2.0f, int n_peaks = 8) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, sigma);
    std::vector<float> x(n);
    for (float& v : x) v = normal(rng);
    std::uniform_int_distribution<size_t> pick(0, n - 1);
    std::uniform_real_distribution<float> lift(4.0f * sigma, 7.0f * sigma);
    for (int i = 0; i < n_peaks; ++i) x[pick(rng)] = lift(rng);
    return x;
}

}  // namespace hotrod::sample::ref
