// embed_rows: the embedding lookup, out[t] = dequantize(table row ids[t]) * scale. Block formats decode through
// Format<T>::dequant_part (one thread per part of a block: kElems / kParts consecutive elements, each value the
// dequantize reference's bit for bit); float formats convert one element a thread. The scale is applied as the
// CPU's embed_row does, one rounded multiply after dequantizing (a multiply by 1 changes nothing).
#include <cuda_runtime_api.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/check.h"
#include "cuda/launch.cuh"
#include "cuda/matmul.h"
#include "cuda/matmul_dispatch.cuh"

namespace hotrod::cuda {
namespace {

constexpr int kThreads = 256;

template <quant::DType T>
__global__ void __launch_bounds__(kThreads)
    embed_block_kernel(const uint8_t* __restrict__ table, size_t row_bytes, int64_t n_blocks,
                       const int32_t* __restrict__ ids, int64_t n, float scale, float* __restrict__ out,
                       int64_t out_stride) {
    grid_dependency_sync();
    using F = Format<T>;
    constexpr int kPartElems = F::kElems / F::kParts;
    const int64_t idx = int64_t(blockIdx.x) * kThreads + threadIdx.x;
    const int64_t per_row = n_blocks * F::kParts;
    if (idx >= n * per_row) return;
    const int64_t t = idx / per_row, rem = idx % per_row;
    const int64_t b = rem / F::kParts;
    const int part = int(rem % F::kParts);
    float v[kPartElems];
    F::dequant_part(table + int64_t(ids[t]) * row_bytes + b * F::kBytes, part, v);
    float* dst = out + t * out_stride + b * F::kElems + part * kPartElems;
#pragma unroll
    for (int k = 0; k < kPartElems; ++k) dst[k] = __fmul_rn(v[k], scale);
}

template <quant::DType T>
__global__ void __launch_bounds__(kThreads)
    embed_float_kernel(const uint8_t* __restrict__ table, size_t row_bytes, int64_t n_cols,
                       const int32_t* __restrict__ ids, int64_t n, float scale, float* __restrict__ out,
                       int64_t out_stride) {
    grid_dependency_sync();
    const int64_t idx = int64_t(blockIdx.x) * kThreads + threadIdx.x;
    if (idx >= n * n_cols) return;
    const int64_t t = idx / n_cols, c = idx % n_cols;
    out[t * out_stride + c] = __fmul_rn(load_float_weight<T>(table + int64_t(ids[t]) * row_bytes, c), scale);
}

unsigned grid_for(int64_t n_threads) { return unsigned((n_threads + kThreads - 1) / kThreads); }

}  // namespace

void embed_rows(quant::DType type, const void* table, size_t row_bytes, int64_t n_cols, const int32_t* ids, int64_t n,
                float scale, float* out, int64_t out_stride, cudaStream_t stream) {
    const auto need = quant::row_bytes(type, n_cols);
    const size_t align = type == quant::DType::F32 ? 4 : 2;
    if (!need || row_bytes < *need || out_stride < n_cols || n < 0 || row_bytes % align != 0 ||
        reinterpret_cast<uintptr_t>(table) % align != 0)
        throw std::invalid_argument("embed_rows: " + std::string(quant::type_name(type)) + " table of " +
                                    std::to_string(n_cols) + " columns, row_bytes " + std::to_string(row_bytes) +
                                    ", out stride " + std::to_string(out_stride) +
                                    ": needs whole blocks, aligned rows that hold them and out rows that hold n_cols");
    if (n == 0 || n_cols == 0) return;
    const auto* bytes = static_cast<const uint8_t*>(table);
    const bool block = visit_block_type(type, [&](auto t) {
        constexpr quant::DType T = decltype(t)::value;
        const int64_t n_blocks = n_cols / Format<T>::kElems;
        launch_kernel(embed_block_kernel<T>, grid_for(n * n_blocks * Format<T>::kParts), kThreads, 0, stream,
                      bytes, row_bytes, n_blocks, ids, n, scale, out, out_stride);
    });
    if (block) return;
    const bool flt = visit_float_type(type, [&](auto t) {
        constexpr quant::DType T = decltype(t)::value;
        launch_kernel(embed_float_kernel<T>, grid_for(n * n_cols), kThreads, 0, stream, bytes, row_bytes,
                      n_cols, ids, n, scale, out, out_stride);
    });
    if (!flt) throw std::invalid_argument("embed_rows: no GPU dequantizer for " + std::string(quant::type_name(type)));
}

}  // namespace hotrod::cuda
