// Q6_K x Q8_K dot kernel, AVX2 + FMA. Values are decoded to unsigned 0..63 (the stored +32 offset kept), multiplied
// with the int8 activations in int16 pairs (maddubs: at most 2*63*127, no saturation) and weighted by the int8
// sub-block scales into int32; the offset is taken off once per super-block as 32 * sum(scale * group sum).
// Reference: quant::dot_ref_q6_k.
#include <immintrin.h>

#include "cpu/dot_kquants_kernels.h"
#include "cpu/dot_kquants_tile.h"

namespace hotrod::cpu {
namespace {

struct Q6K {
    static constexpr size_t kBlockBytes = sizeof(quant::BlockQ6_K);
    using Acc = __m256;
    struct Block {
        __m256i q[8];       // elements 32g..32g+31 as 0..63
        __m256i scale[8];   // int16 lanes 0-7: scale of sub-block 2g, lanes 8-15: of 2g+1
        __m256i scales16;   // the 16 scales as int16, in order (pairs with the group sums)
        float d;
    };

    static Acc zero() { return _mm256_setzero_ps(); }

    static void decode(const uint8_t* p, Block& blk) {
        const uint8_t* ql = p + offsetof(quant::BlockQ6_K, ql);
        const uint8_t* qh = p + offsetof(quant::BlockQ6_K, qh);
        blk.d = half_to_f32(load_u16(p + offsetof(quant::BlockQ6_K, d)));
        const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + offsetof(quant::BlockQ6_K, scales)));
        blk.scales16 = _mm256_cvtepi8_epi16(sc8);
        pair_scales_avx2(blk.scales16, blk.scale);
        const __m256i low4 = _mm256_set1_epi8(0x0F);
        const __m256i bits45 = _mm256_set1_epi8(0x30);
        for (int h = 0; h < 2; ++h) {
            const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 64 * h));
            const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 64 * h + 32));
            const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 32 * h));
            // High bit pair s of qh lands in bits 4-5 (the 16-bit shifts spill across bytes only into masked bits).
            blk.q[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), bits45));
            blk.q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), bits45));
            blk.q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_and_si256(hb, bits45));
            blk.q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                                               _mm256_and_si256(_mm256_srli_epi16(hb, 2), bits45));
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
        const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(bsums, blk.scales16), 5);
        const float dx = load_f32(x);
        return _mm256_fmadd_ps(_mm256_set1_ps(blk.d * dx), _mm256_cvtepi32_ps(_mm256_sub_epi32(sum, offset)), acc);
    }

    static float reduce(Acc acc) { return hsum_avx2(acc); }
};

}  // namespace

void dot_q6_k_avx2(const DotTile& t) { dot_tile<Q6K>(t); }

}  // namespace hotrod::cpu
