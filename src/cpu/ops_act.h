// Gated FFN activations, elementwise over n floats: SwiGLU (silu(gate) * up, Llama/Qwen) and GeGLU with the
// tanh approximation of GELU (Gemma), gate and GELU rounded to fp16 as llama.cpp does. Scalar references in
// ops_act.cpp use std::exp / std::tanh; the SIMD versions use the polynomial exp of ops_simd_math.h and F16C
// conversions and are tested against them.
#pragma once

#include <cstdint>

#include "cpu/dot.h"

namespace hotrod::cpu {

// out[i] = f(gate[i]) * up[i]; out may alias gate or up.
using GatedActFn = void (*)(const float* gate, const float* up, float* out, int64_t n);

void swiglu_ref(const float* gate, const float* up, float* out, int64_t n);
// gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))) with llama.cpp's fp16 roundings: x = fp16(g),
// result rounded to fp16; g <= -10 gives 0, g >= 10 gives g (see ops_act.cpp for why).
float gelu_tanh_fp16(float g);
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
