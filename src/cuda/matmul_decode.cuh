// Pieces the decode matmul kernels share (matmul_decode.cu: every block format; matmul_decode_q4k.cu: Q4_K read
// a 32-byte chunk a lane): the launch's targets (one to kMaxSharedOuts matrices times one x), the warp sum, the
// compiled token-row counts and the grid size.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "cuda/matmul.h"

namespace hotrod::cuda::detail {

constexpr int kWarpsPerBlock = 4;  // output rows per thread block

// The matrices one launch multiplies by the same x (matmul_shared's q/k/v or gate/up, or one matrix): each takes a
// contiguous range of the grid's thread blocks, from first_block on. One launch instead of three or two, and the
// small k/v matrices' blocks fill the card beside q's instead of each running as a thin grid of its own.
struct DecodeTarget {
    const uint8_t* w = nullptr;
    size_t row_bytes = 0;
    int64_t n_out = 0;
    float* y = nullptr;
    int64_t y_stride = 0;
    int64_t first_block = 0;
    bool accumulate = false;  // y += W x (a residual add in the epilogue)
};
struct DecodeTargets {
    DecodeTarget t[kMaxSharedOuts];
    int n = 0;
    bool prefetch = false; // the warp's weight rows asked of L2 before the grid dependency wait (prefetch_before_wait)
};

// The target blockIdx.x falls in, and the block's index within it. Unrolled selects, not an indexed read: the
// kernel parameters stay in constant memory.
__device__ __forceinline__ DecodeTarget pick_target(const DecodeTargets& tg, int64_t& block) {
    DecodeTarget d = tg.t[0];
#pragma unroll
    for (int i = 1; i < kMaxSharedOuts; ++i)
        if (i < tg.n && int64_t(blockIdx.x) >= tg.t[i].first_block) d = tg.t[i];
    block = int64_t(blockIdx.x) - d.first_block;
    return d;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

// Calls fn(std::integral_constant<int, NR>{}) for the smallest compiled NR >= n_rows.
template <class Fn>
void with_row_count(int64_t n_rows, Fn&& fn) {
    static_assert(kMaxDecodeRows == 16, "compiled row counts end at kMaxDecodeRows");
    if (n_rows <= 1) fn(std::integral_constant<int, 1>{});
    else if (n_rows <= 2) fn(std::integral_constant<int, 2>{});
    else if (n_rows <= 4) fn(std::integral_constant<int, 4>{});
    else if (n_rows <= 8) fn(std::integral_constant<int, 8>{});
    else fn(std::integral_constant<int, 16>{});
}

// The Q4_K kernel of matmul_decode_q4k.cu, for one token row: takes a launch unless HOTROD_CUDA_DECODE_Q4K=0 or a
// matrix is not 16-byte aligned (the general kernel then reads it). The general kernel's bits; its own grid (rows a
// warp: HOTROD_CUDA_DECODE_Q4K_ROWS), so the targets' first blocks are set again there.
bool matmul_decode_q4k_takes(const DecodeTargets& targets);
void matmul_decode_q4k(const DecodeTargets& targets, int64_t n_blocks, const void* x_q, cudaStream_t stream);

inline unsigned grid_for(int64_t n_out) { return unsigned((n_out + kWarpsPerBlock - 1) / kWarpsPerBlock); }

}  // namespace hotrod::cuda::detail
