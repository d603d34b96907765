// Q6_K x Q8_K dot kernel, AVX-512 BW + VNNI. One 512-bit vector holds 64 values (0..63, the +32 offset kept):
// 64 bytes of ql, with the 32 bytes of qh broadcast to both halves and the upper half shifted down one bit pair.
// maddubs makes int16 pairs (at most 2*63*127), vpdpwssd weights them by the int8 sub-block scales (one per
// 128-bit lane) into int32; the offset comes off as 32 * sum(scale * group sum). The super-block's exact integer
// total takes the reference's float steps (quant::dot_ref_q6_k), so this kernel and the many-column one
// (gemm_kquants_avx512.cpp) equal the reference bit for bit. Built with -ffp-contract=off (src/cpu/CMakeLists.txt).
// GCC 12 reports its own _mm512_undefined_*() pass-through operands as uninitialized once inlined (a compiler
// false positive: every such lane is overwritten); silence it for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "cpu/dot_kquants_kernels.h"
#include "cpu/dot_kquants_tile.h"

namespace hotrod::cpu {
namespace {

struct Q6K {
    static constexpr size_t kBlockBytes = sizeof(quant::BlockQ6_K);
    struct Block {
        __m512i q[4];      // elements 64m..64m+63 as 0..63
        __m512i scale[4];  // int16, 128-bit lane i: scale of sub-block 4m+i
        __m256i scales16;  // the 16 scales as int16, in order (pairs with the group sums)
        float d;
    };
    struct Scales {  // lane j: block j of the run
        alignas(32) float d[kRunBlocks];
        void set(int i, const Block& blk) {
            d[i] = blk.d;
        }
    };

    static void decode(const uint8_t* p, Block& blk) {
        const uint8_t* ql = p + offsetof(quant::BlockQ6_K, ql);
        const uint8_t* qh = p + offsetof(quant::BlockQ6_K, qh);
        blk.d = half_to_f32(load_u16(p + offsetof(quant::BlockQ6_K, d)));
        const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + offsetof(quant::BlockQ6_K, scales)));
        blk.scales16 = _mm256_cvtepi8_epi16(sc8);
        lane_scales_avx512(blk.scales16, blk.scale);
        const __m512i low4 = _mm512_set1_epi8(0x0F);
        const __m512i bits45 = _mm512_set1_epi8(0x30);
        for (int h = 0; h < 2; ++h) {
            const __m512i lo = _mm512_loadu_si512(ql + 64 * h);
            __m512i hi = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh + 32 * h)));
            hi = _mm512_mask_srli_epi16(hi, 0xFFFF0000u, hi, 2);
            // Bit pair 0 (lower half) or 1 (upper half) of qh into bits 4-5 for the low nibbles, pair 2 / 3 for the
            // high nibbles; the 16-bit shifts spill across bytes only into masked-off bits.
            blk.q[2 * h] = _mm512_or_si512(_mm512_and_si512(lo, low4), _mm512_and_si512(_mm512_slli_epi16(hi, 4), bits45));
            blk.q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(lo, 4), low4), _mm512_and_si512(hi, bits45));
        }
    }

    // The super-block's sum of scale * code * x (16 partial lanes, codes 0..63) and its offset part, 32 * sum of
    // scale * group sum (8 partial lanes): the exact integer is their difference.
    static void partial(const Block& blk, const uint8_t* x, __m512i& sum_codes, __m256i& sum_offset) {
        const uint8_t* xq = x + offsetof(quant::BlockQ8_K, qs);
        __m512i sum = _mm512_setzero_si512();
        for (int m = 0; m < 4; ++m) {
            const __m512i xv = _mm512_loadu_si512(xq + 64 * m);
            sum = _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(blk.q[m], xv), blk.scale[m]);
        }
        sum_codes = sum;
        const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + offsetof(quant::BlockQ8_K, bsums)));
        sum_offset = _mm256_slli_epi32(_mm256_madd_epi16(bsums, blk.scales16), 5);
    }

    // dx * d * float(sum_q), the reference's term ((dx * d) first), for the 8 blocks of a run.
    static __m256 term(const Scales& s, __m256 dx, __m256i sum_codes, __m256i sum_offset) {
        const __m256 sum_q = _mm256_cvtepi32_ps(_mm256_sub_epi32(sum_codes, sum_offset));
        return _mm256_mul_ps(_mm256_mul_ps(dx, _mm256_load_ps(s.d)), sum_q);
    }
};

}  // namespace

void dot_q6_k_avx512(const DotTile& t) { dot_tile_runs<Q6K>(t); }

}  // namespace hotrod::cpu
