// The gated delta rule in chunks (the "WY" / UT form of flash-linear-attention, derived here in the form this
// file computes). Within a chunk of C tokens starting from state S0, with G_t the sum of g over the chunk's
// tokens up to and including t, unrolling the recurrence gives
//   S_t = e^{G_t} S0 + sum_{s<=t} e^{G_t - G_s} k_s u_s^T
// where u_s is the recurrent form's beta (v - S^T k) of token s. Substituting S_{t-1} into u_t:
//   u_t = beta_t (v_t - e^{G_t} S0^T k_t - sum_{s<t} e^{G_t - G_s} (k_t.k_s) u_s)
// a unit lower-triangular system in the u's, solved here by forward substitution (the UT transform's inverse
// applied one row at a time). Then
//   o_t = e^{G_t} S0^T q_t + sum_{s<=t} e^{G_t - G_s} (q_t.k_s) u_s
//   S_C = e^{G_C} S0 + sum_s e^{G_C - G_s} k_s u_s^T
// S0 is read twice per chunk (S0^T k and S0^T q for all its tokens in one pass) and written once, against two
// reads and a write per token in the recurrent form, and the rest is C x C work on rows that stay in L1.
// Every exponent is G_t - G_s with s <= t, so <= 0 for a decay g <= 0: nothing overflows however long the chunk.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/ops_delta_rule.h"
#include "cpu/ops_gate.h"

namespace hotrod::cpu {

using delta_rows::axpy;
using delta_rows::dot;

size_t delta_rule_chunked_scratch(int head_dim) { return 5 * size_t(kDeltaChunk) * size_t(head_dim) + 2 * kDeltaChunk; }

namespace {

// One chunk [t0, t0 + C) of value head `head`. Scratch rows are head_dim apart, one per chunk token.
void chunk(const DeltaRuleJob& job, int64_t t0, int C, int head, float* S, float* scratch) {
    const int d = job.head_dim;
    const size_t D = size_t(d);
    float* q = scratch;             // C rows: q, scaled (and normalized)
    float* k = q + kDeltaChunk * D;  // C rows: k (normalized)
    float* ks = k + kDeltaChunk * D;  // C rows: S0^T k_t, then u_t in place
    float* qs = ks + kDeltaChunk * D;  // C rows: S0^T q_t, then o_t in place
    float* v_in = qs + kDeltaChunk * D;  // C rows: v
    float* G = v_in + kDeltaChunk * D;   // C cumulative log decays
    float* beta = G + kDeltaChunk;

    const size_t kh = size_t(job.key_head(head)) * D;
    float g_sum = 0.0f;
    for (int c = 0; c < C; ++c) {
        const int64_t t = t0 + c;
        const float* qt = job.q + size_t(t) * job.q_stride + kh;
        const float* kt = job.k + size_t(t) * job.k_stride + kh;
        if (job.l2_norm) {
            l2_norm_row(qt, job.l2_eps, job.scale, d, q + size_t(c) * D);
            l2_norm_row(kt, job.l2_eps, 1.0f, d, k + size_t(c) * D);
        } else {
            for (int i = 0; i < d; ++i) q[size_t(c) * D + size_t(i)] = qt[i] * job.scale;
            std::memcpy(k + size_t(c) * D, kt, D * sizeof(float));
        }
        std::memcpy(v_in + size_t(c) * D, job.v + size_t(t) * job.v_stride + size_t(head) * D, D * sizeof(float));
        g_sum += job.g[size_t(t) * job.g_stride + size_t(head)];
        G[c] = g_sum;
        beta[c] = job.beta[size_t(t) * job.beta_stride + size_t(head)];
    }

    // S0^T k_t and S0^T q_t: one pass over S0, each row against every token's k and q.
    for (int j = 0; j < d; ++j) {
        const float* Sj = S + size_t(j) * D;
        for (int c = 0; c < C; ++c) {
            ks[size_t(c) * D + size_t(j)] = dot(Sj, k + size_t(c) * D, d);
            qs[size_t(c) * D + size_t(j)] = dot(Sj, q + size_t(c) * D, d);
        }
    }

    // u_t by forward substitution over the earlier u's of the chunk; ks row t becomes u_t.
    for (int c = 0; c < C; ++c) {
        float* u = ks + size_t(c) * D;
        const float* vt = v_in + size_t(c) * D;
        const float decay = std::exp(G[c]);
        for (int j = 0; j < d; ++j) u[j] = vt[j] - decay * u[j];
        for (int s = 0; s < c; ++s) {
            const float a = std::exp(G[c] - G[s]) * dot(k + size_t(c) * D, k + size_t(s) * D, d);
            axpy(-a, ks + size_t(s) * D, u, d);
        }
        for (int j = 0; j < d; ++j) u[j] *= beta[c];
    }

    // o_t = e^{G_t} S0^T q_t + sum_{s<=t} e^{G_t - G_s} (q_t.k_s) u_s, written to the output rows.
    for (int c = 0; c < C; ++c) {
        float* o = qs + size_t(c) * D;
        const float decay = std::exp(G[c]);
        for (int j = 0; j < d; ++j) o[j] *= decay;
        for (int s = 0; s <= c; ++s) {
            const float a = std::exp(G[c] - G[s]) * dot(q + size_t(c) * D, k + size_t(s) * D, d);
            axpy(a, ks + size_t(s) * D, o, d);
        }
        std::memcpy(job.out + size_t(t0 + c) * job.out_stride + size_t(head) * D, o, D * sizeof(float));
    }

    // S = e^{G_C} S0 + sum_s e^{G_C - G_s} k_s u_s^T, row j: S_j = e^{G_C} S_j + sum_s (e^{G_C - G_s} u_s[j]) k_s.
    const float decay_all = std::exp(G[C - 1]);
    for (int s = 0; s < C; ++s) G[s] = std::exp(G[C - 1] - G[s]);  // G now holds each token's decay to the end
    for (int j = 0; j < d; ++j) {
        float* Sj = S + size_t(j) * D;
        for (int i = 0; i < d; ++i) Sj[i] *= decay_all;
        for (int s = 0; s < C; ++s) axpy(G[s] * ks[size_t(s) * D + size_t(j)], k + size_t(s) * D, Sj, d);
    }
}

}  // namespace

void delta_rule_chunked(const DeltaRuleJob& job, int64_t t0, int64_t t1, int32_t pos0, int head, float* S,
                        float* scratch) {
    int64_t t = t0;
    while (t < t1) {
        const int64_t pos = pos0 + (t - t0);
        const int C = int(std::min<int64_t>(t1 - t, kDeltaChunk - pos % kDeltaChunk));
        chunk(job, t, C, head, S, scratch);
        t += C;
    }
}

}  // namespace hotrod::cpu
