// Causal conv1d: the reference (one channel, one token at a time, straight from the formula) and the blocked
// kernel. The block's inner loops run over channels, independent lanes the compiler vectorizes; both sum the
// taps in the same order (oldest first), so they agree to the last bit where the compiler keeps that order.
#include "cpu/ops_conv.h"

#include <cmath>
#include <vector>

namespace hotrod::cpu {

namespace {

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace

void conv1d_causal_ref(const ConvJob& job, const int32_t* seq_first, const int32_t* slots, const bool* starts_fresh,
                       int n_seqs) {
    const int K = job.kernel;
    const int64_t C = job.n_channels;
    for (int s = 0; s < n_seqs; ++s) {
        const int64_t t0 = seq_first[s], t1 = seq_first[s + 1];
        float* state = job.state + size_t(slots[s]) * job.state_stride;
        // Input at time tau (relative to t0; negative taus are the state's rows, -1 the newest).
        std::vector<float> old_state(size_t(K - 1) * size_t(C), 0.0f);
        if (!starts_fresh[s]) old_state.assign(state, state + (K - 1) * C);
        std::vector<float> xs(size_t(t1 - t0) * size_t(C));
        for (int64_t t = t0; t < t1; ++t)
            for (int64_t c = 0; c < C; ++c) xs[size_t((t - t0) * C + c)] = job.x[size_t(t) * job.x_stride + size_t(c)];
        auto input = [&](int64_t tau, int64_t c) {
            return tau >= 0 ? xs[size_t(tau * C + c)] : old_state[size_t((K - 1 + tau) * C + c)];
        };
        for (int64_t t = 0; t < t1 - t0; ++t) {
            for (int64_t c = 0; c < C; ++c) {
                float sum = 0.0f;
                for (int i = 0; i < K; ++i) sum += job.w[size_t(c) * size_t(K) + size_t(i)] * input(t - (K - 1) + i, c);
                job.out[size_t(t0 + t) * job.out_stride + size_t(c)] = job.silu ? silu(sum) : sum;
            }
        }
        for (int r = 0; r < K - 1; ++r)
            for (int64_t c = 0; c < C; ++c) state[size_t(r) * size_t(C) + size_t(c)] = input(t1 - t0 - (K - 1) + r, c);
    }
}

void conv1d_causal_block(const ConvJob& job, int64_t t0, int64_t t1, float* state, bool fresh, int64_t c0, int64_t c1) {
    const int K = job.kernel;
    const int64_t n = c1 - c0;
    const size_t C = size_t(job.n_channels);
    float w[kConvMaxKernel][kConvBlock];      // taps, transposed so the channel loop reads them contiguously
    float win[kConvMaxKernel][kConvBlock];    // the last K-1 inputs, oldest first
    for (int i = 0; i < K; ++i)
        for (int64_t c = 0; c < n; ++c) w[i][c] = job.w[size_t(c0 + c) * size_t(K) + size_t(i)];
    for (int r = 0; r < K - 1; ++r)
        for (int64_t c = 0; c < n; ++c) win[r][c] = fresh ? 0.0f : state[size_t(r) * C + size_t(c0 + c)];
    for (int64_t t = t0; t < t1; ++t) {
        const float* xt = job.x + size_t(t) * job.x_stride + size_t(c0);
        float* ot = job.out + size_t(t) * job.out_stride + size_t(c0);
        float cur[kConvBlock], sum[kConvBlock];
        for (int64_t c = 0; c < n; ++c) cur[c] = xt[c];  // read before out (which may be x) is written
        for (int64_t c = 0; c < n; ++c) sum[c] = 0.0f;
        for (int i = 0; i < K - 1; ++i)
            for (int64_t c = 0; c < n; ++c) sum[c] += w[i][c] * win[i][c];
        for (int64_t c = 0; c < n; ++c) sum[c] += w[K - 1][c] * cur[c];
        for (int i = 0; i + 1 < K - 1; ++i)
            for (int64_t c = 0; c < n; ++c) win[i][c] = win[i + 1][c];
        if (K > 1)
            for (int64_t c = 0; c < n; ++c) win[K - 2][c] = cur[c];
        if (job.silu) {
            for (int64_t c = 0; c < n; ++c) ot[c] = silu(sum[c]);
        } else {
            for (int64_t c = 0; c < n; ++c) ot[c] = sum[c];
        }
    }
    for (int r = 0; r < K - 1; ++r)
        for (int64_t c = 0; c < n; ++c) state[size_t(r) * C + size_t(c0 + c)] = win[r][c];
}

}  // namespace hotrod::cpu
