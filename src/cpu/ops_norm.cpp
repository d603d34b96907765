// RMSNorm scalar reference and the ISA table for the per-row kernel.
#include "cpu/ops_norm.h"

#include <cmath>

namespace hotrod::cpu {

void rms_norm_row_ref(const float* x, const float* w, float eps, int64_t n, float* y) {
    // As ggml: float squares summed in double, the mean and 1 / sqrt in float, then (x * scale) * w. Bit for bit
    // the same output keeps the next matmul's 8-bit activation codes the same as llama.cpp's.
    double sum_sq = 0.0;
    for (int64_t i = 0; i < n; ++i) sum_sq += double(x[i] * x[i]);
    const float mean = float(sum_sq / double(n));
    const float inv_rms = 1.0f / std::sqrt(mean + eps);
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * inv_rms * w[i];
}

RmsNormRowFn find_rms_norm_row(Isa isa) {
    switch (isa) {
        case Isa::Avx512: return kernels::rms_norm_row_avx512;
        case Isa::Avx2: return kernels::rms_norm_row_avx2;
        case Isa::Scalar: break;
    }
    return rms_norm_row_ref;
}

}  // namespace hotrod::cpu
