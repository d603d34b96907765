// Q5_K x Q8_K dot kernel, AVX-512 BW + VNNI. As dot_q4_k_avx512.cpp (two sub-blocks per 512-bit vector), with the
// fifth bit added where the broadcast qh bit plane has bit 2k (lower half) or 2k+1 (upper half) set: values
// 0..31, maddubs pairs at most 2*31*127. Reference: quant::dot_ref_q5_k.
// GCC 12 reports its own _mm512_undefined_*() pass-through operands as uninitialized once inlined (a compiler
// false positive: every such lane is overwritten); silence it for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "cpu/dot_kquants_kernels.h"
#include "cpu/dot_kquants_tile.h"

namespace hotrod::cpu {
namespace {

// vpermw index tables: vector k takes scale 2k into words 0-15 and scale 2k+1 into words 16-31.
alignas(64) constexpr auto kScalePick = [] {
    struct { int16_t w[4][32]; } t{};
    for (int k = 0; k < 4; ++k)
        for (int i = 0; i < 32; ++i) t.w[k][i] = int16_t(2 * k + i / 16);
    return t;
}();

struct Q5K {
    static constexpr size_t kBlockBytes = sizeof(quant::BlockQ5_K);
    using Acc = __m512;
    struct Block {
        __m512i q[4];      // bytes 0-31: sub-block 2k (0..31), bytes 32-63: sub-block 2k+1
        __m512i scale[4];  // int16 lanes 0-15: scale 2k, 16-31: scale 2k+1
        __m256i mins;      // int16 lanes 2j, 2j+1: min of sub-block j
        float d, dmin;
    };

    static Acc zero() { return _mm512_setzero_ps(); }

    static void decode(const uint8_t* p, Block& blk) {
        blk.d = half_to_f32(load_u16(p + offsetof(quant::BlockQ5_K, d)));
        blk.dmin = half_to_f32(load_u16(p + offsetof(quant::BlockQ5_K, dmin)));
        uint64_t scales = 0, mins = 0;
        unpack_scales_mins_k4(p + offsetof(quant::BlockQ5_K, scales), scales, mins);
        const __m128i mn8 = _mm_cvtsi64_si128(int64_t(mins));
        blk.mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn8, mn8));
        const __m512i sc16 = _mm512_zextsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(int64_t(scales))));
        const uint8_t* qs = p + offsetof(quant::BlockQ5_K, qs);
        const __m512i plane =
            _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + offsetof(quant::BlockQ5_K, qh))));
        const __m512i low4 = _mm512_set1_epi8(0x0F);
        const __m512i bit4 = _mm512_set1_epi8(0x10);
        for (int k = 0; k < 4; ++k) {
            blk.scale[k] = _mm512_permutexvar_epi16(_mm512_load_si512(kScalePick.w[k]), sc16);
            const __m512i both = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * k)));
            const __m512i nib = _mm512_and_si512(_mm512_mask_srli_epi16(both, 0xFFFF0000u, both, 4), low4);
            const __mmask64 high = _mm512_test_epi8_mask(plane, _mm512_load_si512(kBitPlanePick.b[k]));
            blk.q[k] = _mm512_mask_add_epi8(nib, high, nib, bit4);
        }
    }

    static Acc dot(const Block& blk, const uint8_t* x, Acc acc) {
        const uint8_t* xq = x + offsetof(quant::BlockQ8_K, qs);
        __m512i sum = _mm512_setzero_si512();
        for (int k = 0; k < 4; ++k) {
            const __m512i xv = _mm512_loadu_si512(xq + 64 * k);
            sum = _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(blk.q[k], xv), blk.scale[k]);
        }
        const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + offsetof(quant::BlockQ8_K, bsums)));
        const __m512i min_sum = _mm512_zextsi256_si512(_mm256_madd_epi16(bsums, blk.mins));
        const float dx = load_f32(x);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(blk.d * dx), _mm512_cvtepi32_ps(sum), acc);
        return _mm512_fmadd_ps(_mm512_set1_ps(-blk.dmin * dx), _mm512_cvtepi32_ps(min_sum), acc);
    }

    static float reduce(Acc acc) { return hsum_avx512(acc); }
};

}  // namespace

void dot_q5_k_avx512(const DotTile& t) { dot_tile<Q5K>(t); }

}  // namespace hotrod::cpu
