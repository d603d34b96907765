// The K-format dot kernels by ISA (Q2_K..Q6_K weights against Q8_K activations), each a DotTile kernel.
// Found through find_dot_kernel_kquants(); declared here so tests and benchmarks can call one directly.
// Only call an _avx2 / _avx512 kernel on a CPU that has that ISA.
#pragma once

#include <cstdint>

#include "cpu/dot.h"

namespace hotrod::cpu {

void dot_q2_k_scalar(const DotTile& t);
void dot_q3_k_scalar(const DotTile& t);
void dot_q4_k_scalar(const DotTile& t);
void dot_q5_k_scalar(const DotTile& t);
void dot_q6_k_scalar(const DotTile& t);

void dot_q2_k_avx2(const DotTile& t);
void dot_q3_k_avx2(const DotTile& t);
void dot_q4_k_avx2(const DotTile& t);
void dot_q5_k_avx2(const DotTile& t);
void dot_q6_k_avx2(const DotTile& t);

void dot_q2_k_avx512(const DotTile& t);
void dot_q3_k_avx512(const DotTile& t);
void dot_q4_k_avx512(const DotTile& t);
void dot_q5_k_avx512(const DotTile& t);
void dot_q6_k_avx512(const DotTile& t);

// F32 -> Q8_K activations, bit-identical to quant::quantize_row_q8_k_ref (n a multiple of 256).
void quantize_row_q8_k_avx2(const float* x, void* dst, int64_t n);
void quantize_row_q8_k_avx512(const float* x, void* dst, int64_t n);

}  // namespace hotrod::cpu
