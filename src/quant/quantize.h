// Float rows -> block formats. The activation formats (Q8_0, Q8_K) are quantized on every forward step;
// the weight formats are for writing synthetic models. Scalar references: SIMD versions live in src/cpu/.
#pragma once

#include <cstdint>

#include "quant/types.h"

namespace hotrod::quant {

// n must be a multiple of the type's block size. Row-wise: one call quantizes one row.
void quantize_row_q8_0_ref(const float* x, void* dst, int64_t n);
// Q8_0 for activations, rounded as llama.cpp's x86 build does (id = 127 / amax, ties to even).
void quantize_row_q8_0_act_ref(const float* x, void* dst, int64_t n);
// quantize_row_q8_0_act_ref's codes and scale, plus the fp16-rounded block sum s = d * sum(q) (BlockQ8_1).
void quantize_row_q8_1_ref(const float* x, void* dst, int64_t n);
void quantize_row_q8_k_ref(const float* x, void* dst, int64_t n);
// x as an activation format's integer dot products see it: quantized by that format's reference above (act Q8_0
// or Q8_1: quantize_row_q8_0_act_ref's codes and fp16 scale; Q8_K: quantize_row_q8_k_ref's), each element then
// d * q in float. The GPU's fp16 prefill rounds x this way before fp16 (cuda round_rows_f16), so a token's
// products see the same x whether its step takes the decode or the prefill matmul, and the CPU's.
void round_row_like_act_ref(DType act, const float* x, float* out, int64_t n);

// Weight formats. The 32-element ones (and F16, BF16) are bit-identical to gguf-py's quantize(); the K formats
// have no Python quantizer and are judged by round-trip error (least-squares scale search, scale_search.h).
void quantize_row_f16_ref(const float* x, void* dst, int64_t n);
void quantize_row_bf16_ref(const float* x, void* dst, int64_t n);
void quantize_row_q4_0_ref(const float* x, void* dst, int64_t n);
void quantize_row_q4_1_ref(const float* x, void* dst, int64_t n);
void quantize_row_q5_0_ref(const float* x, void* dst, int64_t n);
void quantize_row_q5_1_ref(const float* x, void* dst, int64_t n);
void quantize_row_q2_k_ref(const float* x, void* dst, int64_t n);
void quantize_row_q3_k_ref(const float* x, void* dst, int64_t n);
void quantize_row_q4_k_ref(const float* x, void* dst, int64_t n);
void quantize_row_q5_k_ref(const float* x, void* dst, int64_t n);
void quantize_row_q6_k_ref(const float* x, void* dst, int64_t n);

// Q4_K / Q6_K without the scale search (the range grid, no refinement): valid blocks of a somewhat larger error,
// made ~10x faster, for synthetic weights whose values do not matter (hotrod synth --quick-quant).
void quantize_row_q4_k_quick(const float* x, void* dst, int64_t n);
void quantize_row_q6_k_quick(const float* x, void* dst, int64_t n);

// Whether quantize_row() supports `type` (weights and activations alike).
bool can_quantize(DType type);
// Quantizes one row of n elements; throws std::invalid_argument for an unsupported type or a ragged n.
void quantize_row(DType type, const float* x, void* dst, int64_t n);
// quantize_row, with the _quick quantizers for Q4_K and Q6_K.
void quantize_row_quick(DType type, const float* x, void* dst, int64_t n);

}  // namespace hotrod::quant
