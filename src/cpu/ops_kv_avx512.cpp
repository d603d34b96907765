// F32 -> F16 KV row conversion, AVX-512: 16 at a time, masked tail.
#include <immintrin.h>

#include "cpu/ops_kv.h"
#include "cpu/ops_simd_math.h"

namespace hotrod::cpu::kernels {

void kv_row_store_f16_avx512(const float* src, void* dst, int64_t n) {
    auto* out = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : simd::tail_mask16(n - i);
        const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_mask_storeu_epi16(out + i, m, h);
    }
}

}  // namespace hotrod::cpu::kernels
