// RMSNorm row kernel, AVX2 + FMA: four accumulators for the sum of squares, scalar tail.
#include <immintrin.h>

#include <cmath>

#include "cpu/ops_norm.h"
#include "cpu/ops_simd_math.h"

namespace hotrod::cpu::kernels {

void rms_norm_row_avx2(const float* x, const float* w, float eps, int64_t n, float* y) {
    // Float squares summed in double lanes (as the reference and ggml), so the scale is the same float.
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 a = _mm256_loadu_ps(x + i);
        const __m256 sq = _mm256_mul_ps(a, a);
        acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(sq)));
        acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1)));
    }
    alignas(32) double lanes[4];
    _mm256_store_pd(lanes, _mm256_add_pd(acc0, acc1));
    double sum_sq = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (; i < n; ++i) sum_sq += double(x[i] * x[i]);
    const float mean = float(sum_sq / double(n));
    const float inv_rms = 1.0f / std::sqrt(mean + eps);
    const __m256 s = _mm256_set1_ps(inv_rms);
    i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), _mm256_loadu_ps(w + i)));
    }
    for (; i < n; ++i) y[i] = x[i] * inv_rms * w[i];
}

}  // namespace hotrod::cpu::kernels
