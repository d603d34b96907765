// Q5_0 and Q5_1 weights x Q8_0 / Q8_1 activations, AVX2 tile kernels (see dot_tile_simd.h for the loop; the scalar
// references are quant::dot_ref_q5_0 / dot_ref_q5_1). The fifth bit of each code comes from the block's qh word.
#include <cstring>

#include "cpu/dot_kernels.h"
#include "cpu/dot_tile_simd.h"

namespace hotrod::cpu::kernels {
namespace {

// Byte j of the result is 0x10 when bit j of the 32-bit qh is set: broadcast qh, route byte j/8 of it to byte
// j, keep bit j%8, compare.
inline __m256i fifth_bits(const uint8_t* qh) {
    uint32_t h;
    std::memcpy(&h, qh, 4);
    const __m256i route = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                           2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201ULL));
    const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(int(h)), route);
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

struct Q5_0 {
    using Block = quant::BlockQ5_0;
    using Unpacked = SignedBlock;
    static Unpacked unpack(const Block& b) {
        const __m256i q = _mm256_or_si256(unpack_nibbles(b.qs), fifth_bits(b.qh));
        const __m256i w = _mm256_sub_epi8(q, _mm256_set1_epi8(16));
        return {_mm256_abs_epi8(w), w, half_to_float(b.d)};
    }
    static __m256 fma(const Unpacked& u, const quant::BlockQ8_0& x, __m256 acc) { return fma_signed(u, x, acc); }
};

struct Q5_1 {
    using Block = quant::BlockQ5_1;
    using Unpacked = MinBlock;
    static Unpacked unpack(const Block& b) {
        return {_mm256_or_si256(unpack_nibbles(b.qs), fifth_bits(b.qh)), load_dm(&b.d)};
    }
    using Act = quant::BlockQ8_1;
    static __m256 fma(const Unpacked& u, const Act& x, __m256 acc) { return fma_min(u, x, acc); }
};

}  // namespace

void dot_q5_0_avx2(const DotTile& t) { q32_tile<Q5_0>(t); }
void dot_q5_1_avx2(const DotTile& t) { q32_tile<Q5_1>(t); }

}  // namespace hotrod::cpu::kernels
