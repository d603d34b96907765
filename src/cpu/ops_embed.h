// Row ops that move data between token rows: embedding lookup (dequantize a table row of any dequantizable
// type, times a scale) and row gathering (the rows that want logits). Plain loops: they are memory copies.
#pragma once

#include <cstdint>

#include "quant/types.h"

namespace hotrod::cpu {

// out[0..n) = dequantize(row of `type`, n elements) * scale. Throws std::invalid_argument for a type with no
// dequantizer or a ragged n.
void embed_row(quant::DType type, const void* row, int64_t n, float scale, float* out);

// x[i] += y[i], i < n (auto-vectorized; memory-bound, so no hand-written SIMD).
void add_row(float* x, const float* y, int64_t n);

}  // namespace hotrod::cpu
