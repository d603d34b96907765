// The gated delta rule (backend::DeltaRuleParams has the formula): the scalar reference of the whole op, and the
// two kernels the backend runs per (sequence, value head): recurrent, token by token (ops_delta_rule.cpp), and
// chunked, up to 64 tokens at a time as matrix products (ops_delta_rule_chunked.cpp). Both update the state in
// place. The state of one value head is d x d floats, row j (value index) holding S[.][j] over the key index, so
// S^T k and S^T q are row dot products and the rank-1 update k u^T is a row axpy.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hotrod::cpu {

// One call's inputs as pointers and strides (in floats). Token t's key head h of q at q + t*q_stride + h*head_dim
// (k alike); value head h of v and out at + t*stride + h*head_dim; g and beta at + t*stride + h.
struct DeltaRuleJob {
    const float* q = nullptr;
    size_t q_stride = 0;
    const float* k = nullptr;
    size_t k_stride = 0;
    const float* v = nullptr;
    size_t v_stride = 0;
    const float* g = nullptr;
    size_t g_stride = 0;
    const float* beta = nullptr;
    size_t beta_stride = 0;
    float* out = nullptr;
    size_t out_stride = 0;
    int n_k_heads = 0;
    int n_v_heads = 0;
    int head_dim = 0;
    float scale = 1.0f;
    bool l2_norm = false;
    float l2_eps = 0.0f;

    int key_head(int v_head) const { return v_head % n_k_heads; }
    size_t state_floats() const { return size_t(n_v_heads) * size_t(head_dim) * size_t(head_dim); }
};

// The rule as written, token by token with the decay applied to S first, the state held in double: the
// accuracy yardstick of both kernels. Sequence s has tokens [seq_first[s], seq_first[s+1]) and state slot
// slots[s] (at state + slots[s]*state_stride); fresh[s]: it starts from zero.
void gated_delta_rule_ref(const DeltaRuleJob& job, float* state, size_t state_stride, const int32_t* seq_first,
                          const int32_t* slots, const bool* fresh, int n_seqs);

// Tokens [t0, t1) of one sequence for value head `head`, whose d x d state is S. Scratch: floats, per call.
size_t delta_rule_recurrent_scratch(int head_dim);
void delta_rule_recurrent(const DeltaRuleJob& job, int64_t t0, int64_t t1, int head, float* S, float* scratch);

// The same in chunks that end where the position (pos0 = position of token t0) reaches a multiple of
// kDeltaChunk, so the chunking of a sequence does not depend on how the batch around it was cut.
constexpr int kDeltaChunk = 64;
size_t delta_rule_chunked_scratch(int head_dim);
void delta_rule_chunked(const DeltaRuleJob& job, int64_t t0, int64_t t1, int32_t pos0, int head, float* S,
                        float* scratch);

namespace delta_rows {

// Dot and axpy over a state row, with eight partial sums so the compiler can keep them in vector lanes.
inline float dot(const float* a, const float* b, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; ++l) acc[l] += a[i + l] * b[i + l];
    float sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; ++i) sum += a[i] * b[i];
    return sum;
}

// y += a * x.
inline void axpy(float a, const float* x, float* y, int n) {
    for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace delta_rows

}  // namespace hotrod::cpu
