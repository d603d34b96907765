// Passes over a logit row (see kernels.h). Blocks of kBlock values let the selection passes skip a whole
// block with one vectorised max when nothing in it can enter: on a real vocabulary almost every block.
#include "sample/kernels.h"

#include <algorithm>
#include <limits>

namespace hotrod::sample {

namespace {

constexpr size_t kLanes = 8;
constexpr size_t kBlock = 64;
constexpr size_t kSumBlock = 1024;  // float lanes within, double across: keeps 262144-term sums exact to ~1e-7
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// "a ranks below b" in the sampler's order: lower logit, or equal logit and higher id.
bool ranks_below(const Candidate& a, const Candidate& b) {
    return a.logit < b.logit || (a.logit == b.logit && a.id > b.id);
}

// Restores the heap whose root (the lowest-ranked kept token) was just replaced.
void sift_down(Candidate* heap, size_t n, size_t i) {
    for (;;) {
        size_t low = i;
        const size_t l = 2 * i + 1, r = l + 1;
        if (l < n && ranks_below(heap[l], heap[low])) low = l;
        if (r < n && ranks_below(heap[r], heap[low])) low = r;
        if (low == i) return;
        std::swap(heap[i], heap[low]);
        i = low;
    }
}

}  // namespace

float max_value(const float* x, size_t n) {
    float lane[kLanes];
    std::fill(lane, lane + kLanes, kNegInf);
    size_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (size_t j = 0; j < kLanes; ++j) lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
    float m = kNegInf;
    for (; i < n; ++i) m = x[i] > m ? x[i] : m;
    for (size_t j = 0; j < kLanes; ++j) m = lane[j] > m ? lane[j] : m;
    return m;
}

size_t first_index_of(const float* x, size_t n, float value) {
    size_t i = 0;
    for (; i + kBlock <= n; i += kBlock) {
        bool hit = false;
        for (size_t j = 0; j < kBlock; ++j) hit |= x[i + j] == value;
        if (hit) break;
    }
    for (; i < n; ++i)
        if (x[i] == value) return i;
    return n;
}

double exp_weights(const float* x, size_t n, float max, float inv_t, float* weights) {
    double total = 0.0;
    for (size_t b = 0; b < n; b += kSumBlock) {
        const size_t end = std::min(n, b + kSumBlock);
        float lane[kLanes] = {};
        size_t i = b;
        if (weights) {
            for (; i + kLanes <= end; i += kLanes)
                for (size_t j = 0; j < kLanes; ++j) {
                    const float w = exp_nonpos((x[i + j] - max) * inv_t);
                    weights[i + j] = w;
                    lane[j] += w;
                }
        } else {
            for (; i + kLanes <= end; i += kLanes)
                for (size_t j = 0; j < kLanes; ++j) lane[j] += exp_nonpos((x[i + j] - max) * inv_t);
        }
        float tail = 0.0f;
        for (; i < end; ++i) {
            const float w = exp_nonpos((x[i] - max) * inv_t);
            if (weights) weights[i] = w;
            tail += w;
        }
        double block = tail;
        for (size_t j = 0; j < kLanes; ++j) block += lane[j];
        total += block;
    }
    return total;
}

size_t select_top_k(const float* x, size_t n, size_t k, Candidate* out) {
    if (k == 0) return 0;
    // Sentinels rank below every real token (ids ascend as we stream, so id INT32_MAX is never beaten on a tie
    // by a real -inf, and -inf values never enter because the test is a strict x > threshold).
    std::fill(out, out + k, Candidate{std::numeric_limits<int32_t>::max(), kNegInf, 0.0f});
    float threshold = kNegInf;
    auto offer = [&](size_t i) {
        if (x[i] > threshold) {  // strict: an equal value arrives with a higher id, so it ranks below
            out[0] = Candidate{static_cast<int32_t>(i), x[i], 0.0f};
            sift_down(out, k, 0);
            threshold = out[0].logit;
        }
    };
    size_t i = 0;
    for (; i + kBlock <= n; i += kBlock) {
        float m = kNegInf;
        for (size_t j = 0; j < kBlock; ++j) m = x[i + j] > m ? x[i + j] : m;
        if (!(m > threshold)) continue;
        for (size_t j = 0; j < kBlock; ++j) offer(i + j);
    }
    for (; i < n; ++i) offer(i);
    sort_candidates(out, k);
    size_t found = 0;
    while (found < k && out[found].id != std::numeric_limits<int32_t>::max()) ++found;
    return found;
}

size_t gather_at_least(const float* value, size_t n, float threshold, const float* logits, bool value_is_weight,
                       Candidate* out) {
    size_t count = 0;
    auto take = [&](size_t i) {
        if (value[i] >= threshold)
            out[count++] = Candidate{static_cast<int32_t>(i), logits[i], value_is_weight ? value[i] : 0.0f};
    };
    size_t i = 0;
    for (; i + kBlock <= n; i += kBlock) {
        bool any = false;
        for (size_t j = 0; j < kBlock; ++j) any |= value[i + j] >= threshold;
        if (!any) continue;
        for (size_t j = 0; j < kBlock; ++j) take(i + j);
    }
    for (; i < n; ++i) take(i);
    return count;
}

void sort_candidates(Candidate* c, size_t n) {
    std::sort(c, c + n, [](const Candidate& a, const Candidate& b) { return ranks_below(b, a); });
}

}  // namespace hotrod::sample
