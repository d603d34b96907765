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
#include "cuda/rope.cuh"

namespace hotrod::cuda {

namespace {

constexpr int kThreads = 256;

// Angle i of a position, as the CPU's per-token table computes it: double theta, float cos and sin.
__device__ __forceinline__ void rope_angle(int32_t position, int i, int n_dims, float freq_base, float freq_scale,
                                           float& c, float& s) {
    const double pos = double(position) * double(freq_scale);
    const double theta = pos * pow(double(freq_base), -2.0 * double(i) / double(n_dims));
    double sd = 0.0, cd = 0.0;
    sincos(theta, &sd, &cd);
    c = float(cd);
    s = float(sd);
}

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
    for (int i = int(threadIdx.x); i < half; i += kThreads)
        rope_angle(positions[row], i, n_dims, freq_base, freq_scale, cos_sin[i], cos_sin[half + i]);
    __syncthreads();
    float* xr = x + row * x_stride;
    const int n_pairs = n_heads * half;
    for (int p = int(threadIdx.x); p < n_pairs; p += kThreads)
        rotate_pair<kNeox>(xr + int64_t(p / half) * head_dim, p % half, half, cos_sin[p % half], cos_sin[half + p % half]);
}

// table[p * n_dims + i] = cos, [p * n_dims + half + i] = sin of angle i at position p, for p in [0, n_positions).
__global__ void rope_fill_table_kernel(float* table, int n_positions, int n_dims, float freq_base, float freq_scale) {
    grid_dependency_sync();
    const int half = n_dims / 2;
    const int64_t e = int64_t(blockIdx.x) * kThreads + threadIdx.x;
    if (e >= int64_t(n_positions) * half) return;
    const int32_t p = int32_t(e / half);
    const int i = int(e % half);
    rope_angle(p, i, n_dims, freq_base, freq_scale, table[int64_t(p) * n_dims + i], table[int64_t(p) * n_dims + half + i]);
}

// rope_kernel's rotation with the angles read from a filled table: no per-step double pow / sincos, and a grid of
// (row, chunk of pairs) instead of one block walking a row.
template <bool kNeox>
__global__ void rope_from_table_kernel(float* x, int64_t x_stride, int n_heads, int head_dim,
                                       const int32_t* positions, int n_dims, const float* table) {
    grid_dependency_sync();
    const int half = n_dims / 2;
    const int64_t row = blockIdx.x;
    const int p = int(blockIdx.y) * kThreads + int(threadIdx.x);
    if (p >= n_heads * half) return;
    const float* cs = table + int64_t(positions[row]) * n_dims;
    rotate_pair<kNeox>(x + row * x_stride + int64_t(p / half) * head_dim, p % half, half, cs[p % half],
                       cs[half + p % half]);
}

void check_rope_shape(int n_heads, int head_dim, int n_dims) {
    // The per-row table lives in the default 48 KiB of shared memory: n_dims up to 12288, far above any head.
    if (head_dim <= 0 || n_heads <= 0 || n_dims <= 0 || n_dims % 2 != 0 || n_dims > head_dim ||
        size_t(n_dims) * sizeof(float) > 48 * 1024) {
        throw std::invalid_argument("cuda::rope: n_dims " + std::to_string(n_dims) + " with head_dim " +
                                    std::to_string(head_dim) + " and " + std::to_string(n_heads) +
                                    " heads (needs an even n_dims <= head_dim)");
    }
}

}  // namespace

void rope(float* x, int64_t x_stride, int64_t n_rows, int n_heads, int head_dim, const int32_t* positions, bool neox,
          int n_dims, float freq_base, float freq_scale, cudaStream_t stream) {
    check_rope_shape(n_heads, head_dim, n_dims);
    if (n_rows <= 0) return;
    const size_t shared_bytes = size_t(n_dims) * sizeof(float);
    const dim3 grid(static_cast<unsigned>(n_rows));
    if (neox) {
        launch_kernel(rope_kernel<true>, grid, kThreads, shared_bytes, stream, x, x_stride, n_heads, head_dim,
                      positions, n_dims, freq_base, freq_scale);
    } else {
        launch_kernel(rope_kernel<false>, grid, kThreads, shared_bytes, stream, x, x_stride, n_heads, head_dim,
                      positions, n_dims, freq_base, freq_scale);
    }
}

void rope_fill_table(float* table, int n_positions, int n_dims, float freq_base, float freq_scale,
                     cudaStream_t stream) {
    if (n_dims <= 0 || n_dims % 2 != 0) throw std::invalid_argument("cuda::rope_fill_table: n_dims must be even");
    const int64_t n = int64_t(n_positions) * (n_dims / 2);
    if (n <= 0) return;
    launch_kernel(rope_fill_table_kernel, unsigned((n + kThreads - 1) / kThreads), kThreads, 0, stream, table,
                  n_positions, n_dims, freq_base, freq_scale);
}

void rope_from_table(float* x, int64_t x_stride, int64_t n_rows, int n_heads, int head_dim, const int32_t* positions,
                     bool neox, int n_dims, const float* table, cudaStream_t stream) {
    check_rope_shape(n_heads, head_dim, n_dims);
    if (n_rows <= 0) return;
    const int n_pairs = n_heads * (n_dims / 2);
    const dim3 grid(unsigned(n_rows), unsigned((n_pairs + kThreads - 1) / kThreads));
    if (neox)
        launch_kernel(rope_from_table_kernel<true>, grid, kThreads, 0, stream, x, x_stride, n_heads, head_dim,
                      positions, n_dims, table);
    else
        launch_kernel(rope_from_table_kernel<false>, grid, kThreads, 0, stream, x, x_stride, n_heads, head_dim,
                      positions, n_dims, table);
}

}  // namespace hotrod::cuda
