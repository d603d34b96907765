// RMSNorm row kernel, AVX-512: two accumulators for the sum of squares, masked tail (no scalar loop).
#include <immintrin.h>

#include <cmath>

#include "cpu/ops_norm.h"
#include "cpu/ops_simd_math.h"

namespace hotrod::cpu::kernels {

void rms_norm_row_avx512(const float* x, const float* w, float eps, int64_t n, float* y) {
    // Float squares summed in double lanes (as the reference and ggml), so the scale is the same float.
    __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : simd::tail_mask16(n - i);
        const __m512 a = _mm512_maskz_loadu_ps(m, x + i);
        const __m512 sq = _mm512_mul_ps(a, a);
        acc0 = _mm512_add_pd(acc0, _mm512_cvtps_pd(_mm512_castps512_ps256(sq)));
        acc1 = _mm512_add_pd(acc1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sq), 1))));
    }
    const double sum_sq = _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
    const float mean = float(sum_sq / double(n));
    const __m512 s = _mm512_set1_ps(1.0f / std::sqrt(mean + eps));
    for (i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : simd::tail_mask16(n - i);
        const __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), s), _mm512_maskz_loadu_ps(m, w + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

}  // namespace hotrod::cpu::kernels
