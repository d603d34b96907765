// The matmul kernel families behind Matmul::run (matmul.cu), private to src/cuda/: the decode path
// (matmul_decode.cu, up to kMaxDecodeRows token rows) and the prefill path (matmul_prefill.cu, tiles in shared
// memory), each for the block formats (activations already quantized to Format<T>::Act rows) and for the float
// formats F32 / F16 / BF16 (activations as F32). Arguments are checked by Matmul::run; these only launch.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "cuda/matmul.h"

namespace hotrod::cuda::detail {

// y[t][r] = sum over blocks of Format<w.type>::finish(block r, activation block of row t), t < n_rows.
// x_q: n_rows rows of quantized activations, x_row_bytes apart (a multiple of 16, with at least 2 bytes of slack
// after the last block when the row is not a multiple of 4 bytes: the prefill tiles copy whole words).
// Several matrices of one type and n_in times the same x in one launch: y[i] = ws[i] x (1 to kMaxSharedOuts).
void matmul_decode_quant(std::span<const DeviceWeight> ws, std::span<const DeviceRows> ys, const void* x_q,
                         size_t x_row_bytes, int64_t n_rows, cudaStream_t stream);
void matmul_prefill_quant(const DeviceWeight& w, const void* x_q, size_t x_row_bytes, int64_t n_rows,
                          const DeviceRows& y, cudaStream_t stream);
// The same on int8 tensor cores (matmul_mma.cu) for the weight types it has (Q4_K, Q6_K): false, having launched
// nothing, for the others (or with HOTROD_CUDA_MMA=0), which take matmul_prefill_quant.
bool matmul_prefill_mma(const DeviceWeight& w, const void* x_q, size_t x_row_bytes, int64_t n_rows,
                        const DeviceRows& y, cudaStream_t stream);
// The prefill path on fp16 tensor cores (matmul_mma_f16.cu), ahead of both above for the weights it takes (Q4_K,
// Q6_K and the 32-element formats, n_in a multiple of 64; none with HOTROD_CUDA_MMA=0 or =int8): x as fp16 rows
// (convert_rows_f16), x_row_bytes a multiple of 16. False, having launched nothing, for more than 65535 x 128 rows.
bool matmul_prefill_f16_takes(const DeviceWeight& w);
// tokens_per_block: 64 or 128 forces a tile height (the tests run both); 0 chooses by the grid and the SM count.
bool matmul_prefill_f16(const DeviceWeight& w, const void* x_f16, size_t x_row_bytes, int64_t n_rows,
                        const DeviceRows& y, cudaStream_t stream, int tokens_per_block = 0);

// The decode path on int8 tensor cores (matmul_decode_mma.cu) for Q4_K / Q6_K, 1 to 16 rows, y.accumulate
// honoured: a row's outputs the same bits at any row count, and with one split the dp4a decode kernel's bits.
// _wanted: whether Matmul::run sends this weight's n_rows decode rows there (opt-in: HOTROD_CUDA_DECODE_MMA=1 the big
// matrices at any row count, =all every one, =rows every one from the row count where it measured faster than the
// dp4a kernel, one split). warps: 4 or 8 forces a block size, splits 1..8 the blocks a row tile's super-blocks are
// split over (a cluster; > 1 needs compute 9.0) (the tests run several), else both by shape. False, having
// launched nothing, for what it does not take.
bool matmul_decode_mma_takes(const DeviceWeight& w);
bool matmul_decode_mma_wanted(const DeviceWeight& w, int64_t n_rows);
bool matmul_decode_mma(const DeviceWeight& w, const void* x_q, size_t x_row_bytes, int64_t n_rows,
                       const DeviceRows& y, cudaStream_t stream, int warps = 0, int splits = 0);
// Several weights of one type and shape (up to kMaxSharedOuts, e.g. gate and up) times the same x, one launch, each
// product's bits those of its own launch above. False, having launched nothing, where any differs.
bool matmul_decode_mma(std::span<const DeviceWeight> ws, std::span<const DeviceRows> ys, const void* x_q,
                       size_t x_row_bytes, int64_t n_rows, cudaStream_t stream, int warps = 0, int splits = 0);

// y[t][r] = sum over i of w[r][i] * x[t][i] in float, for F32 / F16 / BF16 weights and any n_in.
void matmul_decode_float(const DeviceWeight& w, const DeviceRows& x, const DeviceRows& y, cudaStream_t stream);
void matmul_prefill_float(const DeviceWeight& w, const DeviceRows& x, const DeviceRows& y, cudaStream_t stream);

}  // namespace hotrod::cuda::detail
