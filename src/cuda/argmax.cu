// Row arg-max on the GPU (Backend::argmax_rows): greedy sampling's pick without copying a vocabulary of logits to
// the host. A block per row; each thread keeps the first largest value of its strided elements (strict >, so NaN
// never wins and the lowest index stays among its equals), then the block keeps the larger value, the lower
// index on a tie: the first index of the row's maximum, as Backend::argmax_rows's reference; -1 when nothing in
// the row is above -inf.
#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>

#include "cuda/launch.cuh"
#include "cuda/ops.h"

namespace hotrod::cuda {

namespace {

constexpr int kThreads = 512;

// Whether candidate (v, i) beats (best, at): larger value, or an equal value at a lower index (-1: no candidate).
__device__ __forceinline__ bool beats(float v, int i, float best, int at) {
    return i >= 0 && (at < 0 || v > best || (v == best && i < at));
}

__global__ void __launch_bounds__(kThreads) argmax_rows_kernel(const float* x, int64_t x_stride, int64_t n_cols,
                                                               int32_t* ids) {
    grid_dependency_sync();
    const float* row = x + int64_t(blockIdx.x) * x_stride;
    float best = -INFINITY;
    int at = -1;
    for (int64_t i = threadIdx.x; i < n_cols; i += kThreads) {
        const float v = row[i];
        if (v > best) best = v, at = int(i);
    }
    for (int off = 16; off > 0; off /= 2) {
        const float v = __shfl_xor_sync(0xffffffffu, best, off);
        const int i = __shfl_xor_sync(0xffffffffu, at, off);
        if (beats(v, i, best, at)) best = v, at = i;
    }
    __shared__ float warp_best[kThreads / 32];
    __shared__ int warp_at[kThreads / 32];
    if (threadIdx.x % 32 == 0) warp_best[threadIdx.x / 32] = best, warp_at[threadIdx.x / 32] = at;
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < kThreads / 32; ++w)
            if (beats(warp_best[w], warp_at[w], best, at)) best = warp_best[w], at = warp_at[w];
        ids[blockIdx.x] = at;
    }
}

}  // namespace

void argmax_rows(const float* x, int64_t x_stride, int64_t n_rows, int64_t n_cols, int32_t* ids, cudaStream_t stream) {
    if (n_rows < 0 || n_cols < 0 || n_cols > INT_MAX || n_rows > INT_MAX || x_stride < n_cols)
        throw std::invalid_argument("cuda::argmax_rows: " + std::to_string(n_rows) + " rows of " + std::to_string(n_cols) +
                                    " (stride " + std::to_string(x_stride) + ")");
    if (n_rows == 0) return;
    launch_kernel(argmax_rows_kernel, unsigned(n_rows), kThreads, 0, stream, x, x_stride, n_cols, ids);
}

}  // namespace hotrod::cuda
