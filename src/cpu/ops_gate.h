// The small per-row pieces around a gated delta net layer and gated attention: the gated RMSNorm (norm * w *
// silu(z) per head), the sigmoid output gate, the delta rule's gates (decay g and beta) and the L2 norm of a
// head. Each is one pass over a row in plain loops; they are their own references (the tests check them against
// the formulas in double). Rows, heads and threads are cpu_backend_recurrent.cpp's.
#pragma once

#include <cstdint>

namespace hotrod::cpu {

inline constexpr float kSoftplusLinearFrom = 20.0f;  // softplus(x) = x above this (as ggml): exp would only add < 2e-9

// y = x / rms(x) * w * silu(z) over n elements (rms as rms_norm_row_ref: squares summed in double); y may alias
// x or z.
void rms_norm_gated_row(const float* x, const float* w, const float* z, float eps, int64_t n, float* y);
// x[i] *= sigmoid(gate[i]).
void sigmoid_gate_row(float* x, const float* gate, int64_t n);
// g[h] = a_neg[h] * softplus(alpha[h] + dt_bias[h]); beta[h] = sigmoid(b[h]); outputs may alias inputs.
void delta_gates_row(const float* alpha, const float* b, const float* a_neg, const float* dt_bias, int64_t n,
                     float* g, float* beta);
// y = x * scale / sqrt(sum x^2 + eps) (squares summed in double, as the RMSNorms); y may alias x.
void l2_norm_row(const float* x, float eps, float scale, int64_t n, float* y);

}  // namespace hotrod::cpu
