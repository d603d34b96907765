// SwiGLU / GeGLU scalar references and the ISA table.
#include "cpu/ops_act.h"

#include <cmath>

#include "quant/half.h"

namespace hotrod::cpu {

void swiglu_ref(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        out[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

// GELU the way llama.cpp's CPU backend evaluates it, so our logits agree with the reference stack: ggml reads
// gelu from a table indexed by the fp16 of the gate, so the gate is rounded to fp16, gelu_tanh is evaluated in
// float on that value and rounded to fp16, then multiplied by up in float; gates <= -10 give 0 and >= 10 pass
// through unrounded. Evaluating in full float instead differs from the reference by up to ~1e-3 relative per
// element (visible as a 6.7e-4 difference after Gemma 3's layer 0).
float gelu_tanh_fp16(float g) {
    constexpr float kSqrt2OverPi = 0.7978845608028654f, kCoef = 0.044715f;
    if (g <= -10.0f) return 0.0f;
    if (g >= 10.0f) return g;
    const float x = quant::fp16_to_fp32(quant::fp32_to_fp16(g));
    const float gelu = 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoef * x * x)));
    return quant::fp16_to_fp32(quant::fp32_to_fp16(gelu));
}

void geglu_ref(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = gelu_tanh_fp16(gate[i]) * up[i];
}

GatedActFn find_swiglu(Isa isa) {
    switch (isa) {
        case Isa::Avx512: return kernels::swiglu_avx512;
        case Isa::Avx2: return kernels::swiglu_avx2;
        case Isa::Scalar: break;
    }
    return swiglu_ref;
}

GatedActFn find_geglu(Isa isa) {
    switch (isa) {
        case Isa::Avx512: return kernels::geglu_avx512;
        case Isa::Avx2: return kernels::geglu_avx2;
        case Isa::Scalar: break;
    }
    return geglu_ref;
}

}  // namespace hotrod::cpu
