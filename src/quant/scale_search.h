// Scale searches shared by the K-format quantizers (no Python reference exists for them, so they are judged by
// round-trip error in tests). Each sub-block gets the least-squares scale (and min) over a sweep of candidate
// grids, not just the amax grid; then the sub-block scales are themselves quantized under one super-block scale.
#pragma once

#include <cstdint>

namespace hotrod::quant {

// Fits x[0..n) ~ scale * q - min with integer q in 0..q_max, scale >= 0 and min >= 0 (the K formats store the
// offset as a non-negative min that is subtracted, so a block of positive values gets min = 0).
void fit_affine(const float* x, int n, int q_max, float& scale, float& min);

// Fits x[0..n) ~ scale * q with integer q in -q_neg..q_neg-1; the scale may be negative (the extreme value
// then lands on -q_neg, using the one extra level of the negative side).
float fit_symmetric(const float* x, int n, int q_neg);

// The searches' starting points alone, for weights whose quality does not matter (synthetic models): the range
// grid (scale = (max - min) / q_max, min = -min(0, lo)) and the extreme on -q_neg. No sweep, no refinement.
void range_affine(const float* x, int n, int q_max, float& scale, float& min);
float range_symmetric(const float* x, int n, int q_neg);

// Quantizes v[0..n) (all >= 0) to integers q[i] in 0..q_max under d, the fp16-representable scale with
// max(v) ~ d * q_max. q[] is rounded against the fp16-rounded d that the block will store.
void quantize_super_scales(const float* v, int n, int q_max, uint8_t* q, float& d);

// Signed version: q[i] in -q_neg..q_neg-1, the signed extreme of v mapping to -q_neg (d may be negative).
void quantize_super_scales_signed(const float* v, int n, int q_neg, int* q, float& d);

// After the super scales are fixed: tries the integer sub-block scale and min one step either side of (sc, m)
// and keeps the pair with the least error for x ~ (d*sc) * q - (dmin*m), q in 0..q_max; sc and m in 0..sc_max.
void refine_sub_scale_affine(const float* x, int n, int q_max, float d, float dmin, int sc_max, uint8_t& sc,
                             uint8_t& m);

// Symmetric version: sc in -sc_neg..sc_neg-1, x ~ (d*sc) * q with q in -q_neg..q_neg-1.
void refine_sub_scale_symmetric(const float* x, int n, int q_neg, float d, int sc_neg, int& sc);

}  // namespace hotrod::quant
