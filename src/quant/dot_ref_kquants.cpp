// Scalar reference dot products of the K formats (Q2_K..Q6_K) against Q8_K activations. Each super-block is
// decoded to plain integers, multiplied in exact integer arithmetic, and scaled to float once per super-block;
// the mins (and the fixed offsets of Q3_K/Q6_K) are folded in through the activation's group-of-16 sums.
// The SIMD kernels in src/cpu/dot_q*_k_*.cpp are tested against these.
#include <cstdint>

#include "quant/blocks.h"
#include "quant/dot_ref.h"
#include "quant/half.h"
#include "quant/k_scales.h"

namespace hotrod::quant {

namespace {

// Integer dot of 16 weight values (already decoded) with 16 activation values.
int dot16(const int8_t* q, const int8_t* x) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += int(q[i]) * int(x[i]);
    return sum;
}

}  // namespace

float dot_ref_q2_k(int64_t n, const void* w, const void* x_q8_k) {
    const auto* wb = static_cast<const BlockQ2_K*>(w);
    const auto* xb = static_cast<const BlockQ8_K*>(x_q8_k);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) {
        // Element 128*h + 32*s + l holds bits 2s..2s+1 of qs[32*h + l].
        int8_t q[QK_K];
        for (int e = 0; e < QK_K; ++e) {
            const int h = e / 128, s = (e % 128) / 32, l = e % 32;
            q[e] = int8_t((wb[b].qs[32 * h + l] >> (2 * s)) & 3);
        }
        int sum_q = 0, sum_min = 0;
        for (int g = 0; g < QK_K / 16; ++g) {
            sum_q += (wb[b].scales[g] & 0xF) * dot16(q + 16 * g, xb[b].qs + 16 * g);
            sum_min += (wb[b].scales[g] >> 4) * xb[b].bsums[g];
        }
        const float d = fp16_to_fp32(wb[b].d), dmin = fp16_to_fp32(wb[b].dmin);
        sum += xb[b].d * (d * float(sum_q) - dmin * float(sum_min));
    }
    return sum;
}

float dot_ref_q3_k(int64_t n, const void* w, const void* x_q8_k) {
    const auto* wb = static_cast<const BlockQ3_K*>(w);
    const auto* xb = static_cast<const BlockQ8_K*>(x_q8_k);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) {
        // Element 128*h + 32*s + l: low bits 2s..2s+1 of qs[32*h + l]; high bit (4*h + s) of hmask[l]. A clear high
        // bit subtracts 4, so q is in -4..3.
        int8_t q[QK_K];
        for (int e = 0; e < QK_K; ++e) {
            const int h = e / 128, s = (e % 128) / 32, l = e % 32;
            const int low = (wb[b].qs[32 * h + l] >> (2 * s)) & 3;
            const int high = (wb[b].hmask[l] >> (4 * h + s)) & 1;
            q[e] = int8_t(low - (high ? 0 : 4));
        }
        int scales[16];
        unpack_scales_q3_k(wb[b].scales, scales);
        int sum_q = 0;
        for (int g = 0; g < QK_K / 16; ++g) sum_q += scales[g] * dot16(q + 16 * g, xb[b].qs + 16 * g);
        sum += xb[b].d * fp16_to_fp32(wb[b].d) * float(sum_q);
    }
    return sum;
}

float dot_ref_q4_k(int64_t n, const void* w, const void* x_q8_k) {
    const auto* wb = static_cast<const BlockQ4_K*>(w);
    const auto* xb = static_cast<const BlockQ8_K*>(x_q8_k);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) {
        // Element 64*c + 32*t + l is nibble t (0 low, 1 high) of qs[32*c + l]; sub-block j covers elements 32j..32j+31.
        int8_t q[QK_K];
        for (int e = 0; e < QK_K; ++e) {
            const int c = e / 64, t = (e % 64) / 32, l = e % 32;
            q[e] = int8_t((wb[b].qs[32 * c + l] >> (4 * t)) & 0xF);
        }
        int sum_q = 0, sum_min = 0;
        for (int j = 0; j < 8; ++j) {
            int scale = 0, min = 0;
            unpack_scale_min_k4(wb[b].scales, j, scale, min);
            sum_q += scale * (dot16(q + 32 * j, xb[b].qs + 32 * j) + dot16(q + 32 * j + 16, xb[b].qs + 32 * j + 16));
            sum_min += min * (xb[b].bsums[2 * j] + xb[b].bsums[2 * j + 1]);
        }
        const float d = fp16_to_fp32(wb[b].d), dmin = fp16_to_fp32(wb[b].dmin);
        sum += xb[b].d * (d * float(sum_q) - dmin * float(sum_min));
    }
    return sum;
}

float dot_ref_q5_k(int64_t n, const void* w, const void* x_q8_k) {
    const auto* wb = static_cast<const BlockQ5_K*>(w);
    const auto* xb = static_cast<const BlockQ8_K*>(x_q8_k);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) {
        // As Q4_K, plus bit (e / 32) of qh[e % 32] as the fifth bit of element e.
        int8_t q[QK_K];
        for (int e = 0; e < QK_K; ++e) {
            const int c = e / 64, t = (e % 64) / 32, l = e % 32;
            const int low = (wb[b].qs[32 * c + l] >> (4 * t)) & 0xF;
            const int high = (wb[b].qh[l] >> (e / 32)) & 1;
            q[e] = int8_t(low | (high << 4));
        }
        int sum_q = 0, sum_min = 0;
        for (int j = 0; j < 8; ++j) {
            int scale = 0, min = 0;
            unpack_scale_min_k4(wb[b].scales, j, scale, min);
            sum_q += scale * (dot16(q + 32 * j, xb[b].qs + 32 * j) + dot16(q + 32 * j + 16, xb[b].qs + 32 * j + 16));
            sum_min += min * (xb[b].bsums[2 * j] + xb[b].bsums[2 * j + 1]);
        }
        const float d = fp16_to_fp32(wb[b].d), dmin = fp16_to_fp32(wb[b].dmin);
        sum += xb[b].d * (d * float(sum_q) - dmin * float(sum_min));
    }
    return sum;
}

float dot_ref_q6_k(int64_t n, const void* w, const void* x_q8_k) {
    const auto* wb = static_cast<const BlockQ6_K*>(w);
    const auto* xb = static_cast<const BlockQ8_K*>(x_q8_k);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; ++b) {
        // Element 128*h + 64*t + l (l < 64): low 4 bits are nibble t of ql[64*h + l]; element 128*h + 32*s + l
        // (l < 32): high 2 bits are bits 2s..2s+1 of qh[32*h + l]. Stored with +32, so q is in -32..31.
        int8_t q[QK_K];
        for (int e = 0; e < QK_K; ++e) {
            const int h = e / 128, r = e % 128;
            const int low = (wb[b].ql[64 * h + r % 64] >> (4 * (r / 64))) & 0xF;
            const int high = (wb[b].qh[32 * h + r % 32] >> (2 * (r / 32))) & 3;
            q[e] = int8_t((low | (high << 4)) - 32);
        }
        int sum_q = 0;
        for (int g = 0; g < QK_K / 16; ++g) sum_q += wb[b].scales[g] * dot16(q + 16 * g, xb[b].qs + 16 * g);
        sum += xb[b].d * fp16_to_fp32(wb[b].d) * float(sum_q);
    }
    return sum;
}

}  // namespace hotrod::quant
