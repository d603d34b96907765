// RMSNorm kernels: one row of n floats scaled by 1/rms and a weight row. The model-level loops (every token
// row, every head slice for QK-norm) and the threading live in cpu_backend.cpp; this file family holds the
// per-row kernel: the scalar reference (ops_norm.cpp) and its AVX2 / AVX-512 versions.
#pragma once

#include <cstdint>

#include "cpu/dot.h"

namespace hotrod::cpu {

// y[i] = x[i] / sqrt(mean(x^2) + eps) * w[i] for i < n. y may equal x (in place).
using RmsNormRowFn = void (*)(const float* x, const float* w, float eps, int64_t n, float* y);

// Sum of squares in double: the reference is the accuracy yardstick, not a fast path.
void rms_norm_row_ref(const float* x, const float* w, float eps, int64_t n, float* y);

// The kernel for `isa` (the reference for Isa::Scalar).
RmsNormRowFn find_rms_norm_row(Isa isa);

namespace kernels {
void rms_norm_row_avx2(const float* x, const float* w, float eps, int64_t n, float* y);
void rms_norm_row_avx512(const float* x, const float* w, float eps, int64_t n, float* y);
}  // namespace kernels

}  // namespace hotrod::cpu
