// Q5_0 and Q5_1 weights x Q8_0 / Q8_1 activations, AVX512 tile kernels (see dot_tile_simd.h for the loop; the scalar
// references are quant::dot_ref_q5_0 / dot_ref_q5_1). The fifth bit of each code comes from the block's qh word.
#include "cpu/dot_kernels.h"
#include "cpu/dot_tile_simd.h"

namespace hotrod::cpu::kernels {
namespace {

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

void dot_q5_0_avx512(const DotTile& t) { q32_tile<Q5_0>(t); }
void dot_q5_1_avx512(const DotTile& t) { q32_tile<Q5_1>(t); }

}  // namespace hotrod::cpu::kernels
