// F32 -> F16 KV row conversion with F16C, 8 at a time; the reference converts the tail.
#include <immintrin.h>

#include "cpu/ops_kv.h"

namespace hotrod::cpu::kernels {

void kv_row_store_f16_avx2(const float* src, void* dst, int64_t n) {
    auto* out = static_cast<uint16_t*>(dst);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
    }
    if (i < n) kv_row_store_f16_ref(src + i, out + i, n - i);
}

}  // namespace hotrod::cpu::kernels
