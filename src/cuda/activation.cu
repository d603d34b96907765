// Gated FFN activations on the GPU: SwiGLU (silu(gate) * up) and GeGLU (gelu_tanh(gate) * up), elementwise. SiLU
// is the CPU reference's float formula; GELU is the exact tanh form in float, not the CPU's fp16-rounded one (see
// ops.h and src/cpu/ops_act.cpp).
#include <cstdint>

#include "cuda/elementwise.cuh"
#include "cuda/ops.h"

namespace hotrod::cuda {

namespace {

struct SwiGlu {
    // As swiglu_ref: g / (1 + exp(-g)) * up. expf overflows to inf for g < -88, giving -0 as on the CPU.
    __device__ float operator()(float g, float up) const { return __fdiv_rn(g, 1.0f + expf(-g)) * up; }
};

struct GeGlu {
    // gelu_tanh(g) = 0.5 g (1 + tanh(sqrt(2/pi) g (1 + 0.044715 g^2))). The CPU's cut-offs are kept: in float the
    // formula already gives 0 at g <= -10 and g at g >= 10 (tanh rounds to -1 / 1 there), and the cut-off keeps
    // g^3 from overflowing for huge gates.
    __device__ float operator()(float g, float up) const {
        constexpr float kSqrt2OverPi = 0.7978845608028654f, kCoef = 0.044715f;
        if (g <= -10.0f) return 0.0f * up;
        if (g >= 10.0f) return g * up;
        const float gelu = 0.5f * g * (1.0f + tanhf(kSqrt2OverPi * g * (1.0f + kCoef * g * g)));
        return gelu * up;
    }
};

}  // namespace

void swiglu(const float* gate, int64_t gate_stride, const float* up, int64_t up_stride, float* out, int64_t out_stride,
            int64_t n_rows, int64_t n_cols, cudaStream_t stream) {
    detail::launch_binary_rows(gate, gate_stride, up, up_stride, out, out_stride, n_rows, n_cols, SwiGlu{}, stream);
}

void geglu(const float* gate, int64_t gate_stride, const float* up, int64_t up_stride, float* out, int64_t out_stride,
           int64_t n_rows, int64_t n_cols, cudaStream_t stream) {
    detail::launch_binary_rows(gate, gate_stride, up, up_stride, out, out_stride, n_rows, n_cols, GeGlu{}, stream);
}

}  // namespace hotrod::cuda
