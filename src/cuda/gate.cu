// The per-row pieces around gated delta net layers and gated attention on the GPU, after the CPU's ops_gate.cpp
// (their reference): the delta rule's gates (decay g, beta), the gated RMSNorm (norm * w * silu(z) per head) and the
// sigmoid output gate. Each takes the reference's float steps in its order, rounded explicitly (no FMA contraction,
// no fast-math rsqrt), so only expf / log1pf (within 2 ulps of glibc's) and the order of the double sum of squares
// differ from the CPU.
#include <algorithm>

#include "cuda/launch.cuh"
#include "cuda/recurrent.h"

namespace hotrod::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxGrid = 65535;
constexpr float kSoftplusLinearFrom = 20.0f;  // as the CPU's (ops_gate.h): softplus(x) = x above it

__device__ __forceinline__ float sigmoid(float x) { return __fdiv_rn(1.0f, __fadd_rn(1.0f, expf(-x))); }

// A thread per (row, head), grid-stride. Each thread reads its alpha and b before writing g and beta, so outputs may
// alias the inputs.
__global__ void delta_gates_kernel(const float* alpha, int64_t alpha_stride, const float* b_logit, int64_t b_stride,
                                   const float* a_neg, const float* dt_bias, int64_t n_rows, int64_t n_heads, float* g,
                                   int64_t g_stride, float* beta, int64_t beta_stride) {
    grid_dependency_sync();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n_rows * n_heads;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t r = i / n_heads, h = i % n_heads;
        const float a = __fadd_rn(alpha[r * alpha_stride + h], dt_bias[h]);
        const float b = b_logit[r * b_stride + h];
        // log1p keeps softplus accurate where exp(a) is tiny (a slow-decaying head), as on the CPU.
        const float softplus = a > kSoftplusLinearFrom ? a : log1pf(expf(a));
        g[r * g_stride + h] = __fmul_rn(a_neg[h], softplus);
        beta[r * beta_stride + h] = sigmoid(b);
    }
}

// A warp per (row, head) slice, lane l owning elements l, l + 32, .. in both passes (sum of squares, then the
// output), so out may alias x or z: no lane writes an element another reads.
constexpr int kNormWarps = 8;

__global__ void rms_norm_gated_kernel(const float* x, int64_t x_stride, const float* w, const float* z,
                                      int64_t z_stride, int head_dim, float eps, int64_t n_rows, int64_t n_heads,
                                      float* out, int64_t out_stride) {
    grid_dependency_sync();
    const int64_t seg = int64_t(blockIdx.x) * kNormWarps + threadIdx.x / 32;
    if (seg >= n_rows * n_heads) return;  // the whole warp
    const int lane = int(threadIdx.x % 32);
    const int64_t r = seg / n_heads, h = seg % n_heads;
    const float* xs = x + r * x_stride + h * head_dim;
    const float* zs = z + r * z_stride + h * head_dim;
    float* os = out + r * out_stride + h * head_dim;
    double sum_sq = 0.0;
    for (int i = lane; i < head_dim; i += 32) sum_sq += double(__fmul_rn(xs[i], xs[i]));
    for (int offset = 16; offset > 0; offset /= 2) sum_sq += __shfl_xor_sync(0xffffffffu, sum_sq, offset);
    // rms_norm_gated_row: 1 / sqrt(float(sum / n) + eps), then ((x * inv_rms) * w) * silu(z).
    const float inv_rms =
        __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(float(__ddiv_rn(sum_sq, double(head_dim))), eps)));
    for (int i = lane; i < head_dim; i += 32) {
        const float zi = zs[i];
        const float silu = __fdiv_rn(zi, __fadd_rn(1.0f, expf(-zi)));
        os[i] = __fmul_rn(__fmul_rn(__fmul_rn(xs[i], inv_rms), w[i]), silu);
    }
}

// A thread per element of x, grid x over a row's columns, y over rows (grid-stride).
__global__ void sigmoid_gate_kernel(float* x, int64_t x_stride, const float* gate, int64_t gate_stride, int head_dim,
                                    int gate_head_stride, int64_t n_rows, int64_t n_cols) {
    grid_dependency_sync();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= n_cols) return;
    const int64_t gc = (c / head_dim) * gate_head_stride + c % head_dim;
    for (int64_t r = blockIdx.y; r < n_rows; r += gridDim.y) {
        float* xr = x + r * x_stride;
        xr[c] = __fmul_rn(xr[c], sigmoid(gate[r * gate_stride + gc]));
    }
}

}  // namespace

void delta_gates(const float* alpha, int64_t alpha_stride, const float* b_logit, int64_t b_stride, const float* a_neg,
                 const float* dt_bias, int64_t n_rows, int64_t n_heads, float* g, int64_t g_stride, float* beta,
                 int64_t beta_stride, cudaStream_t stream) {
    const int64_t n = n_rows * n_heads;
    if (n <= 0) return;
    const dim3 grid(unsigned(std::min((n + kThreads - 1) / kThreads, kMaxGrid)));
    launch_kernel(delta_gates_kernel, grid, kThreads, 0, stream, alpha, alpha_stride, b_logit, b_stride, a_neg, dt_bias,
                  n_rows, n_heads, g, g_stride, beta, beta_stride);
}

void rms_norm_gated(const float* x, int64_t x_stride, const float* w, const float* z, int64_t z_stride, int head_dim,
                    float eps, int64_t n_rows, int64_t n_cols, float* out, int64_t out_stride, cudaStream_t stream) {
    if (n_rows <= 0 || n_cols <= 0 || head_dim <= 0) return;
    const int64_t n_heads = n_cols / head_dim;
    const dim3 grid(unsigned((n_rows * n_heads + kNormWarps - 1) / kNormWarps));
    launch_kernel(rms_norm_gated_kernel, grid, kNormWarps * 32, 0, stream, x, x_stride, w, z, z_stride, head_dim, eps,
                  n_rows, n_heads, out, out_stride);
}

void sigmoid_gate(float* x, int64_t x_stride, const float* gate, int64_t gate_stride, int head_dim,
                  int gate_head_stride, int64_t n_rows, int64_t n_cols, cudaStream_t stream) {
    if (n_rows <= 0 || n_cols <= 0 || head_dim <= 0) return;
    const dim3 grid(unsigned((n_cols + kThreads - 1) / kThreads), unsigned(std::min(n_rows, kMaxGrid)));
    launch_kernel(sigmoid_gate_kernel, grid, kThreads, 0, stream, x, x_stride, gate, gate_stride, head_dim,
                  gate_head_stride, n_rows, n_cols);
}

}  // namespace hotrod::cuda
