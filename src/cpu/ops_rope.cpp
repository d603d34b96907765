// RoPE: the double-precision cos/sin table, the float rotation that reads it, and the all-double reference.
// No SIMD version: the rotation is a few hundred multiply-adds per token and head (under 1% of a decode step);
// the NeoX loop auto-vectorizes, and the table removes the transcendental work from the hot path.
#include "cpu/ops_rope.h"

#include <cmath>

namespace hotrod::cpu {

namespace {

double inv_freq(const backend::RopeParams& p, int i) {
    return std::pow(double(p.freq_base), -2.0 * double(i) / double(p.n_dims));
}

// Index pairs rotated together for pair i of a head: (a, b) with b the partner of a.
inline void pair_indices(backend::RopeKind kind, int n_dims, int i, int& a, int& b) {
    if (kind == backend::RopeKind::Normal) {
        a = 2 * i;
        b = 2 * i + 1;
    } else {
        a = i;
        b = i + n_dims / 2;
    }
}

}  // namespace

void rope_table(const int32_t* positions, int64_t n_tokens, const backend::RopeParams& p, float* cos_sin) {
    const int half = p.n_dims / 2;
    for (int64_t t = 0; t < n_tokens; ++t) {
        const double pos = double(positions[t]) * double(p.freq_scale);
        float* row = cos_sin + t * 2 * half;
        for (int i = 0; i < half; ++i) {
            const double theta = pos * inv_freq(p, i);
            row[i] = float(std::cos(theta));
            row[half + i] = float(std::sin(theta));
        }
    }
}

void rope_apply(float* x, int64_t n_tokens, size_t x_stride, int n_heads, int head_dim, backend::RopeKind kind,
                int n_dims, const float* cos_sin) {
    const int half = n_dims / 2;
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* c = cos_sin + t * 2 * half;
        const float* s = c + half;
        for (int h = 0; h < n_heads; ++h) {
            float* v = x + size_t(t) * x_stride + size_t(h) * size_t(head_dim);
            if (kind == backend::RopeKind::NeoX) {
                for (int i = 0; i < half; ++i) {
                    const float a = v[i], b = v[i + half];
                    v[i] = a * c[i] - b * s[i];
                    v[i + half] = a * s[i] + b * c[i];
                }
            } else {
                for (int i = 0; i < half; ++i) {
                    const float a = v[2 * i], b = v[2 * i + 1];
                    v[2 * i] = a * c[i] - b * s[i];
                    v[2 * i + 1] = a * s[i] + b * c[i];
                }
            }
        }
    }
}

void rope_ref(float* x, int64_t n_tokens, size_t x_stride, int n_heads, int head_dim, const int32_t* positions,
              const backend::RopeParams& p) {
    for (int64_t t = 0; t < n_tokens; ++t) {
        const double pos = double(positions[t]) * double(p.freq_scale);
        for (int h = 0; h < n_heads; ++h) {
            float* v = x + size_t(t) * x_stride + size_t(h) * size_t(head_dim);
            for (int i = 0; i < p.n_dims / 2; ++i) {
                int a = 0, b = 0;
                pair_indices(p.kind, p.n_dims, i, a, b);
                const double theta = pos * inv_freq(p, i);
                const double va = v[a], vb = v[b];
                v[a] = float(va * std::cos(theta) - vb * std::sin(theta));
                v[b] = float(va * std::sin(theta) + vb * std::cos(theta));
            }
        }
    }
}

}  // namespace hotrod::cpu
