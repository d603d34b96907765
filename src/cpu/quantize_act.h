// Activation quantization: float rows -> the activation format a weight type's dot kernels read (Q8_0 for the
// 32-element formats, Q8_1 for Q4_1 / Q5_1, Q8_K for the K formats). The SIMD versions give bit-identical
// blocks to the quant/ references (tested), so a kernel's result never depends on which ISA quantized its input.
#pragma once

#include <cstdint>

#include "cpu/dot.h"

namespace hotrod::cpu {

using QuantizeRowFn = void (*)(const float* x, void* dst, int64_t n);

// F32 row -> Q8_0 / Q8_K blocks at `isa` (falls back to the reference where no SIMD version exists).
QuantizeRowFn find_quantize_q8_0(Isa isa);
QuantizeRowFn find_quantize_q8_k(Isa isa);
QuantizeRowFn find_quantize_q8_1(Isa isa);  // the quant/ reference at every ISA (small next to the matmul)

namespace kernels {
void quantize_row_q8_0_avx2(const float* x, void* dst, int64_t n);
void quantize_row_q8_0_avx512(const float* x, void* dst, int64_t n);
}  // namespace kernels

}  // namespace hotrod::cpu
