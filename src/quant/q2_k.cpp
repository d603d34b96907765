// Q2_K: 256-element super-blocks of 16 sub-blocks of 16; 4-bit scale and 4-bit min per sub-block under fp16 super
// scales d and dmin; 2-bit values, x = d*scale*q - dmin*min. Element i's 2 bits sit in byte 32*(i/128) + i%32 of
// qs at bit 2*((i%128)/32). Dequantize and quantize references.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/half.h"
#include "quant/quantize.h"
#include "quant/scale_search.h"

namespace hotrod::quant {
namespace {

int q2_k_get(const BlockQ2_K& b, int i) { return (b.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3; }

}  // namespace

void dequantize_row_q2_k_ref(const void* src, float* dst, int64_t n) {
    const auto* p = static_cast<const uint8_t*>(src);
    for (int64_t blk = 0; blk < n / QK_K; ++blk, dst += QK_K) {
        BlockQ2_K b;
        std::memcpy(&b, p + blk * sizeof(b), sizeof(b));
        const float d = fp16_to_fp32(b.d);
        const float dmin = fp16_to_fp32(b.dmin);
        for (int i = 0; i < QK_K; ++i) {
            const float dl = d * float(b.scales[i / 16] & 0xF);
            const float ml = dmin * float(b.scales[i / 16] >> 4);
            dst[i] = dl * float(q2_k_get(b, i)) - ml;
        }
    }
}

void quantize_row_q2_k_ref(const float* x, void* dst, int64_t n) {
    auto* p = static_cast<uint8_t*>(dst);
    for (int64_t blk = 0; blk < n / QK_K; ++blk, x += QK_K) {
        float scales[16], mins[16];
        for (int s = 0; s < 16; ++s) fit_affine(x + 16 * s, 16, 3, scales[s], mins[s]);
        BlockQ2_K b{};
        uint8_t sc[16], mn[16];
        float d, dmin;
        quantize_super_scales(scales, 16, 15, sc, d);
        quantize_super_scales(mins, 16, 15, mn, dmin);
        b.d = fp32_to_fp16(d);
        b.dmin = fp32_to_fp16(dmin);
        for (int s = 0; s < 16; ++s) refine_sub_scale_affine(x + 16 * s, 16, 3, d, dmin, 15, sc[s], mn[s]);
        for (int s = 0; s < 16; ++s) {
            b.scales[s] = uint8_t(sc[s] | (mn[s] << 4));
            const float dl = d * float(sc[s]);
            const float ml = dmin * float(mn[s]);
            for (int j = 0; j < 16; ++j) {
                const int i = 16 * s + j;
                const int q = dl > 0.0f ? std::clamp(int(std::nearbyint((x[i] + ml) / dl)), 0, 3) : 0;
                b.qs[32 * (i / 128) + i % 32] = uint8_t(b.qs[32 * (i / 128) + i % 32] | (q << (2 * ((i % 128) / 32))));
            }
        }
        std::memcpy(p + blk * sizeof(b), &b, sizeof(b));
    }
}

}  // namespace hotrod::quant
