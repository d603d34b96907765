// Gated FFN activations on the GPU: SwiGLU (silu(gate) * up) and GeGLU (gelu_tanh(gate) * up), elementwise. SiLU
// is the CPU reference's float formula; GELU is the exact tanh form in float, not the CPU's fp16-rounded one (see
// ops.h and src/cpu/ops_act.cpp).
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/elementwise.cuh"
#include "cuda/launch.cuh"
#include "cuda/ops.h"
#include "cuda/quantize_q8_k.cuh"

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

constexpr int kQuantWarps = 4;  // super-blocks a thread block

// A warp per Q8_K super-block of a row (grid: super-blocks x rows): lane l computes elements 8l .. 8l+7 of it,
// out = op(gate, up), then the warp quantizes the super-block for the next matmul, each lane reading back the 8
// floats it wrote itself. Many small blocks, not one per row: a decode step's row is one row of 9728 floats, and
// a single block walking it (then quantizing 38 super-blocks with 8 warps) spent ~33 us on the H100 waiting on
// loads one after another. The floats are the elementwise kernel's (the same functor per element), the blocks
// quantize_rows_q8_k's.
template <class Op>
__global__ void gated_quant_q8_k_kernel(const float* gate, int64_t gate_stride, const float* up, int64_t up_stride,
                                        float* out, int64_t out_stride, int64_t n_cols, uint8_t* q, size_t q_row_bytes,
                                        Op op) {
    grid_dependency_sync();
    const int64_t r = blockIdx.y;
    const int64_t b = int64_t(blockIdx.x) * kQuantWarps + threadIdx.x / 32;
    if (b >= n_cols / quant::QK_K) return;  // the whole warp
    const int lane = int(threadIdx.x % 32);
    const int64_t e0 = b * quant::QK_K + kQ8KPerLane * lane;
    const float* g = gate + r * gate_stride + e0;
    const float* u = up + r * up_stride + e0;
    float* o = out + r * out_stride;
#pragma unroll
    for (int j = 0; j < kQ8KPerLane; ++j) o[e0 + j] = op(g[j], u[j]);
    auto* y = reinterpret_cast<quant::BlockQ8_K*>(q + size_t(r) * q_row_bytes);
    quantize_q8_k_block(o + b * quant::QK_K, y + b, lane);
}

template <class Op>
void launch_gated_quant(const float* gate, int64_t gate_stride, const float* up, int64_t up_stride, float* out,
                        int64_t out_stride, int64_t n_rows, int64_t n_cols, void* q, size_t q_row_bytes, Op op,
                        cudaStream_t stream) {
    if (n_cols % quant::QK_K != 0 || q_row_bytes % 4 != 0)
        throw std::invalid_argument("cuda gated activation + Q8_K: rows of " + std::to_string(n_cols) +
                                    " floats (a multiple of 256)");
    if (n_rows <= 0 || n_cols == 0) return;
    const int64_t n_super = n_cols / quant::QK_K;
    const dim3 grid(unsigned((n_super + kQuantWarps - 1) / kQuantWarps), unsigned(n_rows));
    launch_kernel(gated_quant_q8_k_kernel<Op>, grid, kQuantWarps * 32, 0, stream, gate, gate_stride, up, up_stride,
                  out, out_stride, n_cols, static_cast<uint8_t*>(q), q_row_bytes, op);
}

}  // namespace

void swiglu_quant_q8_k(const float* gate, int64_t gate_stride, const float* up, int64_t up_stride, float* out,
                       int64_t out_stride, int64_t n_rows, int64_t n_cols, void* q, size_t q_row_bytes,
                       cudaStream_t stream) {
    launch_gated_quant(gate, gate_stride, up, up_stride, out, out_stride, n_rows, n_cols, q, q_row_bytes, SwiGlu{},
                       stream);
}

void geglu_quant_q8_k(const float* gate, int64_t gate_stride, const float* up, int64_t up_stride, float* out,
                      int64_t out_stride, int64_t n_rows, int64_t n_cols, void* q, size_t q_row_bytes,
                      cudaStream_t stream) {
    launch_gated_quant(gate, gate_stride, up, up_stride, out, out_stride, n_rows, n_cols, q, q_row_bytes, GeGlu{},
                       stream);
}

void swiglu(const float* gate, int64_t gate_stride, const float* up, int64_t up_stride, float* out, int64_t out_stride,
            int64_t n_rows, int64_t n_cols, cudaStream_t stream) {
    detail::launch_binary_rows(gate, gate_stride, up, up_stride, out, out_stride, n_rows, n_cols, SwiGlu{}, stream);
}

void geglu(const float* gate, int64_t gate_stride, const float* up, int64_t up_stride, float* out, int64_t out_stride,
           int64_t n_rows, int64_t n_cols, cudaStream_t stream) {
    detail::launch_binary_rows(gate, gate_stride, up, up_stride, out, out_stride, n_rows, n_cols, GeGlu{}, stream);
}

}  // namespace hotrod::cuda
