// Q2_K x Q8_K dot kernel, AVX2 + FMA. Values 0..3 multiplied with the int8 activations in int16 pairs, weighted
// by the 4-bit sub-block scales into int32 and scaled to float once per super-block; the 4-bit mins come in
// through the activation's group-of-16 sums. Reference: quant::dot_ref_q2_k.
#include <immintrin.h>

#include "cpu/dot_kquants_kernels.h"
#include "cpu/dot_kquants_tile.h"

namespace hotrod::cpu {
namespace {

struct Q2K {
    static constexpr size_t kBlockBytes = sizeof(quant::BlockQ2_K);
    using Acc = __m256;
    struct Block {
        __m256i q[8];       // elements 32g..32g+31 as 0..3
        __m256i scale[8];   // int16 lanes 0-7: scale of sub-block 2g, lanes 8-15: of 2g+1
        __m256i mins16;     // the 16 mins as int16, in order (pairs with the group sums)
        float d, dmin;
    };

    static Acc zero() { return _mm256_setzero_ps(); }

    static void decode(const uint8_t* p, Block& blk) {
        blk.d = half_to_f32(load_u16(p + offsetof(quant::BlockQ2_K, d)));
        blk.dmin = half_to_f32(load_u16(p + offsetof(quant::BlockQ2_K, dmin)));
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + offsetof(quant::BlockQ2_K, scales)));
        const __m128i low4 = _mm_set1_epi8(0x0F);
        pair_scales_avx2(_mm256_cvtepu8_epi16(_mm_and_si128(packed, low4)), blk.scale);
        blk.mins16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), low4));
        const uint8_t* qs = p + offsetof(quant::BlockQ2_K, qs);
        const __m256i low2 = _mm256_set1_epi8(3);
        for (int h = 0; h < 2; ++h) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * h));
            blk.q[4 * h + 0] = _mm256_and_si256(v, low2);
            blk.q[4 * h + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 2), low2);
            blk.q[4 * h + 2] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low2);
            blk.q[4 * h + 3] = _mm256_and_si256(_mm256_srli_epi16(v, 6), low2);
        }
    }

    static Acc dot(const Block& blk, const uint8_t* x, Acc acc) {
        const uint8_t* xq = x + offsetof(quant::BlockQ8_K, qs);
        __m256i sum = _mm256_setzero_si256();
        for (int g = 0; g < 8; ++g) {
            const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * g));
            sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(blk.q[g], xv), blk.scale[g]));
        }
        const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + offsetof(quant::BlockQ8_K, bsums)));
        const __m256i min_sum = _mm256_madd_epi16(bsums, blk.mins16);
        const float dx = load_f32(x);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(blk.d * dx), _mm256_cvtepi32_ps(sum), acc);
        return _mm256_fmadd_ps(_mm256_set1_ps(-blk.dmin * dx), _mm256_cvtepi32_ps(min_sum), acc);
    }

    static float reduce(Acc acc) { return hsum_avx2(acc); }
};

}  // namespace

void dot_q2_k_avx2(const DotTile& t) { dot_tile<Q2K>(t); }

}  // namespace hotrod::cpu
