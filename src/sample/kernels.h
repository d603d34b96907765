// The passes the sampler makes over one row of logits (up to 262144 floats): max, arg-max, exp-and-sum,
// partial top-k and threshold gathers. Plain loops written so the compiler vectorises them (fixed lane
// counts, no early exits inside a block); the tests check each against a naive loop or std::exp.
// NaN never wins a comparison here, so every pass treats a NaN logit as -inf without a cleaning pass.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace hotrod::sample {

// One surviving token: its id, its (processed) logit and its unnormalised weight exp((logit - max) / T).
struct Candidate {
    int32_t id;
    float logit;
    float weight;
};

// exp(x) for x <= 0, relative error below 2e-7 on [-86, 0]. Returns 0 for x < -86 (exp(-86) = 4e-38, far below
// any probability the sampler can draw), for -inf and for NaN. Range reduction x = n ln2 + f, |f| <= ln2/2,
// with ln2 split in two so n*ln2_hi is exact; e^f by its Taylor series to f^7 (error < 6e-9 on that range).
inline float exp_nonpos(float x) {
    const bool in_range = x >= -86.0f;  // false for NaN and -inf
    float xc = in_range ? x : -86.0f;
    xc = xc < 0.0f ? xc : 0.0f;
    const float round_magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer kept in the low bits
    const float r = xc * 1.44269504f + round_magic;
    const float n = r - round_magic;
    float f = xc - n * 0.693359375f;  // ln2_hi has few mantissa bits, so n * ln2_hi is exact for |n| < 2^9
    f = f - n * -2.12194440e-4f;      // ln2_lo = ln2 - ln2_hi
    float p = 1.0f / 5040.0f;
    p = p * f + 1.0f / 720.0f;
    p = p * f + 1.0f / 120.0f;
    p = p * f + 1.0f / 24.0f;
    p = p * f + 1.0f / 6.0f;
    p = p * f + 0.5f;
    p = p * f + 1.0f;
    p = p * f + 1.0f;
    const uint32_t n_bits = std::bit_cast<uint32_t>(r) - std::bit_cast<uint32_t>(round_magic);
    const float y = std::bit_cast<float>(std::bit_cast<uint32_t>(p) + (n_bits << 23));
    return in_range ? y : 0.0f;
}

// Largest value of x[0, n), NaN skipped; -inf when n == 0 or every value is -inf or NaN.
float max_value(const float* x, size_t n);

// Lowest i with x[i] == value, or n when there is none.
size_t first_index_of(const float* x, size_t n, float value);

// Values per block of exp_weights' sums: float lanes within a block, double across blocks.
inline constexpr size_t kSumBlock = 1024;

// Sum over i of exp_nonpos((x[i] - max) * inv_t), accumulated per block in float lanes and across blocks in
// double (relative error ~1e-7 at n = 262144). When weights is not null it also receives each term, and when
// block_totals is not null it receives each block's sum (ceil(n / kSumBlock) of them), so a draw can find its
// block first and then scan 1024 weights instead of the whole row.
double exp_weights(const float* x, size_t n, float max, float inv_t, float* weights, double* block_totals = nullptr);

// The k largest values of x (NaN and -inf never selected) into out[0, k), sorted by value descending and id
// ascending on ties; returns how many were found (< k when fewer are finite). out needs room for k.
size_t select_top_k(const float* x, size_t n, size_t k, Candidate* out);

// Every i with value[i] >= threshold, in id order, into out (room for n); logit from logits[i], weight from
// value[i] when value is a weight row, else 0. Returns the count.
size_t gather_at_least(const float* value, size_t n, float threshold, const float* logits, bool value_is_weight,
                       Candidate* out);

// Reorders c so that c[0, k) holds the k best-ranked candidates (logit descending, id ascending), for the
// smallest k whose weights sum to at least target; k = n when they all fall short. c[0, k) is left unsorted.
// Expected O(n) (nth_element halving the range), so top-p never sorts a large candidate set.
size_t select_mass_prefix(Candidate* c, size_t n, double target);

// Sorts by logit descending, id ascending on ties: the order in which top-p and min-p keep a prefix.
void sort_candidates(Candidate* c, size_t n);

}  // namespace hotrod::sample
