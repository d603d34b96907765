// Gated RMSNorm, sigmoid gate, delta-rule gates, L2 norm: per-row loops with std::exp / std::log1p.
#include "cpu/ops_gate.h"

#include <cmath>

namespace hotrod::cpu {

namespace {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

void rms_norm_gated_row(const float* x, const float* w, const float* z, float eps, int64_t n, float* y) {
    double sum_sq = 0.0;
    for (int64_t i = 0; i < n; ++i) sum_sq += double(x[i] * x[i]);
    const float inv_rms = 1.0f / std::sqrt(float(sum_sq / double(n)) + eps);
    // The normalized value times w first, then the gate: the order of llama.cpp's graph (norm, mul w, mul silu z).
    for (int64_t i = 0; i < n; ++i) {
        const float zi = z[i];
        y[i] = x[i] * inv_rms * w[i] * (zi / (1.0f + std::exp(-zi)));
    }
}

void sigmoid_gate_row(float* x, const float* gate, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] *= sigmoid(gate[i]);
}

void delta_gates_row(const float* alpha, const float* b, const float* a_neg, const float* dt_bias, int64_t n, float* g,
                     float* beta) {
    for (int64_t h = 0; h < n; ++h) {
        const float a = alpha[h] + dt_bias[h];
        // log1p keeps softplus accurate where exp(a) is tiny (a very negative: a slow-decaying head).
        const float softplus = a > kSoftplusLinearFrom ? a : std::log1p(std::exp(a));
        g[h] = a_neg[h] * softplus;
        beta[h] = sigmoid(b[h]);
    }
}

void l2_norm_row(const float* x, float eps, float scale, int64_t n, float* y) {
    double sum_sq = 0.0;
    for (int64_t i = 0; i < n; ++i) sum_sq += double(x[i] * x[i]);
    const float f = scale / std::sqrt(float(sum_sq) + eps);
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * f;
}

}  // namespace hotrod::cpu
