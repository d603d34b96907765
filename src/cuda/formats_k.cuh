// The K weight formats (Q2_K..Q6_K) as the CUDA kernels read them, paired with Q8_K activations: the formats.cuh
// contract, mirroring src/quant/dot_ref_kquants.cpp and the dequantize references (q2_k.cpp .. q6_k.cpp) term for
// term. A super-block splits into 16 parts of 16 elements' work (two super-blocks per warp): dot_part returns exact
// integer sums (the per-group-scaled sum_q, and sum_min through the activation's bsums), finish does the
// reference's one float combine per super-block with the same roundings (no FMA contraction), so a super-block's
// term is the CPU's bit for bit.
//
// dot_part's slices follow the byte layout (one lane reads a few whole 4-byte words of the quants, as dp4a wants),
// not element order: part p's elements are listed beside each format. Mins need the group-of-16 sums of the
// activations, so part p adds the min term of group p whatever elements it multiplies: the parts together still
// cover every product and every min term once. dequant_part(w, p, out) writes elements 16p .. 16p+15 of the block
// to out[0..16).
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/formats.cuh"
#include "quant/blocks.h"
#include "quant/types.h"

namespace hotrod::cuda {

namespace k_detail {

constexpr int kParts = 16;      // parts per super-block
constexpr int kPartElems = 16;  // elements dequant_part writes

// Four activation codes x->qs[i..i+3] as one word (i a multiple of 4; BlockQ8_K keeps qs 4-aligned).
__device__ __forceinline__ int act4(const quant::BlockQ8_K* x, int i) { return *reinterpret_cast<const int*>(x->qs + i); }

// Per byte u - k (mod 256) with no borrow between bytes, for bytes 0 <= u < 128 and 0 <= k <= 128: setting bit 7
// first keeps every byte >= k, and flipping it back gives the wrapped difference. Turns Q3_K / Q6_K's stored
// unsigned codes into their signed values for dp4a.
__device__ __forceinline__ int bytes_minus(uint32_t u, uint32_t k4) {
    return int(((u | 0x80808080u) - k4) ^ 0x80808080u);
}

// unpack_scale_min_k4 (k_scales.h): scale and min of sub-block j (0..7) of a Q4_K / Q5_K block.
__device__ __forceinline__ void scale_min_k4(const uint8_t* s, int j, int& scale, int& min) {
    if (j < 4) {
        scale = s[j] & 63;
        min = s[j + 4] & 63;
    } else {
        scale = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// A 4-byte little-endian word at a 4-byte aligned address (Q4_K / Q5_K blocks: see kAlign).
__device__ __forceinline__ uint32_t load_u32(const uint8_t* p) { return *reinterpret_cast<const uint32_t*>(p); }

// scale_min_k4 from the 12 scale bytes as three words (s0 = bytes 0..3, s1 = 4..7, s2 = 8..11), for a j known only at
// run time: shifts and one select instead of byte loads behind branches.
__device__ __forceinline__ void scale_min_k4_words(uint32_t s0, uint32_t s1, uint32_t s2, int j, int& scale, int& min) {
    const int sh = 8 * (j % 4);
    const uint32_t b0 = s0 >> sh, b1 = s1 >> sh, b2 = s2 >> sh;
    if (j < 4) {
        scale = int(b0 & 63);
        min = int(b1 & 63);
    } else {
        scale = int((b2 & 0xF) | (((b0 >> 6) & 3) << 4));
        min = int(((b2 >> 4) & 0xF) | (((b1 >> 6) & 3) << 4));
    }
}

// unpack_scales_q3_k (k_scales.h): signed scale (-32..31) of sub-block k (0..15) of a Q3_K block.
__device__ __forceinline__ int scale_q3_k(const uint8_t* s, int k) {
    const int low = (s[k % 8] >> (4 * (k / 8))) & 0xF;
    const int high = (s[8 + k % 4] >> (2 * (k / 4))) & 3;
    return (low | (high << 4)) - 32;
}

// The reference's affine combine x_d * (d * sum_q - dmin * sum_min), each operation rounded on its own as the
// CPU reference (compiled without FMA) rounds it: the intrinsics keep nvcc from contracting into an fma.
__device__ __forceinline__ float combine_affine(float x_d, uint16_t d_bits, uint16_t dmin_bits, int sum_q,
                                                int sum_min) {
    const float d = half_bits_to_float(d_bits), dmin = half_bits_to_float(dmin_bits);
    return __fmul_rn(x_d, __fsub_rn(__fmul_rn(d, __int2float_rn(sum_q)), __fmul_rn(dmin, __int2float_rn(sum_min))));
}

// The reference's x_d * d * sum_q, left to right.
__device__ __forceinline__ float combine_symmetric(float x_d, uint16_t d_bits, int sum_q) {
    return __fmul_rn(__fmul_rn(x_d, half_bits_to_float(d_bits)), __int2float_rn(sum_q));
}

struct SumsAffine {
    int q;    // sum over groups of scale * dot(q, x)
    int min;  // sum over groups of min * bsum
};

struct SumsSymmetric {
    int q;  // sum over groups of scale * dot(q, x)
};

// A Q4_K / Q5_K part's sums from its two dots (sub-blocks 2c and 2c + 1 of chunk c): their scales times the dots,
// and group `part`'s min times its activation sum (k = part % 4 picks the sub-block the group lies in).
__device__ __forceinline__ SumsAffine k4_part_sums(const uint8_t* scales, int c, int k, int dot_lo, int dot_hi,
                                                  const quant::BlockQ8_K* x, int part) {
    const uint32_t s0 = load_u32(scales), s1 = load_u32(scales + 4), s2 = load_u32(scales + 8);
    int sc_lo, min_lo, sc_hi, min_hi;
    scale_min_k4_words(s0, s1, s2, 2 * c, sc_lo, min_lo);
    scale_min_k4_words(s0, s1, s2, 2 * c + 1, sc_hi, min_hi);
    return {sc_lo * dot_lo + sc_hi * dot_hi, (k < 2 ? min_lo : min_hi) * int(x->bsums[part])};
}

}  // namespace k_detail

// Q2_K (84 bytes: scales[16] | qs[64] | d | dmin). Part p = 8h + k reads qs word 32h + 4k: elements
// 128h + 32s + 4k + i (s, i in 0..3), which fall in groups 8h + 2s + k/4; plus group p's min term.
template <>
struct Format<quant::DType::Q2_K> {
    using Act = quant::BlockQ8_K;
    using Partial = k_detail::SumsAffine;
    static constexpr quant::DType kAct = quant::DType::Q8_K;
    static constexpr int kElems = quant::QK_K;
    static constexpr int kBytes = sizeof(quant::BlockQ2_K);
    static constexpr int kParts = k_detail::kParts;
    static constexpr int kAlign = 2;
    static constexpr int kScales = offsetof(quant::BlockQ2_K, scales);
    static constexpr int kQs = offsetof(quant::BlockQ2_K, qs);
    static constexpr int kD = offsetof(quant::BlockQ2_K, d);
    static constexpr int kDmin = offsetof(quant::BlockQ2_K, dmin);

    __device__ static Partial dot_part(const uint8_t* w, const Act* x, int part) {
        const int h = part / 8, k = part % 8;
        const uint32_t qs = uint32_t(load_i32_a2(w + kQs + 32 * h + 4 * k));
        int sum_q = 0;
#pragma unroll
        for (int s = 0; s < 4; ++s) {
            const int dot = __dp4a(int((qs >> (2 * s)) & 0x03030303u), k_detail::act4(x, 128 * h + 32 * s + 4 * k), 0);
            sum_q += (w[kScales + 8 * h + 2 * s + k / 4] & 0xF) * dot;
        }
        return {sum_q, (w[kScales + part] >> 4) * int(x->bsums[part])};
    }
    __device__ static Partial add(Partial a, Partial b) { return {a.q + b.q, a.min + b.min}; }
    __device__ static float finish(const uint8_t* w, const Act* x, Partial p) {
        return k_detail::combine_affine(x->d, load_u16(w + kD), load_u16(w + kDmin), p.q, p.min);
    }
    // Group p: 2-bit codes at bits 2s of qs[32h + l0 + j], h = p / 8, s = (p % 8) / 2, l0 = 16 (p % 2).
    __device__ static void dequant_part(const uint8_t* w, int part, float* out) {
        const int h = part / 8, s = (part % 8) / 2, l0 = 16 * (part % 2);
        const int sc = w[kScales + part];
        const float dl = __fmul_rn(half_bits_to_float(load_u16(w + kD)), float(sc & 0xF));
        const float ml = __fmul_rn(half_bits_to_float(load_u16(w + kDmin)), float(sc >> 4));
#pragma unroll
        for (int j4 = 0; j4 < 4; ++j4) {
            const uint32_t qs = uint32_t(load_i32_a2(w + kQs + 32 * h + l0 + 4 * j4));
#pragma unroll
            for (int i = 0; i < 4; ++i)
                out[4 * j4 + i] = __fsub_rn(__fmul_rn(dl, float((qs >> (8 * i + 2 * s)) & 3)), ml);
        }
    }
};

// Q3_K (110 bytes: hmask[32] | qs[64] | scales[12] | d). Part p = 8h + k reads qs word 32h + 4k and hmask word
// 4k: elements 128h + 32s + 4k + i as Q2_K, high bit 4h + s of hmask[4k + i] (clear: the value drops by 4).
template <>
struct Format<quant::DType::Q3_K> {
    using Act = quant::BlockQ8_K;
    using Partial = k_detail::SumsSymmetric;
    static constexpr quant::DType kAct = quant::DType::Q8_K;
    static constexpr int kElems = quant::QK_K;
    static constexpr int kBytes = sizeof(quant::BlockQ3_K);
    static constexpr int kParts = k_detail::kParts;
    static constexpr int kAlign = 2;
    static constexpr int kHmask = offsetof(quant::BlockQ3_K, hmask);
    static constexpr int kQs = offsetof(quant::BlockQ3_K, qs);
    static constexpr int kScales = offsetof(quant::BlockQ3_K, scales);
    static constexpr int kD = offsetof(quant::BlockQ3_K, d);

    __device__ static Partial dot_part(const uint8_t* w, const Act* x, int part) {
        const int h = part / 8, k = part % 8;
        const uint32_t qs = uint32_t(load_i32_a2(w + kQs + 32 * h + 4 * k));
        const uint32_t hm = uint32_t(load_i32_a2(w + kHmask + 4 * k));
        int sum_q = 0;
#pragma unroll
        for (int s = 0; s < 4; ++s) {
            // low | high << 2 is 0..7; minus 4 gives the reference's low - (high ? 0 : 4).
            const uint32_t u = ((qs >> (2 * s)) & 0x03030303u) | (((hm >> (4 * h + s)) & 0x01010101u) << 2);
            const int dot = __dp4a(k_detail::bytes_minus(u, 0x04040404u), k_detail::act4(x, 128 * h + 32 * s + 4 * k), 0);
            sum_q += k_detail::scale_q3_k(w + kScales, 8 * h + 2 * s + k / 4) * dot;
        }
        return {sum_q};
    }
    __device__ static Partial add(Partial a, Partial b) { return {a.q + b.q}; }
    __device__ static float finish(const uint8_t* w, const Act* x, Partial p) {
        return k_detail::combine_symmetric(x->d, load_u16(w + kD), p.q);
    }
    // Group p: low bits as Q2_K, high bit 4h + s of hmask[l0 + j].
    __device__ static void dequant_part(const uint8_t* w, int part, float* out) {
        const int h = part / 8, s = (part % 8) / 2, l0 = 16 * (part % 2);
        const float dl = __fmul_rn(half_bits_to_float(load_u16(w + kD)), float(k_detail::scale_q3_k(w + kScales, part)));
#pragma unroll
        for (int j4 = 0; j4 < 4; ++j4) {
            const uint32_t qs = uint32_t(load_i32_a2(w + kQs + 32 * h + l0 + 4 * j4));
            const uint32_t hm = uint32_t(load_i32_a2(w + kHmask + l0 + 4 * j4));
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int low = (qs >> (8 * i + 2 * s)) & 3;
                const int high = (hm >> (8 * i + 4 * h + s)) & 1;
                out[4 * j4 + i] = __fmul_rn(dl, float(low - (high ? 0 : 4)));
            }
        }
    }
};

// Q4_K (144 bytes: d | dmin | scales[12] | qs[128]). Part p = 4c + k reads qs words 32c + 8k, +4: low nibbles are
// elements 64c + 8k + i (sub-block 2c), high nibbles 64c + 32 + 8k + i (sub-block 2c + 1), i in 0..7; plus group
// p's min term (group p lies in sub-block p / 2).
template <>
struct Format<quant::DType::Q4_K> {
    using Act = quant::BlockQ8_K;
    using Partial = k_detail::SumsAffine;
    static constexpr quant::DType kAct = quant::DType::Q8_K;
    static constexpr int kElems = quant::QK_K;
    static constexpr int kBytes = sizeof(quant::BlockQ4_K);
    static constexpr int kParts = k_detail::kParts;
    static constexpr int kAlign = 4;  // dot_part reads whole words: blocks (144 bytes) sit at 4-byte aligned addresses
    static constexpr int kD = offsetof(quant::BlockQ4_K, d);
    static constexpr int kDmin = offsetof(quant::BlockQ4_K, dmin);
    static constexpr int kScales = offsetof(quant::BlockQ4_K, scales);
    static constexpr int kQs = offsetof(quant::BlockQ4_K, qs);

    __device__ static Partial dot_part(const uint8_t* w, const Act* x, int part) {
        const int c = part / 4, k = part % 4, e = 64 * c + 8 * k;
        const uint32_t q0 = k_detail::load_u32(w + kQs + 32 * c + 8 * k);
        const uint32_t q1 = k_detail::load_u32(w + kQs + 32 * c + 8 * k + 4);
        const int dot_lo = __dp4a(int(q0 & 0x0F0F0F0Fu), k_detail::act4(x, e),
                                  __dp4a(int(q1 & 0x0F0F0F0Fu), k_detail::act4(x, e + 4), 0));
        const int dot_hi = __dp4a(int((q0 >> 4) & 0x0F0F0F0Fu), k_detail::act4(x, e + 32),
                                  __dp4a(int((q1 >> 4) & 0x0F0F0F0Fu), k_detail::act4(x, e + 36), 0));
        return k_detail::k4_part_sums(w + kScales, c, k, dot_lo, dot_hi, x, part);
    }
    __device__ static Partial add(Partial a, Partial b) { return {a.q + b.q, a.min + b.min}; }
    __device__ static float finish(const uint8_t* w, const Act* x, Partial p) {
        return k_detail::combine_affine(x->d, load_u16(w + kD), load_u16(w + kDmin), p.q, p.min);
    }
    // Group p (sub-block s = p / 2): nibble s % 2 of qs[32 (p / 4) + 16 (p % 2) + j].
    __device__ static void dequant_part(const uint8_t* w, int part, float* out) {
        const int s = part / 2;
        int sc, mn;
        k_detail::scale_min_k4(w + kScales, s, sc, mn);
        const float dl = __fmul_rn(half_bits_to_float(load_u16(w + kD)), float(sc));
        const float ml = __fmul_rn(half_bits_to_float(load_u16(w + kDmin)), float(mn));
        const uint8_t* qs = w + kQs + 32 * (part / 4) + 16 * (part % 2);
#pragma unroll
        for (int j4 = 0; j4 < 4; ++j4) {
            const uint32_t q = uint32_t(load_i32_a2(qs + 4 * j4));
#pragma unroll
            for (int i = 0; i < 4; ++i)
                out[4 * j4 + i] = __fsub_rn(__fmul_rn(dl, float((q >> (8 * i + 4 * (s % 2))) & 0xF)), ml);
        }
    }
};

// Q5_K (176 bytes: d | dmin | scales[12] | qh[32] | qs[128]). Parts as Q4_K; the fifth bit of element e is bit
// e / 32 of qh[e % 32], so part p = 4c + k also reads qh words 8k, +4 (bits 2c and 2c + 1).
template <>
struct Format<quant::DType::Q5_K> {
    using Act = quant::BlockQ8_K;
    using Partial = k_detail::SumsAffine;
    static constexpr quant::DType kAct = quant::DType::Q8_K;
    static constexpr int kElems = quant::QK_K;
    static constexpr int kBytes = sizeof(quant::BlockQ5_K);
    static constexpr int kParts = k_detail::kParts;
    static constexpr int kAlign = 4;  // as Q4_K (176-byte blocks)
    static constexpr int kD = offsetof(quant::BlockQ5_K, d);
    static constexpr int kDmin = offsetof(quant::BlockQ5_K, dmin);
    static constexpr int kScales = offsetof(quant::BlockQ5_K, scales);
    static constexpr int kQh = offsetof(quant::BlockQ5_K, qh);
    static constexpr int kQs = offsetof(quant::BlockQ5_K, qs);

    __device__ static Partial dot_part(const uint8_t* w, const Act* x, int part) {
        const int c = part / 4, k = part % 4, e = 64 * c + 8 * k;
        const uint32_t q0 = k_detail::load_u32(w + kQs + 32 * c + 8 * k);
        const uint32_t q1 = k_detail::load_u32(w + kQs + 32 * c + 8 * k + 4);
        const uint32_t h0 = k_detail::load_u32(w + kQh + 8 * k);
        const uint32_t h1 = k_detail::load_u32(w + kQh + 8 * k + 4);
        const uint32_t lo0 = (q0 & 0x0F0F0F0Fu) | (((h0 >> (2 * c)) & 0x01010101u) << 4);
        const uint32_t lo1 = (q1 & 0x0F0F0F0Fu) | (((h1 >> (2 * c)) & 0x01010101u) << 4);
        const uint32_t hi0 = ((q0 >> 4) & 0x0F0F0F0Fu) | (((h0 >> (2 * c + 1)) & 0x01010101u) << 4);
        const uint32_t hi1 = ((q1 >> 4) & 0x0F0F0F0Fu) | (((h1 >> (2 * c + 1)) & 0x01010101u) << 4);
        const int dot_lo = __dp4a(int(lo0), k_detail::act4(x, e), __dp4a(int(lo1), k_detail::act4(x, e + 4), 0));
        const int dot_hi = __dp4a(int(hi0), k_detail::act4(x, e + 32), __dp4a(int(hi1), k_detail::act4(x, e + 36), 0));
        return k_detail::k4_part_sums(w + kScales, c, k, dot_lo, dot_hi, x, part);
    }
    __device__ static Partial add(Partial a, Partial b) { return {a.q + b.q, a.min + b.min}; }
    __device__ static float finish(const uint8_t* w, const Act* x, Partial p) {
        return k_detail::combine_affine(x->d, load_u16(w + kD), load_u16(w + kDmin), p.q, p.min);
    }
    // Group p: as Q4_K, fifth bit s of qh[16 (p % 2) + j].
    __device__ static void dequant_part(const uint8_t* w, int part, float* out) {
        const int s = part / 2;
        int sc, mn;
        k_detail::scale_min_k4(w + kScales, s, sc, mn);
        const float dl = __fmul_rn(half_bits_to_float(load_u16(w + kD)), float(sc));
        const float ml = __fmul_rn(half_bits_to_float(load_u16(w + kDmin)), float(mn));
        const uint8_t* qs = w + kQs + 32 * (part / 4) + 16 * (part % 2);
        const uint8_t* qh = w + kQh + 16 * (part % 2);
#pragma unroll
        for (int j4 = 0; j4 < 4; ++j4) {
            const uint32_t q = uint32_t(load_i32_a2(qs + 4 * j4));
            const uint32_t hb = uint32_t(load_i32_a2(qh + 4 * j4));
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int low = (q >> (8 * i + 4 * (s % 2))) & 0xF;
                const int high = (hb >> (8 * i + s)) & 1;
                out[4 * j4 + i] = __fsub_rn(__fmul_rn(dl, float(low | (high << 4))), ml);
            }
        }
    }
};

// Q6_K (210 bytes: ql[128] | qh[64] | scales[16] int8 | d). Part p = 8h + k reads qh word 32h + 4k and ql words
// 64h + 4k, 64h + 32 + 4k: elements 128h + 32s + 4k + i (s, i in 0..3), groups 8h + 2s + k/4. Element 128h + r
// takes nibble r / 64 of ql[64h + r % 64] and bits 2 (r / 32) of qh[32h + r % 32], stored +32.
template <>
struct Format<quant::DType::Q6_K> {
    using Act = quant::BlockQ8_K;
    using Partial = k_detail::SumsSymmetric;
    static constexpr quant::DType kAct = quant::DType::Q8_K;
    static constexpr int kElems = quant::QK_K;
    static constexpr int kBytes = sizeof(quant::BlockQ6_K);
    static constexpr int kParts = k_detail::kParts;
    static constexpr int kAlign = 2;
    static constexpr int kQl = offsetof(quant::BlockQ6_K, ql);
    static constexpr int kQh = offsetof(quant::BlockQ6_K, qh);
    static constexpr int kScales = offsetof(quant::BlockQ6_K, scales);
    static constexpr int kD = offsetof(quant::BlockQ6_K, d);

    __device__ static Partial dot_part(const uint8_t* w, const Act* x, int part) {
        const int h = part / 8, k = part % 8;
        const uint32_t ql0 = uint32_t(load_i32_a2(w + kQl + 64 * h + 4 * k));       // s = 0 low, s = 2 high nibbles
        const uint32_t ql1 = uint32_t(load_i32_a2(w + kQl + 64 * h + 32 + 4 * k));  // s = 1 low, s = 3 high nibbles
        const uint32_t qh = uint32_t(load_i32_a2(w + kQh + 32 * h + 4 * k));
        int sum_q = 0;
#pragma unroll
        for (int s = 0; s < 4; ++s) {
            const uint32_t ql = s % 2 == 0 ? ql0 : ql1;
            const uint32_t u = ((ql >> (4 * (s / 2))) & 0x0F0F0F0Fu) | (((qh >> (2 * s)) & 0x03030303u) << 4);
            const int dot = __dp4a(k_detail::bytes_minus(u, 0x20202020u), k_detail::act4(x, 128 * h + 32 * s + 4 * k), 0);
            sum_q += int(int8_t(w[kScales + 8 * h + 2 * s + k / 4])) * dot;
        }
        return {sum_q};
    }
    __device__ static Partial add(Partial a, Partial b) { return {a.q + b.q}; }
    __device__ static float finish(const uint8_t* w, const Act* x, Partial p) {
        return k_detail::combine_symmetric(x->d, load_u16(w + kD), p.q);
    }
    // Group p: r = 16 (p % 8) + j within half h = p / 8.
    __device__ static void dequant_part(const uint8_t* w, int part, float* out) {
        const int h = part / 8, r0 = 16 * (part % 8);
        const float dl = __fmul_rn(half_bits_to_float(load_u16(w + kD)), float(int8_t(w[kScales + part])));
        const uint8_t* ql = w + kQl + 64 * h + r0 % 64;
        const uint8_t* qh = w + kQh + 32 * h + r0 % 32;
#pragma unroll
        for (int j4 = 0; j4 < 4; ++j4) {
            const uint32_t l = uint32_t(load_i32_a2(ql + 4 * j4));
            const uint32_t hb = uint32_t(load_i32_a2(qh + 4 * j4));
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int low = (l >> (8 * i + 4 * (r0 / 64))) & 0xF;
                const int high = (hb >> (8 * i + 2 * (r0 / 32))) & 3;
                out[4 * j4 + i] = __fmul_rn(dl, float((low | (high << 4)) - 32));
            }
        }
    }
};

}  // namespace hotrod::cuda
