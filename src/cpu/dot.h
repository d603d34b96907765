// The dot-product kernel interface every weight format implements once per ISA (scalar, AVX2, AVX-512).
// A kernel multiplies a tile of weight rows by a few activation columns that were already quantized to the
// format's activation type (see activation_type()). Kernels know pointers, counts and strides, nothing else.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/types.h"

namespace hotrod::cpu {

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };
constexpr int kIsaCount = 3;

// out[c * out_stride + r] = dot(weight row r, activation column c) for r < n_rows, c < n_cols.
// Row r starts at w + r * w_stride; column c at x + c * x_stride; each holds n elements (n a whole number of blocks).
struct DotTile {
    int64_t n;
    const uint8_t* w;
    size_t w_stride;
    int n_rows;
    const uint8_t* x;
    size_t x_stride;
    int n_cols;
    float* out;
    size_t out_stride;
};

using DotKernel = void (*)(const DotTile&);

// The format activations are quantized to before a matmul against weights of type `weight`:
// Q8_0 for the 32-element formats, Q8_1 for Q4_1 / Q5_1 (their min needs the block sum, rounded as llama.cpp
// rounds it: see quant/blocks.h), Q8_K for the K formats, F32 for F32/F16/BF16.
quant::DType activation_type(quant::DType weight);

// The kernel for a weight type at an ISA, or nullptr when there is none (callers fall back to a lower ISA;
// Isa::Scalar exists for every type that has a dot reference in src/quant/dot_ref.h).
DotKernel find_dot_kernel(quant::DType weight, Isa isa);

// The kernel at `isa` or, failing that, at the highest lower ISA that has one; nullptr only for a type with no
// dot reference at all.
DotKernel best_dot_kernel(quant::DType weight, Isa isa);

}  // namespace hotrod::cpu
