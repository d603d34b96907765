// Q4_0 and Q4_1 weights x Q8_0 / Q8_1 activations, AVX512 tile kernels (see dot_tile_simd.h for the loop; the scalar
// references are quant::dot_ref_q4_0 / dot_ref_q4_1).
#include "cpu/dot_kernels.h"
#include "cpu/dot_tile_simd.h"

namespace hotrod::cpu::kernels {
namespace {

struct Q4_0 {
    using Block = quant::BlockQ4_0;
    using Unpacked = SignedBlock;
    static Unpacked unpack(const Block& b) {
        const __m256i w = _mm256_sub_epi8(unpack_nibbles(b.qs), _mm256_set1_epi8(8));
        return {_mm256_abs_epi8(w), w, half_to_float(b.d)};
    }
    static __m256 fma(const Unpacked& u, const quant::BlockQ8_0& x, __m256 acc) { return fma_signed(u, x, acc); }
};

struct Q4_1 {
    using Block = quant::BlockQ4_1;
    using Unpacked = MinBlock;
    static Unpacked unpack(const Block& b) { return {unpack_nibbles(b.qs), load_dm(&b.d)}; }
    using Act = quant::BlockQ8_1;
    static __m256 fma(const Unpacked& u, const Act& x, __m256 acc) { return fma_min(u, x, acc); }
};

}  // namespace

void dot_q4_0_avx512(const DotTile& t) { q32_tile<Q4_0>(t); }
void dot_q4_1_avx512(const DotTile& t) { q32_tile<Q4_1>(t); }

}  // namespace hotrod::cpu::kernels
