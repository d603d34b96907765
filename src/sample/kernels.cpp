// Passes over a logit row (see kernels.h). Blocks of kBlock values let the selection passes skip a whole
// block with one vectorised max when nothing in it can enter: on a real vocabulary almost every block.
// The hot loops use GCC/Clang vector extensions (4 floats, one SSE register on the x86-64 baseline), because
// GCC does not vectorise compare-selects or exp on floats without -ffast-math; the tests check every pass
// against a naive scalar loop.
#include "sample/kernels.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace hotrod::sample {

namespace {

constexpr size_t kLanes = 4;
constexpr size_t kBlock = 64;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

using V4f = float __attribute__((vector_size(16)));
using V4i = int32_t __attribute__((vector_size(16)));
using V4u = uint32_t __attribute__((vector_size(16)));

V4f load4(const float* p) {
    V4f v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

void store4(float* p, V4f v) { std::memcpy(p, &v, sizeof v); }

V4f splat(float x) { return V4f{} + x; }

// x > m ? x : m lane by lane: a NaN in x never wins.
V4f max4(V4f x, V4f m) { return x > m ? x : m; }

float hmax(V4f v) {
    float m = kNegInf;
    for (int j = 0; j < 4; ++j) m = v[j] > m ? v[j] : m;
    return m;
}

float block_max(const float* x) {
    V4f m = splat(kNegInf);  // not load4(x): a NaN there would stick in its lane and hide the lane's max
    for (size_t j = 0; j < kBlock; j += 4) m = max4(load4(x + j), m);
    return hmax(m);
}

bool block_any_at_least(const float* x, float threshold) {
    const V4f t = splat(threshold);
    V4i any = load4(x) >= t;
    for (size_t j = 4; j < kBlock; j += 4) any |= load4(x + j) >= t;
    for (int j = 0; j < 4; ++j)
        if (any[j]) return true;
    return false;
}

bool block_any_equal(const float* x, float value) {
    const V4f t = splat(value);
    V4i any = load4(x) == t;
    for (size_t j = 4; j < kBlock; j += 4) any |= load4(x + j) == t;
    for (int j = 0; j < 4; ++j)
        if (any[j]) return true;
    return false;
}

// exp_nonpos (kernels.h) on 4 lanes, the same operations in the same order, so the same results.
V4f exp_nonpos4(V4f x) {
    const V4i in_range = x >= splat(-86.0f);
    V4f xc = in_range ? x : splat(-86.0f);
    xc = xc < splat(0.0f) ? xc : splat(0.0f);
    const V4f round_magic = splat(12582912.0f);
    const V4f r = xc * 1.44269504f + round_magic;
    const V4f n = r - round_magic;
    V4f f = xc - n * 0.693359375f;
    f = f - n * -2.12194440e-4f;
    V4f p = splat(1.0f / 5040.0f);
    p = p * f + 1.0f / 720.0f;
    p = p * f + 1.0f / 120.0f;
    p = p * f + 1.0f / 24.0f;
    p = p * f + 1.0f / 6.0f;
    p = p * f + 0.5f;
    p = p * f + 1.0f;
    p = p * f + 1.0f;
    const V4u n_bits = (V4u)r - (V4u)round_magic;
    const V4u y_bits = (V4u)p + (n_bits << 23);
    return in_range ? (V4f)y_bits : splat(0.0f);
}

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
    V4f m0 = splat(kNegInf), m1 = m0, m2 = m0, m3 = m0;  // four chains hide the compare latency
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        m0 = max4(load4(x + i), m0);
        m1 = max4(load4(x + i + 4), m1);
        m2 = max4(load4(x + i + 8), m2);
        m3 = max4(load4(x + i + 12), m3);
    }
    for (; i + 4 <= n; i += 4) m0 = max4(load4(x + i), m0);
    float m = hmax(max4(max4(m0, m1), max4(m2, m3)));
    for (; i < n; ++i) m = x[i] > m ? x[i] : m;
    return m;
}

size_t first_index_of(const float* x, size_t n, float value) {
    size_t i = 0;
    for (; i + kBlock <= n; i += kBlock)
        if (block_any_equal(x + i, value)) break;
    for (; i < n; ++i)
        if (x[i] == value) return i;
    return n;
}

double exp_weights(const float* x, size_t n, float max, float inv_t, float* weights, double* block_totals) {
    double total = 0.0;
    for (size_t b = 0; b < n; b += kSumBlock) {
        const size_t end = std::min(n, b + kSumBlock);
        V4f lane = splat(0.0f);
        size_t i = b;
        const V4f vmax = splat(max), vinv_t = splat(inv_t);
        for (; i + kLanes <= end; i += kLanes) {
            const V4f w = exp_nonpos4((load4(x + i) - vmax) * vinv_t);
            if (weights) store4(weights + i, w);
            lane += w;
        }
        float tail = 0.0f;
        for (; i < end; ++i) {
            const float w = exp_nonpos((x[i] - max) * inv_t);
            if (weights) weights[i] = w;
            tail += w;
        }
        double block = tail;
        for (size_t j = 0; j < kLanes; ++j) block += lane[j];
        if (block_totals) block_totals[b / kSumBlock] = block;
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
        if (!(block_max(x + i) > threshold)) continue;
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
        if (!block_any_at_least(value + i, threshold)) continue;
        for (size_t j = 0; j < kBlock; ++j) take(i + j);
    }
    for (; i < n; ++i) take(i);
    return count;
}

size_t select_mass_prefix(Candidate* c, size_t n, double target) {
    const auto better = [](const Candidate& a, const Candidate& b) { return ranks_below(b, a); };
    size_t lo = 0, hi = n;  // invariant: c[0, lo) is in the prefix, the prefix ends inside [lo, hi]
    double need = target;   // mass still missing after c[0, lo)
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        std::nth_element(c + lo, c + mid, c + hi, better);
        double left = 0.0;
        for (size_t i = lo; i < mid; ++i) left += c[i].weight;
        if (mid > lo && left >= need) {
            hi = mid;
            continue;
        }
        need -= left;
        if (c[mid].weight >= need) return mid + 1;
        need -= c[mid].weight;
        lo = mid + 1;
    }
    return lo;
}

void sort_candidates(Candidate* c, size_t n) {
    std::sort(c, c + n, [](const Candidate& a, const Candidate& b) { return ranks_below(b, a); });
}

}  // namespace hotrod::sample
