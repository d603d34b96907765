// F32 -> Q8_0 activations with AVX512, bit-identical to quant::quantize_row_q8_0_act_ref: the same amax,
// d = amax / 127, id = 127 / amax, and the vector unit's rounding (ties to even), as llama.cpp's x86 build.
#include <immintrin.h>

// GCC 12 reports its own _mm512_* headers (their _mm256_undefined_* placeholders) as maybe-uninitialized
// once inlined here; a known false positive, silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "cpu/quantize_act.h"
#include "quant/blocks.h"

namespace hotrod::cpu::kernels {

void quantize_row_q8_0_avx512(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<quant::BlockQ8_0*>(dst);
    for (int64_t b = 0; b < n / quant::QK; ++b, x += quant::QK) {
        const __m512 v0 = _mm512_loadu_ps(x);
        const __m512 v1 = _mm512_loadu_ps(x + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[b].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        const __m512 idv = _mm512_set1_ps(id);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].qs), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, idv))));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].qs + 16),
                         _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, idv))));
    }
}

}  // namespace hotrod::cpu::kernels
