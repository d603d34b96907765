// The decode matmul for Q4_K weights, a 32-byte chunk of quants a lane: the general decode kernel
// (matmul_decode.cu) gives a lane 16 elements a part, four parts a super-block, and each part decodes two 6-bit
// scales and mins and reads its quants and activations 4 bytes at a time; at one token row its instructions, not
// the weight reads, come close to bounding it (~35 a 16 elements). Here a lane takes chunk c of a super-block: the
// super-block's 16-byte head (d, dmin, 12 scale bytes) and its 32 quant bytes in three 16-byte loads, two scale /
// min decodes (sub-blocks 2c and 2c + 1) for 64 elements, sixteen dp4a. Four lanes a super-block, eight
// super-blocks a warp step. A warp takes R output rows as one list of R x n_blocks super-blocks, so a row of ten
// (Qwen3-4B's 2560 inputs) does not leave a quarter of the lanes idle: R = 4 there, 40 blocks in five full steps,
// where one row a warp took two steps for 10. The sums are the reference's: each lane's integer sums (scale
// times dot, min times the activation's group sums) added exactly over the block's four lanes by xor shuffles,
// then the one float combine a super-block of Format<Q4_K>::finish, so every block term is the CPU's bit for bit
// and only the float additions over blocks are in another order.
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

// Chunk c of activation block xb against the chunk's quant words q[0..7] (bytes 32c .. 32c + 31 of qs): low nibbles
// are elements 64c + 4i .. (sub-block 2c), high nibbles 64c + 32 + 4i .. (sub-block 2c + 1).
__device__ __forceinline__ void chunk_dots(const uint32_t (&q)[8], const quant::BlockQ8_K* xb, int c, int& dot_lo,
                                           int& dot_hi) {
    const int* a = reinterpret_cast<const int*>(xb->qs + 64 * c);
    dot_lo = 0;
    dot_hi = 0;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        dot_lo = __dp4a(int(q[i] & 0x0F0F0F0Fu), a[i], dot_lo);
        dot_hi = __dp4a(int((q[i] >> 4) & 0x0F0F0F0Fu), a[8 + i], dot_hi);
    }
}

// Group sums of sub-blocks 2c and 2c + 1 (groups 4c, 4c + 1 and 4c + 2, 4c + 3 of 16 elements): two 4-byte loads.
__device__ __forceinline__ void chunk_bsums(const quant::BlockQ8_K* xb, int c, int& lo, int& hi) {
    const uint32_t* b = reinterpret_cast<const uint32_t*>(xb->bsums + 4 * c);  // 4-byte aligned: 260 + 8c
    const uint32_t w0 = b[0], w1 = b[1];
    lo = int(int16_t(w0 & 0xFFFFu)) + int(int16_t(w0 >> 16));
    hi = int(int16_t(w1 & 0xFFFFu)) + int(int16_t(w1 >> 16));
}

template <int NR, int R>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    decode_q4k_kernel(DecodeTargets targets, int n_blocks, const uint8_t* __restrict__ x, size_t x_row_bytes,
                      int n_rows) {
    using F = Format<quant::DType::Q4_K>;
    int64_t block = 0;
    const DecodeTarget target = pick_target(targets, block);
    const int64_t r0 = (block * kWarpsPerBlock + int64_t(threadIdx.x / 32)) * R;
    if (r0 >= target.n_out) return;  // uniform over the warp; it reads and writes nothing
    const int lane = int(threadIdx.x % 32);
    const int c = lane % kLanesPerBlock;
    const int rows = int(min(int64_t(R), target.n_out - r0));  // this warp's rows (fewer at the matrix's end)
    const uint8_t* __restrict__ w0 = target.w + r0 * target.row_bytes;
    if (targets.prefetch) prefetch_l2_warp(w0, size_t(rows) * target.row_bytes, lane);
    grid_dependency_sync();

    const quant::BlockQ8_K* x_rows[NR];
    float acc[R][NR];
#pragma unroll
    for (int t = 0; t < NR; ++t) {
        x_rows[t] = reinterpret_cast<const quant::BlockQ8_K*>(x + size_t(min(t, n_rows - 1)) * x_row_bytes);
#pragma unroll
        for (int k = 0; k < R; ++k) acc[k][t] = 0.0f;
    }

    // The group's item in the warp's list: row rl, super-block b; it moves on by kBlocksPerStep a step.
    const int items = rows * n_blocks;
    int rl = (lane / kLanesPerBlock) / n_blocks, b = (lane / kLanesPerBlock) % n_blocks;
    for (int i0 = 0; i0 < items; i0 += kBlocksPerStep) {
        const bool valid = i0 + lane / kLanesPerBlock < items;
        // Past the list a group reads the last item and drops its result (a whole group is valid or not).
        const int rc = valid ? rl : rows - 1, bc = valid ? b : n_blocks - 1;
        // 16-byte loads: blocks are 144 bytes and rows a whole number of blocks from a 16-byte aligned start.
        const uint4* wb = reinterpret_cast<const uint4*>(w0 + size_t(rc) * target.row_bytes + size_t(bc) * F::kBytes);
        const uint4 head = wb[0];  // d | dmin (x), scales 0..3 (y), 4..7 (z), 8..11 (w)
        const uint4 q01 = wb[1 + 2 * c], q23 = wb[2 + 2 * c];
        const uint32_t q[8] = {q01.x, q01.y, q01.z, q01.w, q23.x, q23.y, q23.z, q23.w};
        int sc_lo, mn_lo, sc_hi, mn_hi;
        k_detail::scale_min_k4_words(head.y, head.z, head.w, 2 * c, sc_lo, mn_lo);
        k_detail::scale_min_k4_words(head.y, head.z, head.w, 2 * c + 1, sc_hi, mn_hi);
#pragma unroll
        for (int t = 0; t < NR; ++t) {
            const quant::BlockQ8_K* xb = x_rows[t] + bc;
            int dot_lo, dot_hi, bs_lo, bs_hi;
            chunk_dots(q, xb, c, dot_lo, dot_hi);
            chunk_bsums(xb, c, bs_lo, bs_hi);
            int sum_q = sc_lo * dot_lo + sc_hi * dot_hi;
            int sum_min = mn_lo * bs_lo + mn_hi * bs_hi;
#pragma unroll
            for (int off = 1; off < kLanesPerBlock; off *= 2) {
                sum_q += __shfl_xor_sync(0xffffffffu, sum_q, off);
                sum_min += __shfl_xor_sync(0xffffffffu, sum_min, off);
            }
            if (valid && t % kLanesPerBlock == c) {
                const float term = k_detail::combine_affine(xb->d, uint16_t(head.x & 0xFFFFu),
                                                            uint16_t(head.x >> 16), sum_q, sum_min);
#pragma unroll
                for (int k = 0; k < R; ++k)
                    if (k == rc) acc[k][t] += term;
            }
        }
        b += kBlocksPerStep;
        while (b >= n_blocks) {
            b -= n_blocks;
            ++rl;
        }
    }

#pragma unroll
    for (int k = 0; k < R; ++k) {
#pragma unroll
        for (int t = 0; t < NR; ++t) {
            const float sum = warp_sum(acc[k][t]);
            if (lane == t % 32 && t < n_rows && k < rows) {
                float* out = target.y + t * target.y_stride + r0 + k;
                *out = target.accumulate ? *out + sum : sum;
            }
        }
    }
}

// Rows a warp takes: the fewest of 1, 2, 4 that keep nine tenths of the warp's steps' lane groups busy (a row of
// ten super-blocks: 4; Qwen3-4B's 9728 inputs, 38: 1). Beyond four token rows, one: R x NR accumulators and as
// many warp sums at the end, and enough dot products a block that the warp count, not idle lanes, decides.
int rows_per_warp(int n_blocks, int64_t n_rows) {
    if (n_rows > 4) return 1;
    for (const int r : {1, 2}) {
        const int items = r * n_blocks, slots = (items + kBlocksPerStep - 1) / kBlocksPerStep * kBlocksPerStep;
        if (10 * items >= 9 * slots) return r;
    }
    return 4;
}

}  // namespace

bool matmul_decode_q4k_takes(const DecodeTargets& targets) {
    static const bool on = !switch_off("HOTROD_CUDA_DECODE_Q4K");
    if (!on) return false;
    for (int i = 0; i < targets.n; ++i)
        if (reinterpret_cast<uintptr_t>(targets.t[i].w) % 16 != 0 || targets.t[i].row_bytes % 16 != 0) return false;
    return true;
}

void matmul_decode_q4k(const DecodeTargets& targets_in, int64_t n_blocks, const void* x_q, size_t x_row_bytes,
                       int64_t n_rows, cudaStream_t stream) {
    const int R = rows_per_warp(int(n_blocks), n_rows);
    DecodeTargets targets = targets_in;
    int64_t grid = 0;
    for (int i = 0; i < targets.n; ++i) {
        targets.t[i].first_block = grid;
        grid += (targets.t[i].n_out + int64_t(kWarpsPerBlock) * R - 1) / (int64_t(kWarpsPerBlock) * R);
    }
    with_row_count(n_rows, [&](auto nr) {
        constexpr int kNR = decltype(nr)::value;
        auto kernel = R == 4 ? decode_q4k_kernel<kNR, 4> : R == 2 ? decode_q4k_kernel<kNR, 2> : decode_q4k_kernel<kNR, 1>;
        launch_kernel(kernel, unsigned(grid), kWarpsPerBlock * 32, 0, stream, targets, int(n_blocks),
                      static_cast<const uint8_t*>(x_q), x_row_bytes, int(n_rows));
    });
}

}  // namespace hotrod::cuda::detail
