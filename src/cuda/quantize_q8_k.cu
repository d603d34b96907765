// F32 activation rows -> Q8_K super-blocks (the activations of the K-format matmuls), bit-exact with
// quantize_row_q8_k_ref: the same signed extreme (the first element of largest magnitude), the same IEEE
// divisions and products, ties rounded to even, the same bsums. One warp per super-block, 8 elements a lane.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/check.h"
#include "cuda/quantize_act.h"
#include "quant/blocks.h"

namespace hotrod::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kPerLane = quant::QK_K / 32;  // lane l holds elements 8l .. 8l+7, so group g is lanes 2g, 2g+1

__global__ void quantize_q8_k_kernel(const float* x, int64_t x_stride, int64_t n_blocks, int64_t blocks_per_row,
                                     uint8_t* out, size_t out_row_bytes) {
    const int lane = int(threadIdx.x % 32);
    const int64_t sb = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
    if (sb >= n_blocks) return;  // the whole warp leaves together
    const int64_t row = sb / blocks_per_row, b = sb % blocks_per_row;
    const float* src = x + row * x_stride + b * quant::QK_K + kPerLane * lane;
    auto* y = reinterpret_cast<quant::BlockQ8_K*>(out + row * out_row_bytes) + b;

    float v[kPerLane];
    if ((reinterpret_cast<uintptr_t>(src) & 15) == 0) {  // same for every lane: lanes are 32 bytes apart
        const float4 a = *reinterpret_cast<const float4*>(src);
        const float4 c = *reinterpret_cast<const float4*>(src + 4);
        v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = c.x, v[5] = c.y, v[6] = c.z, v[7] = c.w;
    } else {
#pragma unroll
        for (int j = 0; j < kPerLane; ++j) v[j] = src[j];
    }

    // The reference keeps the first element whose magnitude beats every earlier one: the largest magnitude, the
    // lowest index among equals. Ordering candidates by (magnitude, then lower index) makes the butterfly pick it.
    float amax = 0.0f, extreme = 0.0f;
    int at = quant::QK_K;
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) {
        if (fabsf(v[j]) > amax) amax = fabsf(v[j]), extreme = v[j], at = kPerLane * lane + j;
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
        const float o_amax = __shfl_xor_sync(0xffffffffu, amax, offset);
        const float o_extreme = __shfl_xor_sync(0xffffffffu, extreme, offset);
        const int o_at = __shfl_xor_sync(0xffffffffu, at, offset);
        if (o_amax > amax || (o_amax == amax && o_at < at)) amax = o_amax, extreme = o_extreme, at = o_at;
    }

    uint32_t* qs = reinterpret_cast<uint32_t*>(y->qs + kPerLane * lane);  // offset 4 + 8 lane: 4-aligned
    if (amax == 0.0f) {  // every lane agrees after the butterfly: an all-zero block is all zero bytes
        qs[0] = 0, qs[1] = 0;
        if (lane % 2 == 0) y->bsums[lane / 2] = 0;
        if (lane == 0) y->d = 0.0f;
        return;
    }
    const float iscale = __fdiv_rn(-127.0f, extreme);
    uint32_t packed[2] = {0, 0};
    int sum = 0;
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) {
        const int q = min(127, __float2int_rn(__fmul_rn(iscale, v[j])));  // ties to even, as nearbyint
        sum += q;
        packed[j / 4] |= uint32_t(uint8_t(int8_t(q))) << (8 * (j % 4));
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    qs[0] = packed[0], qs[1] = packed[1];
    if (lane % 2 == 0) y->bsums[lane / 2] = int16_t(sum);
    if (lane == 0) y->d = __fdiv_rn(1.0f, iscale);
}

}  // namespace

void quantize_rows_q8_k(const float* x, int64_t x_stride, int64_t n_rows, int64_t n_cols, void* out,
                        size_t out_row_bytes, cudaStream_t stream) {
    const int64_t blocks_per_row = n_cols / quant::QK_K;
    if (n_cols % quant::QK_K != 0)
        throw std::invalid_argument("quantize_rows_q8_k: n_cols " + std::to_string(n_cols) + " is not a multiple of " +
                                    std::to_string(quant::QK_K));
    if (out_row_bytes % 4 != 0 || out_row_bytes < size_t(blocks_per_row) * sizeof(quant::BlockQ8_K))
        throw std::invalid_argument("quantize_rows_q8_k: out_row_bytes " + std::to_string(out_row_bytes) +
                                    " must be a multiple of 4 and hold " + std::to_string(blocks_per_row) +
                                    " Q8_K blocks");
    const int64_t n_blocks = n_rows * blocks_per_row;
    if (n_blocks <= 0) return;
    const int64_t grid = (n_blocks + kWarpsPerBlock - 1) / kWarpsPerBlock;
    quantize_q8_k_kernel<<<unsigned(grid), kWarpsPerBlock * 32, 0, stream>>>(
        x, x_stride, n_blocks, blocks_per_row, static_cast<uint8_t*>(out), out_row_bytes);
    HOTROD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace hotrod::cuda
