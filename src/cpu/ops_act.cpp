// SwiGLU / GeGLU scalar references and the ISA table.
#include "cpu/ops_act.h"

#include <cmath>

namespace hotrod::cpu {

void swiglu_ref(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        out[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

void geglu_ref(const float* gate, const float* up, float* out, int64_t n) {
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        out[i] = 0.5f * g * (1.0f + std::tanh(kSqrt2OverPi * (g + 0.044715f * g * g * g))) * up[i];
    }
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
