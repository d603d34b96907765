// Q3_K: 256-element super-blocks of 16 sub-blocks of 16; signed 6-bit scales (k_scales.h) under one fp16 d; 3-bit
// values q in -4..3, x = d*scale*q. Element i keeps its low 2 bits in qs as Q2_K does and its high bit in bit
// i/32 of hmask[i%32]; a set high bit means q = low bits, a clear one q = low bits - 4.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/half.h"
#include "quant/k_scales.h"
#include "quant/quantize.h"
#include "quant/scale_search.h"

namespace hotrod::quant {

void dequantize_row_q3_k_ref(const void* src, float* dst, int64_t n) {
    const auto* p = static_cast<const uint8_t*>(src);
    for (int64_t blk = 0; blk < n / QK_K; ++blk, dst += QK_K) {
        BlockQ3_K b;
        std::memcpy(&b, p + blk * sizeof(b), sizeof(b));
        const float d = fp16_to_fp32(b.d);
        int scales[16];
        unpack_scales_q3_k(b.scales, scales);
        for (int i = 0; i < QK_K; ++i) {
            const int low = (b.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
            const int high = (b.hmask[i % 32] >> (i / 32)) & 1;
            const float dl = d * float(scales[i / 16]);
            dst[i] = dl * float(low - (high ? 0 : 4));
        }
    }
}

void quantize_row_q3_k_ref(const float* x, void* dst, int64_t n) {
    auto* p = static_cast<uint8_t*>(dst);
    for (int64_t blk = 0; blk < n / QK_K; ++blk, x += QK_K) {
        float sub_scales[16];
        for (int s = 0; s < 16; ++s) sub_scales[s] = fit_symmetric(x + 16 * s, 16, 4);
        int sc[16];
        float d;
        quantize_super_scales_signed(sub_scales, 16, 32, sc, d);
        BlockQ3_K b{};
        b.d = fp32_to_fp16(d);
        for (int s = 0; s < 16; ++s) refine_sub_scale_symmetric(x + 16 * s, 16, 4, d, 32, sc[s]);
        pack_scales_q3_k(sc, b.scales);
        for (int i = 0; i < QK_K; ++i) {
            const float dl = d * float(sc[i / 16]);
            const int q = dl != 0.0f ? std::clamp(int(std::nearbyint(x[i] / dl)), -4, 3) : 0;
            const int u = q + 4;  // 0..7: bit 2 goes to hmask, bits 0-1 to qs
            const int at = 32 * (i / 128) + i % 32;
            b.qs[at] = uint8_t(b.qs[at] | ((u & 3) << (2 * ((i % 128) / 32))));
            b.hmask[i % 32] = uint8_t(b.hmask[i % 32] | ((u >> 2) << (i / 32)));
        }
        std::memcpy(p + blk * sizeof(b), &b, sizeof(b));
    }
}

}  // namespace hotrod::quant
