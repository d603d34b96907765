// The elementwise row kernel shared by activation.cu and rows.cu: out[r][c] = op(a[r][c], b[r][c]) over n_rows x
// n_cols, each operand with its own row stride (in floats). out may equal a or b: each element is read and written
// by the same thread. float4 loads and stores wherever every row start is 16-byte aligned, the n_cols % 4 tail singly.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "cuda/check.h"
#include "cuda/launch.cuh"

namespace hotrod::cuda::detail {

constexpr int kElementwiseThreads = 256;
constexpr int64_t kMaxGridY = 65535;

inline bool rows_aligned16(const void* p, int64_t stride) {
    return reinterpret_cast<uintptr_t>(p) % 16 == 0 && stride % 4 == 0;
}

// A row is "units": n_vec float4s (kVec only) then the remaining floats one by one. Grid: x strides over a row's
// units, y over rows (grid-stride both ways, so any n_rows fits the 65535 limit of gridDim.y).
template <class Op, bool kVec>
__global__ void binary_rows_kernel(const float* a, int64_t a_stride, const float* b, int64_t b_stride, float* out,
                                   int64_t out_stride, int64_t n_rows, int64_t n_cols, Op op) {
    grid_dependency_sync();
    const int64_t n_vec = kVec ? n_cols / 4 : 0;
    const int64_t n_units = n_vec + (n_cols - 4 * n_vec);
    for (int64_t r = blockIdx.y; r < n_rows; r += gridDim.y) {
        const float* ar = a + r * a_stride;
        const float* br = b + r * b_stride;
        float* outr = out + r * out_stride;
        for (int64_t u = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; u < n_units;
             u += int64_t(gridDim.x) * blockDim.x) {
            if (kVec && u < n_vec) {
                const float4 va = reinterpret_cast<const float4*>(ar)[u];
                const float4 vb = reinterpret_cast<const float4*>(br)[u];
                reinterpret_cast<float4*>(outr)[u] = make_float4(op(va.x, vb.x), op(va.y, vb.y), op(va.z, vb.z),
                                                                 op(va.w, vb.w));
            } else {
                const int64_t c = 4 * n_vec + (u - n_vec);
                outr[c] = op(ar[c], br[c]);
            }
        }
    }
}

template <class Op>
void launch_binary_rows(const float* a, int64_t a_stride, const float* b, int64_t b_stride, float* out,
                        int64_t out_stride, int64_t n_rows, int64_t n_cols, Op op, cudaStream_t stream) {
    if (n_rows <= 0 || n_cols <= 0) return;
    const bool vec = rows_aligned16(a, a_stride) && rows_aligned16(b, b_stride) && rows_aligned16(out, out_stride);
    const int64_t n_units = vec ? n_cols / 4 + n_cols % 4 : n_cols;
    const dim3 grid(unsigned((n_units + kElementwiseThreads - 1) / kElementwiseThreads),
                    unsigned(std::min(n_rows, kMaxGridY)));
    if (vec) {
        launch_kernel(binary_rows_kernel<Op, true>, grid, kElementwiseThreads, 0, stream, a, a_stride, b,
                      b_stride, out, out_stride, n_rows, n_cols, op);
    } else {
        launch_kernel(binary_rows_kernel<Op, false>, grid, kElementwiseThreads, 0, stream, a, a_stride, b,
                      b_stride, out, out_stride, n_rows, n_cols, op);
    }
}

}  // namespace hotrod::cuda::detail
