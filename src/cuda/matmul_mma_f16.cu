// The prefill matmul on fp16 tensor cores (mma.sync m16n8k16 f16 x f16 -> f32, sm_80+) for the formats the
// models we serve are made of (Q4_K, Q6_K; Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 at widths of whole 64-element steps),
// reading activations as fp16 rows (convert_rows_f16, quantize_act.cu).
// A thread block computes 64 weight rows x 128 tokens (64 for small grids), 64 elements of the inner
// dimension a step:
//   1. each thread loads the raw bits of 16 weights of one row for step s + 1 (a quarter of a super-block's chunk)
//      into registers and issues cp.async copies of the step's fp16 activation tile, while
//   2. the 8 warps (2 along the rows x 4 along the tokens, 32 x 32 or 32 x 16 each) run the MMAs of step s from
//      shared memory through ldmatrix;
//   3. then each thread dequantizes its 16 weights to fp16 (scales folded in) into the other shared stage.
// Why fp16 and not int8 (matmul_mma.cu): the K formats scale every 16 or 32 elements, so an int8 product has to
// stop at each sub-block and scale its integer sums (16 multiply-adds a unit and thread, plus the loads), which
// left the int8 kernel bound by issued instructions at under a tenth of the tensor cores' rate. Folding the scale
// into fp16 weights once per tile makes the inner loop MMAs and ldmatrix only: ~4 issued instructions an MMA.
//
// Numerics: each weight is d * sc * q - dmin * m rounded to fp16 (Q4_K: q and q * sc exact, one rounding of
// d * sc, one of dmin * m and one of the fused result; Q6_K: (q - 32) exact, one rounding of d * sc and one of the
// product), each activation rounded to fp16 once, products summed in fp32. So the result differs from the
// exact float product by ~2^-10 of sum |w x| at worst (typically far less), against the Q8_K path's 1/254 of each
// block's largest activation: the CPU reference for the test is the dequantized row times x in double
// (tests/unit/cuda/test_matmul.cpp).
//
// Fragment layouts (PTX ISA, mma.m16n8k16 .f16): with g = lane / 4 and t = lane % 4, A's registers hold (row g,
// k 2t, 2t + 1), (row g + 8, same k), (row g, k 2t + 8, 2t + 9), (row g + 8, same); B's two hold (k 2t, 2t + 1)
// and (k 2t + 8, 2t + 9) of column g; D's four are (row g, columns 2t, 2t + 1) and (row g + 8, same columns).
// ldmatrix.x4 hands lane L the elements (row L / 4, columns 2 (L % 4), + 1) of each of four 8 x 8 matrices whose
// row addresses lanes 8m .. 8m + 7 give: exactly those fragments, from tiles stored row-major in k.
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/check.h"
#include "cuda/formats.cuh"
#include "cuda/formats_k.cuh"
#include "cuda/launch.cuh"
#include "cuda/matmul_kernels.h"
#include "cuda/mma.cuh"
#include "cuda/switches.h"

namespace hotrod::cuda::detail {
namespace {

using quant::DType;

constexpr int kThreads = 256;
constexpr int kRows = 64;    // weight rows a block
constexpr int kStep = 64;    // inner elements a step (a quarter of a super-block)
constexpr int kLd = kStep + 8;  // halves a shared row: 144 bytes, so the 8 rows one ldmatrix reads hit 8 bank groups
constexpr int kATile = kRows * kLd;  // halves of a weight stage; an activation stage is kToks * kLd


// 8 bytes at a 2-byte aligned address, as two words (three aligned loads and two funnel shifts when it sits
// mid-word: Q6_K's 210-byte blocks start 2 bytes into a word on every other super-block).
__device__ __forceinline__ uint2 ldg64_a2(const uint8_t* p) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    const uint32_t* q = reinterpret_cast<const uint32_t*>(a & ~uintptr_t(3));
    if ((a & 2) == 0) return make_uint2(__ldg(q), __ldg(q + 1));
    const uint32_t w0 = __ldg(q), w1 = __ldg(q + 1), w2 = __ldg(q + 2);
    return make_uint2(__funnelshift_r(w0, w1, 16), __funnelshift_r(w1, w2, 16));
}

// Bytes 2i and 2i + 1 of a word (codes < 256) as the fp16 pair (1024 + low byte, 1024 + high byte): 0x64 is the
// high byte of 1024.0 in fp16, whose unit in the last place is 1 from 1024 to 2048.
__device__ __forceinline__ __half2 bytes_to_half2_biased(uint32_t w, int i) {
    const uint32_t h = __byte_perm(w, 0x64u, i == 0 ? 0x4140u : 0x4342u);
    return *reinterpret_cast<const __half2*>(&h);
}

// Per format: Raw (the bits one thread needs for its 16 weights of a step), load(row, step, p) for part p (0..3)
// of the step's 64 elements of a weight row, and dequant(raw, step, lo, hi): the weights at the step's columns
// 8p .. 8p + 7 (lo) and 32 + 8p .. 32 + 8p + 7 (hi) as fp16 pairs. A K-format step is chunk step % 4 of super-block
// step / 4; a 32-element format's step is blocks 2 step (lo) and 2 step + 1 (hi).
template <DType T>
struct Dequant;

// Q4_K (d | dmin | scales[12] | qs[128]): chunk c's elements l and 32 + l are the low and high nibbles of
// qs[32c + l], in sub-blocks 2c and 2c + 1, each weight d * sc * q - dmin * m.
template <>
struct Dequant<DType::Q4_K> {
    using F = Format<DType::Q4_K>;
    struct Raw {
        uint4 head;  // d, dmin, the 12 scale bytes
        uint2 qs;
    };
    // Words, not wider loads: blocks are only 4-byte aligned where rows are padded (Format::kAlign).
    __device__ static Raw load(const uint8_t* row, int step, int p) {
        const uint8_t* blk = row + int64_t(step / 4) * F::kBytes;
        const int c = step % 4;
        const auto* hw = reinterpret_cast<const uint32_t*>(blk);
        const auto* qw = reinterpret_cast<const uint32_t*>(blk + F::kQs + 32 * c + 8 * p);
        return {make_uint4(__ldg(hw), __ldg(hw + 1), __ldg(hw + 2), __ldg(hw + 3)),
                make_uint2(__ldg(qw), __ldg(qw + 1))};
    }
    __device__ static void dequant(const Raw& r, int step, int, __half2 (&lo)[4], __half2 (&hi)[4]) {
        const int c = step % 4;
        int sc0, m0, sc1, m1;
        k_detail::scale_min_k4_words(r.head.y, r.head.z, r.head.w, 2 * c, sc0, m0);
        k_detail::scale_min_k4_words(r.head.y, r.head.z, r.head.w, 2 * c + 1, sc1, m1);
        const __half2 dd = *reinterpret_cast<const __half2*>(&r.head.x);  // (d, dmin)
        const __half2 s0 = __hmul2(dd, __halves2half2(__int2half_rn(sc0), __int2half_rn(m0)));
        const __half2 s1 = __hmul2(dd, __halves2half2(__int2half_rn(sc1), __int2half_rn(m1)));
        const __half2 ds0 = __low2half2(s0), dm0 = __hneg2(__high2half2(s0));
        const __half2 ds1 = __low2half2(s1), dm1 = __hneg2(__high2half2(s1));
        const __half2 bias = __float2half2_rn(1024.0f);
        const uint32_t words[2] = {r.qs.x, r.qs.y};
#pragma unroll
        for (int w = 0; w < 2; ++w) {
            const uint32_t low = words[w] & 0x0F0F0F0Fu, high = (words[w] >> 4) & 0x0F0F0F0Fu;
#pragma unroll
            for (int i = 0; i < 2; ++i) {
                lo[2 * w + i] = __hfma2(__hsub2(bytes_to_half2_biased(low, i), bias), ds0, dm0);
                hi[2 * w + i] = __hfma2(__hsub2(bytes_to_half2_biased(high, i), bias), ds1, dm1);
            }
        }
    }
};

// Q6_K (ql[128] | qh[64] | scales[16] | d): element 128h + 32s + l has its low bits in nibble s / 2 of
// ql[64h + 32 (s % 2) + l] and its high bits at bit 2s of qh[32h + l], weight d * sc[8h + 2s + l / 16] * (q - 32).
// Chunk c is h = c / 2, s = 2 (c % 2) (lo) and 2 (c % 2) + 1 (hi).
template <>
struct Dequant<DType::Q6_K> {
    using F = Format<DType::Q6_K>;
    struct Raw {
        uint2 ql_lo, ql_hi, qh;
        uint32_t sc;  // the two scale bytes (lo, hi) in the low half, d's bits in the high half
    };
    __device__ static Raw load(const uint8_t* row, int step, int p) {
        const uint8_t* blk = row + int64_t(step / 4) * F::kBytes;
        const int c = step % 4, h = c / 2, s = 2 * (c % 2);
        Raw r;
        r.ql_lo = ldg64_a2(blk + F::kQl + 64 * h + 8 * p);
        r.ql_hi = ldg64_a2(blk + F::kQl + 64 * h + 32 + 8 * p);
        r.qh = ldg64_a2(blk + F::kQh + 32 * h + 8 * p);
        const int k = F::kScales + 8 * h + 2 * s + p / 2;
        r.sc = uint32_t(blk[k]) | uint32_t(blk[k + 2]) << 8 | uint32_t(load_u16(blk + F::kD)) << 16;
        return r;
    }
    __device__ static void dequant(const Raw& r, int step, int, __half2 (&lo)[4], __half2 (&hi)[4]) {
        const int c = step % 4, s = 2 * (c % 2), nib = 4 * (c % 2);
        const __half d = __ushort_as_half(uint16_t(r.sc >> 16));
        const __half2 ds0 = __half2half2(__hmul(d, __int2half_rn(int(int8_t(r.sc & 0xFF)))));
        const __half2 ds1 = __half2half2(__hmul(d, __int2half_rn(int(int8_t((r.sc >> 8) & 0xFF)))));
        const __half2 bias = __float2half2_rn(1056.0f);  // 1024 + 32
        const uint32_t ql0[2] = {r.ql_lo.x, r.ql_lo.y}, ql1[2] = {r.ql_hi.x, r.ql_hi.y}, qh[2] = {r.qh.x, r.qh.y};
#pragma unroll
        for (int w = 0; w < 2; ++w) {
            const uint32_t q0 = ((ql0[w] >> nib) & 0x0F0F0F0Fu) | (((qh[w] >> (2 * s)) & 0x03030303u) << 4);
            const uint32_t q1 = ((ql1[w] >> nib) & 0x0F0F0F0Fu) | (((qh[w] >> (2 * s + 2)) & 0x03030303u) << 4);
#pragma unroll
            for (int i = 0; i < 2; ++i) {
                lo[2 * w + i] = __hmul2(__hsub2(bytes_to_half2_biased(q0, i), bias), ds0);
                hi[2 * w + i] = __hmul2(__hsub2(bytes_to_half2_biased(q1, i), bias), ds1);
            }
        }
    }
};

// The 32-element formats: element e of a block is the low nibble of qs[e] (e < 16) or the high nibble of
// qs[e - 16] (Q4 / Q5; Q5 adds bit e of qh as bit 4), or the signed byte qs[e] (Q8_0); the weight is d * (q - bias)
// (Q4_0 bias 8, Q5_0 16, Q8_0 none) or d * q + m (Q4_1, Q5_1). Part p's elements 8p .. 8p + 7 of each of the two
// blocks are bytes 8 (p % 2) .. + 7 of qs, low nibbles for p < 2 and high ones above (bytes 8p .. of Q8_0's).
template <class Block, bool kAffine, bool kHigh, bool kBytes8, int kBias>
struct Dequant32 {
    struct Raw {
        uint2 qs[2];
        uint32_t qh[2];  // the 8 high bits of each block's part (Q5 formats)
        uint32_t d[2];   // d (low half) and m (high half) of each block
    };
    __device__ static Raw load(const uint8_t* row, int step, int p) {
        Raw r;
#pragma unroll
        for (int b = 0; b < 2; ++b) {
            const uint8_t* blk = row + int64_t(2 * step + b) * int64_t(sizeof(Block));
            r.qs[b] = ldg64_a2(blk + offsetof(Block, qs) + (kBytes8 ? 8 * p : 8 * (p % 2)));
            if constexpr (kHigh) {
                const uint8_t* qh = blk + offsetof(Block, qh);
                r.qh[b] = (uint32_t(load_u16(qh + 2 * (p / 2))) >> (8 * (p % 2))) & 0xFFu;
            } else {
                r.qh[b] = 0;
            }
            const uint32_t d = load_u16(blk + offsetof(Block, d));
            if constexpr (kAffine) r.d[b] = d | uint32_t(load_u16(blk + offsetof(Block, m))) << 16;
            else r.d[b] = d;
        }
        return r;
    }
    // Codes of four elements as bytes (unsigned: Q8_0's offset by 128), from word w of the part's 8 bytes.
    __device__ static uint32_t codes(const Raw& r, int b, int w, int p) {
        const uint32_t q = w == 0 ? r.qs[b].x : r.qs[b].y;
        if constexpr (kBytes8) {
            return q ^ 0x80808080u;
        } else {
            uint32_t c = (p < 2 ? q : q >> 4) & 0x0F0F0F0Fu;
            // Bits 4w .. 4w + 3 of the part's high bits, one to bit 4 of each byte (no carries: the shifted copies
            // of a 4-bit value are 7 bits apart).
            if constexpr (kHigh) c |= ((((r.qh[b] >> (4 * w)) & 0xFu) * 0x00204081u) & 0x01010101u) << 4;
            return c;
        }
    }
    __device__ static void dequant(const Raw& r, int, int p, __half2 (&lo)[4], __half2 (&hi)[4]) {
        const __half2 bias = __float2half2_rn(float(1024 + (kBytes8 ? 128 : 0) + kBias));
#pragma unroll
        for (int b = 0; b < 2; ++b) {
            const __half2 d = __half2half2(__ushort_as_half(uint16_t(r.d[b])));
            const __half2 m = __half2half2(__ushort_as_half(uint16_t(r.d[b] >> 16)));
            __half2(&out)[4] = b == 0 ? lo : hi;
#pragma unroll
            for (int w = 0; w < 2; ++w) {
                const uint32_t c = codes(r, b, w, p);
#pragma unroll
                for (int i = 0; i < 2; ++i) {
                    const __half2 q = __hsub2(bytes_to_half2_biased(c, i), bias);
                    out[2 * w + i] = kAffine ? __hfma2(q, d, m) : __hmul2(q, d);
                }
            }
        }
    }
};

template <>
struct Dequant<DType::Q4_0> : Dequant32<quant::BlockQ4_0, false, false, false, 8> {};
template <>
struct Dequant<DType::Q4_1> : Dequant32<quant::BlockQ4_1, true, false, false, 0> {};
template <>
struct Dequant<DType::Q5_0> : Dequant32<quant::BlockQ5_0, false, true, false, 16> {};
template <>
struct Dequant<DType::Q5_1> : Dequant32<quant::BlockQ5_1, true, true, false, 0> {};
template <>
struct Dequant<DType::Q8_0> : Dequant32<quant::BlockQ8_0, false, false, true, 0> {};

// 16 bytes global -> shared, asynchronously; with `fill` false, 16 zero bytes and no read (cp.async's src-size 0).
__device__ __forceinline__ void copy16_async(void* smem, const void* gmem, bool fill = true) {
    const unsigned s = unsigned(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(fill ? 16 : 0));
}
__device__ __forceinline__ void async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
// Waits until at most N of this thread's committed cp.async groups are still in flight (0: all landed).
template <int N>
__device__ __forceinline__ void async_wait_group() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const __half* p) {
    const unsigned s = unsigned(__cvta_generic_to_shared(p));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
}

// kToks tokens a block: 128 (warp tiles of 32 rows x 32 tokens, two blocks an SM), or 64 for grids too small to
// give every SM a block that way (32 x 16: twice the blocks, each half the work). kAhead: steps whose weights and
// activations are in flight while a step's MMAs run. With few tokens a step's MMAs are nothing and each step waits
// one memory latency for its weights, so a 64-token block keeps 4 steps in flight (a prompt's 9-token tail after a
// prefix-cache hit took ~200 us a matmul on an H100 with 1). The MMAs and their order are the same at every depth
// and tile height, so a token's outputs are the same bits whichever variant its step took.
template <int kToks>
__host__ __device__ constexpr int ahead_steps() {
    return kToks == 64 ? 4 : 1;
}

template <DType T, int kToks>
__global__ void __launch_bounds__(kThreads, 2)
    prefill_f16_kernel(const uint8_t* __restrict__ w, size_t w_row_bytes, int64_t n_out, int64_t n_in,
                       const __half* __restrict__ x, int64_t x_stride, int64_t n_tok, float* __restrict__ y,
                       int64_t y_stride) {
    grid_dependency_sync();
    using D = Dequant<T>;
    constexpr int kAhead = ahead_steps<kToks>();
    constexpr int kBStages = kAhead + 1;
    constexpr int kBTile = kToks * kLd, kNT = kToks / 32;  // kNT: n tiles of 8 tokens a warp
    extern __shared__ uint4 smem16[];
    __half* const s_a = reinterpret_cast<__half*>(smem16);  // 2 stages of kRows x kLd
    __half* const s_b = s_a + 2 * kATile;                    // kBStages stages of kToks x kLd

    const int tid = int(threadIdx.x), lane = tid % 32, warp = tid / 32;
    const int64_t row0 = int64_t(blockIdx.x) * kRows, tok0 = int64_t(blockIdx.y) * kToks;
    const int n_steps = int(n_in / kStep);

    // This thread's weight row and part for the dequantization; rows past the matrix repeat the last one.
    const int dq_row = tid / 4, dq_part = tid % 4;
    const uint8_t* const w_row = w + min(row0 + dq_row, n_out - 1) * int64_t(w_row_bytes);
    auto load_raw = [&](int step) {
        return D::load(w_row, step, dq_part);
    };
    auto store_a = [&](const typename D::Raw& raw, int step, int buf) {
        __half2 lo[4], hi[4];
        D::dequant(raw, step, dq_part, lo, hi);
        __half* dst = s_a + buf * kATile + dq_row * kLd + 8 * dq_part;
        *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(lo);
        *reinterpret_cast<uint4*>(dst + 32) = *reinterpret_cast<const uint4*>(hi);
    };
    // The step's activation tile: kToks rows of 64 halves, 8 16-byte copies a row, 4 or 2 a thread. Tokens past the
    // batch are zeros, not read (their outputs are not stored): a short prompt's tile copying its last token 60
    // times over made every step wait on those same-address copies (a 2-16 token matmul took 120-180 us on an
    // H100 against 40 us for 64 tokens).
    auto stage_b = [&](int step, int buf) {
#pragma unroll
        for (int i = 0; i < kToks * 8 / kThreads; ++i) {
            const int idx = tid + i * kThreads, j = idx / 8, part = idx % 8;
            const int64_t tok = min(tok0 + j, n_tok - 1);
            copy16_async(s_b + buf * kBTile + j * kLd + 8 * part,
                         x + tok * x_stride + int64_t(step) * kStep + 8 * part, tok0 + j < n_tok);
        }
    };

    float acc[2][kNT][4];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < kNT; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

    // ldmatrix row addresses: A's matrices are (rows 0-7 | 8-15) x (k 0-7 | 8-15) in that order, B's (tokens 0-7,
    // k 0-7), (tokens 0-7, k 8-15), (tokens 8-15, k 0-7), (tokens 8-15, k 8-15).
    const int wr = 32 * (warp % 2), wt = 8 * kNT * (warp / 2);
    const int a_off = (wr + lane % 16) * kLd + 8 * (lane / 16);
    const int b_off = (wt + lane % 8 + 8 * (lane / 16)) * kLd + 8 * ((lane / 8) % 2);

    // In flight before step 0: the activations of steps 0 .. kAhead - 1 (one cp.async group each, empty past the
    // end, so the group count stays uniform) and the weights of steps 1 .. kAhead (raw[s % kAhead]).
    typename D::Raw raw[kAhead] = {};
#pragma unroll
    for (int s = 0; s < kAhead; ++s) {
        if (s < n_steps) stage_b(s, s);
        async_commit();
    }
    store_a(load_raw(0), 0, 0);
#pragma unroll
    for (int s = 1; s <= kAhead; ++s)
        if (s < n_steps) raw[s % kAhead] = load_raw(s);
    async_wait_group<kAhead - 1>();  // step 0's activations
    __syncthreads();
    for (int step0 = 0; step0 < n_steps; step0 += kAhead) {
#pragma unroll
        for (int u = 0; u < kAhead; ++u) {
            const int step = step0 + u;
            if (step >= n_steps) break;  // uniform over the block
            // The stage step + kAhead lands in was last read in step - 1, before the barrier below it.
            if (step + kAhead < n_steps) stage_b(step + kAhead, (step + kAhead) % kBStages);
            async_commit();
            const __half* a_tile = s_a + (step % 2) * kATile + a_off;
            const __half* b_tile = s_b + (step % kBStages) * kBTile + b_off;
#pragma unroll
            for (int kk = 0; kk < kStep / 16; ++kk) {
                uint32_t a[2][4], b[kNT / 2][4];
#pragma unroll
                for (int i = 0; i < 2; ++i) ldmatrix_x4(a[i], a_tile + 16 * i * kLd + 16 * kk);
#pragma unroll
                for (int j = 0; j < kNT / 2; ++j) ldmatrix_x4(b[j], b_tile + 16 * j * kLd + 16 * kk);
#pragma unroll
                for (int i = 0; i < 2; ++i)
#pragma unroll
                    for (int j = 0; j < kNT; ++j)
                        mma_f16(acc[i][j], a[i], b[j / 2][2 * (j % 2)], b[j / 2][2 * (j % 2) + 1]);
            }
            // Step + 1's weights (loaded kAhead steps ago) into the other A stage, and step + 1 + kAhead's loads
            // into the registers they leave.
            const int slot = (u + 1) % kAhead;  // a constant once the loop is unrolled
            if (step + 1 < n_steps) store_a(raw[slot], step + 1, (step + 1) % 2);
            if (step + 1 + kAhead < n_steps) raw[slot] = load_raw(step + 1 + kAhead);
            async_wait_group<kAhead - 1>();  // step + 1's activations (the groups after it: kAhead - 1)
            __syncthreads();
        }
    }

    const int g = lane / 4, t = lane % 4;
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < kNT; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int64_t row = row0 + wr + 16 * i + g + 8 * (e / 2);
                const int64_t tok = tok0 + wt + 8 * j + 2 * t + e % 2;
                if (row < n_out && tok < n_tok) y[tok * y_stride + row] = acc[i][j][e];
            }
}

template <DType T, int kToks>
void launch_tiles(const DeviceWeight& w, const __half* x, int64_t x_stride, int64_t n_rows, const DeviceRows& y,
                  cudaStream_t stream) {
    const dim3 grid(unsigned((w.n_out + kRows - 1) / kRows), unsigned((n_rows + kToks - 1) / kToks));
    constexpr size_t kSmem = size_t(2 * kATile + (ahead_steps<kToks>() + 1) * kToks * kLd) * sizeof(__half);
    static const bool configured = [] {  // over the 48 KiB default: ask once
        HOTROD_CUDA_CHECK(cudaFuncSetAttribute(prefill_f16_kernel<T, kToks>,
                                               cudaFuncAttributeMaxDynamicSharedMemorySize, int(kSmem)));
        return true;
    }();
    (void)configured;
    launch_kernel(prefill_f16_kernel<T, kToks>, grid, kThreads, kSmem, stream, static_cast<const uint8_t*>(w.data),
                  w.row_bytes, w.n_out, w.n_in, x, x_stride, n_rows, y.data, y.stride);
}

// 64-token blocks for short prompts and where 128-token ones would leave SMs with none (HOTROD_CUDA_F16_TOKS=64 /
// 128 forces one).
// Measured (H100, 512 rows): 64 wins only there (Q6_K 1024x2560: 33.5 against 41.2 us); at 2560 rows, where
// 128-token blocks give most SMs one block, 64 still loses (Q4_K 2560x9728: 212.7 against 199.5 us): the
// kernel is bound by latency per warp, not by idle SMs, so halving a block's work does not pay for its overhead.
int tokens_per_block(int64_t n_out, int64_t n_rows, int toks) {
    if (toks == 64 || toks == 128) return toks;
    static const int forced = switch_is("HOTROD_CUDA_F16_TOKS", "64")    ? 64
                              : switch_is("HOTROD_CUDA_F16_TOKS", "128") ? 128
                                                                          : 0;
    if (forced != 0) return forced;
    // Up to 256 tokens (a prompt's tail after a prefix-cache hit, a short prompt) the 64-token blocks' 4 steps in
    // flight beat the 128-token blocks' one: those steps are bound by memory latency, not by the MMAs.
    const int64_t blocks = (n_out + kRows - 1) / kRows * ((n_rows + 127) / 128);
    return n_rows <= 256 || blocks < int64_t(sm_count()) ? 64 : 128;
}

template <DType T>
bool launch(const DeviceWeight& w, const __half* x, int64_t x_stride, int64_t n_rows, const DeviceRows& y,
            int toks, cudaStream_t stream) {
    // Weights at Format::kAlign (Matmul::run checked it), x rows at 16 bytes (the scratch's).
    if (w.n_in % kStep != 0 || x_stride % 8 != 0 || reinterpret_cast<uintptr_t>(x) % 16 != 0) return false;
    if ((n_rows + 63) / 64 > 65535) return false;
    if (tokens_per_block(w.n_out, n_rows, toks) == 64) launch_tiles<T, 64>(w, x, x_stride, n_rows, y, stream);
    else launch_tiles<T, 128>(w, x, x_stride, n_rows, y, stream);
    return true;
}

}  // namespace

bool matmul_prefill_f16_takes(const DeviceWeight& w) {
    static const bool on = !switch_off("HOTROD_CUDA_MMA") && !switch_is("HOTROD_CUDA_MMA", "int8");
    if (!on || w.n_in % kStep != 0) return false;
    switch (w.type) {
        case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q5_1: case DType::Q8_0:
        case DType::Q4_K: case DType::Q6_K: return true;
        default: return false;
    }
}

bool matmul_prefill_f16(const DeviceWeight& w, const void* x_f16, size_t x_row_bytes, int64_t n_rows,
                        const DeviceRows& y, cudaStream_t stream, int tokens_per_block) {
    const auto* x = static_cast<const __half*>(x_f16);
    const int64_t x_stride = int64_t(x_row_bytes / sizeof(__half));
    const int tb = tokens_per_block;
    switch (w.type) {
        case DType::Q4_0: return launch<DType::Q4_0>(w, x, x_stride, n_rows, y, tb, stream);
        case DType::Q4_1: return launch<DType::Q4_1>(w, x, x_stride, n_rows, y, tb, stream);
        case DType::Q5_0: return launch<DType::Q5_0>(w, x, x_stride, n_rows, y, tb, stream);
        case DType::Q5_1: return launch<DType::Q5_1>(w, x, x_stride, n_rows, y, tb, stream);
        case DType::Q8_0: return launch<DType::Q8_0>(w, x, x_stride, n_rows, y, tb, stream);
        case DType::Q4_K: return launch<DType::Q4_K>(w, x, x_stride, n_rows, y, tb, stream);
        case DType::Q6_K: return launch<DType::Q6_K>(w, x, x_stride, n_rows, y, tb, stream);
        default: return false;
    }
}

}  // namespace hotrod::cuda::detail
