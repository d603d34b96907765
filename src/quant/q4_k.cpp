// Q4_K: 256-element super-blocks of 8 sub-blocks of 32; 6-bit scale and min per sub-block (k_scales.h) under fp16
// super scales d and dmin; 4-bit values, x = d*scale*q - dmin*min. Element i's nibble is in byte
// 32*(i/64) + i%32 of qs, low nibble when (i%64) < 32. Dequantize and quantize references.
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

void dequantize_row_q4_k_ref(const void* src, float* dst, int64_t n) {
    const auto* p = static_cast<const uint8_t*>(src);
    for (int64_t blk = 0; blk < n / QK_K; ++blk, dst += QK_K) {
        BlockQ4_K b;
        std::memcpy(&b, p + blk * sizeof(b), sizeof(b));
        const float d = fp16_to_fp32(b.d);
        const float dmin = fp16_to_fp32(b.dmin);
        for (int s = 0; s < 8; ++s) {
            int sc, m;
            unpack_scale_min_k4(b.scales, s, sc, m);
            const float dl = d * float(sc);
            const float ml = dmin * float(m);
            for (int j = 0; j < 32; ++j) {
                const int i = 32 * s + j;
                const int q = (b.qs[32 * (i / 64) + j] >> (4 * (s % 2))) & 0xF;
                dst[i] = dl * float(q) - ml;
            }
        }
    }
}

namespace {

// search: the reference's scale search and refinement; else the range grid alone (quantize_row_quick).
void quantize_q4_k(const float* x, void* dst, int64_t n, bool search) {
    auto* p = static_cast<uint8_t*>(dst);
    for (int64_t blk = 0; blk < n / QK_K; ++blk, x += QK_K) {
        float scales[8], mins[8];
        for (int s = 0; s < 8; ++s) {
            if (search) fit_affine(x + 32 * s, 32, 15, scales[s], mins[s]);
            else range_affine(x + 32 * s, 32, 15, scales[s], mins[s]);
        }
        uint8_t sc[8], mn[8];
        float d, dmin;
        quantize_super_scales(scales, 8, 63, sc, d);
        quantize_super_scales(mins, 8, 63, mn, dmin);
        BlockQ4_K b{};
        b.d = fp32_to_fp16(d);
        b.dmin = fp32_to_fp16(dmin);
        if (search)
            for (int s = 0; s < 8; ++s) refine_sub_scale_affine(x + 32 * s, 32, 15, d, dmin, 63, sc[s], mn[s]);
        pack_scale_min_k4(sc, mn, b.scales);
        for (int s = 0; s < 8; ++s) {
            const float dl = d * float(sc[s]);
            const float ml = dmin * float(mn[s]);
            for (int j = 0; j < 32; ++j) {
                const int i = 32 * s + j;
                const int q = dl > 0.0f ? std::clamp(int(std::nearbyint((x[i] + ml) / dl)), 0, 15) : 0;
                b.qs[32 * (i / 64) + j] = uint8_t(b.qs[32 * (i / 64) + j] | (q << (4 * (s % 2))));
            }
        }
        std::memcpy(p + blk * sizeof(b), &b, sizeof(b));
    }
}

}  // namespace

void quantize_row_q4_k_ref(const float* x, void* dst, int64_t n) { quantize_q4_k(x, dst, n, true); }
void quantize_row_q4_k_quick(const float* x, void* dst, int64_t n) { quantize_q4_k(x, dst, n, false); }

}  // namespace hotrod::quant
