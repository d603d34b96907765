// Q8_0 weights x Q8_0 activations, AVX512 tile kernel (see dot_tile_simd.h for the loop; the scalar reference
// is quant::dot_ref_q8_0). Signed x signed goes through |w| * (x with w's sign); w = -128 gives |w| = 128 as an
// unsigned byte, still exact.
#include "cpu/dot_kernels.h"
#include "cpu/dot_tile_simd.h"

namespace hotrod::cpu::kernels {
namespace {

struct Q8_0 {
    using Block = quant::BlockQ8_0;
    using Unpacked = SignedBlock;
    static Unpacked unpack(const Block& b) {
        const __m256i w = load_q8(b);
        return {_mm256_abs_epi8(w), w, half_to_float(b.d)};
    }
    static __m256 fma(const Unpacked& u, const quant::BlockQ8_0& x, __m256 acc) { return fma_signed(u, x, acc); }
};

}  // namespace

void dot_q8_0_avx512(const DotTile& t) { q32_tile<Q8_0>(t); }

}  // namespace hotrod::cpu::kernels
