// One Q8_K super-block from 256 floats, by one warp: the device half of quantize_rows_q8_k (quantize_q8_k.cu),
// shared with the kernels that quantize their own output for the next matmul (norm.cu, activation.cu), so every
// path gives quantize_row_q8_k_ref's bytes: the same signed extreme (the first element of largest magnitude), the
// same IEEE divisions and products, ties rounded to even, the same bsums.
#pragma once

#include <cstdint>

#include "quant/blocks.h"

namespace hotrod::cuda {

constexpr int kQ8KPerLane = quant::QK_K / 32;  // lane l holds elements 8l .. 8l+7, so group g is lanes 2g, 2g+1

// The codes of lane's 8 elements (elements 8 lane .. 8 lane + 7 of the block's 256 floats at src) and the block's
// d, as quantize_row_q8_k_ref; all zero (d too) for an all-zero block. Every lane of the warp calls it (full-mask
// shuffles). quantize_q8_k_block stores them; the fp16 prefill's round_rows_f16 multiplies them back out.
__device__ __forceinline__ float q8_k_codes(const float* src, int lane, int (&q)[kQ8KPerLane]) {
    constexpr int kPerLane = kQ8KPerLane;
    src += kPerLane * lane;
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
    if (amax == 0.0f) {  // every lane agrees after the butterfly: an all-zero block is all zero bytes
#pragma unroll
        for (int j = 0; j < kPerLane; ++j) q[j] = 0;
        return 0.0f;
    }
    const float iscale = __fdiv_rn(-127.0f, extreme);
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) q[j] = min(127, __float2int_rn(__fmul_rn(iscale, v[j])));  // ties to even
    return __fdiv_rn(1.0f, iscale);
}

// src: the block's 256 floats; y: its Q8_K block. Every lane of the warp calls it (full-mask shuffles).
__device__ __forceinline__ void quantize_q8_k_block(const float* src, quant::BlockQ8_K* y, int lane) {
    constexpr int kPerLane = kQ8KPerLane;
    int q[kPerLane];
    const float d = q8_k_codes(src, lane, q);
    uint32_t packed[2] = {0, 0};
    int sum = 0;
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) {
        sum += q[j];
        packed[j / 4] |= uint32_t(uint8_t(int8_t(q[j]))) << (8 * (j % 4));
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    uint32_t* qs = reinterpret_cast<uint32_t*>(y->qs + kPerLane * lane);  // offset 4 + 8 lane: 4-aligned
    qs[0] = packed[0], qs[1] = packed[1];
    if (lane % 2 == 0) y->bsums[lane / 2] = int16_t(sum);
    if (lane == 0) y->d = d;
}

}  // namespace hotrod::cuda
