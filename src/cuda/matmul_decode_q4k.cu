// The decode matmul for Q4_K weights, a 32-byte chunk of quants a lane: the general decode kernel
// (matmul_decode.cu) gives a lane 16 elements a part, four parts a super-block, and each part decodes two 6-bit
// scales and mins and reads its quants and activations 4 bytes at a time; at one token row its instructions, not
// the weight reads, come close to bounding it (~35 a 16 elements). Here a lane takes chunk c of a super-block: the
// super-block's 16-byte head (d, dmin, 12 scale bytes) and its 32 quant bytes in three 16-byte loads, two scale /
// min decodes (sub-blocks 2c and 2c + 1) for 64 elements, sixteen dp4a. Four lanes a super-block, eight
// super-blocks a warp step, one warp RPW output rows (below). The sums are the reference's: each lane's integer sums (scale
// times dot, min times the activation's group sums) added exactly over the block's four lanes by xor shuffles,
// then the one float combine a super-block of Format<Q4_K>::finish, so every block term is the CPU's bit for bit.
// The float terms meet in the general kernel's order too (block b's term in lane 4 (b % 8) + t % 4, then the same
// warp sum), so a row's result is the general kernel's bit for bit: a sequence decoded alone (this kernel) and
// batched (the general one) gets the same logits.
// Only at one token row: on an H100 (2026-12-07, bench_cuda_matmul, call P) it took 10.7 us against 12.3 on Q4_K
// 2560x9728 at one row (10.4 / 10.4 on 9728x2560) but 21.7 / 31.1 against 16.9 / 33.4 at two / four rows; the
// synthetic Qwen3-4B's tg128 352 against 334 / 344 with HOTROD_CUDA_DECODE_Q4K=0 (same call). (A variant taking
// up to four rows a warp as one list of super-blocks, to fill the lanes a 10-super-block row leaves idle, measured
// no faster at one row: 10.4 vs 10.4 on 9728x2560.)
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/formats_k.cuh"
#include "cuda/launch.cuh"
#include "cuda/matmul_decode.cuh"
#include "cuda/switches.h"
#include "quant/blocks.h"

namespace hotrod::cuda::detail {
namespace {

constexpr int kLanesPerBlock = 4;                    // one a 64-element chunk of a super-block
constexpr int kBlocksPerStep = 32 / kLanesPerBlock;  // super-blocks a warp step

// Chunk c of an activation block: its 64 codes as 16 words (low nibbles' elements 64c + 4i .. in a[i], high
// nibbles' 64c + 32 + 4i .. in a[8 + i]) and its two sub-blocks' group sums (groups 4c, 4c + 1 and 4c + 2, 4c + 3).
struct XChunk {
    int a[16];
    int bs_lo, bs_hi;
};
__device__ __forceinline__ void load_x_chunk(const quant::BlockQ8_K* xb, int c, XChunk& x) {
    const int* a = reinterpret_cast<const int*>(xb->qs + 64 * c);
#pragma unroll
    for (int i = 0; i < 16; ++i) x.a[i] = a[i];
    const uint32_t* b = reinterpret_cast<const uint32_t*>(xb->bsums + 4 * c);  // 4-byte aligned: 260 + 8c
    const uint32_t w0 = b[0], w1 = b[1];
    x.bs_lo = int(int16_t(w0 & 0xFFFFu)) + int(int16_t(w0 >> 16));
    x.bs_hi = int(int16_t(w1 & 0xFFFFu)) + int(int16_t(w1 >> 16));
}

// The chunk's quant words q[0..7] (bytes 32c .. 32c + 31 of qs) against x: low nibbles are sub-block 2c, high
// nibbles sub-block 2c + 1.
__device__ __forceinline__ void chunk_dots(const uint32_t (&q)[8], const XChunk& x, int& dot_lo, int& dot_hi) {
    dot_lo = 0;
    dot_hi = 0;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        dot_lo = __dp4a(int(q[i] & 0x0F0F0F0Fu), x.a[i], dot_lo);
        dot_hi = __dp4a(int((q[i] >> 4) & 0x0F0F0F0Fu), x.a[8 + i], dot_hi);
    }
}

// RPW output rows a warp (rows RPW w .. RPW w + RPW - 1 of its target), one token row: a lane loads its chunk of x
// once a step and takes it through the same chunk of each of the warp's rows, so x is read from L1 once for RPW
// rows' weights (its 16 four-byte loads a chunk, spread over eight 292-byte blocks, cost more L1 traffic than the
// chunk's three 16-byte weight loads). Each row's sums are the one-row kernel's in the same lanes and order.
template <int RPW>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    decode_q4k_kernel(DecodeTargets targets, int64_t n_blocks, const uint8_t* __restrict__ x) {
    using F = Format<quant::DType::Q4_K>;
    int64_t block = 0;
    const DecodeTarget target = pick_target(targets, block);
    const int64_t r0 = (block * kWarpsPerBlock + int64_t(threadIdx.x / 32)) * RPW;
    if (r0 >= target.n_out) return;  // uniform over the warp; it reads and writes nothing
    const int lane = int(threadIdx.x % 32);
    const int c = lane % kLanesPerBlock;
    const uint8_t* __restrict__ w_rows[RPW];
#pragma unroll
    for (int j = 0; j < RPW; ++j) {  // rows past the matrix read its last row; their sums are dropped
        w_rows[j] = target.w + min(r0 + j, target.n_out - 1) * target.row_bytes;
        if (targets.prefetch && r0 + j < target.n_out) prefetch_l2_warp(w_rows[j], target.row_bytes, lane);
    }
    grid_dependency_sync();

    const quant::BlockQ8_K* x_row = reinterpret_cast<const quant::BlockQ8_K*>(x);
    float acc[RPW];
#pragma unroll
    for (int j = 0; j < RPW; ++j) acc[j] = 0.0f;

    for (int64_t b0 = 0; b0 < n_blocks; b0 += kBlocksPerStep) {
        const int64_t b = b0 + lane / kLanesPerBlock;
        const bool valid = b < n_blocks;
        const int64_t bc = valid ? b : n_blocks - 1;  // a whole group is valid or not: its result is dropped
        const quant::BlockQ8_K* xb = x_row + bc;
        XChunk xc;
        if constexpr (RPW > 1) load_x_chunk(xb, c, xc);
#pragma unroll
        for (int j = 0; j < RPW; ++j) {
            // 16-byte loads: blocks are 144 bytes and rows a whole number of blocks from a 16-byte aligned start.
            const uint4* wb = reinterpret_cast<const uint4*>(w_rows[j] + bc * F::kBytes);
            const uint4 head = wb[0];  // d | dmin (x), scales 0..3 (y), 4..7 (z), 8..11 (w)
            const uint4 q01 = wb[1 + 2 * c], q23 = wb[2 + 2 * c];
            const uint32_t q[8] = {q01.x, q01.y, q01.z, q01.w, q23.x, q23.y, q23.z, q23.w};
            if constexpr (RPW == 1) load_x_chunk(xb, c, xc);  // after the weights' loads, as before rows a warp
            int sc_lo, mn_lo, sc_hi, mn_hi;
            k_detail::scale_min_k4_words(head.y, head.z, head.w, 2 * c, sc_lo, mn_lo);
            k_detail::scale_min_k4_words(head.y, head.z, head.w, 2 * c + 1, sc_hi, mn_hi);
            int dot_lo, dot_hi;
            chunk_dots(q, xc, dot_lo, dot_hi);
            int sum_q = sc_lo * dot_lo + sc_hi * dot_hi;
            int sum_min = mn_lo * xc.bs_lo + mn_hi * xc.bs_hi;
#pragma unroll
            for (int off = 1; off < kLanesPerBlock; off *= 2) {
                sum_q += __shfl_xor_sync(0xffffffffu, sum_q, off);
                sum_min += __shfl_xor_sync(0xffffffffu, sum_min, off);
            }
            if (valid && c == 0)
                acc[j] += k_detail::combine_affine(xb->d, uint16_t(head.x & 0xFFFFu), uint16_t(head.x >> 16), sum_q,
                                                   sum_min);
        }
    }

#pragma unroll
    for (int j = 0; j < RPW; ++j) {
        const float sum = warp_sum(acc[j]);
        if (lane == 0 && r0 + j < target.n_out) {
            float* out = target.y + r0 + j;
            *out = target.accumulate ? *out + sum : sum;
        }
    }
}

// Rows a warp (HOTROD_CUDA_DECODE_Q4K_ROWS=1|2|4; default 1, as measured before rows a warp existed): the same bits
// at every setting, only the grid changes.
int rows_per_warp() {
    static const int rows = [] {
        const long r = switch_int("HOTROD_CUDA_DECODE_Q4K_ROWS", 1, 4, 1);
        return r >= 4 ? 4 : r >= 2 ? 2 : 1;
    }();
    return rows;
}

template <int RPW>
void launch_rows(DecodeTargets targets, int64_t n_blocks, const uint8_t* x, cudaStream_t stream) {
    int64_t blocks = 0;
    for (int i = 0; i < targets.n; ++i) {
        targets.t[i].first_block = blocks;
        blocks += (targets.t[i].n_out + kWarpsPerBlock * RPW - 1) / (kWarpsPerBlock * RPW);
    }
    launch_kernel(decode_q4k_kernel<RPW>, unsigned(blocks), kWarpsPerBlock * 32, 0, stream, targets, n_blocks, x);
}

}  // namespace

bool matmul_decode_q4k_takes(const DecodeTargets& targets) {
    static const bool on = !switch_off("HOTROD_CUDA_DECODE_Q4K");
    if (!on) return false;
    for (int i = 0; i < targets.n; ++i)
        if (reinterpret_cast<uintptr_t>(targets.t[i].w) % 16 != 0 || targets.t[i].row_bytes % 16 != 0) return false;
    return true;
}

void matmul_decode_q4k(const DecodeTargets& targets, int64_t n_blocks, const void* x_q, cudaStream_t stream) {
    const uint8_t* x = static_cast<const uint8_t*>(x_q);
    switch (rows_per_warp()) {
        case 4: return launch_rows<4>(targets, n_blocks, x, stream);
        case 2: return launch_rows<2>(targets, n_blocks, x, stream);
        default: return launch_rows<1>(targets, n_blocks, x, stream);
    }
}

}  // namespace hotrod::cuda::detail
