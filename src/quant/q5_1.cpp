// Q5_1: 32 elements, fp16 scale and fp16 min, 5-bit values (x = d * q + m), fifth bits in qh as Q5_0.
// Dequantize and quantize references; the quantizer matches gguf-py's Q5_1.quantize_blocks bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/half.h"
#include "quant/quantize.h"

namespace hotrod::quant {

void dequantize_row_q5_1_ref(const void* src, float* dst, int64_t n) {
    const auto* p = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n / QK; ++i, dst += QK) {
        BlockQ5_1 b;
        std::memcpy(&b, p + i * sizeof(b), sizeof(b));
        const float d = fp16_to_fp32(b.d);
        const float m = fp16_to_fp32(b.m);
        const uint32_t qh = uint32_t(b.qh[0]) | uint32_t(b.qh[1]) << 8 | uint32_t(b.qh[2]) << 16 | uint32_t(b.qh[3]) << 24;
        for (int j = 0; j < QK / 2; ++j) {
            const int q0 = (b.qs[j] & 0xF) | int((qh >> j) & 1) << 4;
            const int q1 = (b.qs[j] >> 4) | int((qh >> (j + QK / 2)) & 1) << 4;
            dst[j] = d * float(q0) + m;
            dst[j + QK / 2] = d * float(q1) + m;
        }
    }
}

void quantize_row_q5_1_ref(const float* x, void* dst, int64_t n) {
    auto* p = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n / QK; ++i, x += QK) {
        float lo = x[0], hi = x[0];
        for (int j = 1; j < QK; ++j) {
            lo = std::min(lo, x[j]);
            hi = std::max(hi, x[j]);
        }
        const float d = (hi - lo) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        BlockQ5_1 b;
        b.d = fp32_to_fp16(d);
        b.m = fp32_to_fp16(lo);
        uint32_t qh = 0;
        for (int j = 0; j < QK / 2; ++j) {
            const int q0 = std::clamp(int(std::trunc((x[j] - lo) * id + 0.5f)), 0, 31);
            const int q1 = std::clamp(int(std::trunc((x[j + QK / 2] - lo) * id + 0.5f)), 0, 31);
            b.qs[j] = uint8_t((q0 & 0xF) | ((q1 & 0xF) << 4));
            qh |= uint32_t(q0 >> 4) << j | uint32_t(q1 >> 4) << (j + QK / 2);
        }
        for (int k = 0; k < 4; ++k) b.qh[k] = uint8_t(qh >> (8 * k));
        std::memcpy(p + i * sizeof(b), &b, sizeof(b));
    }
}

}  // namespace hotrod::quant
