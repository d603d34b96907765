// Block formats -> float rows. dequantize_row() picks the scalar reference of a type; the references are plain
// loops, verified against the PyPI gguf package (tests/fixtures/gen_quant.py) and used as the ground truth for
// every SIMD or CUDA kernel. Each format's reference lives in its own file (q4_0.cpp, q4_k.cpp, ...).
#pragma once

#include <cstdint>

#include "quant/types.h"

namespace hotrod::quant {

// Dequantizes n elements (a whole number of blocks of `type`) from src into dst.
// Throws std::invalid_argument naming the type when it has no dequantizer (IQ*, TQ*, I8.., Q8_1) or when n is
// not a whole number of blocks. Supported exactly where type_info(type).can_dequantize is true.
void dequantize_row(DType type, const void* src, float* dst, int64_t n);

// Per-format references; n must be a multiple of the block size (32 or 256; 1 for the float formats).
void dequantize_row_f32_ref(const void* src, float* dst, int64_t n);
void dequantize_row_f16_ref(const void* src, float* dst, int64_t n);
void dequantize_row_bf16_ref(const void* src, float* dst, int64_t n);
void dequantize_row_q4_0_ref(const void* src, float* dst, int64_t n);
void dequantize_row_q4_1_ref(const void* src, float* dst, int64_t n);
void dequantize_row_q5_0_ref(const void* src, float* dst, int64_t n);
void dequantize_row_q5_1_ref(const void* src, float* dst, int64_t n);
void dequantize_row_q8_0_ref(const void* src, float* dst, int64_t n);
void dequantize_row_q2_k_ref(const void* src, float* dst, int64_t n);
void dequantize_row_q3_k_ref(const void* src, float* dst, int64_t n);
void dequantize_row_q4_k_ref(const void* src, float* dst, int64_t n);
void dequantize_row_q5_k_ref(const void* src, float* dst, int64_t n);
void dequantize_row_q6_k_ref(const void* src, float* dst, int64_t n);
void dequantize_row_q8_k_ref(const void* src, float* dst, int64_t n);

}  // namespace hotrod::quant
