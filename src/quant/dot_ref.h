// Scalar reference dot products: one weight row (its GGUF block format) against one activation row in the
// paired activation format (Q8_0 for 32-element formats, Q8_1 for Q4_1 / Q5_1, Q8_K for K formats, F32 for
// float formats).
// Plain loops, always compiled; every SIMD kernel in src/cpu/ is tested against these, and these against
// dequantize-then-multiply.
#pragma once

#include <cstdint>

namespace hotrod::quant {

float dot_ref_q4_0(int64_t n, const void* w, const void* x_q8_0);
float dot_ref_q4_1(int64_t n, const void* w, const void* x_q8_1);
float dot_ref_q5_0(int64_t n, const void* w, const void* x_q8_0);
float dot_ref_q5_1(int64_t n, const void* w, const void* x_q8_1);
float dot_ref_q8_0(int64_t n, const void* w, const void* x_q8_0);
float dot_ref_q2_k(int64_t n, const void* w, const void* x_q8_k);
float dot_ref_q3_k(int64_t n, const void* w, const void* x_q8_k);
float dot_ref_q4_k(int64_t n, const void* w, const void* x_q8_k);
float dot_ref_q5_k(int64_t n, const void* w, const void* x_q8_k);
float dot_ref_q6_k(int64_t n, const void* w, const void* x_q8_k);
float dot_ref_f32(int64_t n, const void* w, const void* x_f32);
float dot_ref_f16(int64_t n, const void* w, const void* x_f32);
float dot_ref_bf16(int64_t n, const void* w, const void* x_f32);

}  // namespace hotrod::quant
