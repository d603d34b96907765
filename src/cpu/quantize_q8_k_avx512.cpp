// F32 -> Q8_K activation quantizer, AVX-512. Bit-identical to quant::quantize_row_q8_k_ref (see
// quantize_q8_k_avx2.cpp for what must match); one 512-bit vector is one group of 16, so its sum is a bsum.
// GCC 12 reports its own _mm512_undefined_*() pass-through operands as uninitialized once inlined (a compiler
// false positive: every such lane is overwritten); silence it for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstring>

#include "cpu/dot_kquants_kernels.h"
#include "quant/blocks.h"

namespace hotrod::cpu {

void quantize_row_q8_k_avx512(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<quant::BlockQ8_K*>(dst);
    for (int64_t b = 0; b < n / quant::QK_K; ++b, x += quant::QK_K) {
        __m512 vmax = _mm512_setzero_ps();
        for (int i = 0; i < quant::QK_K; i += 16) vmax = _mm512_max_ps(vmax, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
        const float amax = _mm512_reduce_max_ps(vmax);
        if (!(amax > 0.0f)) {
            std::memset(&y[b], 0, sizeof(quant::BlockQ8_K));
            continue;
        }
        // The first element whose magnitude is amax gives the sign, as in the reference's strict '>' scan.
        const __m512 vamax = _mm512_set1_ps(amax);
        float extreme = 0.0f;
        for (int i = 0; i < quant::QK_K; i += 16) {
            const __mmask16 hits = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + i)), vamax, _CMP_EQ_OQ);
            if (hits != 0) {
                extreme = x[i + __builtin_ctz(unsigned(hits))];
                break;
            }
        }
        const float iscale = -127.0f / extreme;
        const __m512 vscale = _mm512_set1_ps(iscale);
        const __m512i limit = _mm512_set1_epi32(127);
        for (int g = 0; g < quant::QK_K / 16; ++g) {
            const __m512i v = _mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(vscale, _mm512_loadu_ps(x + 16 * g))), limit);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].qs + 16 * g), _mm512_cvtsepi32_epi8(v));
            y[b].bsums[g] = int16_t(_mm512_reduce_add_epi32(v));
        }
        y[b].d = 1.0f / iscale;
    }
}

}  // namespace hotrod::cpu
