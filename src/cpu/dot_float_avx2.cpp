// F32, F16 and BF16 weights x F32 activations, AVX2 tile kernels: 8 weights widened to float once, then one FMA
// per activation column; the ragged tail (n need not be a multiple of 8) is finished in scalar code.
// Scalar references: quant::dot_ref_f32 / dot_ref_f16 / dot_ref_bf16.
#include <cstring>

#include "cpu/dot_kernels.h"
#include "cpu/dot_tile_simd.h"
#include "quant/half.h"

namespace hotrod::cpu::kernels {
namespace {

struct F32 {
    static __m256 load8(const uint8_t* w, int64_t i) { return _mm256_loadu_ps(reinterpret_cast<const float*>(w) + i); }
    static float load1(const uint8_t* w, int64_t i) {
        float v;  // rows need not be 4-byte aligned
        std::memcpy(&v, w + 4 * i, sizeof v);
        return v;
    }
};
struct F16 {
    static __m256 load8(const uint8_t* w, int64_t i) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const uint16_t*>(w) + i)));
    }
    static float load1(const uint8_t* w, int64_t i) { return quant::fp16_to_fp32(reinterpret_cast<const uint16_t*>(w)[i]); }
};
struct BF16 {
    static __m256 load8(const uint8_t* w, int64_t i) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const uint16_t*>(w) + i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    static float load1(const uint8_t* w, int64_t i) { return quant::bf16_to_fp32(reinterpret_cast<const uint16_t*>(w)[i]); }
};

template <class W, int NC>
void float_tile_cols(const DotTile& t, int c0) {
    const float* xs[NC];
    for (int c = 0; c < NC; ++c) xs[c] = reinterpret_cast<const float*>(t.x + size_t(c0 + c) * t.x_stride);
    const int64_t n8 = t.n / 8 * 8;
    for (int r = 0; r < t.n_rows; ++r) {
        const uint8_t* w = t.w + size_t(r) * t.w_stride;
        __m256 acc[NC];
        for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
        for (int64_t i = 0; i < n8; i += 8) {
            const __m256 wv = W::load8(w, i);
            for (int c = 0; c < NC; ++c) acc[c] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xs[c] + i), acc[c]);
        }
        for (int c = 0; c < NC; ++c) {
            float sum = hsum_ps(acc[c]);
            for (int64_t i = n8; i < t.n; ++i) sum += W::load1(w, i) * xs[c][i];
            t.out[size_t(c0 + c) * t.out_stride + size_t(r)] = sum;
        }
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

void dot_f32_avx2(const DotTile& t) { float_tile<F32>(t); }
void dot_f16_avx2(const DotTile& t) { float_tile<F16>(t); }
void dot_bf16_avx2(const DotTile& t) { float_tile<BF16>(t); }

}  // namespace hotrod::cpu::kernels
