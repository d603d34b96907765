// RoPE on the GPU, in place. Mirrors the CPU's fast path (rope_table + rope_apply in src/cpu/ops_rope.cpp) step for
// step: theta = (pos * freq_scale) * freq_base^(-2i / n_dims) and its cos / sin in double, rounded to float once,
// then the rotation in float with each product and sum rounded separately (no FMA, as the CPU's plain x86-64
// build). At position 100000 with base 1e6 a float angle would be off by ~4e-3 rad; the double one is exact to
// ~1e-11 rad, far below the float rounding of cos / sin.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "cuda/ops.h"

namespace hotrod::cuda {

namespace {

constexpr int kThreads = 256;

// One block per row: its threads first fill the row's cos / sin table (n_dims / 2 of each, in shared memory, as the
// CPU's per-token table), then rotate the row's n_heads * n_dims / 2 pairs, one pair per thread per step. The
// table is computed once per token and read by every head, as on the CPU.
template <bool kNeox>
__global__ void rope_kernel(float* x, int64_t x_stride, int n_heads, int head_dim, const int32_t* positions,
                            int n_dims, float freq_base, float freq_scale) {
    grid_dependency_sync();
    extern __shared__ float cos_sin[];  // n_dims floats: cos[0, half) then sin[0, half)
    const int half = n_dims / 2;
    const int64_t row = blockIdx.x;
    const double pos = double(positions[row]) * double(freq_scale);
    for (int i = int(threadIdx.x); i < half; i += kThreads) {
        const double theta = pos * pow(double(freq_base), -2.0 * double(i) / double(n_dims));
        double s = 0.0, c = 0.0;
        sincos(theta, &s, &c);
        cos_sin[i] = float(c);
        cos_sin[half + i] = float(s);
    }
    __syncthreads();
    float* xr = x + row * x_stride;
    const int n_pairs = n_heads * half;
    for (int p = int(threadIdx.x); p < n_pairs; p += kThreads) {
        const int h = p / half, i = p % half;
        float* v = xr + int64_t(h) * head_dim;
        const int a = kNeox ? i : 2 * i;
        const int b = kNeox ? i + half : 2 * i + 1;
        const float va = v[a], vb = v[b], c = cos_sin[i], s = cos_sin[half + i];
        v[a] = __fsub_rn(__fmul_rn(va, c), __fmul_rn(vb, s));
        v[b] = __fadd_rn(__fmul_rn(va, s), __fmul_rn(vb, c));
    }
}

}  // namespace

void rope(float* x, int64_t x_stride, int64_t n_rows, int n_heads, int head_dim, const int32_t* positions, bool neox,
          int n_dims, float freq_base, float freq_scale, cudaStream_t stream) {
    // The table lives in the default 48 KiB of shared memory: n_dims up to 12288, far above any head.
    if (head_dim <= 0 || n_heads <= 0 || n_dims <= 0 || n_dims % 2 != 0 || n_dims > head_dim ||
        size_t(n_dims) * sizeof(float) > 48 * 1024) {
        throw std::invalid_argument("cuda::rope: n_dims " + std::to_string(n_dims) + " with head_dim " +
                                    std::to_string(head_dim) + " and " + std::to_string(n_heads) +
                                    " heads (needs an even n_dims <= head_dim)");
    }
    if (n_rows <= 0) return;
    const size_t shared_bytes = size_t(n_dims) * sizeof(float);
    const dim3 grid(static_cast<unsigned>(n_rows));
    if (neox) {
        launch_kernel(rope_kernel<true>, grid, kThreads, shared_bytes, stream, x, x_stride, n_heads, head_dim,
                      positions, n_dims, freq_base, freq_scale);
    } else {
        launch_kernel(rope_kernel<false>, grid, kThreads, shared_bytes, stream, x, x_stride, n_heads,
                      head_dim, positions, n_dims, freq_base, freq_scale);
    }
}

}  // namespace hotrod::cuda
