// Whole-row data movement on the GPU: the residual add (x += y), the gather of the rows that want logits, and
// copy_heads (the heads of a row whose heads sit apart, into a dense row). All are exact (one float add, or a copy),
// so they match the CPU bit for bit.
#include <algorithm>
#include <cstdint>

#include "cuda/elementwise.cuh"
#include "cuda/launch.cuh"
#include "cuda/ops.h"

namespace hotrod::cuda {

namespace {

struct Add {
    __device__ float operator()(float a, float b) const { return a + b; }
};

// out[i] = x[rows[i]]: grid x strides over a row (float4 units when every row start is 16-byte aligned, then the
// n_cols % 4 tail), y over output rows, as detail::binary_rows_kernel. rows[i] is not checked here (the launcher
// is not told x's row count): the caller validates the indices before they reach the device.
template <bool kVec>
__global__ void gather_rows_kernel(const float* x, int64_t x_stride, const int32_t* rows, int64_t n, int64_t n_cols,
                                   float* out, int64_t out_stride) {
    grid_dependency_sync();
    const int64_t n_vec = kVec ? n_cols / 4 : 0;
    const int64_t n_units = n_vec + (n_cols - 4 * n_vec);
    for (int64_t i = blockIdx.y; i < n; i += gridDim.y) {
        const float* src = x + int64_t(rows[i]) * x_stride;
        float* dst = out + i * out_stride;
        for (int64_t u = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; u < n_units;
             u += int64_t(gridDim.x) * blockDim.x) {
            if (kVec && u < n_vec) {
                reinterpret_cast<float4*>(dst)[u] = reinterpret_cast<const float4*>(src)[u];
            } else {
                const int64_t c = 4 * n_vec + (u - n_vec);
                dst[c] = src[c];
            }
        }
    }
}

// out[r][h*head_dim + i] = x[r][h*head_stride + i]: a thread per output element, grid x over a row's columns, y over
// rows (grid-stride).
__global__ void copy_heads_kernel(const float* x, int64_t x_stride, int head_dim, int head_stride, int64_t n_rows,
                                  int64_t n_cols, float* out, int64_t out_stride) {
    grid_dependency_sync();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= n_cols) return;
    const int64_t xc = (c / head_dim) * head_stride + c % head_dim;
    for (int64_t r = blockIdx.y; r < n_rows; r += gridDim.y) out[r * out_stride + c] = x[r * x_stride + xc];
}

}  // namespace

void add(float* x, int64_t x_stride, const float* y, int64_t y_stride, int64_t n_rows, int64_t n_cols,
         cudaStream_t stream) {
    detail::launch_binary_rows(x, x_stride, y, y_stride, x, x_stride, n_rows, n_cols, Add{}, stream);
}

void gather_rows(const float* x, int64_t x_stride, const int32_t* rows, int64_t n, int64_t n_cols, float* out,
                 int64_t out_stride, cudaStream_t stream) {
    if (n <= 0 || n_cols <= 0) return;
    const bool vec = detail::rows_aligned16(x, x_stride) && detail::rows_aligned16(out, out_stride);
    const int64_t n_units = vec ? n_cols / 4 + n_cols % 4 : n_cols;
    const dim3 grid(unsigned((n_units + detail::kElementwiseThreads - 1) / detail::kElementwiseThreads),
                    unsigned(std::min(n, detail::kMaxGridY)));
    if (vec) {
        launch_kernel(gather_rows_kernel<true>, grid, detail::kElementwiseThreads, 0, stream, x, x_stride,
                      rows, n, n_cols, out, out_stride);
    } else {
        launch_kernel(gather_rows_kernel<false>, grid, detail::kElementwiseThreads, 0, stream, x, x_stride,
                      rows, n, n_cols, out, out_stride);
    }
}

void copy_heads(const float* x, int64_t x_stride, int head_dim, int head_stride, int64_t n_rows, int64_t n_cols,
                float* out, int64_t out_stride, cudaStream_t stream) {
    if (n_rows <= 0 || n_cols <= 0 || head_dim <= 0) return;
    const dim3 grid(unsigned((n_cols + detail::kElementwiseThreads - 1) / detail::kElementwiseThreads),
                    unsigned(std::min(n_rows, detail::kMaxGridY)));
    launch_kernel(copy_heads_kernel, grid, detail::kElementwiseThreads, 0, stream, x, x_stride, head_dim, head_stride,
                  n_rows, n_cols, out, out_stride);
}

}  // namespace hotrod::cuda
