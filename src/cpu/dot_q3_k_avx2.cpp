// Q3_K x Q8_K dot kernel, AVX2 + FMA. Values are decoded unsigned, u = low 2 bits + 4 * hmask bit (0..7, i.e.
// q + 4), multiplied with the int8 activations in int16 pairs and weighted by the signed 6-bit sub-block scales
// into int32; the +4 comes off once per super-block as 4 * sum(scale * group sum). Reference: quant::dot_ref_q3_k.
#include <immintrin.h>

#include "cpu/dot_kquants_kernels.h"
#include "cpu/dot_kquants_tile.h"

namespace hotrod::cpu {
namespace {

struct Q3K {
    static constexpr size_t kBlockBytes = sizeof(quant::BlockQ3_K);
    using Acc = __m256;
    struct Block {
        __m256i q[8];       // elements 32g..32g+31 as 0..7
        __m256i scale[8];   // int16 lanes 0-7: scale of sub-block 2g, lanes 8-15: of 2g+1
        __m256i scales16;   // the 16 scales as int16, in order (pairs with the group sums)
        float d;
    };

    static Acc zero() { return _mm256_setzero_ps(); }

    static void decode(const uint8_t* p, Block& blk) {
        blk.d = half_to_f32(load_u16(p + offsetof(quant::BlockQ3_K, d)));
        uint8_t sc[16];
        unpack_scales_q3_k(p + offsetof(quant::BlockQ3_K, scales), sc);
        blk.scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
        pair_scales_avx2(blk.scales16, blk.scale);
        const uint8_t* qs = p + offsetof(quant::BlockQ3_K, qs);
        const __m256i hm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + offsetof(quant::BlockQ3_K, hmask)));
        // Bit g of every hmask byte moved to bit 2 (16-bit shifts; bits crossing a byte boundary are masked off).
        __m256i high[8];
        high[0] = _mm256_slli_epi16(hm, 2);
        high[1] = _mm256_slli_epi16(hm, 1);
        high[2] = hm;
        high[3] = _mm256_srli_epi16(hm, 1);
        high[4] = _mm256_srli_epi16(hm, 2);
        high[5] = _mm256_srli_epi16(hm, 3);
        high[6] = _mm256_srli_epi16(hm, 4);
        high[7] = _mm256_srli_epi16(hm, 5);
        const __m256i low2 = _mm256_set1_epi8(3);
        const __m256i bit2 = _mm256_set1_epi8(4);
        for (int h = 0; h < 2; ++h) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * h));
            const __m256i shifted[4] = {v, _mm256_srli_epi16(v, 2), _mm256_srli_epi16(v, 4), _mm256_srli_epi16(v, 6)};
            for (int s = 0; s < 4; ++s) {
                const int g = 4 * h + s;
                blk.q[g] = _mm256_or_si256(_mm256_and_si256(shifted[s], low2), _mm256_and_si256(high[g], bit2));
            }
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
        const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(bsums, blk.scales16), 2);
        return _mm256_fmadd_ps(_mm256_set1_ps(blk.d * load_f32(x)), _mm256_cvtepi32_ps(_mm256_sub_epi32(sum, offset)), acc);
    }

    static float reduce(Acc acc) { return hsum_avx2(acc); }
};

}  // namespace

void dot_q3_k_avx2(const DotTile& t) { dot_tile<Q3K>(t); }

}  // namespace hotrod::cpu
