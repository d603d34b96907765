// RMSNorm scalar reference and the ISA table for the per-row kernel.
#include "cpu/ops_norm.h"

#include <cmath>

namespace hotrod::cpu {

void rms_norm_row_ref(const float* x, const float* w, float eps, int64_t n, float* y) {
    double sum_sq = 0.0;
    for (int64_t i = 0; i < n; ++i) sum_sq += double(x[i]) * double(x[i]);
    const float inv_rms = float(1.0 / std::sqrt(sum_sq / double(n) + double(eps)));
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
