// RMSNorm on the GPU: rms_norm over whole rows and rms_norm_heads over each head slice of a row (QK-norm). Both
// are one kernel over "segments" (a row, or one head_dim slice of a row): a warp per segment up to kWarpMaxCols
// floats, a block per segment above. The arithmetic is the CPU reference's (rms_norm_row_ref): float squares
// summed in double, mean and 1 / sqrt in float, then (x * inv_rms) * w, so only the order of the double sum differs.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "cuda/norm.cuh"
#include "cuda/ops.h"
#include "cuda/quantize_q8_k.cuh"

namespace hotrod::cuda {

namespace {

constexpr int kWarpMaxCols = 512;   // up to here a warp per segment (<= 4 float4 per lane); head slices are 64..256
constexpr int kWarpsPerBlock = 8;   // warp kernel: segments per block
constexpr int kBlockThreads = 256;  // block kernel: threads per segment

// Where segment s lives: row s / segs_per_row, slice s % segs_per_row of n floats.
struct Segments {
    const float* x;
    int64_t x_stride;
    float* out;
    int64_t out_stride;
    int64_t n_segments;
    int64_t segs_per_row;
    int64_t n;
};

template <bool kVec>
__global__ void rms_norm_warp_kernel(Segments sg, const float* w, float eps) {
    grid_dependency_sync();
    // seg depends on the warp alone, so a warp returns whole and the full-mask shuffles below see all 32 lanes.
    const int64_t seg = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
    if (seg >= sg.n_segments) return;
    const int lane = int(threadIdx.x % 32);
    const int64_t row = seg / sg.segs_per_row, slice = seg % sg.segs_per_row;
    const float* xs = sg.x + row * sg.x_stride + slice * sg.n;
    float* os = sg.out + row * sg.out_stride + slice * sg.n;
    const double sum_sq = warp_sum_f64(sum_squares_part<kVec>(xs, sg.n, lane, 32));
    scale_part<kVec>(xs, w, inv_rms_of(sum_sq, sg.n, eps), sg.n, os, lane, 32);
}

// 1 / rms of a slice by the whole block (kBlockThreads threads): per-thread double sums, warp sums, then every
// thread adds the warp sums in the same order, so all hold the same total (no second barrier needed: warp_sums is
// not written again). Its order depends only on n and the thread count, so every kernel using it gets the same bits.
template <bool kVec>
__device__ float block_inv_rms(const float* xs, int64_t n, float eps) {
    __shared__ double warp_sums[kBlockThreads / 32];
    const double part = warp_sum_f64(sum_squares_part<kVec>(xs, n, int(threadIdx.x), kBlockThreads));
    if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = part;
    __syncthreads();
    double sum_sq = 0.0;
    for (int i = 0; i < kBlockThreads / 32; ++i) sum_sq += warp_sums[i];
    return inv_rms_of(sum_sq, n, eps);
}

template <bool kVec>
__device__ void rms_norm_block_body(const Segments& sg, const float* w, float eps, int64_t seg) {
    const int64_t row = seg / sg.segs_per_row, slice = seg % sg.segs_per_row;
    const float* xs = sg.x + row * sg.x_stride + slice * sg.n;
    float* os = sg.out + row * sg.out_stride + slice * sg.n;
    scale_part<kVec>(xs, w, block_inv_rms<kVec>(xs, sg.n, eps), sg.n, os, int(threadIdx.x), kBlockThreads);
}

template <bool kVec>
__global__ void rms_norm_block_kernel(Segments sg, const float* w, float eps) {
    grid_dependency_sync();
    rms_norm_block_body<kVec>(sg, w, eps, blockIdx.x);
}

// rms_norm fused with the Q8_K quantization of its output, a block per (super-block c, row): the block computes the
// row's 1 / rms exactly as rms_norm_block_kernel does (block_inv_rms: the same bits), then its first warp scales
// super-block c, lane l elements 8l .. 8l+7 ((x * inv_rms) * w, as scale_part), and quantizes it, each lane reading
// back the floats it wrote. Every block reads the whole row for the sum (a few KB from L2) so that a decode step's
// one row spreads over n / 256 blocks instead of one block scaling and quantizing it all. out must not overlap x
// (another block may still be summing x while this one writes; the launcher checks).
template <bool kVec>
__global__ void rms_norm_quant_q8_k_kernel(Segments sg, const float* w, float eps, uint8_t* q, size_t q_row_bytes) {
    grid_dependency_sync();
    const int64_t row = blockIdx.y, c = blockIdx.x;
    const float* xs = sg.x + row * sg.x_stride;
    const float inv_rms = block_inv_rms<kVec>(xs, sg.n, eps);
    if (threadIdx.x >= 32) return;
    const int lane = int(threadIdx.x);
    const int64_t e0 = c * quant::QK_K + kQ8KPerLane * lane;
    float* os = sg.out + row * sg.out_stride;
#pragma unroll
    for (int j = 0; j < kQ8KPerLane; ++j) os[e0 + j] = xs[e0 + j] * inv_rms * w[e0 + j];
    auto* y = reinterpret_cast<quant::BlockQ8_K*>(q + size_t(row) * q_row_bytes);
    quantize_q8_k_block(os + c * quant::QK_K, y + c, lane);
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// float4 needs every segment start and w 16-byte aligned: aligned bases, strides of whole float4s and, for several
// slices per row, slices of whole float4s. The n % 4 tail is read singly either way.
bool vec_ok(const Segments& sg, const float* w) {
    return aligned16(sg.x) && aligned16(sg.out) && aligned16(w) && sg.x_stride % 4 == 0 && sg.out_stride % 4 == 0 &&
           (sg.segs_per_row == 1 || sg.n % 4 == 0);
}

void launch_rms_norm(const Segments& sg, const float* w, float eps, cudaStream_t stream) {
    if (sg.n_segments <= 0 || sg.n <= 0) return;
    // float4 needs every segment start and w 16-byte aligned: aligned bases, strides of whole float4s and, for
    // several slices per row, slices of whole float4s. The n % 4 tail is read singly either way.
    const bool vec = vec_ok(sg, w);
    if (sg.n <= kWarpMaxCols) {
        const dim3 grid(unsigned((sg.n_segments + kWarpsPerBlock - 1) / kWarpsPerBlock));
        if (vec)
            launch_kernel(rms_norm_warp_kernel<true>, grid, kWarpsPerBlock * 32, 0, stream, sg, w, eps);
        else
            launch_kernel(rms_norm_warp_kernel<false>, grid, kWarpsPerBlock * 32, 0, stream, sg, w, eps);
    } else {
        const dim3 grid(static_cast<unsigned>(sg.n_segments));
        if (vec)
            launch_kernel(rms_norm_block_kernel<true>, grid, kBlockThreads, 0, stream, sg, w, eps);
        else
            launch_kernel(rms_norm_block_kernel<false>, grid, kBlockThreads, 0, stream, sg, w, eps);
    }
}

}  // namespace

bool rms_norm_quant_fits(int64_t n_cols) { return n_cols > kWarpMaxCols && n_cols % quant::QK_K == 0; }

void rms_norm_quant_q8_k(const float* x, int64_t x_stride, const float* w, float eps, int64_t n_rows, int64_t n_cols,
                         float* out, int64_t out_stride, void* q, size_t q_row_bytes, cudaStream_t stream) {
    if (!rms_norm_quant_fits(n_cols) || q_row_bytes % 4 != 0)
        throw std::invalid_argument("cuda::rms_norm_quant_q8_k: rows of " + std::to_string(n_cols) +
                                    " floats (needs more than " + std::to_string(kWarpMaxCols) +
                                    " and a multiple of 256)");
    if (n_rows <= 0) return;
    const Segments sg{x, x_stride, out, out_stride, n_rows, 1, n_cols};
    const auto* x_end = x + (n_rows - 1) * x_stride + n_cols;
    const auto* out_end = out + (n_rows - 1) * out_stride + n_cols;
    if (out < x_end && x < out_end)
        throw std::invalid_argument("cuda::rms_norm_quant_q8_k: out overlaps x (use rms_norm, then quantize)");
    const dim3 grid(unsigned(n_cols / quant::QK_K), unsigned(n_rows));
    auto* qb = static_cast<uint8_t*>(q);
    if (vec_ok(sg, w))
        launch_kernel(rms_norm_quant_q8_k_kernel<true>, grid, kBlockThreads, 0, stream, sg, w, eps, qb,
                      q_row_bytes);
    else
        launch_kernel(rms_norm_quant_q8_k_kernel<false>, grid, kBlockThreads, 0, stream, sg, w, eps, qb,
                      q_row_bytes);
}

void rms_norm(const float* x, int64_t x_stride, const float* w, float eps, int64_t n_rows, int64_t n_cols, float* out,
              int64_t out_stride, cudaStream_t stream) {
    launch_rms_norm(Segments{x, x_stride, out, out_stride, n_rows, 1, n_cols}, w, eps, stream);
}

bool rms_norm_heads_vectorized(const float* x, int64_t x_stride, const float* w, int head_dim, int64_t n_heads) {
    return vec_ok(Segments{x, x_stride, const_cast<float*>(x), x_stride, n_heads, n_heads, head_dim}, w);  // reads only
}

void rms_norm_heads(float* x, int64_t x_stride, const float* w, int head_dim, float eps, int64_t n_rows,
                    int64_t n_cols, cudaStream_t stream) {
    if (head_dim <= 0 || n_cols % head_dim != 0) {
        throw std::invalid_argument("cuda::rms_norm_heads: rows of " + std::to_string(n_cols) +
                                    " floats are not a whole number of heads of " + std::to_string(head_dim));
    }
    const int64_t n_heads = n_cols / head_dim;
    launch_rms_norm(Segments{x, x_stride, x, x_stride, n_rows * n_heads, n_heads, head_dim}, w, eps, stream);
}

}  // namespace hotrod::cuda
