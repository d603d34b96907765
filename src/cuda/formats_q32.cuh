// Format<T> (formats.cuh's contract) for the 32-element formats Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0, each the device
// twin of its scalar reference in src/quant/dot_ref_q32.cpp and src/quant/q*_*.cpp. A block splits into 4 parts of
// 8 elements; a part's integer dot is two dp4a. Block terms are formed with explicitly rounded float operations
// (__fmul_rn / __fadd_rn) so nvcc cannot fuse them into an FMA the reference does not do: each block's term is
// the reference's bit for bit, and only the order of the sum over blocks differs from the CPU.
//
// Activations: all five take Q8_1 blocks (quantize_row_q8_1_ref), Q4_0 / Q5_0 / Q8_0 too, where the CPU pairs them
// with Q8_0 (quantize_row_q8_0_act_ref). The two carry the same codes and the same fp16-rounded scale (Q8_1 keeps it
// as the float the Q8_0 half widens to), so every block term is unchanged; what Q8_1 buys is 4-byte aligned codes
// (a 40-byte block; Q8_0's 34 leave them 2-aligned, two loads a word) and one quantized x for all five formats.
//
// Which elements a part holds: for dot_part, part p of a 4-bit / 5-bit block is qs[4p..4p+3], i.e. elements
// 4p..4p+3 (low nibbles) and 16+4p..16+4p+3 (high nibbles) -- any partition gives the same block sum; for
// dequant_part, part p is the contiguous elements 8p..8p+7 (the order embed_rows writes them in).
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/formats.cuh"
#include "quant/blocks.h"
#include "quant/types.h"

namespace hotrod::cuda {

namespace q32 {

// The 4 activation codes x.qs[4k..4k+3] as one dp4a word (offset 8 of a 4-byte aligned 40-byte block).
__device__ __forceinline__ int act_word(const quant::BlockQ8_1* x, int k) {
    return *reinterpret_cast<const int*>(x->qs + 4 * k);
}

// Per byte u - k (mod 256), for bytes u < 128 and k <= 128: bit 7 set first keeps each byte >= k, so no borrow
// crosses bytes, and clearing it gives the wrapped difference, the int8 dp4a reads (3 plain ops; __vsub4 is a
// longer emulated sequence on sm_90).
__device__ __forceinline__ int sub_bytes(uint32_t u, uint32_t k4) { return int(((u | 0x80808080u) - k4) ^ 0x80808080u); }

// Bits 0..3 of h moved to bit 4 of bytes 0..3: the fifth bits of 4 consecutive 5-bit codes, ready to OR into
// their nibbles.
__device__ __forceinline__ uint32_t fifth_bits(uint32_t h) {
    return ((h & 1u) << 4) | ((h & 2u) << 11) | ((h & 4u) << 18) | ((h & 8u) << 25);
}

// The 8 unsigned codes of dot part p (low nibbles = elements 4p.., high nibbles = elements 16+4p..) of a 4-bit
// block whose qs start at `qs`, with the fifth bits from the 32-bit qh word when kFive.
template <bool kFive>
__device__ __forceinline__ void codes(const uint8_t* qs, uint32_t qh, int p, uint32_t& lo, uint32_t& hi) {
    const uint32_t q = uint32_t(load_i32_a2(qs + 4 * p));
    lo = q & 0x0f0f0f0fu;
    hi = (q >> 4) & 0x0f0f0f0fu;
    if (kFive) {
        lo |= fifth_bits(qh >> (4 * p));
        hi |= fifth_bits(qh >> (16 + 4 * p));
    }
}

// Code of element e (0..31) of a 4-bit / 5-bit block, as the dequantize references read it.
template <bool kFive>
__device__ __forceinline__ int code(const uint8_t* qs, uint32_t qh, int e) {
    int q = e < 16 ? (qs[e] & 0xf) : (qs[e - 16] >> 4);
    if (kFive) q |= int((qh >> e) & 1u) << 4;
    return q;
}

struct IntSum {
    int sum;
};

}  // namespace q32

// x = d * (q - 8). Block: d (2 bytes), qs (16). The reference's d_w * d_x * sum((q - 8) * q_x), left to right.
template <>
struct Format<quant::DType::Q4_0> {
    using Act = quant::BlockQ8_1;
    static constexpr quant::DType kAct = quant::DType::Q8_1;
    static constexpr int kElems = 32;
    static constexpr int kBytes = 18;
    static constexpr int kParts = 4;
    static constexpr int kAlign = 2;
    using Partial = q32::IntSum;

    __device__ static Partial dot_part(const uint8_t* w, const Act* x, int p) {
        uint32_t lo, hi;
        q32::codes<false>(w + 2, 0, p, lo, hi);
        // q - 8 per byte: the int8 values -8..7.
        const int s = __dp4a(q32::sub_bytes(lo, 0x08080808u), q32::act_word(x, p), 0);
        return {__dp4a(q32::sub_bytes(hi, 0x08080808u), q32::act_word(x, 4 + p), s)};
    }
    __device__ static Partial add(Partial a, Partial b) { return {a.sum + b.sum}; }
    __device__ static float finish(const uint8_t* w, const Act* x, Partial p) {
        return __fmul_rn(__fmul_rn(half_bits_to_float(load_u16(w)), x->d), float(p.sum));
    }
    __device__ static void dequant_part(const uint8_t* w, int p, float* out) {
        const float d = half_bits_to_float(load_u16(w));
        for (int k = 0; k < 8; ++k) out[k] = __fmul_rn(d, float(q32::code<false>(w + 2, 0, 8 * p + k) - 8));
    }
};

// x = d * q + m. Block: d, m (2 bytes each), qs (16). Q8_1's s = d_x * sum(q_x) carries the min.
template <>
struct Format<quant::DType::Q4_1> {
    using Act = quant::BlockQ8_1;
    static constexpr quant::DType kAct = quant::DType::Q8_1;
    static constexpr int kElems = 32;
    static constexpr int kBytes = 20;
    static constexpr int kParts = 4;
    static constexpr int kAlign = 2;
    using Partial = q32::IntSum;

    __device__ static Partial dot_part(const uint8_t* w, const Act* x, int p) {
        uint32_t lo, hi;
        q32::codes<false>(w + 4, 0, p, lo, hi);
        const int s = __dp4a(int(lo), q32::act_word(x, p), 0);
        return {__dp4a(int(hi), q32::act_word(x, 4 + p), s)};
    }
    __device__ static Partial add(Partial a, Partial b) { return {a.sum + b.sum}; }
    __device__ static float finish(const uint8_t* w, const Act* x, Partial p) {
        const float d = half_bits_to_float(load_u16(w)), m = half_bits_to_float(load_u16(w + 2));
        return __fadd_rn(__fmul_rn(__fmul_rn(d, x->d), float(p.sum)), __fmul_rn(m, x->s));
    }
    __device__ static void dequant_part(const uint8_t* w, int p, float* out) {
        const float d = half_bits_to_float(load_u16(w)), m = half_bits_to_float(load_u16(w + 2));
        for (int k = 0; k < 8; ++k) out[k] = __fadd_rn(__fmul_rn(d, float(q32::code<false>(w + 4, 0, 8 * p + k))), m);
    }
};

// x = d * (q - 16), q = nibble | fifth bit << 4. Block: d (2 bytes), qh (4), qs (16).
template <>
struct Format<quant::DType::Q5_0> {
    using Act = quant::BlockQ8_1;
    static constexpr quant::DType kAct = quant::DType::Q8_1;
    static constexpr int kElems = 32;
    static constexpr int kBytes = 22;
    static constexpr int kParts = 4;
    static constexpr int kAlign = 2;
    using Partial = q32::IntSum;

    __device__ static Partial dot_part(const uint8_t* w, const Act* x, int p) {
        uint32_t lo, hi;
        q32::codes<true>(w + 6, uint32_t(load_i32_a2(w + 2)), p, lo, hi);
        // q - 16 per byte: the int8 values -16..15.
        const int s = __dp4a(q32::sub_bytes(lo, 0x10101010u), q32::act_word(x, p), 0);
        return {__dp4a(q32::sub_bytes(hi, 0x10101010u), q32::act_word(x, 4 + p), s)};
    }
    __device__ static Partial add(Partial a, Partial b) { return {a.sum + b.sum}; }
    __device__ static float finish(const uint8_t* w, const Act* x, Partial p) {
        return __fmul_rn(__fmul_rn(half_bits_to_float(load_u16(w)), x->d), float(p.sum));
    }
    __device__ static void dequant_part(const uint8_t* w, int p, float* out) {
        const float d = half_bits_to_float(load_u16(w));
        const uint32_t qh = uint32_t(load_i32_a2(w + 2));
        for (int k = 0; k < 8; ++k) out[k] = __fmul_rn(d, float(q32::code<true>(w + 6, qh, 8 * p + k) - 16));
    }
};

// x = d * q + m, q as Q5_0. Block: d, m (2 bytes each), qh (4), qs (16).
template <>
struct Format<quant::DType::Q5_1> {
    using Act = quant::BlockQ8_1;
    static constexpr quant::DType kAct = quant::DType::Q8_1;
    static constexpr int kElems = 32;
    static constexpr int kBytes = 24;
    static constexpr int kParts = 4;
    static constexpr int kAlign = 2;
    using Partial = q32::IntSum;

    __device__ static Partial dot_part(const uint8_t* w, const Act* x, int p) {
        uint32_t lo, hi;
        q32::codes<true>(w + 8, uint32_t(load_i32_a2(w + 4)), p, lo, hi);
        const int s = __dp4a(int(lo), q32::act_word(x, p), 0);
        return {__dp4a(int(hi), q32::act_word(x, 4 + p), s)};
    }
    __device__ static Partial add(Partial a, Partial b) { return {a.sum + b.sum}; }
    __device__ static float finish(const uint8_t* w, const Act* x, Partial p) {
        const float d = half_bits_to_float(load_u16(w)), m = half_bits_to_float(load_u16(w + 2));
        return __fadd_rn(__fmul_rn(__fmul_rn(d, x->d), float(p.sum)), __fmul_rn(m, x->s));
    }
    __device__ static void dequant_part(const uint8_t* w, int p, float* out) {
        const float d = half_bits_to_float(load_u16(w)), m = half_bits_to_float(load_u16(w + 2));
        const uint32_t qh = uint32_t(load_i32_a2(w + 4));
        for (int k = 0; k < 8; ++k) out[k] = __fadd_rn(__fmul_rn(d, float(q32::code<true>(w + 8, qh, 8 * p + k))), m);
    }
};

// x = d * q, q int8. Block: d (2 bytes), qs (32). Part p is elements 8p..8p+7 for dot and dequant alike.
template <>
struct Format<quant::DType::Q8_0> {
    using Act = quant::BlockQ8_1;
    static constexpr quant::DType kAct = quant::DType::Q8_1;
    static constexpr int kElems = 32;
    static constexpr int kBytes = 34;
    static constexpr int kParts = 4;
    static constexpr int kAlign = 2;
    using Partial = q32::IntSum;

    __device__ static Partial dot_part(const uint8_t* w, const Act* x, int p) {
        const int s = __dp4a(load_i32_a2(w + 2 + 8 * p), q32::act_word(x, 2 * p), 0);
        return {__dp4a(load_i32_a2(w + 6 + 8 * p), q32::act_word(x, 2 * p + 1), s)};
    }
    __device__ static Partial add(Partial a, Partial b) { return {a.sum + b.sum}; }
    __device__ static float finish(const uint8_t* w, const Act* x, Partial p) {
        return __fmul_rn(__fmul_rn(half_bits_to_float(load_u16(w)), x->d), float(p.sum));
    }
    __device__ static void dequant_part(const uint8_t* w, int p, float* out) {
        const float d = half_bits_to_float(load_u16(w));
        const int8_t* qs = reinterpret_cast<const int8_t*>(w + 2);
        for (int k = 0; k < 8; ++k) out[k] = __fmul_rn(float(qs[8 * p + k]), d);
    }
};

}  // namespace hotrod::cuda
