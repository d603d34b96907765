// Q8_0 and Q8_1 activation quantization on the GPU, bit-exact with quantize_row_q8_0_act_ref /
// quantize_row_q8_1_ref (src/quant/quantize_act.cpp): one warp per 32-element block, lane j holding element j.
// The block's amax (a max: exact in any order) and code sum (integers) come from warp shuffles; the scale is
// 127 / amax by a correctly rounded division, codes round half to even (__float2int_rn = nearbyint's default
// mode), and d and s are rounded to fp16 with round-to-nearest-even as the reference's fp32_to_fp16.
// Also the fp16 prefill's activations: convert_rows_f16 (plain) and round_rows_f16 (on an activation grid first).
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "cuda/quantize_act.h"
#include "cuda/quantize_q8_k.cuh"
#include "quant/blocks.h"

namespace hotrod::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;

// Lane's code of a 32-element block (lane j holds element v = block[j]) and the block's unrounded d = amax / 127,
// as quantize_row_q8_0_act_ref. Every lane of the warp calls it (full-mask shuffles).
__device__ __forceinline__ int q8_0_code(float v, float& d) {
    float amax = fabsf(v);
    for (int off = 16; off > 0; off /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
    const float id = amax != 0.0f ? __fdiv_rn(127.0f, amax) : 0.0f;
    d = __fdiv_rn(amax, 127.0f);
    return __float2int_rn(__fmul_rn(v, id));
}

template <bool kQ81>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    quantize_q8_kernel(const float* __restrict__ x, int64_t x_stride, int64_t n_rows, int64_t n_blocks,
                       uint8_t* __restrict__ out, size_t out_row_bytes) {
    grid_dependency_sync();
    const int64_t block_id = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
    if (block_id >= n_rows * n_blocks) return;  // uniform over the warp
    const int lane = threadIdx.x % 32;
    const int64_t t = block_id / n_blocks, b = block_id % n_blocks;
    float d = 0.0f;
    const int q = q8_0_code(x[t * x_stride + b * quant::QK + lane], d);

    uint8_t* row = out + t * out_row_bytes;
    if (kQ81) {
        int sum = q;
        for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
        auto* blk = reinterpret_cast<quant::BlockQ8_1*>(row) + b;
        blk->qs[lane] = int8_t(q);
        if (lane == 0) {
            // s from the unrounded d, then both rounded to fp16 and kept as float (the reference's order).
            blk->d = __half2float(__float2half_rn(d));
            blk->s = __half2float(__float2half_rn(__fmul_rn(d, float(sum))));
        }
    } else {
        auto* blk = reinterpret_cast<quant::BlockQ8_0*>(row) + b;
        blk->qs[lane] = int8_t(q);
        if (lane == 0) blk->d = __half_as_ushort(__float2half_rn(d));
    }
}

template <bool kQ81>
void launch(const float* x, int64_t x_stride, int64_t n_rows, int64_t n_cols, void* out, size_t out_row_bytes,
            cudaStream_t stream) {
    const char* name = kQ81 ? "quantize_rows_q8_1" : "quantize_rows_q8_0";
    const size_t block_bytes = kQ81 ? sizeof(quant::BlockQ8_1) : sizeof(quant::BlockQ8_0);
    const size_t align = kQ81 ? 4 : 2;
    if (n_cols % quant::QK != 0 || x_stride < n_cols || out_row_bytes < size_t(n_cols / quant::QK) * block_bytes ||
        out_row_bytes % align != 0 || reinterpret_cast<uintptr_t>(out) % align != 0)
        throw std::invalid_argument(std::string(name) + ": " + std::to_string(n_rows) + " rows of " +
                                    std::to_string(n_cols) + " columns (stride " + std::to_string(x_stride) +
                                    ") into rows of " + std::to_string(out_row_bytes) +
                                    " bytes: needs whole 32-element blocks and aligned rows that hold them");
    const int64_t n_blocks = n_cols / quant::QK;
    const int64_t n_warps = n_rows * n_blocks;
    if (n_warps == 0) return;
    const int64_t grid = (n_warps + kWarpsPerBlock - 1) / kWarpsPerBlock;
    launch_kernel(quantize_q8_kernel<kQ81>, unsigned(grid), kWarpsPerBlock * 32, 0, stream, x, x_stride,
                  n_rows, n_blocks, static_cast<uint8_t*>(out), out_row_bytes);
}

// Two elements a thread; values past fp16's range saturate to +-65504 rather than become infinities.
__global__ void convert_f16_kernel(const float* __restrict__ x, int64_t x_stride, int64_t half_cols,
                                   __half2* __restrict__ out, int64_t out_stride2) {
    grid_dependency_sync();
    const int64_t t = blockIdx.y;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < half_cols; i += int64_t(gridDim.x) * blockDim.x) {
        const float a = fminf(fmaxf(x[t * x_stride + 2 * i], -65504.0f), 65504.0f);
        const float b = fminf(fmaxf(x[t * x_stride + 2 * i + 1], -65504.0f), 65504.0f);
        out[t * out_stride2 + i] = __floats2half2_rn(a, b);
    }
}

__device__ __forceinline__ __half saturated_half(float v) { return __float2half_rn(fminf(fmaxf(v, -65504.0f), 65504.0f)); }

// x on an activation format's 8-bit grid, then fp16: a warp per block, the codes and d of quantize_q8_kernel (Q8_0
// and Q8_1 share them; d rounded to fp16 as stored) or of q8_k_codes, each element d * q rounded once to fp16.
template <bool kQ8K>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    round_f16_kernel(const float* __restrict__ x, int64_t x_stride, int64_t n_rows, int64_t n_blocks,
                     __half* __restrict__ out, int64_t out_stride) {
    grid_dependency_sync();
    const int64_t block_id = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
    if (block_id >= n_rows * n_blocks) return;  // uniform over the warp
    const int lane = threadIdx.x % 32;
    const int64_t t = block_id / n_blocks, b = block_id % n_blocks;
    if constexpr (kQ8K) {
        int q[kQ8KPerLane];
        const float d = q8_k_codes(x + t * x_stride + b * quant::QK_K, lane, q);
        alignas(16) __half h[kQ8KPerLane];
#pragma unroll
        for (int j = 0; j < kQ8KPerLane; ++j) h[j] = saturated_half(__fmul_rn(d, float(q[j])));
        *reinterpret_cast<uint4*>(out + t * out_stride + b * quant::QK_K + kQ8KPerLane * lane) =
            *reinterpret_cast<const uint4*>(h);
    } else {
        float d = 0.0f;
        const int q = q8_0_code(x[t * x_stride + b * quant::QK + lane], d);
        const float d16 = __half2float(__float2half_rn(d));  // the scale as the block stores it
        out[t * out_stride + b * quant::QK + lane] = saturated_half(__fmul_rn(float(q), d16));
    }
}

}  // namespace

void round_rows_f16(const float* x, int64_t x_stride, int64_t n_rows, int64_t n_cols, quant::DType like, void* out,
                    size_t out_row_bytes, cudaStream_t stream) {
    const bool q8k = like == quant::DType::Q8_K;
    const int64_t block = q8k ? quant::QK_K : quant::QK;
    if ((!q8k && like != quant::DType::Q8_0 && like != quant::DType::Q8_1) || n_cols % block != 0 ||
        x_stride < n_cols || out_row_bytes < size_t(n_cols) * 2 || out_row_bytes % 16 != 0 ||
        reinterpret_cast<uintptr_t>(out) % 16 != 0)
        throw std::invalid_argument("round_rows_f16: " + std::to_string(n_rows) + " rows of " + std::to_string(n_cols) +
                                    " columns (stride " + std::to_string(x_stride) + ") like " +
                                    std::string(quant::type_name(like)) + " into rows of " +
                                    std::to_string(out_row_bytes) +
                                    " bytes: needs Q8_0, Q8_1 or Q8_K, whole blocks and 16-byte aligned rows that hold them");
    const int64_t n_blocks = n_cols / block;
    const int64_t n_warps = n_rows * n_blocks;
    if (n_warps == 0) return;
    const unsigned grid = unsigned((n_warps + kWarpsPerBlock - 1) / kWarpsPerBlock);
    auto* o = static_cast<__half*>(out);
    const int64_t out_stride = int64_t(out_row_bytes / 2);
    if (q8k) launch_kernel(round_f16_kernel<true>, grid, kWarpsPerBlock * 32, 0, stream, x, x_stride, n_rows, n_blocks, o, out_stride);
    else launch_kernel(round_f16_kernel<false>, grid, kWarpsPerBlock * 32, 0, stream, x, x_stride, n_rows, n_blocks, o, out_stride);
}

void convert_rows_f16(const float* x, int64_t x_stride, int64_t n_rows, int64_t n_cols, void* out,
                      size_t out_row_bytes, cudaStream_t stream) {
    if (n_cols % 2 != 0 || x_stride < n_cols || out_row_bytes < size_t(n_cols) * 2 || out_row_bytes % 4 != 0 ||
        reinterpret_cast<uintptr_t>(out) % 4 != 0 || n_rows > 65535)
        throw std::invalid_argument("convert_rows_f16: " + std::to_string(n_rows) + " rows of " +
                                    std::to_string(n_cols) + " columns (stride " + std::to_string(x_stride) +
                                    ") into rows of " + std::to_string(out_row_bytes) +
                                    " bytes: needs an even column count and 4-byte aligned rows that hold them");
    if (n_rows == 0 || n_cols == 0) return;
    const int64_t half_cols = n_cols / 2;
    const unsigned gx = unsigned(std::min<int64_t>((half_cols + 255) / 256, 64));
    launch_kernel(convert_f16_kernel, dim3(gx, unsigned(n_rows)), 256, 0, stream, x, x_stride, half_cols,
                  static_cast<__half2*>(out), int64_t(out_row_bytes / 4));
}

void quantize_rows_q8_0(const float* x, int64_t x_stride, int64_t n_rows, int64_t n_cols, void* out,
                        size_t out_row_bytes, cudaStream_t stream) {
    launch<false>(x, x_stride, n_rows, n_cols, out, out_row_bytes, stream);
}

void quantize_rows_q8_1(const float* x, int64_t x_stride, int64_t n_rows, int64_t n_cols, void* out,
                        size_t out_row_bytes, cudaStream_t stream) {
    launch<true>(x, x_stride, n_rows, n_cols, out, out_row_bytes, stream);
}

}  // namespace hotrod::cuda
