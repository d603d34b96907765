// The decode matmul: up to kMaxDecodeRows token rows, where the step is bound by reading the weights, so every
// weight byte is read once for all rows. One warp per output row; its lanes stride over the row's blocks, kGroup
// lanes a block, each lane taking kParts / kGroup of its parts (all 4 of a 32-element block, 4 of a K super-block's
// 16). Each lane forms its parts' exact integer Partial for every token row, the group adds them with xor shuffles
// (Format::add: exact, so the block sum is the reference's), one lane of the group per token row turns it into the
// block's float term (Format::finish), and the float sums over blocks meet in a warp reduction at the end. Four
// parts a lane, not one: with 16 token rows the shuffles (one per row and halving step) cost more than the dp4a,
// so fewer lanes a block means fewer of them. Float weights (F32 / F16 / BF16) take F32 activations and FMAs.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <stdexcept>

#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "cuda/switches.h"
#include "cuda/matmul_dispatch.cuh"
#include "cuda/matmul_decode.cuh"
#include "cuda/matmul_kernels.h"

namespace hotrod::cuda::detail {
namespace {

// A Partial (a few ints) through __shfl_xor_sync, word by word.
template <class P>
__device__ __forceinline__ P shfl_xor_partial(P p, int lane_mask) {
    static_assert(sizeof(P) % 4 == 0, "Format::Partial must be made of 32-bit words");
    int words[sizeof(P) / 4];
    memcpy(words, &p, sizeof(P));
#pragma unroll
    for (int i = 0; i < int(sizeof(P) / 4); ++i) words[i] = __shfl_xor_sync(0xffffffffu, words[i], lane_mask);
    memcpy(&p, words, sizeof(P));
    return p;
}

// Lanes a block by default: enough for each to take 4 parts (see the top).
template <quant::DType T>
constexpr int default_group() {
    return Format<T>::kParts / 4 < 1 ? 1 : Format<T>::kParts / 4 > 32 ? 32 : Format<T>::kParts / 4;
}

// How a warp's lanes share blocks: kGroup lanes a block, each taking kPartsPerLane of its kParts parts, so a warp
// covers kBlocksPerStep blocks a step.
template <quant::DType T, int G = default_group<T>()>
struct DecodeLanes {
    using F = Format<T>;
    static constexpr int kGroup = G;
    static constexpr int kPartsPerLane = F::kParts / kGroup;
    static constexpr int kBlocksPerStep = 32 / kGroup;
    static_assert(32 % kGroup == 0 && F::kParts % kGroup == 0, "kParts must be a power of two or a multiple of 128");
};

// One step of a lane's work, shared by both decode kernels: its parts of block bc (weights at wb) for every token
// row, the group's exact sums by xor shuffles (Format::add), and the block's float term added to acc[t] by the lane
// of the group that owns row t (only when the block is valid: past the row, the sums are dropped).
template <quant::DType T, int NR, int G>
__device__ __forceinline__ void add_block_terms(const uint8_t* wb, const typename Format<T>::Act* const (&x_rows)[NR],
                                                int64_t bc, int part0, bool valid, float (&acc)[NR]) {
    using F = Format<T>;
    using L = DecodeLanes<T, G>;
    typename F::Partial p[NR];
#pragma unroll
    for (int t = 0; t < NR; ++t) {
        p[t] = F::dot_part(wb, x_rows[t] + bc, part0);
#pragma unroll
        for (int k = 1; k < L::kPartsPerLane; ++k)
            p[t] = F::add(p[t], F::dot_part(wb, x_rows[t] + bc, part0 + k * L::kGroup));
    }
    // Xor offsets below kGroup stay inside the aligned group of lanes holding this block.
#pragma unroll
    for (int off = L::kGroup / 2; off > 0; off /= 2) {
#pragma unroll
        for (int t = 0; t < NR; ++t) p[t] = F::add(p[t], shfl_xor_partial(p[t], off));
    }
    if (valid) {
#pragma unroll
        for (int t = 0; t < NR; ++t)
            if (t % L::kGroup == part0) acc[t] += F::finish(wb, x_rows[t] + bc, p[t]);
    }
}

// NR: token rows the kernel is compiled for (n_rows <= NR; rows past n_rows repeat the last row's reads and are
// not written, which keeps the warp's control flow uniform). R: weight rows a warp takes; they read the same
// activation words, which the compiler loads once for all R (the activation loads are half a dot_part's).
template <quant::DType T, int NR, int R, int G>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    decode_quant_kernel(DecodeTargets targets, int64_t n_blocks, const uint8_t* __restrict__ x, size_t x_row_bytes,
                        int n_rows) {
    using F = Format<T>;
    using Act = typename F::Act;
    using L = DecodeLanes<T, G>;

    int64_t block = 0;
    const DecodeTarget target = pick_target(targets, block);
    const uint8_t* __restrict__ w = target.w;
    const size_t w_row_bytes = target.row_bytes;
    const int64_t n_out = target.n_out;
    float* __restrict__ y = target.y;
    const int64_t y_stride = target.y_stride;
    const int64_t r0 = (block * kWarpsPerBlock + threadIdx.x / 32) * R;
    if (r0 >= n_out) return;  // uniform over the warp; it reads and writes nothing
    const int lane = threadIdx.x % 32;
    if (targets.prefetch) prefetch_l2_warp(w + r0 * w_row_bytes, size_t(min(int64_t(R), n_out - r0)) * w_row_bytes, lane);
    grid_dependency_sync();
    const int part0 = lane % L::kGroup;
    const uint8_t* w_rows[R];
#pragma unroll
    for (int i = 0; i < R; ++i) w_rows[i] = w + min(r0 + i, n_out - 1) * w_row_bytes;  // past n_out: not written

    const Act* x_rows[NR];
    float acc[R][NR];
#pragma unroll
    for (int t = 0; t < NR; ++t) {
        x_rows[t] = reinterpret_cast<const Act*>(x + size_t(min(t, n_rows - 1)) * x_row_bytes);
#pragma unroll
        for (int i = 0; i < R; ++i) acc[i][t] = 0.0f;
    }

    for (int64_t b0 = 0; b0 < n_blocks; b0 += L::kBlocksPerStep) {
        const int64_t b = b0 + lane / L::kGroup;
        const bool valid = b < n_blocks;
        const int64_t bc = valid ? b : n_blocks - 1;  // a whole group is valid or not: its result is dropped
#pragma unroll
        for (int i = 0; i < R; ++i) add_block_terms<T, NR, G>(w_rows[i] + bc * F::kBytes, x_rows, bc, part0, valid, acc[i]);
    }

#pragma unroll
    for (int i = 0; i < R; ++i) {
#pragma unroll
        for (int t = 0; t < NR; ++t) {
            const float sum = warp_sum(acc[i][t]);
            if (lane == t % 32 && t < n_rows && r0 + i < n_out) {
                float* out = y + t * y_stride + r0 + i;
                *out = target.accumulate ? *out + sum : sum;
            }
        }
    }
}

// 16 bytes global -> shared, asynchronously (cp.async, sm_80+), bypassing L1: weights are read once.
__device__ __forceinline__ void copy16_async(void* smem, const void* gmem) {
    const unsigned s = unsigned(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem));
}
__device__ __forceinline__ void async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// decode_quant_kernel's work, lane for lane (so the same sums in the same order, bit for bit), with the weights
// staged: each warp copies the next kBlocksPerStep blocks of its row into shared memory with 16-byte asynchronous
// copies while it computes on the current ones, and the formats' narrow reads (2-byte words, scale bytes) then hit
// shared memory instead of issuing global loads. A chunk starts at any even address: the copy starts at the
// 16-byte boundary below it (the bytes before belong to the previous block or row) and stops at the boundary
// past its last byte: the last word read is the aligned one holding a byte of the matrix, so it never leaves the
// allocation's (256-byte aligned) mapping.
template <quant::DType T, int NR, int G>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    decode_staged_kernel(DecodeTargets targets, int64_t n_blocks, const uint8_t* __restrict__ x, size_t x_row_bytes,
                         int n_rows) {
    int64_t block = 0;
    const DecodeTarget target = pick_target(targets, block);
    const uint8_t* __restrict__ w = target.w;
    const size_t w_row_bytes = target.row_bytes;
    const int64_t n_out = target.n_out;
    float* __restrict__ y = target.y;
    const int64_t y_stride = target.y_stride;
    using F = Format<T>;
    using Act = typename F::Act;
    constexpr int kGroup = DecodeLanes<T, G>::kGroup;
    constexpr int kBlocksPerStep = DecodeLanes<T, G>::kBlocksPerStep;
    constexpr int kWords = (kBlocksPerStep * F::kBytes + 15) / 16 + 1;  // 16-byte words a chunk can touch
    __shared__ uint4 stage[kWarpsPerBlock][2][kWords];

    const int warp = int(threadIdx.x) / 32;
    const int64_t r = block * kWarpsPerBlock + warp;
    if (r >= n_out) return;  // uniform over the warp; warps share no memory
    const int lane = int(threadIdx.x) % 32;
    const int part0 = lane % kGroup;
    const uint8_t* w_row = w + r * w_row_bytes;
    if (targets.prefetch) prefetch_l2_warp(w_row, w_row_bytes, lane);
    grid_dependency_sync();

    const Act* x_rows[NR];
    float acc[NR];
#pragma unroll
    for (int t = 0; t < NR; ++t) {
        x_rows[t] = reinterpret_cast<const Act*>(x + size_t(min(t, n_rows - 1)) * x_row_bytes);
        acc[t] = 0.0f;
    }

    // Issues the copies of the chunk starting at block b0 into buffer `buf`; returns the chunk's offset in it.
    auto issue = [&](int64_t b0, int buf) {
        const uintptr_t begin = reinterpret_cast<uintptr_t>(w_row + b0 * F::kBytes);
        const int64_t nb = min(int64_t(kBlocksPerStep), n_blocks - b0);
        const uintptr_t base = begin & ~uintptr_t(15);
        const int words = int((begin + uintptr_t(nb * F::kBytes) - base + 15) / 16);
        for (int i = lane; i < words; i += 32)
            copy16_async(&stage[warp][buf][i], reinterpret_cast<const void*>(base + uintptr_t(16 * i)));
        async_commit();
    };
    auto offset_of = [&](int64_t b0) { return int(reinterpret_cast<uintptr_t>(w_row + b0 * F::kBytes) & 15); };

    issue(0, 0);
    int buf = 0;
    for (int64_t b0 = 0; b0 < n_blocks; b0 += kBlocksPerStep, buf ^= 1) {
        const bool more = b0 + kBlocksPerStep < n_blocks;
        if (more) {
            issue(b0 + kBlocksPerStep, buf ^ 1);
            async_wait<1>();
        } else {
            async_wait<0>();
        }
        __syncwarp();
        const int64_t b = b0 + lane / kGroup;
        const bool valid = b < n_blocks;
        const int64_t bc = valid ? b : n_blocks - 1;  // activations of a valid block; its weights are not read
        const uint8_t* wb = reinterpret_cast<const uint8_t*>(stage[warp][buf]) + offset_of(b0) +
                            (valid ? (lane / kGroup) * F::kBytes : 0);
        add_block_terms<T, NR, G>(wb, x_rows, bc, part0, valid, acc);
        __syncwarp();  // every lane is done with `buf` before the next chunk but one is copied into it
    }

#pragma unroll
    for (int t = 0; t < NR; ++t) {
        const float sum = warp_sum(acc[t]);
        if (lane == t % 32 && t < n_rows) {
            float* out = y + t * y_stride + r;
            *out = target.accumulate ? *out + sum : sum;
        }
    }
}

template <quant::DType T, int NR>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    decode_float_kernel(const uint8_t* __restrict__ w, size_t w_row_bytes, int64_t n_out, int64_t n_in,
                        const float* __restrict__ x, int64_t x_stride, int n_rows, float* __restrict__ y,
                        int64_t y_stride, bool prefetch) {
    const int64_t r = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
    if (r >= n_out) return;
    const int lane = threadIdx.x % 32;
    const uint8_t* w_row = w + r * w_row_bytes;
    if (prefetch) prefetch_l2_warp(w_row, w_row_bytes, lane);
    grid_dependency_sync();

    const float* x_rows[NR];
    float acc[NR];
#pragma unroll
    for (int t = 0; t < NR; ++t) {
        x_rows[t] = x + int64_t(min(t, n_rows - 1)) * x_stride;
        acc[t] = 0.0f;
    }
    for (int64_t i = lane; i < n_in; i += 32) {
        const float wv = load_float_weight<T>(w_row, i);
#pragma unroll
        for (int t = 0; t < NR; ++t) acc[t] = fmaf(wv, x_rows[t][i], acc[t]);
    }
#pragma unroll
    for (int t = 0; t < NR; ++t) {
        const float sum = warp_sum(acc[t]);
        if (lane == t % 32 && t < n_rows) y[t * y_stride + r] = sum;
    }
}


// Which decode kernel. By default the formats whose blocks keep every word aligned (Format::kAlign 4: Q4_K, Q5_K)
// read their whole words straight from global memory (the plain kernel), and the formats read in 2-byte pieces
// stage their weights in shared memory first: on an H100 (bench_cuda_matmul, 2026-12-06) Q4_K 9728 x 2560 took
// 11.2 us plain vs 12.0 staged at one token and 40 vs 68 us at 8, while Q6_K 151936 x 2560 took 141 us staged vs
// 182 plain. HOTROD_CUDA_DECODE=plain or =staged forces one kernel for every format (both give the same bits).
// (Two weight rows a warp, R = 2, measured no faster: 14.8 vs 14.4 us on Q4_K at one token; R stays a parameter.)
enum class DecodeKind { ByFormat, Staged, Plain };
DecodeKind decode_kind() {
    static const DecodeKind kind = switch_is("HOTROD_CUDA_DECODE", "plain")    ? DecodeKind::Plain
                                   : switch_is("HOTROD_CUDA_DECODE", "staged") ? DecodeKind::Staged
                                                                                : DecodeKind::ByFormat;
    return kind;
}

template <quant::DType T>
bool staged_for(DecodeKind kind) {
    return kind == DecodeKind::Staged || (kind == DecodeKind::ByFormat && Format<T>::kAlign < 4);
}

// Lanes a block at one or two token rows, for the K formats (16 parts a super-block): 4 by default (8 super-blocks a
// warp step). 16, one part a lane (2 super-blocks a step), keeps every lane group of a 2560-wide row busy but was
// slower on an H100 (2026-12-07, bench_cuda_matmul, one token row: Q4_K 9728x2560 11.9 vs 11.2 us, 2560x9728 15.6
// vs 10.8, Q6_K 151936x2560 158.5 vs 143.7; synthetic Qwen3-4B tg128 303-314 vs 331-343 t/s), the extra shuffles
// costing more than the idle lanes. HOTROD_CUDA_DECODE_GROUP=16 takes it (the same bits: exact integer block sums).
template <quant::DType T, int NR>
constexpr int wide_group() {
    return NR <= 2 && Format<T>::kParts == 16 ? 16 : default_group<T>();
}
bool wide_groups() {
    static const bool wide = switch_is("HOTROD_CUDA_DECODE_GROUP", "16");
    return wide;
}

}  // namespace

void matmul_decode_quant(std::span<const DeviceWeight> ws, std::span<const DeviceRows> ys, const void* x_q,
                         size_t x_row_bytes, int64_t n_rows, cudaStream_t stream) {
    if (n_rows < 1 || n_rows > kMaxDecodeRows) throw std::invalid_argument("matmul_decode_quant: row count out of range");
    if (ws.empty() || ws.size() > size_t(kMaxSharedOuts) || ys.size() != ws.size())
        throw std::invalid_argument("matmul_decode_quant: 1 to kMaxSharedOuts matrices, one output each");
    DecodeTargets targets;
    int64_t blocks = 0;
    for (size_t i = 0; i < ws.size(); ++i) {
        if (ws[i].type != ws[0].type || ws[i].n_in != ws[0].n_in)
            throw std::invalid_argument("matmul_decode_quant: matrices of one launch differ in type or n_in");
        targets.t[i] = {static_cast<const uint8_t*>(ws[i].data), ws[i].row_bytes, ws[i].n_out, ys[i].data,
                        ys[i].stride, blocks, ys[i].accumulate};
        blocks += grid_for(ws[i].n_out);
    }
    targets.n = int(ws.size());
    targets.prefetch = prefetch_before_wait();
    if (n_rows == 1 && ws[0].type == quant::DType::Q4_K && decode_kind() == DecodeKind::ByFormat && !wide_groups() &&
        matmul_decode_q4k_takes(targets)) {
        matmul_decode_q4k(targets, ws[0].n_in / quant::QK_K, x_q, stream);
        return;
    }
    const bool known = visit_block_type(ws[0].type, [&](auto type) {
        constexpr quant::DType T = decltype(type)::value;
        with_row_count(n_rows, [&](auto nr) {
            constexpr int kNR = decltype(nr)::value;
            constexpr int kWide = wide_group<T, kNR>(), kDefault = default_group<T>();
            const DecodeKind kind = decode_kind();
            auto kernel = staged_for<T>(kind)
                              ? (wide_groups() ? decode_staged_kernel<T, kNR, kWide> : decode_staged_kernel<T, kNR, kDefault>)
                              : (wide_groups() ? decode_quant_kernel<T, kNR, 1, kWide>
                                               : decode_quant_kernel<T, kNR, 1, kDefault>);
            launch_kernel(kernel, unsigned(blocks), kWarpsPerBlock * 32, 0, stream, targets,
                          ws[0].n_in / Format<T>::kElems, static_cast<const uint8_t*>(x_q), x_row_bytes, int(n_rows));
        });
    });
    if (!known) throw std::invalid_argument("matmul_decode_quant: not a block format");
}

void matmul_decode_float(const DeviceWeight& w, const DeviceRows& x, const DeviceRows& y, cudaStream_t stream) {
    if (x.n_rows < 1 || x.n_rows > kMaxDecodeRows) throw std::invalid_argument("matmul_decode_float: row count out of range");
    const bool known = visit_float_type(w.type, [&](auto type) {
        constexpr quant::DType T = decltype(type)::value;
        with_row_count(x.n_rows, [&](auto nr) {
            launch_kernel(decode_float_kernel<T, decltype(nr)::value>, grid_for(w.n_out), kWarpsPerBlock * 32,
                          0, stream, static_cast<const uint8_t*>(w.data), w.row_bytes, w.n_out, w.n_in,
                          x.data, x.stride, int(x.n_rows), y.data, y.stride, prefetch_before_wait());
        });
    });
    if (!known) throw std::invalid_argument("matmul_decode_float: not a float format");
}

}  // namespace hotrod::cuda::detail
