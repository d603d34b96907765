// The prefill matmul on int8 tensor cores (mma.sync m16n8k16 s8 x s8 -> s32, sm_80+) for the K formats the
// Q4_K_M models are made of (Q4_K, Q6_K), on Q8_K activations: bit-exact per super-block with the CPU. The fp16
// kernel (matmul_mma_f16.cu) is the default since session 9 (1.7-2.2x faster: no per-sub-block integer scaling);
// this one runs with HOTROD_CUDA_MMA=int8, for the whole-model tests' tight bounds and for comparisons. A thread block computes 64 weight rows x 64 tokens, one super-block of
// the inner dimension a step:
//   1. cp.async copies super-block kb + 1 of each weight row and the matching Q8_K activation block of each token
//      into one of two raw stages while step kb works on the other;
//   2. the block's threads together unpack the raw weight blocks once into an int8 tile (256 signed codes a row)
//      plus a small table of each row's integer scales (and mins) and its float scales' bits;
//   3. each of the 8 warps computes 32 rows x 16 tokens with MMAs over the 16 groups of 16 elements, reading the
//      int8 tile and the activations as they are.
// Unpacking in step 2 rather than in the MMA loop does it once per tile instead of once per warp that reads the
// row (4 warps share each row): the earlier kernel spent most of its time there (Q6_K: 563 us for a 2560 x 9728
// matrix at 512 tokens against Q4_K's 313 us for the same work).
//
// Exactness is the reference's (dot_ref_kquants.cpp): an MMA over one group gives that group's integer dot exactly;
// the groups sharing a scale (Q4_K: the two of a 32-element sub-block; Q6_K: one) are chained in one accumulator
// and multiplied by the scale in integers, the min term is sum(min * bsums) in integers (two more MMAs a tile, see
// the unit sums' split in step 2), and the super-block's float
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
constexpr int kAStride = 272;  // a row's 256 int8 codes
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

// Per format, what step 2 needs of a staged block: its shared row stride, how many 16-element groups share a scale,
// codes(w, v): elements 4v .. 4v + 3 as signed bytes; scales(w, p): bytes 4p .. 4p + 3 of the row's 16-byte scale
// table; d_bits(w): the float scales' bits (d in the low half, dmin in the high half for the affine formats).
template <DType T>
struct Unpack;

// Q4_K: qs byte 32c + l holds element 64c + l (low nibble) and 64c + 32 + l (high). The scale table holds the 8
// sub-blocks' 6-bit scales, then their 8 mins.
template <>
struct Unpack<DType::Q4_K> {
    using F = Format<DType::Q4_K>;
    static constexpr int kStride = 144;  // 36 words
    static constexpr int kGroupsPerScale = 2;
    static constexpr bool kAffine = true;
    __device__ static uint32_t codes(const uint8_t* w, int v) {
        const uint32_t q = lds32(w + F::kQs + 32 * (v / 16) + 4 * (v % 8));
        return (q >> (4 * ((v / 8) % 2))) & 0x0F0F0F0Fu;
    }
    __device__ static uint32_t scales(const uint8_t* w, int p) {
        const uint32_t s0 = lds32(w + F::kScales), s1 = lds32(w + F::kScales + 4), s2 = lds32(w + F::kScales + 8);
        uint32_t out = 0;
#pragma unroll
        for (int b = 0; b < 4; ++b) {
            int scale, min;
            k_detail::scale_min_k4_words(s0, s1, s2, 4 * (p % 2) + b, scale, min);
            out |= uint32_t(p < 2 ? scale : min) << (8 * b);
        }
        return out;
    }
    __device__ static uint32_t d_bits(const uint8_t* w) { return lds32(w + F::kD); }  // d, dmin adjacent
};

// Q6_K: element 128h + 32s + l has its low bits in nibble s / 2 of ql[64h + 32 (s % 2) + l] and its high bits at
// bit 2s of qh[32h + l], value - 32. The scale table is the block's 16 signed scales as they are.
template <>
struct Unpack<DType::Q6_K> {
    using F = Format<DType::Q6_K>;
    static constexpr int kStride = 240;  // 60 words (the 53 words a block touches, rounded up to 4 x odd mod 32)
    static constexpr int kGroupsPerScale = 1;
    static constexpr bool kAffine = false;
    __device__ static uint32_t codes(const uint8_t* w, int v) {
        const int h = v / 32, s = (v % 32) / 8, l = 4 * (v % 8);
        const uint32_t ql = lds32_a2(w + F::kQl + 64 * h + 32 * (s % 2) + l);
        const uint32_t qh = lds32_a2(w + F::kQh + 32 * h + l);
        const uint32_t u = ((ql >> (4 * (s / 2))) & 0x0F0F0F0Fu) | (((qh >> (2 * s)) & 0x03030303u) << 4);
        return uint32_t(k_detail::bytes_minus(u, 0x20202020u));
    }
    __device__ static uint32_t scales(const uint8_t* w, int p) { return lds32_a2(w + F::kScales + 4 * p); }
    __device__ static uint32_t d_bits(const uint8_t* w) { return load_u16(w + F::kD); }
};

// 4 bytes global -> shared, asynchronously (cp.async, sm_80+).
__device__ __forceinline__ void copy4_async(void* smem, const void* gmem) {
    const unsigned s = unsigned(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(s), "l"(gmem));
}
__device__ __forceinline__ void async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::); }

// Shared bytes: two raw stages (a super-block of each of the tile's weight rows and tokens), then the unpacked
// int8 tile, the scale tables (16 bytes a row) and the float scales' bits (a word a row).
template <DType T>
constexpr int stage_bytes() {
    return kRows * Unpack<T>::kStride + kToks * kXStride;
}
template <DType T>
constexpr int smem_bytes() {
    return 2 * stage_bytes<T>() + kRows * kAStride + kRows * 16 + kRows * 4 + kToks * 16;
}

// Two blocks an SM (<= 128 registers a thread, ~88 KiB of shared memory each): one block's MMAs overlap the
// other's copies, unpacking and barriers. Raw blocks are copied by cp.async in 4-byte words: Q4_K blocks
// (Format::kAlign 4) as they are, Q6_K's 2-byte aligned blocks as the words covering them (plain 2-byte loads and
// stores only for rows of an odd number of halfwords, which no model shape has).
template <DType T>
__global__ void __launch_bounds__(kThreads, 2)
    prefill_mma_kernel(const uint8_t* __restrict__ w, size_t w_row_bytes, int64_t n_out, int64_t n_blocks,
                       const uint8_t* __restrict__ x, size_t x_row_bytes, int64_t n_tok, float* __restrict__ y,
                       int64_t y_stride) {
    grid_dependency_sync();
    using U = Unpack<T>;
    using F = typename U::F;
    constexpr int kUnits = 16 / U::kGroupsPerScale;
    static_assert(F::kBytes <= U::kStride && U::kStride % 4 == 0, "a staged block must fit its shared row");
    extern __shared__ uint4 smem16[];
    uint8_t* const stages = reinterpret_cast<uint8_t*>(smem16);
    uint8_t* const s_a = stages + 2 * stage_bytes<T>();
    uint8_t* const s_sc = s_a + kRows * kAStride;
    uint32_t* const s_dbits = reinterpret_cast<uint32_t*>(s_sc + kRows * 16);
    int8_t* const s_bs = reinterpret_cast<int8_t*>(s_dbits + kRows);  // per token: 8 unit sums' low, then high parts

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
        uint8_t* s_x = s_w + kRows * U::kStride;
        if constexpr (F::kAlign >= 4) {
            constexpr int kWWords = F::kBytes / 4;
            for (int idx = tid; idx < kRows * kWWords; idx += kThreads) {
                const int i = idx / kWWords, u = idx % kWWords;
                const int64_t row = min(row0 + i, n_out - 1);
                copy4_async(s_w + i * U::kStride + 4 * u, w + row * w_row_bytes + kb * F::kBytes + 4 * u);
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
                copy4_async(s_w + i * U::kStride + 4 * u, w + row * w_row_bytes + first + 4 * u);
            }
        } else {
            constexpr int kWUnits = F::kBytes / 2;
            for (int idx = tid; idx < kRows * kWUnits; idx += kThreads) {
                const int i = idx / kWUnits, u = idx % kWUnits;
                const int64_t row = min(row0 + i, n_out - 1);
                const auto* src = reinterpret_cast<const uint16_t*>(w + row * w_row_bytes + kb * F::kBytes);
                reinterpret_cast<uint16_t*>(s_w + i * U::kStride)[u] = src[u];
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

    // The rows and tokens of this thread's fragments: A rows [m tile][g, g + 8], B tokens (column g of each n
    // tile), output tokens [n tile][column 2t, 2t + 1].
    int arow[2][2], xcol[2], xout[2][2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        arow[i][0] = wr + 16 * i + g;
        arow[i][1] = wr + 16 * i + g + 8;
    }
#pragma unroll
    for (int j = 0; j < 2; ++j) {
        xcol[j] = (wt + 8 * j + g) * kXStride;
        xout[j][0] = (wt + 8 * j + 2 * t) * kXStride;
        xout[j][1] = (wt + 8 * j + 2 * t + 1) * kXStride;
    }

    stage(0, 0);
    async_commit();
    for (int64_t kb = 0; kb < n_blocks; ++kb) {
        const int buf = int(kb % 2);
        async_wait_all();  // this thread's copies of super-block kb have landed
        __syncthreads();   // and every other thread's; every warp is done with step kb - 1
        if (kb + 1 < n_blocks) {
            stage(kb + 1, buf ^ 1);  // that stage was last read in step kb - 1
            async_commit();
        }
        const uint8_t* s_w = stages + buf * stage_bytes<T>();
        const uint8_t* s_x = s_w + kRows * U::kStride;
        const int off = stage_offset(kb);

        // Step 2: the int8 tile (warps write whole rows of 32 words), then the scale tables (4 threads a row).
        for (int idx = tid; idx < kRows * 64; idx += kThreads) {
            const int i = idx / 64, v = idx % 64;
            *reinterpret_cast<uint32_t*>(s_a + i * kAStride + 4 * v) = U::codes(s_w + i * U::kStride + off, v);
        }
        {
            const int i = tid / 4, p = tid % 4;
            const uint8_t* row = s_w + i * U::kStride + off;
            reinterpret_cast<uint32_t*>(s_sc + 16 * i)[p] = U::scales(row, p);
            if (p == 0) s_dbits[i] = U::d_bits(row);
        }
        if constexpr (U::kAffine) {
            // Each token's 8 unit sums (two bsums each, |sum| <= 32 * 128) as sum = 64 * high + low, both int8
            // (high in [-64, 63], low in [0, 63]), so the min term below is two int8 MMAs, exact in integers.
            for (int idx = tid; idx < kToks * 8; idx += kThreads) {
                const int j = idx / 8, u = idx % 8;
                const int16_t* bsums = reinterpret_cast<const int16_t*>(s_x + j * kXStride + kXBsums);
                const int sum = bsums[2 * u] + bsums[2 * u + 1];
                s_bs[16 * j + u] = int8_t(sum & 63);
                s_bs[16 * j + 8 + u] = int8_t(sum >> 6);
            }
        }
        __syncthreads();

        int iq[2][2][4] = {}, imin[2][2][4] = {};
        if constexpr (U::kAffine) {
            // The min term sum_u min[row][u] * usum[tok][u] as a (rows x 8) by (8 x tokens) product on the tensor
            // cores: k 0..7 hold the units, 8..15 are zero (lanes t >= 2 hold those). Replaces 16 multiply-adds
            // and 12 shared loads per unit and thread.
            int amin[2][2], blo[2], bhi[2];
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int h = 0; h < 2; ++h) amin[i][h] = t < 2 ? int(lds32(s_sc + 16 * arow[i][h] + 8 + 4 * t)) : 0;
#pragma unroll
            for (int j = 0; j < 2; ++j) {
                const int8_t* col = s_bs + 16 * (wt + 8 * j + g);
                blo[j] = t < 2 ? int(lds32(reinterpret_cast<const uint8_t*>(col) + 4 * t)) : 0;
                bhi[j] = t < 2 ? int(lds32(reinterpret_cast<const uint8_t*>(col) + 8 + 4 * t)) : 0;
            }
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j) {
                    int lo[4] = {}, hi[4] = {};
                    mma_16x8x16(lo, amin[i][0], amin[i][1], blo[j]);
                    mma_16x8x16(hi, amin[i][0], amin[i][1], bhi[j]);
#pragma unroll
                    for (int e = 0; e < 4; ++e) imin[i][j][e] = lo[e] + 64 * hi[e];
                }
        }
#pragma unroll 2
        for (int u = 0; u < kUnits; ++u) {
            int d[2][2][4] = {};
#pragma unroll
            for (int gg = 0; gg < U::kGroupsPerScale; ++gg) {
                const int G = u * U::kGroupsPerScale + gg;
                int a[2][2], b[2];
#pragma unroll
                for (int i = 0; i < 2; ++i)
#pragma unroll
                    for (int h = 0; h < 2; ++h) a[i][h] = int(lds32(s_a + arow[i][h] * kAStride + 16 * G + 4 * t));
#pragma unroll
                for (int j = 0; j < 2; ++j) b[j] = int(lds32(s_x + xcol[j] + kXQs + 16 * G + 4 * t));
#pragma unroll
                for (int i = 0; i < 2; ++i)
#pragma unroll
                    for (int j = 0; j < 2; ++j) mma_16x8x16(d[i][j], a[i][0], a[i][1], b[j]);
            }
            int sc[2][2];
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int h = 0; h < 2; ++h) sc[i][h] = int(int8_t(s_sc[16 * arow[i][h] + u]));
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j)
#pragma unroll
                    for (int e = 0; e < 4; ++e) iq[i][j][e] += sc[i][e / 2] * d[i][j][e];
        }
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const uint32_t db = s_dbits[arow[i][h]];
#pragma unroll
                for (int j = 0; j < 2; ++j)
#pragma unroll
                    for (int c = 0; c < 2; ++c) {
                        const int e = 2 * h + c;
                        const float x_d = *reinterpret_cast<const float*>(s_x + xout[j][c] + kXD);
                        if constexpr (U::kAffine)
                            acc[i][j][e] += k_detail::combine_affine(x_d, uint16_t(db), uint16_t(db >> 16),
                                                                     iq[i][j][e], imin[i][j][e]);
                        else
                            acc[i][j][e] += k_detail::combine_symmetric(x_d, uint16_t(db), iq[i][j][e]);
                    }
            }
    }

#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int64_t row = row0 + arow[i][e / 2];
                const int64_t tok = tok0 + wt + 8 * j + 2 * t + e % 2;
                if (row < n_out && tok < n_tok) y[tok * y_stride + row] = acc[i][j][e];
            }
}

// HOTROD_CUDA_MMA=0 keeps the dp4a tiles (for comparisons); matmul_prefill_f16 comes first unless it is =int8.
bool mma_enabled() {
    static const bool on = !switch_off("HOTROD_CUDA_MMA");
    return on;
}

template <DType T>
void launch(const DeviceWeight& w, const void* x_q, size_t x_row_bytes, int64_t n_rows, const DeviceRows& y,
            cudaStream_t stream) {
    const int64_t gy = (n_rows + kToks - 1) / kToks;
    const dim3 grid(unsigned((w.n_out + kRows - 1) / kRows), unsigned(gy));
    constexpr size_t kSmem = size_t(smem_bytes<T>());
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
