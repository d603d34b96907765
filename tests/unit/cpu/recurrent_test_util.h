// Shared by the recurrent-op tests: random data and batches of several sequences, each with its own state slot.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "backend/backend.h"

namespace hotrod::cpu::testing {

inline std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

inline backend::TensorView view(std::vector<float>& v, int64_t n_rows, int64_t n_cols) {
    return {quant::DType::F32, v.data(), n_rows, n_cols, size_t(n_cols) * sizeof(float)};
}

// One sequence of a test batch: its token count, the position of its first token (0: starts fresh) and slot.
struct SeqSpec {
    int n_tokens;
    int pos0;
    int slot;
};

// The index arrays of a batch of sequences, in order, and the per-sequence tables the references take.
struct TestBatch {
    std::vector<int32_t> positions, token_seq, slots, seq_first;
    std::vector<uint8_t> fresh;  // bool-sized, for the references' const bool*
    int n_tokens = 0;

    explicit TestBatch(const std::vector<SeqSpec>& seqs) {
        seq_first.push_back(0);
        for (size_t s = 0; s < seqs.size(); ++s) {
            for (int i = 0; i < seqs[s].n_tokens; ++i) {
                positions.push_back(seqs[s].pos0 + i);
                token_seq.push_back(int32_t(s));
            }
            slots.push_back(seqs[s].slot);
            fresh.push_back(seqs[s].pos0 == 0);
            seq_first.push_back(int32_t(positions.size()));
        }
        n_tokens = int(positions.size());
    }
    backend::RecurrentLayout layout() const { return {positions, token_seq, slots, {}}; }
    const bool* fresh_flags() const { return reinterpret_cast<const bool*>(fresh.data()); }
    int n_seqs() const { return int(slots.size()); }
};

// max |a - b| / (max |b| + floor), the tests' error measure (outputs of the delta rule vary in scale per head).
inline double max_rel_error(const std::vector<float>& a, const std::vector<float>& b, double floor = 1e-3) {
    double max_abs = 0.0, max_b = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        max_abs = std::max(max_abs, double(std::fabs(a[i] - b[i])));
        max_b = std::max(max_b, double(std::fabs(b[i])));
    }
    return max_abs / (max_b + floor);
}

}  // namespace hotrod::cpu::testing
