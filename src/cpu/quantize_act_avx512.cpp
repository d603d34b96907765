// F32 -> Q8_0 with AVX-512, bit-identical to quant::quantize_row_q8_0_ref (see quantize_act_avx2.cpp for the
// rounding argument): two 16-float halves per block, narrowed to bytes with vpmovdb.
#include <immintrin.h>

// GCC 12 reports its own _mm512_* headers (their _mm256_undefined_* placeholders) as maybe-uninitialized
// once inlined here; a known false positive, silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "cpu/quantize_act.h"
#include "quant/blocks.h"

namespace hotrod::cpu::kernels {
namespace {

inline __m512i round_half_away(__m512 v) {
    const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m512 frac = _mm512_abs_ps(_mm512_sub_ps(v, t));
    const __mmask16 up = _mm512_cmp_ps_mask(frac, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
    __m512 r = _mm512_mask_add_ps(t, up & ~neg, t, _mm512_set1_ps(1.0f));
    r = _mm512_mask_sub_ps(r, up & neg, r, _mm512_set1_ps(1.0f));
    return _mm512_cvttps_epi32(r);
}

}  // namespace

void quantize_row_q8_0_avx512(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<quant::BlockQ8_0*>(dst);
    for (int64_t b = 0; b < n / quant::QK; ++b, x += quant::QK) {
        const __m512 v0 = _mm512_loadu_ps(x);
        const __m512 v1 = _mm512_loadu_ps(x + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        const __m512 idv = _mm512_set1_ps(id);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].qs), _mm512_cvtepi32_epi8(round_half_away(_mm512_mul_ps(v0, idv))));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].qs + 16),
                         _mm512_cvtepi32_epi8(round_half_away(_mm512_mul_ps(v1, idv))));
    }
}

}  // namespace hotrod::cpu::kernels
