// Q4_0: 32 elements, one fp16 scale, 4-bit values offset by 8 (x = d * (q - 8)). Dequantize and quantize
// references; the quantizer matches gguf-py's Q4_0.quantize_blocks bit for bit (checked by a fixture).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/half.h"
#include "quant/quantize.h"

namespace hotrod::quant {

void dequantize_row_q4_0_ref(const void* src, float* dst, int64_t n) {
    const auto* p = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n / QK; ++i, dst += QK) {
        BlockQ4_0 b;  // copied out: src need not be aligned for the struct
        std::memcpy(&b, p + i * sizeof(b), sizeof(b));
        const float d = fp16_to_fp32(b.d);
        for (int j = 0; j < QK / 2; ++j) {
            dst[j] = d * float((b.qs[j] & 0xF) - 8);
            dst[j + QK / 2] = d * float((b.qs[j] >> 4) - 8);
        }
    }
}

void quantize_row_q4_0_ref(const float* x, void* dst, int64_t n) {
    auto* p = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n / QK; ++i, x += QK) {
        // The signed extreme maps to q = 0 (d = extreme / -8), so the range -8..7 is used in full on that side.
        float amax = 0.0f, extreme = x[0];  // x[0]: an all-zero block keeps its sign, as gguf-py does
        for (int j = 0; j < QK; ++j) {
            if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); extreme = x[j]; }
        }
        const float d = extreme / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        BlockQ4_0 b;
        b.d = fp32_to_fp16(d);
        for (int j = 0; j < QK / 2; ++j) {
            const int q0 = std::min(15, int(std::trunc(x[j] * id + 8.5f)));
            const int q1 = std::min(15, int(std::trunc(x[j + QK / 2] * id + 8.5f)));
            b.qs[j] = uint8_t(std::max(0, q0) | (std::max(0, q1) << 4));
        }
        std::memcpy(p + i * sizeof(b), &b, sizeof(b));
    }
}

}  // namespace hotrod::quant
