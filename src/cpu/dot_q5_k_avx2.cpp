// Q5_K x Q8_K dot kernel, AVX2 + FMA. As Q4_K (dot_q4_k_avx2.cpp) with the fifth bit of sub-block j taken from
// bit j of the 32 qh bytes: values 0..31, maddubs pairs at most 2*31*127, so no saturation.
// Reference: quant::dot_ref_q5_k.
#include <immintrin.h>

#include "cpu/dot_kquants_kernels.h"
#include "cpu/dot_kquants_tile.h"

namespace hotrod::cpu {
namespace {

struct Q5K {
    static constexpr size_t kBlockBytes = sizeof(quant::BlockQ5_K);
    using Acc = __m256;
    struct Block {
        __m256i q[8];       // sub-block j: 32 values 0..31
        __m256i scale[8];   // sub-block j: its scale in all 16 int16 lanes
        __m256i mins;       // int16 lanes 2j, 2j+1: min of sub-block j (pairs with the group-of-16 sums)
        float d, dmin;
    };

    static Acc zero() { return _mm256_setzero_ps(); }

    static void decode(const uint8_t* p, Block& blk) {
        blk.d = half_to_f32(load_u16(p + offsetof(quant::BlockQ5_K, d)));
        blk.dmin = half_to_f32(load_u16(p + offsetof(quant::BlockQ5_K, dmin)));
        uint64_t scales = 0, mins = 0;
        unpack_scales_mins_k4(p + offsetof(quant::BlockQ5_K, scales), scales, mins);
        const __m128i sc8 = _mm_cvtsi64_si128(int64_t(scales));
        const __m128i mn8 = _mm_cvtsi64_si128(int64_t(mins));
        blk.mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn8, mn8));
        const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sc8));
        for (int j = 0; j < 8; ++j) {
            const __m256i pick = _mm256_set1_epi16(int16_t(0x0100 * (2 * j + 1) + 2 * j));
            blk.scale[j] = _mm256_shuffle_epi8(sc16, pick);
        }
        const uint8_t* qs = p + offsetof(quant::BlockQ5_K, qs);
        const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + offsetof(quant::BlockQ5_K, qh)));
        const __m256i low4 = _mm256_set1_epi8(0x0F);
        const __m256i bit4 = _mm256_set1_epi8(0x10);
        // Bit j of every qh byte moved to bit 4 (16-bit shifts; bits crossing a byte boundary are masked off).
        __m256i high[8];
        high[0] = _mm256_slli_epi16(hb, 4);
        high[1] = _mm256_slli_epi16(hb, 3);
        high[2] = _mm256_slli_epi16(hb, 2);
        high[3] = _mm256_slli_epi16(hb, 1);
        high[4] = hb;
        high[5] = _mm256_srli_epi16(hb, 1);
        high[6] = _mm256_srli_epi16(hb, 2);
        high[7] = _mm256_srli_epi16(hb, 3);
        for (int c = 0; c < 4; ++c) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
            blk.q[2 * c] = _mm256_or_si256(_mm256_and_si256(v, low4), _mm256_and_si256(high[2 * c], bit4));
            blk.q[2 * c + 1] =
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4), _mm256_and_si256(high[2 * c + 1], bit4));
        }
    }

    static Acc dot(const Block& blk, const uint8_t* x, Acc acc) {
        const uint8_t* xq = x + offsetof(quant::BlockQ8_K, qs);
        __m256i sum = _mm256_setzero_si256();
        for (int j = 0; j < 8; ++j) {
            const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * j));
            sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(blk.q[j], xv), blk.scale[j]));
        }
        const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + offsetof(quant::BlockQ8_K, bsums)));
        const __m256i min_sum = _mm256_madd_epi16(bsums, blk.mins);
        const float dx = load_f32(x);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(blk.d * dx), _mm256_cvtepi32_ps(sum), acc);
        return _mm256_fmadd_ps(_mm256_set1_ps(-blk.dmin * dx), _mm256_cvtepi32_ps(min_sum), acc);
    }

    static float reduce(Acc acc) { return hsum_avx2(acc); }
};

}  // namespace

void dot_q5_k_avx2(const DotTile& t) { dot_tile<Q5K>(t); }

}  // namespace hotrod::cpu
