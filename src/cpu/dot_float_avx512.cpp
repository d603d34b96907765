// F32, F16 and BF16 weights x F32 activations, AVX-512 tile kernels: 16 weights widened to float once, then one
// FMA per activation column; the ragged tail is a masked load (masked-off lanes are not read, so no overrun).
// Scalar references: quant::dot_ref_f32 / dot_ref_f16 / dot_ref_bf16.
#include <immintrin.h>

// GCC 12 reports its own _mm512_* headers (their _mm256_undefined_* placeholders) as maybe-uninitialized
// once inlined here; a known false positive, silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "cpu/dot_kernels.h"

namespace hotrod::cpu::kernels {
namespace {

struct F32 {
    static __m512 load16(const uint8_t* w, int64_t i, __mmask16 m) {
        return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(w) + i);
    }
};
struct F16 {
    static __m512 load16(const uint8_t* w, int64_t i, __mmask16 m) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(w) + i));
    }
};
struct BF16 {
    static __m512 load16(const uint8_t* w, int64_t i, __mmask16 m) {
        const __m256i h = _mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(w) + i);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
};

template <class W, int NC>
void float_tile_cols(const DotTile& t, int c0) {
    const float* xs[NC];
    for (int c = 0; c < NC; ++c) xs[c] = reinterpret_cast<const float*>(t.x + size_t(c0 + c) * t.x_stride);
    const int64_t n16 = t.n / 16 * 16;
    const __mmask16 tail = __mmask16((1u << (t.n - n16)) - 1);
    for (int r = 0; r < t.n_rows; ++r) {
        const uint8_t* w = t.w + size_t(r) * t.w_stride;
        __m512 acc[NC];
        for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
        for (int64_t i = 0; i < n16; i += 16) {
            const __m512 wv = W::load16(w, i, 0xffff);
            for (int c = 0; c < NC; ++c) acc[c] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(xs[c] + i), acc[c]);
        }
        if (tail) {
            const __m512 wv = W::load16(w, n16, tail);
            for (int c = 0; c < NC; ++c) acc[c] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(tail, xs[c] + n16), acc[c]);
        }
        for (int c = 0; c < NC; ++c) t.out[size_t(c0 + c) * t.out_stride + size_t(r)] = _mm512_reduce_add_ps(acc[c]);
    }
}

template <class W>
void float_tile(const DotTile& t) {
    for (int c0 = 0; c0 < t.n_cols; c0 += 8) {
        switch (t.n_cols - c0 >= 8 ? 8 : t.n_cols - c0) {
            case 1: float_tile_cols<W, 1>(t, c0); break;
            case 2: float_tile_cols<W, 2>(t, c0); break;
            case 3: float_tile_cols<W, 3>(t, c0); break;
            case 4: float_tile_cols<W, 4>(t, c0); break;
            case 5: float_tile_cols<W, 5>(t, c0); break;
            case 6: float_tile_cols<W, 6>(t, c0); break;
            case 7: float_tile_cols<W, 7>(t, c0); break;
            default: float_tile_cols<W, 8>(t, c0); break;
        }
    }
}

}  // namespace

void dot_f32_avx512(const DotTile& t) { float_tile<F32>(t); }
void dot_f16_avx512(const DotTile& t) { float_tile<F16>(t); }
void dot_bf16_avx512(const DotTile& t) { float_tile<BF16>(t); }

}  // namespace hotrod::cpu::kernels
