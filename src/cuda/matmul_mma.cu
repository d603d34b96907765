// The prefill matmul on int8 tensor cores (mma.sync m16n8k16 s8 x s8 -> s32, sm_80+) for the K formats the
// Q4_K_M models are made of (Q4_K, Q6_K). A thread block computes 64 weight rows x 64 tokens; per step it stages one
// super-block of each weight row and the matching Q8_K activation block of each token in shared memory (two stages:
// the next super-block is copied while this one is multiplied), and each of its 8 warps computes 32 rows x 16
// tokens with MMAs over the super-block's 16 groups of 16 elements.
//
// Exactness is the reference's (dot_ref_kquants.cpp): an MMA over one group gives that group's integer dot exactly;
// the groups sharing a scale (Q4_K: the two of a 32-element sub-block; Q6_K: one) are chained in one accumulator
// and multiplied by the scale in integers, the min term is sum(min * bsums) in integers, and the super-block's float
// term is the formats' own combine (formats_k.cuh). So every super-block term is the CPU's bit for bit and only the
// order of the float additions over super-blocks differs, as on the other paths.
//
// Fragment layouts (PTX ISA, mma.m16n8k16 with .s8): with g = lane / 4 and t = lane % 4, A's register 0 holds row g,
// columns 4t..4t+3 and register 1 row g + 8, same columns; B's one register holds rows (k) 4t..4t+3 of column g;
// D's registers 0, 1 are row g, columns 2t, 2t + 1 and registers 2, 3 row g + 8, same columns.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "cuda/check.h"
#include "cuda/formats.cuh"
#include "cuda/formats_k.cuh"
#include "cuda/launch.cuh"
#include "cuda/switches.h"
#include "cuda/matmul_kernels.h"

namespace hotrod::cuda::detail {
namespace {

using quant::DType;

constexpr int kThreads = 256;  // 8 warps: 2 along the rows x 4 along the tokens
constexpr int kRows = 64;
constexpr int kToks = 64;
// Shared row strides in 4-byte words congruent to 4 x odd mod 32: the 8 rows (or tokens) a fragment load touches
// at one word offset fall in 8 different groups of 4 banks.
constexpr int kXStride = 304;  // a BlockQ8_K (292 bytes) per token
constexpr int kXD = offsetof(quant::BlockQ8_K, d);
constexpr int kXQs = offsetof(quant::BlockQ8_K, qs);
constexpr int kXBsums = offsetof(quant::BlockQ8_K, bsums);

__device__ __forceinline__ uint32_t lds32(const uint8_t* p) { return *reinterpret_cast<const uint32_t*>(p); }

// 4 bytes at a 2-byte aligned shared address: one word, or two funnel-shifted when p sits mid-word (a Q6_K block
// staged whole words at a time starts 2 bytes into its row on odd super-blocks; the same for every row of a step,
// so the branch is uniform).
__device__ __forceinline__ uint32_t lds32_a2(const uint8_t* p) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    const uint32_t* q = reinterpret_cast<const uint32_t*>(a & ~uintptr_t(3));
    return (a & 2) ? __funnelshift_r(q[0], q[1], 16) : q[0];
}

// d += a * b over one 16 x 8 x 16 tile.
__device__ __forceinline__ void mma_16x8x16(int (&d)[4], int a0, int a1, int b0) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
                 : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
                 : "r"(a0), "r"(a1), "r"(b0));
}

// Per format: the shared row stride, how many 16-element groups share a scale, and for group G of a staged block
// the 4 codes at k = 4t .. 4t+3 as signed bytes (a_word), the scale of scale unit u and, for the affine formats,
// its min.
template <DType T>
struct Mma;

// Q4_K: qs byte 32c + l holds element 64c + l (low nibble) and 64c + 32 + l (high); sub-block j = G / 2.
template <>
struct Mma<DType::Q4_K> {
    using F = Format<DType::Q4_K>;
    static constexpr int kStride = 144;  // 36 words
    static constexpr int kGroupsPerScale = 2;
    static constexpr bool kAffine = true;
    __device__ static int a_word(const uint8_t* w, int G, int t) {
        const uint32_t q = lds32(w + F::kQs + 32 * (G / 4) + 16 * (G % 2) + 4 * t);
        return int((q >> (4 * ((G / 2) % 2))) & 0x0F0F0F0Fu);
    }
    // From the 12 scale bytes as three words (the staged row is 4-byte aligned): the same three loads for every
    // unit of a super-block, so they are loaded once per step, and shifts instead of byte loads behind branches.
    __device__ static void scale_min(const uint8_t* w, int u, int& scale, int& min) {
        k_detail::scale_min_k4_words(lds32(w + F::kScales), lds32(w + F::kScales + 4), lds32(w + F::kScales + 8), u,
                                     scale, min);
    }
    __device__ static float finish(const uint8_t* w, float x_d, int sum_q, int sum_min) {
        return k_detail::combine_affine(x_d, load_u16(w + F::kD), load_u16(w + F::kDmin), sum_q, sum_min);
    }
};

// Q6_K: group G lies in half h = G / 8, quarter s = (G % 8) / 2, at l = 16 (G % 2) + 0..15: low bits in nibble s / 2
// of ql[64h + 32 (s % 2) + l], high bits at bit 2s of qh[32h + l], value - 32; scale G.
template <>
struct Mma<DType::Q6_K> {
    using F = Format<DType::Q6_K>;
    static constexpr int kStride = 240;  // 60 words (the 53 words a block touches, rounded up to 4 x odd mod 32)
    static constexpr int kGroupsPerScale = 1;
    static constexpr bool kAffine = false;
    __device__ static int a_word(const uint8_t* w, int G, int t) {
        const int h = G / 8, s = (G % 8) / 2, l = 16 * (G % 2) + 4 * t;
        const uint32_t ql = lds32_a2(w + F::kQl + 64 * h + 32 * (s % 2) + l);
        const uint32_t qh = lds32_a2(w + F::kQh + 32 * h + l);
        const uint32_t u = ((ql >> (4 * (s / 2))) & 0x0F0F0F0Fu) | (((qh >> (2 * s)) & 0x03030303u) << 4);
        return k_detail::bytes_minus(u, 0x20202020u);
    }
    __device__ static void scale_min(const uint8_t* w, int u, int& scale, int& min) {
        scale = int(int8_t(w[F::kScales + u]));
        min = 0;
    }
    __device__ static float finish(const uint8_t* w, float x_d, int sum_q, int /*sum_min*/) {
        return k_detail::combine_symmetric(x_d, load_u16(w + F::kD), sum_q);
    }
};

// 4 bytes global -> shared, asynchronously (cp.async, sm_80+).
__device__ __forceinline__ void copy4_async(void* smem, const void* gmem) {
    const unsigned s = unsigned(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(s), "l"(gmem));
}
__device__ __forceinline__ void async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void async_wait_all_but_one() { asm volatile("cp.async.wait_group 1;\n" ::); }

// Shared bytes of one stage (a super-block of each of the tile's weight rows and tokens); two stages in flight.
template <DType T>
constexpr int stage_bytes() {
    return kRows * Mma<T>::kStride + kToks * kXStride;
}

// Two blocks an SM at least (<= 128 registers a thread): one block's MMAs overlap the other's barriers. Within a
// block the tiles are double-buffered: super-block kb + 1 is copied (cp.async) into one stage while the MMAs read
// super-block kb from the other, all by cp.async in 4-byte words: Q4_K blocks (Format::kAlign 4) as they are, Q6_K's
// 2-byte aligned blocks as the words covering them (plain 2-byte loads and stores only for rows of an odd number of
// halfwords, which no model shape has).
template <DType T>
__global__ void __launch_bounds__(kThreads, 2)
    prefill_mma_kernel(const uint8_t* __restrict__ w, size_t w_row_bytes, int64_t n_out, int64_t n_blocks,
                       const uint8_t* __restrict__ x, size_t x_row_bytes, int64_t n_tok, float* __restrict__ y,
                       int64_t y_stride) {
    grid_dependency_sync();
    using M = Mma<T>;
    using F = typename M::F;
    constexpr int kUnits = 16 / M::kGroupsPerScale;
    static_assert(F::kBytes <= M::kStride && M::kStride % 4 == 0, "a staged block must fit its shared row");
    extern __shared__ uint4 smem16[];
    uint8_t* const stages = reinterpret_cast<uint8_t*>(smem16);

    const int tid = int(threadIdx.x), lane = tid % 32, warp = tid / 32;
    const int g = lane / 4, t = lane % 4;
    const int wr = 32 * (warp % 2), wt = 16 * (warp / 2);  // this warp's rows and tokens inside the tile
    const int64_t row0 = int64_t(blockIdx.x) * kRows, tok0 = int64_t(blockIdx.y) * kToks;

    // Weight rows of whole words (Q6_K at any n_in a multiple of 512, the models' shapes) are staged by cp.async
    // words too; the block then sits stage_offset(kb) bytes into its staged row.
    const bool words_aligned = F::kAlign < 4 && w_row_bytes % 4 == 0 && reinterpret_cast<uintptr_t>(w) % 4 == 0;
    auto stage_offset = [&](int64_t kb) { return words_aligned ? int((kb * F::kBytes) & 3) : 0; };

    // Copies super-block kb of every tile row and token into stage `buf`. Rows and tokens past the matrix repeat
    // the last one (valid reads; their outputs are not stored).
    auto stage = [&](int64_t kb, int buf) {
        uint8_t* s_w = stages + buf * stage_bytes<T>();
        uint8_t* s_x = s_w + kRows * M::kStride;
        if constexpr (F::kAlign >= 4) {
            constexpr int kWWords = F::kBytes / 4;
            for (int idx = tid; idx < kRows * kWWords; idx += kThreads) {
                const int i = idx / kWWords, u = idx % kWWords;
                const int64_t row = min(row0 + i, n_out - 1);
                copy4_async(s_w + i * M::kStride + 4 * u, w + row * w_row_bytes + kb * F::kBytes + 4 * u);
            }
        } else if (words_aligned) {
            // Every word the block touches, from the one holding its first byte: the block then starts `off`
            // (0 or 2) bytes into the staged row. The last word holds a byte of the matrix, so it stays inside
            // the allocation's mapping.
            constexpr int kWWords = (F::kBytes + 2 + 3) / 4;
            const int64_t first = kb * F::kBytes - stage_offset(kb);
            for (int idx = tid; idx < kRows * kWWords; idx += kThreads) {
                const int i = idx / kWWords, u = idx % kWWords;
                const int64_t row = min(row0 + i, n_out - 1);
                copy4_async(s_w + i * M::kStride + 4 * u, w + row * w_row_bytes + first + 4 * u);
            }
        } else {
            constexpr int kWUnits = F::kBytes / 2;
            for (int idx = tid; idx < kRows * kWUnits; idx += kThreads) {
                const int i = idx / kWUnits, u = idx % kWUnits;
                const int64_t row = min(row0 + i, n_out - 1);
                const auto* src = reinterpret_cast<const uint16_t*>(w + row * w_row_bytes + kb * F::kBytes);
                reinterpret_cast<uint16_t*>(s_w + i * M::kStride)[u] = src[u];
            }
        }
        constexpr int kXWords = int(sizeof(quant::BlockQ8_K) / 4);
        for (int idx = tid; idx < kToks * kXWords; idx += kThreads) {
            const int j = idx / kXWords, u = idx % kXWords;
            const int64_t tok = min(tok0 + j, n_tok - 1);
            copy4_async(s_x + j * kXStride + 4 * u, x + tok * x_row_bytes + kb * sizeof(quant::BlockQ8_K) + 4 * u);
        }
    };

    float acc[2][2][4];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

    stage(0, 0);
    async_commit();
    for (int64_t kb = 0; kb < n_blocks; ++kb) {
        const int buf = int(kb % 2);
        if (kb + 1 < n_blocks) stage(kb + 1, buf ^ 1);  // that stage was last read before the previous barrier
        async_commit();                                // (an empty group on the last step keeps the count right)
        async_wait_all_but_one();                      // this thread's copies of super-block kb have landed
        __syncthreads();                               // and every other thread's
        const uint8_t* s_w = stages + buf * stage_bytes<T>();
        const uint8_t* s_x = s_w + kRows * M::kStride;

        const uint8_t* wrow[2][2];  // [m tile][row g, row g + 8]
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            wrow[i][0] = s_w + (wr + 16 * i + g) * M::kStride + stage_offset(kb);
            wrow[i][1] = s_w + (wr + 16 * i + g + 8) * M::kStride + stage_offset(kb);
        }
        const uint8_t* xcol[2];  // B fragment tokens (column g of each n tile)
        const uint8_t* xout[2][2];  // the tokens of this thread's outputs: [n tile][column 2t, 2t + 1]
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            xcol[j] = s_x + (wt + 8 * j + g) * kXStride;
            xout[j][0] = s_x + (wt + 8 * j + 2 * t) * kXStride;
            xout[j][1] = s_x + (wt + 8 * j + 2 * t + 1) * kXStride;
        }

        int iq[2][2][4] = {}, imin[2][2][4] = {};
#pragma unroll 2
        for (int u = 0; u < kUnits; ++u) {
            int d[2][2][4] = {};
#pragma unroll
            for (int gg = 0; gg < M::kGroupsPerScale; ++gg) {
                const int G = u * M::kGroupsPerScale + gg;
                int a[2][2], b[2];
#pragma unroll
                for (int i = 0; i < 2; ++i) {
                    a[i][0] = M::a_word(wrow[i][0], G, t);
                    a[i][1] = M::a_word(wrow[i][1], G, t);
                }
#pragma unroll
                for (int j = 0; j < 2; ++j) b[j] = int(lds32(xcol[j] + kXQs + 16 * G + 4 * t));
#pragma unroll
                for (int i = 0; i < 2; ++i)
#pragma unroll
                    for (int j = 0; j < 2; ++j) mma_16x8x16(d[i][j], a[i][0], a[i][1], b[j]);
            }
            int sc[2][2], mn[2][2];
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int h = 0; h < 2; ++h) M::scale_min(wrow[i][h], u, sc[i][h], mn[i][h]);
            int bs[2][2] = {};
            if constexpr (M::kAffine) {
                // The unit's activation sums: its groups' bsums, added (exact) per token.
#pragma unroll
                for (int j = 0; j < 2; ++j)
#pragma unroll
                    for (int c = 0; c < 2; ++c) {
                        const int16_t* bsums = reinterpret_cast<const int16_t*>(xout[j][c] + kXBsums);
#pragma unroll
                        for (int gg = 0; gg < M::kGroupsPerScale; ++gg) bs[j][c] += bsums[u * M::kGroupsPerScale + gg];
                    }
            }
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j)
#pragma unroll
                    for (int e = 0; e < 4; ++e) {
                        iq[i][j][e] += sc[i][e / 2] * d[i][j][e];
                        if constexpr (M::kAffine) imin[i][j][e] += mn[i][e / 2] * bs[j][e % 2];
                    }
        }
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int j = 0; j < 2; ++j)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const float x_d = *reinterpret_cast<const float*>(xout[j][e % 2] + kXD);
                    acc[i][j][e] += M::finish(wrow[i][e / 2], x_d, iq[i][j][e], imin[i][j][e]);
                }
        __syncthreads();  // every warp is done with this stage before the next step copies into it
    }

#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int64_t row = row0 + wr + 16 * i + g + 8 * (e / 2);
                const int64_t tok = tok0 + wt + 8 * j + 2 * t + e % 2;
                if (row < n_out && tok < n_tok) y[tok * y_stride + row] = acc[i][j][e];
            }
}

// HOTROD_CUDA_MMA=0 keeps the dp4a tiles (for comparisons).
bool mma_enabled() {
    static const bool on = !switch_off("HOTROD_CUDA_MMA");
    return on;
}

template <DType T>
void launch(const DeviceWeight& w, const void* x_q, size_t x_row_bytes, int64_t n_rows, const DeviceRows& y,
            cudaStream_t stream) {
    const int64_t gy = (n_rows + kToks - 1) / kToks;
    const dim3 grid(unsigned((w.n_out + kRows - 1) / kRows), unsigned(gy));
    constexpr size_t kSmem = 2 * size_t(stage_bytes<T>());
    static const bool configured = [] {  // over the 48 KiB default: ask once
        HOTROD_CUDA_CHECK(cudaFuncSetAttribute(prefill_mma_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               int(kSmem)));
        return true;
    }();
    (void)configured;
    launch_kernel(prefill_mma_kernel<T>, grid, kThreads, kSmem, stream, static_cast<const uint8_t*>(w.data),
                  w.row_bytes, w.n_out, w.n_in / quant::QK_K, static_cast<const uint8_t*>(x_q), x_row_bytes,
                  n_rows, y.data, y.stride);
}

}  // namespace

bool matmul_prefill_mma(const DeviceWeight& w, const void* x_q, size_t x_row_bytes, int64_t n_rows,
                        const DeviceRows& y, cudaStream_t stream) {
    if (!mma_enabled() || (n_rows + kToks - 1) / kToks > 65535) return false;
    switch (w.type) {
        case DType::Q4_K: launch<DType::Q4_K>(w, x_q, x_row_bytes, n_rows, y, stream); return true;
        case DType::Q6_K: launch<DType::Q6_K>(w, x_q, x_row_bytes, n_rows, y, stream); return true;
        default: return false;
    }
}

}  // namespace hotrod::cuda::detail
