// The per-thread steps of RMSNorm on the GPU, shared by norm.cu's kernels and the fused attention-input kernel
// (attention_inputs.cu), so every path that normalises a slice gives the same bits: each thread's share of the
// float squares summed in double, the warp's sum by xor shuffles, mean and 1 / sqrt in float, (x * inv_rms) * w.
#pragma once

#include <cstdint>

namespace hotrod::cuda {

__device__ __forceinline__ double warp_sum_f64(double s) {
    for (int offset = 16; offset > 0; offset /= 2) s += __shfl_xor_sync(0xffffffffu, s, offset);
    return s;
}

// This thread's share of sum(x^2): float4 i = lane, lane + n_lanes, .. then the n % 4 tail floats alike. With kVec
// the slice start and w are 16-byte aligned (checked by the launcher).
template <bool kVec>
__device__ double sum_squares_part(const float* xs, int64_t n, int lane, int n_lanes) {
    double s = 0.0;
    int64_t first_scalar = 0;
    if constexpr (kVec) {
        const int64_t n_vec = n / 4;
        const float4* xv = reinterpret_cast<const float4*>(xs);
        for (int64_t i = lane; i < n_vec; i += n_lanes) {
            const float4 v = xv[i];
            s += double(v.x * v.x);
            s += double(v.y * v.y);
            s += double(v.z * v.z);
            s += double(v.w * v.w);
        }
        first_scalar = 4 * n_vec;
    }
    for (int64_t i = first_scalar + lane; i < n; i += n_lanes) s += double(xs[i] * xs[i]);
    return s;
}

// The reference's float steps, rounded explicitly so no compiler flag (fast math) can turn them into rsqrt.
__device__ __forceinline__ float inv_rms_of(double sum_sq, int64_t n, float eps) {
    const float mean = float(__ddiv_rn(sum_sq, double(n)));
    return __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(mean, eps)));
}

// out = (x * inv_rms) * w over the same indices this thread summed: in place (out == x) each element is read and
// written by one thread only, so no barrier is needed between the passes beyond the reduction's own.
template <bool kVec>
__device__ void scale_part(const float* xs, const float* w, float inv_rms, int64_t n, float* os, int lane,
                           int n_lanes) {
    int64_t first_scalar = 0;
    if constexpr (kVec) {
        const int64_t n_vec = n / 4;
        const float4* xv = reinterpret_cast<const float4*>(xs);
        const float4* wv = reinterpret_cast<const float4*>(w);
        float4* ov = reinterpret_cast<float4*>(os);
        for (int64_t i = lane; i < n_vec; i += n_lanes) {
            const float4 v = xv[i], g = wv[i];
            ov[i] = make_float4(v.x * inv_rms * g.x, v.y * inv_rms * g.y, v.z * inv_rms * g.z, v.w * inv_rms * g.w);
        }
        first_scalar = 4 * n_vec;
    }
    for (int64_t i = first_scalar + lane; i < n; i += n_lanes) os[i] = xs[i] * inv_rms * w[i];
}

}  // namespace hotrod::cuda
