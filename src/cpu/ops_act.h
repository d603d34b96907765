// Gated FFN activations, elementwise over n floats: SwiGLU (silu(gate) * up, Llama/Qwen) and GeGLU with the
// tanh approximation of GELU (Gemma). Scalar references in ops_act.cpp use std::exp / std::tanh; the SIMD
// versions use the polynomial exp of ops_simd_math.h and are tested against them.
#pragma once

#include <cstdint>

#include "cpu/dot.h"

namespace hotrod::cpu {

// out[i] = f(gate[i]) * up[i]; out may alias gate or up.
using GatedActFn = void (*)(const float* gate, const float* up, float* out, int64_t n);

void swiglu_ref(const float* gate, const float* up, float* out, int64_t n);
// gelu_tanh(g) = 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3)))
void geglu_ref(const float* gate, const float* up, float* out, int64_t n);

GatedActFn find_swiglu(Isa isa);
GatedActFn find_geglu(Isa isa);

namespace kernels {
void swiglu_avx2(const float* gate, const float* up, float* out, int64_t n);
void geglu_avx2(const float* gate, const float* up, float* out, int64_t n);
void swiglu_avx512(const float* gate, const float* up, float* out, int64_t n);
void geglu_avx512(const float* gate, const float* up, float* out, int64_t n);
}  // namespace kernels

}  // namespace hotrod::cpu
