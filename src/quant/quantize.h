// Float rows -> block formats. The activation formats (Q8_0, Q8_K) are quantized on every forward step;
// the weight formats are for writing synthetic models. Scalar references: SIMD versions live in src/cpu/.
#pragma once

#include <cstdint>

#include "quant/types.h"

namespace hotrod::quant {

// n must be a multiple of the type's block size. Row-wise: one call quantizes one row.
void quantize_row_q8_0_ref(const float* x, void* dst, int64_t n);
void quantize_row_q8_k_ref(const float* x, void* dst, int64_t n);

// Whether quantize_row() supports `type` (weights and activations alike).
bool can_quantize(DType type);
// Quantizes one row of n elements; throws std::invalid_argument for an unsupported type or a ragged n.
void quantize_row(DType type, const float* x, void* dst, int64_t n);

}  // namespace hotrod::quant
