// The gated delta rule's reference and its recurrent kernel. The kernel folds the decay into the passes over S
// that it makes anyway: u_j = beta (v_j - exp(g) S_j.k) in one pass, then S_j = exp(g) S_j + u_j k and
// o_j = S_j.q in a second, two reads of the 64 KiB head state per token instead of four.
#include "cpu/ops_delta_rule.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/ops_gate.h"

namespace hotrod::cpu {

namespace {

// q (scaled) and k of token t for value head h, L2-normalized when the job asks.
void load_qk(const DeltaRuleJob& job, int64_t t, int head, float* q, float* k) {
    const int d = job.head_dim;
    const size_t kh = size_t(job.key_head(head)) * size_t(d);
    const float* qt = job.q + size_t(t) * job.q_stride + kh;
    const float* kt = job.k + size_t(t) * job.k_stride + kh;
    if (job.l2_norm) {
        l2_norm_row(qt, job.l2_eps, job.scale, d, q);
        l2_norm_row(kt, job.l2_eps, 1.0f, d, k);
    } else {
        for (int i = 0; i < d; ++i) q[i] = qt[i] * job.scale;
        std::memcpy(k, kt, size_t(d) * sizeof(float));
    }
}

}  // namespace

void gated_delta_rule_ref(const DeltaRuleJob& job, float* state, size_t state_stride, const int32_t* seq_first,
                          const int32_t* slots, const bool* fresh, int n_seqs) {
    const int d = job.head_dim;
    const size_t D = size_t(d);
    std::vector<double> S(D * D), u(D);
    std::vector<float> q(D), k(D);
    for (int s = 0; s < n_seqs; ++s) {
        for (int h = 0; h < job.n_v_heads; ++h) {
            float* Sf = state + size_t(slots[s]) * state_stride + size_t(h) * size_t(d) * size_t(d);
            for (size_t e = 0; e < S.size(); ++e) S[e] = fresh[s] ? 0.0 : double(Sf[e]);
            for (int64_t t = seq_first[s]; t < seq_first[s + 1]; ++t) {
                load_qk(job, t, h, q.data(), k.data());
                const float* v = job.v + size_t(t) * job.v_stride + size_t(h) * size_t(d);
                const double decay = std::exp(double(job.g[size_t(t) * job.g_stride + size_t(h)]));
                const double beta = job.beta[size_t(t) * job.beta_stride + size_t(h)];
                for (double& e : S) e *= decay;
                for (int j = 0; j < d; ++j) {  // u = beta (v - S^T k)
                    double sk = 0.0;
                    for (int i = 0; i < d; ++i) sk += S[size_t(j) * size_t(d) + size_t(i)] * k[size_t(i)];
                    u[size_t(j)] = beta * (double(v[j]) - sk);
                }
                for (int j = 0; j < d; ++j)  // S += k u^T
                    for (int i = 0; i < d; ++i) S[size_t(j) * size_t(d) + size_t(i)] += double(k[size_t(i)]) * u[size_t(j)];
                float* o = job.out + size_t(t) * job.out_stride + size_t(h) * size_t(d);
                for (int j = 0; j < d; ++j) {  // o = S^T q
                    double sq = 0.0;
                    for (int i = 0; i < d; ++i) sq += S[size_t(j) * size_t(d) + size_t(i)] * q[size_t(i)];
                    o[j] = float(sq);
                }
            }
            for (size_t e = 0; e < S.size(); ++e) Sf[e] = float(S[e]);
        }
    }
}

size_t delta_rule_recurrent_scratch(int head_dim) { return 3 * size_t(head_dim); }

void delta_rule_recurrent(const DeltaRuleJob& job, int64_t t0, int64_t t1, int head, float* S, float* scratch) {
    const int d = job.head_dim;
    float* q = scratch;
    float* k = q + d;
    float* u = k + d;
    for (int64_t t = t0; t < t1; ++t) {
        load_qk(job, t, head, q, k);
        const float* v = job.v + size_t(t) * job.v_stride + size_t(head) * size_t(d);
        float* o = job.out + size_t(t) * job.out_stride + size_t(head) * size_t(d);
        const float decay = std::exp(job.g[size_t(t) * job.g_stride + size_t(head)]);
        const float beta = job.beta[size_t(t) * job.beta_stride + size_t(head)];
        for (int j = 0; j < d; ++j) u[j] = beta * (v[j] - decay * delta_rows::dot(S + size_t(j) * size_t(d), k, d));
        for (int j = 0; j < d; ++j) {
            float* Sj = S + size_t(j) * size_t(d);
            for (int i = 0; i < d; ++i) Sj[i] = decay * Sj[i] + u[j] * k[i];
            o[j] = delta_rows::dot(Sj, q, d);
        }
    }
}

}  // namespace hotrod::cpu
