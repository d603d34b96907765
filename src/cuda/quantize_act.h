// F32 activation rows -> the activation block formats the matmul kernels pair with weights (Q8_0 for Q4_0 / Q5_0 /
// Q8_0, Q8_1 for Q4_1 / Q5_1, Q8_K for the K formats). Each launcher is bit-exact with its scalar reference in
// src/quant/quantize_act.cpp (quantize_row_q8_0_act_ref, quantize_row_q8_1_ref, quantize_row_q8_k_ref): same
// scale, same rounding of codes (ties to even), same fp16 rounding of d and s, so GPU and CPU products agree.
// Q8_0 / Q8_1 live in quantize_act.cu, Q8_K in quantize_q8_k.cu.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "quant/types.h"

namespace hotrod::cuda {

// Row t of x (n_cols floats at x + t * x_stride, x_stride in floats) becomes n_cols / block quantized blocks at
// (uint8_t*)out + t * out_row_bytes. n_cols must be a multiple of the block size (32 for Q8_0 / Q8_1, 256 for
// Q8_K); out_row_bytes >= (n_cols / block) * sizeof(block), and out and out_row_bytes keep the blocks' alignment
// (2 bytes for Q8_0, 4 for Q8_1 and Q8_K). The matmul's scratch rows are multiples of 16 bytes.
void quantize_rows_q8_0(const float* x, int64_t x_stride, int64_t n_rows, int64_t n_cols, void* out,
                        size_t out_row_bytes, cudaStream_t stream);
void quantize_rows_q8_1(const float* x, int64_t x_stride, int64_t n_rows, int64_t n_cols, void* out,
                        size_t out_row_bytes, cudaStream_t stream);
void quantize_rows_q8_k(const float* x, int64_t x_stride, int64_t n_rows, int64_t n_cols, void* out,
                        size_t out_row_bytes, cudaStream_t stream);

// Row t of x as n_cols fp16 values at (uint8_t*)out + t * out_row_bytes (round to nearest even, saturating at
// +-65504), the activations of the fp16 tensor-core prefill (matmul_mma_f16.cu). n_cols even, rows 4-byte aligned,
// at most 65535 rows a call.
void convert_rows_f16(const float* x, int64_t x_stride, int64_t n_rows, int64_t n_cols, void* out,
                      size_t out_row_bytes, cudaStream_t stream);
// convert_rows_f16 of x first rounded to the 8-bit grid of activation format `like` (Q8_0, Q8_1 or Q8_K: the
// codes and scale quantize_rows_* gives, each element d * q; quant::round_row_like_act_ref), so the fp16 prefill
// sees x as the decode path's and the CPU's integer products do. n_cols a multiple of the block (32 / 256), rows
// 16-byte aligned.
void round_rows_f16(const float* x, int64_t x_stride, int64_t n_rows, int64_t n_cols, quant::DType like, void* out,
                    size_t out_row_bytes, cudaStream_t stream);

}  // namespace hotrod::cuda
