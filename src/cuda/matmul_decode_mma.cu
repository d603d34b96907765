// The decode matmul on int8 tensor cores (mma.sync m16n8k16 s8 x s8 -> s32) for the K formats the Q4_K_M models
// are made of (Q4_K, Q6_K), 1 to 16 token rows on Q8_K activations, for the shapes matmul_decode_mma_wanted names
// (the dp4a decode kernel, matmul_decode.cu, takes the rest): that kernel takes 5-10x its one-row time at 8-16 rows
// (every token row's sums pass through warp shuffles); here a row's integer block dots are one MMA for 8 token
// columns, so 2-8 rows cost about what one does: the weights, read once, are the cost.
//
// A thread block takes 16 weight rows (one MMA tile of A) for every token row; its 4 or 8 warps (by the matrix's
// shape, see launch) take the inner dimension's super-blocks in turn (warp w: w, w + W, ..), each accumulating its
// float terms by the super-block index mod 8, and the block adds those eight partial sums in the order the dp4a
// kernel's warp sum does, so with one split (the default) a row's outputs are that kernel's bit for bit (the terms
// are the same exact integers through the same combine): a step may take either kernel by its row count and stay
// batch-invariant (HOTROD_CUDA_DECODE_MMA=rows). Nothing in that order depends on the token count: a row's outputs
// are the same bits in a 1-row launch and in a 16-row one (the integer dots are exact, the float terms and sums
// are formed per row), which is what batch invariance needs of a decode kernel.
//
// Exactness per super-block is the reference's (dot_ref_kquants.cpp), as in matmul_mma.cu: the integer dot of each
// scale group from MMAs, times its integer scale, summed in integers, the min term sum(min * bsums) in integers,
// and the super-block's float term by the formats' own combine (formats_k.cuh).
//
// Fragments (PTX ISA, mma.m16n8k16 .s8), g = lane / 4, t = lane % 4: A register 0 holds row g, k 4t..4t+3, register
// 1 row g + 8; B's register k 4t..4t+3 of column g; D registers 0, 1 row g, columns 2t, 2t + 1, registers 2, 3 row
// g + 8. The k order inside a 16-element group is free as long as A and B agree, so a thread's four "k" are four
// elements of one scale group that sit together in the weight bytes: Q4_K thread t takes elements 8t..8t+3
// (first group) and 8t+4..8t+7 (second) of each 32-element sub-block, one 8-byte load of qs per 64 elements;
// Q6_K thread t takes elements 4t..4t+3 of each 16-element sub-block half.
#include <cooperative_groups.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <span>

#include "cuda/check.h"
#include "cuda/formats.cuh"
#include "cuda/formats_k.cuh"
#include "cuda/launch.cuh"
#include "cuda/matmul_kernels.h"
#include "cuda/switches.h"

namespace hotrod::cuda::detail {
namespace {

using quant::DType;

constexpr int kTileRows = 16;
constexpr int kXQs = offsetof(quant::BlockQ8_K, qs);
constexpr int kXBsums = offsetof(quant::BlockQ8_K, bsums);
constexpr int kXBytes = int(sizeof(quant::BlockQ8_K));
static_assert(kXQs % 4 == 0 && kXBsums % 4 == 0 && kXBytes % 4 == 0, "Q8_K blocks are read in words");

// d += a * b over one 16 x 8 x 16 tile.
__device__ __forceinline__ void mma_s8(int (&d)[4], uint32_t a0, uint32_t a1, uint32_t b0) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
                 : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
                 : "r"(a0), "r"(a1), "r"(b0));
}

__device__ __forceinline__ uint32_t ld32(const uint8_t* p) { return *reinterpret_cast<const uint32_t*>(p); }

// A word at a 2-byte aligned address (Q6_K blocks are 210 bytes): one load when it is 4-byte aligned.
__device__ __forceinline__ uint32_t ld32_a2(const uint8_t* p) {
    if ((reinterpret_cast<uintptr_t>(p) & 3) == 0) return ld32(p);
    return uint32_t(load_i32_a2(p));
}

// What the kernel keeps of one token column (B column g of n tile j) and one output token (2t + c of n tile j).
template <int NT>
struct Tokens {
    const uint8_t* col[NT];  // this thread's B column's activation row, or nullptr past n_rows
    const uint8_t* out[NT][2];  // the activation rows of its two output tokens (clamped: their outputs are not stored)
};

// Q4_K (144 bytes: d | dmin | scales[12] | qs[128]). Chunk c's qs[32c + 8t .. 8t + 7]: low nibbles are elements
// 64c + 8t .. 8t + 7 of sub-block 2c, high nibbles the same of sub-block 2c + 1.
template <int NT>
__device__ __forceinline__ void q4_k_super_block(const uint8_t* const (&wr)[2], const Tokens<NT>& tk, int64_t kb,
                                                 int t, float (&acc)[NT][4]) {
    using F = Format<DType::Q4_K>;
    int sc[2][8], mn[2][8];
    uint32_t dbits[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const uint8_t* b = wr[h] + kb * F::kBytes;
        const uint32_t s0 = ld32(b + F::kScales), s1 = ld32(b + F::kScales + 4), s2 = ld32(b + F::kScales + 8);
#pragma unroll
        for (int j = 0; j < 8; ++j) k_detail::scale_min_k4_words(s0, s1, s2, j, sc[h][j], mn[h][j]);
        dbits[h] = ld32(b + F::kD);  // d, dmin adjacent
    }
    int iq[NT][4] = {}, imin[NT][4] = {};
#pragma unroll
    for (int c = 0; c < 4; ++c) {
        uint2 q[2];
#pragma unroll
        for (int h = 0; h < 2; ++h) q[h] = *reinterpret_cast<const uint2*>(wr[h] + kb * F::kBytes + F::kQs + 32 * c + 8 * t);
        const uint32_t lo0[2] = {q[0].x & 0x0F0F0F0Fu, q[1].x & 0x0F0F0F0Fu};
        const uint32_t lo1[2] = {q[0].y & 0x0F0F0F0Fu, q[1].y & 0x0F0F0F0Fu};
        const uint32_t hi0[2] = {(q[0].x >> 4) & 0x0F0F0F0Fu, (q[1].x >> 4) & 0x0F0F0F0Fu};
        const uint32_t hi1[2] = {(q[0].y >> 4) & 0x0F0F0F0Fu, (q[1].y >> 4) & 0x0F0F0F0Fu};
#pragma unroll
        for (int j = 0; j < NT; ++j) {
            uint32_t x0 = 0, x1 = 0, x2 = 0, x3 = 0;
            if (tk.col[j] != nullptr) {
                const uint8_t* xq = tk.col[j] + kb * kXBytes + kXQs + 64 * c + 8 * t;
                x0 = ld32(xq), x1 = ld32(xq + 4), x2 = ld32(xq + 32), x3 = ld32(xq + 36);
            }
            int dlo[4] = {}, dhi[4] = {};
            mma_s8(dlo, lo0[0], lo0[1], x0);
            mma_s8(dlo, lo1[0], lo1[1], x1);
            mma_s8(dhi, hi0[0], hi0[1], x2);
            mma_s8(dhi, hi1[0], hi1[1], x3);
#pragma unroll
            for (int e = 0; e < 4; ++e) iq[j][e] += sc[e / 2][2 * c] * dlo[e] + sc[e / 2][2 * c + 1] * dhi[e];
        }
    }
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int cc = 0; cc < 2; ++cc) {
            // The token's unit sums: sub-block s's 32 codes summed, two bsums each.
            const uint8_t* xb = tk.out[j][cc] + kb * kXBytes;
            int usum[8];
#pragma unroll
            for (int s = 0; s < 8; ++s) {
                const uint32_t wd = ld32(xb + kXBsums + 4 * s);
                usum[s] = int(int16_t(wd & 0xFFFFu)) + int(int16_t(wd >> 16));
            }
            const float x_d = *reinterpret_cast<const float*>(xb);
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int e = 2 * h + cc;
#pragma unroll
                for (int s = 0; s < 8; ++s) imin[j][e] += mn[h][s] * usum[s];
                acc[j][e] += k_detail::combine_affine(x_d, uint16_t(dbits[h]), uint16_t(dbits[h] >> 16), iq[j][e],
                                                      imin[j][e]);
            }
        }
}

// Q6_K (210 bytes: ql[128] | qh[64] | scales[16] int8 | d). Element 128h + 32s + l: low 4 bits nibble s / 2 of
// ql[64h + 32 (s % 2) + l], high 2 bits at bit 2s of qh[32h + l], stored + 32; sub-block 8h + 2s + l / 16.
template <int NT>
__device__ __forceinline__ void q6_k_super_block(const uint8_t* const (&wr)[2], const Tokens<NT>& tk, int64_t kb,
                                                 int t, float (&acc)[NT][4]) {
    using F = Format<DType::Q6_K>;
    int iq[NT][4] = {};
    int8_t sc[2][16];
    uint16_t dbits[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const uint8_t* b = wr[h] + kb * F::kBytes;
#pragma unroll
        for (int p = 0; p < 4; ++p) {
            const uint32_t wd = ld32_a2(b + F::kScales + 4 * p);
#pragma unroll
            for (int i = 0; i < 4; ++i) sc[h][4 * p + i] = int8_t(wd >> (8 * i));
        }
        dbits[h] = load_u16(b + F::kD);
    }
#pragma unroll
    for (int hh = 0; hh < 2; ++hh)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const int l = 16 * half + 4 * t;
            uint32_t ql0[2], ql1[2], qh[2];
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const uint8_t* b = wr[h] + kb * F::kBytes;
                ql0[h] = ld32_a2(b + F::kQl + 64 * hh + l);
                ql1[h] = ld32_a2(b + F::kQl + 64 * hh + 32 + l);
                qh[h] = ld32_a2(b + F::kQh + 32 * hh + l);
            }
#pragma unroll
            for (int s = 0; s < 4; ++s) {
                uint32_t a[2];
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const uint32_t low = ((s % 2 ? ql1[h] : ql0[h]) >> (4 * (s / 2))) & 0x0F0F0F0Fu;
                    const uint32_t u = low | (((qh[h] >> (2 * s)) & 0x03030303u) << 4);
                    a[h] = uint32_t(k_detail::bytes_minus(u, 0x20202020u));
                }
                const int sub = 8 * hh + 2 * s + half;
#pragma unroll
                for (int j = 0; j < NT; ++j) {
                    const uint32_t x = tk.col[j] != nullptr
                                           ? ld32(tk.col[j] + kb * kXBytes + kXQs + 128 * hh + 32 * s + l)
                                           : 0u;
                    int d[4] = {};
                    mma_s8(d, a[0], a[1], x);
#pragma unroll
                    for (int e = 0; e < 4; ++e) iq[j][e] += int(sc[e / 2][sub]) * d[e];
                }
            }
        }
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int cc = 0; cc < 2; ++cc) {
            const float x_d = *reinterpret_cast<const float*>(tk.out[j][cc] + kb * kXBytes);
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int e = 2 * h + cc;
                acc[j][e] += k_detail::combine_symmetric(x_d, dbits[h], iq[j][e]);
            }
        }
}

// The matrices of one launch (products of one x with weights of one type and shape, e.g. gate and up): blockIdx.y
// picks one, so their tiles share the card in one launch instead of two back to back.
struct MmaOuts {
    const uint8_t* w[kMaxSharedOuts];
    float* y[kMaxSharedOuts];
};

// kWarps: warps a block, taking its super-blocks in turn; splits: blocks a tile, each taking a contiguous share of
// the super-blocks (blockIdx.z; one thread block cluster), block 0 adding the others' sums in split order through
// distributed shared memory. Both are functions of the matrix's shape only (see launch), never of the token rows.
template <DType T, int NT, int kWarps>
__global__ void __launch_bounds__(32 * kWarps)
    decode_mma_kernel(MmaOuts outs, size_t w_row_bytes, int64_t n_out, int64_t n_blocks,
                      const uint8_t* __restrict__ x, size_t x_row_bytes, int n_rows, int64_t y_stride,
                      bool accumulate, int splits) {
    // A row's float sums kept by the super-block index mod 8, the dp4a decode kernel's lane groups (a K format takes
    // 4 lanes there, 8 super-blocks a warp step): 4 warps keep two sets (super-blocks w, w + 8, .. and w + 4, ..).
    static_assert(kWarps == 4 || kWarps == 8, "8 residues of the super-block index over the warps");
    constexpr int kSets = 8 / kWarps;
    __shared__ float red[8][NT * 4][32];
    grid_dependency_sync();
    static_assert(kMaxSharedOuts == 3, "the selects below name each product");
    const unsigned m = blockIdx.y;  // selects, not an index: an indexed parameter array goes to the stack
    const uint8_t* __restrict__ w = m == 0 ? outs.w[0] : m == 1 ? outs.w[1] : outs.w[2];
    float* __restrict__ y = m == 0 ? outs.y[0] : m == 1 ? outs.y[1] : outs.y[2];
    const int lane = int(threadIdx.x) % 32, warp = int(threadIdx.x) / 32;
    const int g = lane / 4, t = lane % 4;
    const int64_t row0 = int64_t(blockIdx.x) * kTileRows;
    const int split = int(blockIdx.z);
    const int64_t kb_first = n_blocks * split / splits, kb_end = n_blocks * (split + 1) / splits;
    // Rows past the matrix read the last row (their outputs are not stored).
    const uint8_t* const wr[2] = {w + min(row0 + g, n_out - 1) * w_row_bytes,
                                  w + min(row0 + g + 8, n_out - 1) * w_row_bytes};
    Tokens<NT> tk;
#pragma unroll
    for (int j = 0; j < NT; ++j) {
        const int col = 8 * j + g;
        tk.col[j] = col < n_rows ? x + size_t(col) * x_row_bytes : nullptr;
#pragma unroll
        for (int cc = 0; cc < 2; ++cc) tk.out[j][cc] = x + size_t(min(8 * j + 2 * t + cc, n_rows - 1)) * x_row_bytes;
    }
    float acc[kSets][NT][4];
#pragma unroll
    for (int s = 0; s < kSets; ++s)
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[s][j][e] = 0.0f;
    auto super_block = [&](int64_t kb, float (&a)[NT][4]) {
        if constexpr (T == DType::Q4_K) q4_k_super_block<NT>(wr, tk, kb, t, a);
        else q6_k_super_block<NT>(wr, tk, kb, t, a);
    };
    if constexpr (kSets == 1) {
#pragma unroll 2
        for (int64_t kb = kb_first + warp; kb < kb_end; kb += kWarps) super_block(kb, acc[0]);
    } else {
        for (int64_t kb = kb_first + warp; kb < kb_end; kb += 2 * kWarps) {
            super_block(kb, acc[0]);
            if (kb + kWarps < kb_end) super_block(kb + kWarps, acc[1]);
        }
    }
#pragma unroll
    for (int s = 0; s < kSets; ++s)
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) red[warp + kWarps * s][4 * j + e][lane] = acc[s][j][e];
    __syncthreads();
    float v[NT][4];
    if (warp == 0) {
        // The dp4a kernel's warp sum (xor 16, 8, 4 over the lane groups holding residues k = lane / 4) adds them as
        // ((r0 + r4) + (r2 + r6)) + ((r1 + r5) + (r3 + r7)); so, with one split, this kernel's rows are its bits.
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int i = 4 * j + e;
                v[j][e] = ((red[0][i][lane] + red[4][i][lane]) + (red[2][i][lane] + red[6][i][lane])) +
                          ((red[1][i][lane] + red[5][i][lane]) + (red[3][i][lane] + red[7][i][lane]));
            }
    }
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (splits > 1) {
        // The block's sums into red[0] for block 0 of the cluster to read; the second barrier keeps every block's
        // shared memory alive until block 0 has read it.
        namespace cg = cooperative_groups;
        const cg::cluster_group cluster = cg::this_cluster();
        __syncthreads();
        if (warp == 0)
#pragma unroll
            for (int j = 0; j < NT; ++j)
#pragma unroll
                for (int e = 0; e < 4; ++e) red[0][4 * j + e][lane] = v[j][e];
        cluster.sync();
        if (split == 0 && warp == 0)
            for (int s = 1; s < splits; ++s) {
                const float* other = cluster.map_shared_rank(&red[0][0][0], unsigned(s));
#pragma unroll
                for (int j = 0; j < NT; ++j)
#pragma unroll
                    for (int e = 0; e < 4; ++e) v[j][e] += other[(4 * j + e) * 32 + lane];
            }
        cluster.sync();
    }
#endif
    if (warp != 0 || split != 0) return;
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int64_t row = row0 + g + 8 * (e / 2);
            const int tok = 8 * j + 2 * t + e % 2;
            if (row < n_out && tok < n_rows) {
                float* out = y + int64_t(tok) * y_stride + row;
                *out = accumulate ? *out + v[j][e] : v[j][e];
            }
        }
}

template <DType T, int kWarps>
void launch_warps(std::span<const DeviceWeight> ws, std::span<const DeviceRows> ys, const void* x_q,
                  size_t x_row_bytes, int64_t n_rows, int splits, cudaStream_t stream) {
    const DeviceWeight& w = ws[0];
    const dim3 grid(unsigned((w.n_out + kTileRows - 1) / kTileRows), unsigned(ws.size()), unsigned(splits));
    MmaOuts outs{};
    for (size_t i = 0; i < ws.size(); ++i) {
        outs.w[i] = static_cast<const uint8_t*>(ws[i].data);
        outs.y[i] = ys[i].data;
    }
    const auto* xp = static_cast<const uint8_t*>(x_q);
    const int64_t n_blocks = w.n_in / quant::QK_K;
    const DeviceRows& y = ys[0];
    if (n_rows <= 8)
        launch_kernel_clusters(decode_mma_kernel<T, 1, kWarps>, grid, 32 * kWarps, 0, stream, unsigned(splits), outs,
                               w.row_bytes, w.n_out, n_blocks, xp, x_row_bytes, int(n_rows), y.stride, y.accumulate,
                               splits);
    else
        launch_kernel_clusters(decode_mma_kernel<T, 2, kWarps>, grid, 32 * kWarps, 0, stream, unsigned(splits), outs,
                               w.row_bytes, w.n_out, n_blocks, xp, x_row_bytes, int(n_rows), y.stride, y.accumulate,
                               splits);
}

// How a matrix is cut into blocks, from its shape only (so the sums' order never depends on the token rows).
struct Blocking {
    int warps = 4;
    int splits = 1;
};

// Where the row tiles alone give every SM several blocks (8448+ rows on 132 SMs): 4 warps, each taking 2-3 of a
// 2560-wide row's 10 super-blocks, and all blocks fit the card at once. Where they are few (a 2560-row matrix: 160
// tiles of 38 super-blocks): 8 warps a tile; or, with HOTROD_CUDA_DECODE_MMA_SPLIT=1 on a card with clusters, 4
// warps and the tile's super-blocks split over the fewest blocks (a power of two up to 8) that give the card 4 a
// SM, at least 4 super-blocks a split. HOTROD_CUDA_DECODE_MMA_WARPS=4 / 8 and HOTROD_CUDA_DECODE_MMA_SPLITS=1..8
// force either.
Blocking blocking_for(const DeviceWeight& w) {
    static const long forced_warps = switch_int("HOTROD_CUDA_DECODE_MMA_WARPS", 4, 8, 0);
    static const long forced_splits = switch_int("HOTROD_CUDA_DECODE_MMA_SPLITS", 1, 8, 0);
    // =rows mixes this kernel with the dp4a one by row count: only one split keeps their bits the same.
    static const bool split = switch_is("HOTROD_CUDA_DECODE_MMA_SPLIT", "1") && !switch_is("HOTROD_CUDA_DECODE_MMA", "rows");
    const int64_t tiles = (w.n_out + kTileRows - 1) / kTileRows, target = 4 * int64_t(sm_count());
    const int64_t n_blocks = w.n_in / quant::QK_K;
    Blocking b;
    if (tiles < target) {
        if (split && clusters_available()) {
            while (b.splits < 8 && tiles * b.splits < target && n_blocks / (2 * b.splits) >= 4) b.splits *= 2;
        } else {
            b.warps = 8;
        }
    }
    if (forced_warps) b.warps = forced_warps < 8 ? 4 : 8;
    if (forced_splits && clusters_available()) b.splits = int(forced_splits);
    return b;
}

template <DType T>
void launch(std::span<const DeviceWeight> ws, std::span<const DeviceRows> ys, const void* x_q, size_t x_row_bytes,
            int64_t n_rows, Blocking b, cudaStream_t stream) {
    if (b.warps == 4) launch_warps<T, 4>(ws, ys, x_q, x_row_bytes, n_rows, b.splits, stream);
    else launch_warps<T, 8>(ws, ys, x_q, x_row_bytes, n_rows, b.splits, stream);
}

}  // namespace

// HOTROD_CUDA_DECODE_MMA=1: the matrices the 4-warp blocks take (8448 rows and more on a 132-SM card: a 4B model's
// gate / up and its vocabulary), where one row is as fast as the dp4a kernel's or faster (H100, 2026-12-07: Q4_K
// 9728x2560 9.6 against 11.0 us) and 2-8 rows cost what one does (10.8 against 41.5 us at 8); =all: every shape it
// takes. Off by default: with it on, the synthetic Qwen3-4B's tg128 measured 347.5 / 356.4 against 366.8 / 360.6
// t/s (gate and up lose their shared launch; the vocabulary's dp4a kernel was already at 75% of copy), and the
// multi-row steps it speeds up were not measured as a whole. A choice by shape, never by row count, so rows stay
// batch-invariant either way. The 8-warp shapes (2560-row matrices) lose at one row (Q4_K 2560x9728: 12.9 against
// 10.1 us; Q6_K 21.9 against 13.6): their blocks are few and each warp's super-blocks run one latency at a time.
//
// =rows: every shape, from the row count where this kernel measured faster than the dp4a one (H100, session 17,
// bench_cuda_matmul: at one row the dp4a kernel wins everywhere, 9.2 against 10.4 us on Q4_K 9728x2560; at two rows
// this one does, 10.5 against 15.6, except Q6_K's 2560-row matrices, an 8-warp shape, 21.6 against 16.3, which it
// takes from four rows, 21.8 against 28.2). Their bits are the same, so the choice by row count keeps batch invariance.
bool matmul_decode_mma_wanted(const DeviceWeight& w, int64_t n_rows) {
    static const bool big = switch_is("HOTROD_CUDA_DECODE_MMA", "1"), all = switch_is("HOTROD_CUDA_DECODE_MMA", "all"),
                      rows = switch_is("HOTROD_CUDA_DECODE_MMA", "rows");
    if (!(big || all || rows) || !matmul_decode_mma_takes(w)) return false;
    const Blocking b = blocking_for(w);
    if (rows) return n_rows >= (w.type == DType::Q6_K && b.warps == 8 ? 4 : 2);
    return all || (b.warps == 4 && b.splits == 1);
}

bool matmul_decode_mma_takes(const DeviceWeight& w) {
    // Q4_K reads qs 8 bytes at a time (and its scales in words): 8-byte aligned rows (blocks are 144 bytes).
    const bool aligned = reinterpret_cast<uintptr_t>(w.data) % 8 == 0 && w.row_bytes % 8 == 0;
    return (w.type == DType::Q4_K && aligned) || w.type == DType::Q6_K;
}

bool matmul_decode_mma(std::span<const DeviceWeight> ws, std::span<const DeviceRows> ys, const void* x_q,
                       size_t x_row_bytes, int64_t n_rows, cudaStream_t stream, int warps, int splits) {
    if (ws.empty() || ws.size() != ys.size() || ws.size() > size_t(kMaxSharedOuts)) return false;
    const DeviceWeight& w = ws[0];
    if (n_rows < 1 || n_rows > 16 || w.n_out <= 0 || x_row_bytes % 4 != 0 || reinterpret_cast<uintptr_t>(x_q) % 4 != 0)
        return false;
    for (size_t i = 0; i < ws.size(); ++i) {
        const DeviceWeight& o = ws[i];
        if (!matmul_decode_mma_takes(o) || o.type != w.type || o.n_out != w.n_out || o.n_in != w.n_in ||
            o.row_bytes != w.row_bytes || ys[i].stride != ys[0].stride || ys[i].accumulate != ys[0].accumulate)
            return false;
    }
    Blocking b = blocking_for(w);
    if (warps == 4 || warps == 8) b.warps = warps;
    if (splits >= 1) {
        if (splits > 8 || (splits > 1 && !clusters_available())) return false;
        b.splits = splits;
    }
    if (w.type == DType::Q4_K) launch<DType::Q4_K>(ws, ys, x_q, x_row_bytes, n_rows, b, stream);
    else launch<DType::Q6_K>(ws, ys, x_q, x_row_bytes, n_rows, b, stream);
    return true;
}

bool matmul_decode_mma(const DeviceWeight& w, const void* x_q, size_t x_row_bytes, int64_t n_rows,
                       const DeviceRows& y, cudaStream_t stream, int warps, int splits) {
    return matmul_decode_mma({&w, 1}, {&y, 1}, x_q, x_row_bytes, n_rows, stream, warps, splits);
}

}  // namespace hotrod::cuda::detail
