// One KV head of a cache row converted to floats, for the attention kernel files (include only from
// *_avx512.cpp: the intrinsics need their target flags). Shared by the per-unit and the tiled kernels so both
// read a row the same way.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "quant/types.h"

namespace hotrod::cpu::simd {

#if defined(__AVX512F__)
// Head `head` (hd elements, hd % 16 == 0; % 32 for Q8_0) of a cache row to dst (64-byte aligned).
template <quant::DType T>
inline void load_head16(const uint8_t* row, int head, int hd, float* dst) {
    if constexpr (T == quant::DType::F16) {
        const auto* h = reinterpret_cast<const uint16_t*>(row) + size_t(head) * hd;
        for (int i = 0; i < hd; i += 16) {
            _mm512_store_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i))));
        }
    } else {  // Q8_0 blocks: fp16 scale d, 32 int8
        const uint8_t* b = row + size_t(head) * (hd / 32) * 34;
        for (int i = 0; i < hd; i += 32, b += 34) {
            uint16_t d_bits;
            std::memcpy(&d_bits, b, 2);
            const __m512 d = _mm512_set1_ps(_cvtsh_ss(d_bits));
            const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2));
            const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 18));
            _mm512_store_ps(dst + i, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lo))));
            _mm512_store_ps(dst + i + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(hi))));
        }
    }
}

inline __m512 round_fp16(__m512 x) {
    return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
#endif

}  // namespace hotrod::cpu::simd
