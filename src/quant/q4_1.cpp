// Q4_1: 32 elements, fp16 scale and fp16 min, 4-bit values (x = d * q + m). Dequantize and quantize references;
// the quantizer matches gguf-py's Q4_1.quantize_blocks bit for bit (checked by a fixture).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/half.h"
#include "quant/quantize.h"

namespace hotrod::quant {

void dequantize_row_q4_1_ref(const void* src, float* dst, int64_t n) {
    const auto* p = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n / QK; ++i, dst += QK) {
        BlockQ4_1 b;
        std::memcpy(&b, p + i * sizeof(b), sizeof(b));
        const float d = fp16_to_fp32(b.d);
        const float m = fp16_to_fp32(b.m);
        for (int j = 0; j < QK / 2; ++j) {
            dst[j] = d * float(b.qs[j] & 0xF) + m;
            dst[j + QK / 2] = d * float(b.qs[j] >> 4) + m;
        }
    }
}

void quantize_row_q4_1_ref(const float* x, void* dst, int64_t n) {
    auto* p = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n / QK; ++i, x += QK) {
        float lo = x[0], hi = x[0];
        for (int j = 1; j < QK; ++j) {
            lo = std::min(lo, x[j]);
            hi = std::max(hi, x[j]);
        }
        const float d = (hi - lo) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        BlockQ4_1 b;
        b.d = fp32_to_fp16(d);
        b.m = fp32_to_fp16(lo);
        for (int j = 0; j < QK / 2; ++j) {
            const int q0 = std::clamp(int(std::trunc((x[j] - lo) * id + 0.5f)), 0, 15);
            const int q1 = std::clamp(int(std::trunc((x[j + QK / 2] - lo) * id + 0.5f)), 0, 15);
            b.qs[j] = uint8_t(q0 | (q1 << 4));
        }
        std::memcpy(p + i * sizeof(b), &b, sizeof(b));
    }
}

}  // namespace hotrod::quant
