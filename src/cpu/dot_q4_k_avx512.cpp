// Q4_K x Q8_K dot kernel, AVX-512 BW + VNNI. One 512-bit vector holds two sub-blocks (a 32-byte chunk of nibbles
// broadcast to both halves, the upper half shifted to its high nibbles), so it lines up with 64 contiguous
// activations; maddubs makes int16 pairs (at most 2*15*127) and vpdpwssd weights them by the sub-block scales
// into int32. Each super-block's scaled sum and min sum are reduced to exact integers (8 super-blocks at once, see
// dot_runs) and take the reference's float steps (quant::dot_ref_q4_k) one super-block at a time, so this kernel
// equals the reference bit for bit, and so does the many-column kernel (gemm_kquants_avx512.cpp): a token's logits
// do not depend on its batch. Built with -ffp-contract=off (src/cpu/CMakeLists.txt): no fused steps.
// GCC 12 reports its own _mm512_undefined_*() pass-through operands as uninitialized once inlined (a compiler
// false positive: every such lane is overwritten); silence it for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "cpu/dot_kquants_kernels.h"
#include "cpu/dot_kquants_tile.h"

namespace hotrod::cpu {
namespace {

// Word index tables for vpermw: vector k takes scale 2k into words 0-15 and scale 2k+1 into words 16-31.
alignas(64) constexpr auto kScalePick = [] {
    struct { int16_t w[4][32]; } t{};
    for (int k = 0; k < 4; ++k)
        for (int i = 0; i < 32; ++i) t.w[k][i] = int16_t(2 * k + i / 16);
    return t;
}();

struct Q4K {
    static constexpr size_t kBlockBytes = sizeof(quant::BlockQ4_K);
    struct Block {
        __m512i q[4];      // bytes 0-31: sub-block 2k (0..15), bytes 32-63: sub-block 2k+1
        __m512i scale[4];  // int16 lanes 0-15: scale 2k, 16-31: scale 2k+1
        __m256i mins;      // int16 lanes 2j, 2j+1: min of sub-block j
        float d, dmin;
    };
    struct Scales {  // lane j: block j of the run
        alignas(32) float d[kRunBlocks], dmin[kRunBlocks];
        void set(int i, const Block& blk) {
            d[i] = blk.d;
            dmin[i] = blk.dmin;
        }
    };

    static void decode(const uint8_t* p, Block& blk) {
        blk.d = half_to_f32(load_u16(p + offsetof(quant::BlockQ4_K, d)));
        blk.dmin = half_to_f32(load_u16(p + offsetof(quant::BlockQ4_K, dmin)));
        uint64_t scales = 0, mins = 0;
        unpack_scales_mins_k4(p + offsetof(quant::BlockQ4_K, scales), scales, mins);
        const __m128i mn8 = _mm_cvtsi64_si128(int64_t(mins));
        blk.mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn8, mn8));
        const __m512i sc16 = _mm512_zextsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(int64_t(scales))));
        const uint8_t* qs = p + offsetof(quant::BlockQ4_K, qs);
        const __m512i low4 = _mm512_set1_epi8(0x0F);
        for (int k = 0; k < 4; ++k) {
            blk.scale[k] = _mm512_permutexvar_epi16(_mm512_load_si512(kScalePick.w[k]), sc16);
            const __m512i both = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * k)));
            blk.q[k] = _mm512_and_si512(_mm512_mask_srli_epi16(both, 0xFFFF0000u, both, 4), low4);
        }
    }

    // The scaled code sum (16 partial lanes) and the min sum (8 partial lanes) of one super-block.
    static void partial(const Block& blk, const uint8_t* x, __m512i& sum_q, __m256i& sum_min) {
        const uint8_t* xq = x + offsetof(quant::BlockQ8_K, qs);
        __m512i sum = _mm512_setzero_si512();
        for (int k = 0; k < 4; ++k) {
            const __m512i xv = _mm512_loadu_si512(xq + 64 * k);
            sum = _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(blk.q[k], xv), blk.scale[k]);
        }
        sum_q = sum;
        const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + offsetof(quant::BlockQ8_K, bsums)));
        sum_min = _mm256_madd_epi16(bsums, blk.mins);
    }

    // dx * (d * float(sum_q) - dmin * float(sum_min)), the reference's term, for the 8 blocks of a run.
    static __m256 term(const Scales& s, __m256 dx, __m256i sum_q, __m256i sum_min) {
        const __m256 f = _mm256_sub_ps(_mm256_mul_ps(_mm256_load_ps(s.d), _mm256_cvtepi32_ps(sum_q)),
                                       _mm256_mul_ps(_mm256_load_ps(s.dmin), _mm256_cvtepi32_ps(sum_min)));
        return _mm256_mul_ps(dx, f);
    }
};

}  // namespace

void dot_q4_k_avx512(const DotTile& t) { dot_tile_runs<Q4K>(t); }

}  // namespace hotrod::cpu
