// Q6_K: 256-element super-blocks of 16 sub-blocks of 16; int8 scales under one fp16 d; 6-bit values offset by 32,
// x = d*scale*(q - 32). Element i (r = i%128) keeps its low nibble in ql[64*(i/128) + r%64] (high nibble when
// r >= 64) and its top 2 bits in qh[32*(i/128) + r%32] at bit 2*(r/32). Dequantize and quantize references.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/half.h"
#include "quant/quantize.h"
#include "quant/scale_search.h"

namespace hotrod::quant {

void dequantize_row_q6_k_ref(const void* src, float* dst, int64_t n) {
    const auto* p = static_cast<const uint8_t*>(src);
    for (int64_t blk = 0; blk < n / QK_K; ++blk, dst += QK_K) {
        BlockQ6_K b;
        std::memcpy(&b, p + blk * sizeof(b), sizeof(b));
        const float d = fp16_to_fp32(b.d);
        for (int i = 0; i < QK_K; ++i) {
            const int r = i % 128;
            const int low = (b.ql[64 * (i / 128) + r % 64] >> (4 * (r / 64))) & 0xF;
            const int high = (b.qh[32 * (i / 128) + r % 32] >> (2 * (r / 32))) & 3;
            const float dl = d * float(b.scales[i / 16]);
            dst[i] = dl * float((low | (high << 4)) - 32);
        }
    }
}

namespace {

// search: the reference's scale search and refinement; else the extreme's grid alone (quantize_row_quick).
void quantize_q6_k(const float* x, void* dst, int64_t n, bool search) {
    auto* p = static_cast<uint8_t*>(dst);
    for (int64_t blk = 0; blk < n / QK_K; ++blk, x += QK_K) {
        float sub_scales[16];
        for (int s = 0; s < 16; ++s)
            sub_scales[s] = search ? fit_symmetric(x + 16 * s, 16, 32) : range_symmetric(x + 16 * s, 16, 32);
        int sc[16];
        float d;
        quantize_super_scales_signed(sub_scales, 16, 128, sc, d);
        BlockQ6_K b{};
        b.d = fp32_to_fp16(d);
        if (search)
            for (int s = 0; s < 16; ++s) refine_sub_scale_symmetric(x + 16 * s, 16, 32, d, 128, sc[s]);
        for (int s = 0; s < 16; ++s) b.scales[s] = int8_t(sc[s]);
        for (int i = 0; i < QK_K; ++i) {
            const float dl = d * float(sc[i / 16]);
            const int u = (dl != 0.0f ? std::clamp(int(std::nearbyint(x[i] / dl)), -32, 31) : 0) + 32;
            const int r = i % 128;
            const int at_l = 64 * (i / 128) + r % 64;
            const int at_h = 32 * (i / 128) + r % 32;
            b.ql[at_l] = uint8_t(b.ql[at_l] | ((u & 0xF) << (4 * (r / 64))));
            b.qh[at_h] = uint8_t(b.qh[at_h] | ((u >> 4) << (2 * (r / 32))));
        }
        std::memcpy(p + blk * sizeof(b), &b, sizeof(b));
    }
}

}  // namespace

void quantize_row_q6_k_ref(const float* x, void* dst, int64_t n) { quantize_q6_k(x, dst, n, true); }
void quantize_row_q6_k_quick(const float* x, void* dst, int64_t n) { quantize_q6_k(x, dst, n, false); }

}  // namespace hotrod::quant
