// Q2_K x Q8_K dot kernel, AVX-512 BW + VNNI. One 512-bit vector holds 64 values 0..3: the 32 qs bytes of the half
// broadcast and shifted per half (vpsrlvw). maddubs pairs, vpdpwssd by the 4-bit scales (one per 128-bit lane),
// scaled to float once per super-block; mins through the group sums. Reference: quant::dot_ref_q2_k.
// GCC 12 reports its own _mm512_undefined_*() pass-through operands as uninitialized once inlined (a compiler
// false positive: every such lane is overwritten); silence it for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "cpu/dot_kquants_kernels.h"
#include "cpu/dot_kquants_tile.h"

namespace hotrod::cpu {
namespace {

struct Q2K {
    static constexpr size_t kBlockBytes = sizeof(quant::BlockQ2_K);
    using Acc = __m512;
    struct Block {
        __m512i q[4];      // elements 64m..64m+63 as 0..3
        __m512i scale[4];  // int16, 128-bit lane i: scale of sub-block 4m+i
        __m256i mins16;    // the 16 mins as int16, in order (pairs with the group sums)
        float d, dmin;
    };

    static Acc zero() { return _mm512_setzero_ps(); }

    static void decode(const uint8_t* p, Block& blk) {
        blk.d = half_to_f32(load_u16(p + offsetof(quant::BlockQ2_K, d)));
        blk.dmin = half_to_f32(load_u16(p + offsetof(quant::BlockQ2_K, dmin)));
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + offsetof(quant::BlockQ2_K, scales)));
        const __m128i low4 = _mm_set1_epi8(0x0F);
        lane_scales_avx512(_mm256_cvtepu8_epi16(_mm_and_si128(packed, low4)), blk.scale);
        blk.mins16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), low4));
        const uint8_t* qs = p + offsetof(quant::BlockQ2_K, qs);
        const __m512i low2 = _mm512_set1_epi8(3);
        // Vector m covers bit pairs 2s (lower half) and 2s+2 (upper half) of qs half m/2, with s = 2 * (m % 2).
        const __m512i shift_even = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
        const __m512i shift_odd = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1);
        for (int m = 0; m < 4; ++m) {
            const __m512i both =
                _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * (m / 2))));
            blk.q[m] = _mm512_and_si512(_mm512_srlv_epi16(both, m % 2 ? shift_odd : shift_even), low2);
        }
    }

    static Acc dot(const Block& blk, const uint8_t* x, Acc acc) {
        const uint8_t* xq = x + offsetof(quant::BlockQ8_K, qs);
        __m512i sum = _mm512_setzero_si512();
        for (int m = 0; m < 4; ++m) {
            const __m512i xv = _mm512_loadu_si512(xq + 64 * m);
            sum = _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(blk.q[m], xv), blk.scale[m]);
        }
        const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + offsetof(quant::BlockQ8_K, bsums)));
        const __m512i min_sum = _mm512_zextsi256_si512(_mm256_madd_epi16(bsums, blk.mins16));
        const float dx = load_f32(x);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(blk.d * dx), _mm512_cvtepi32_ps(sum), acc);
        return _mm512_fmadd_ps(_mm512_set1_ps(-blk.dmin * dx), _mm512_cvtepi32_ps(min_sum), acc);
    }

    static float reduce(Acc acc) { return hsum_avx512(acc); }
};

}  // namespace

void dot_q2_k_avx512(const DotTile& t) { dot_tile<Q2K>(t); }

}  // namespace hotrod::cpu
