// Q3_K x Q8_K dot kernel, AVX-512 BW + VNNI. One 512-bit vector holds 64 values u = low 2 bits + 4 * hmask bit
// (0..7, i.e. q + 4): the 32 qs bytes of the half broadcast and shifted per half (vpsrlvw), the hmask bit plane
// tested per byte. maddubs pairs, vpdpwssd by the signed scales (one per 128-bit lane); the +4 comes off as
// 4 * sum(scale * group sum). Reference: quant::dot_ref_q3_k.
// GCC 12 reports its own _mm512_undefined_*() pass-through operands as uninitialized once inlined (a compiler
// false positive: every such lane is overwritten); silence it for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "cpu/dot_kquants_kernels.h"
#include "cpu/dot_kquants_tile.h"

namespace hotrod::cpu {
namespace {

struct Q3K {
    static constexpr size_t kBlockBytes = sizeof(quant::BlockQ3_K);
    using Acc = __m512;
    struct Block {
        __m512i q[4];      // elements 64m..64m+63 as 0..7
        __m512i scale[4];  // int16, 128-bit lane i: scale of sub-block 4m+i
        __m256i scales16;  // the 16 scales as int16, in order (pairs with the group sums)
        float d;
    };

    static Acc zero() { return _mm512_setzero_ps(); }

    static void decode(const uint8_t* p, Block& blk) {
        blk.d = half_to_f32(load_u16(p + offsetof(quant::BlockQ3_K, d)));
        uint8_t sc[16];
        unpack_scales_q3_k(p + offsetof(quant::BlockQ3_K, scales), sc);
        blk.scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
        lane_scales_avx512(blk.scales16, blk.scale);
        const uint8_t* qs = p + offsetof(quant::BlockQ3_K, qs);
        const __m512i plane =
            _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + offsetof(quant::BlockQ3_K, hmask))));
        const __m512i low2 = _mm512_set1_epi8(3);
        const __m512i four = _mm512_set1_epi8(4);
        // Vector m covers bit pairs 2s (lower half) and 2s+2 (upper half) of qs half m/2, with s = 2 * (m % 2).
        const __m512i shift_even = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
        const __m512i shift_odd = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1);
        for (int m = 0; m < 4; ++m) {
            const __m512i both =
                _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * (m / 2))));
            const __m512i low = _mm512_and_si512(_mm512_srlv_epi16(both, m % 2 ? shift_odd : shift_even), low2);
            const __mmask64 high = _mm512_test_epi8_mask(plane, _mm512_load_si512(kBitPlanePick.b[m]));
            blk.q[m] = _mm512_mask_add_epi8(low, high, low, four);
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
        const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(bsums, blk.scales16), 2);
        sum = _mm512_sub_epi32(sum, _mm512_zextsi256_si512(offset));
        return _mm512_fmadd_ps(_mm512_set1_ps(blk.d * load_f32(x)), _mm512_cvtepi32_ps(sum), acc);
    }

    static float reduce(Acc acc) { return hsum_avx512(acc); }
};

}  // namespace

void dot_q3_k_avx512(const DotTile& t) { dot_tile<Q3K>(t); }

}  // namespace hotrod::cpu
