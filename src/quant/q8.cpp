// Dequantize references of the 8-bit formats: Q8_0 (32 elements, fp16 scale) and Q8_K (256 elements, float scale;
// the activation format of the K-format dot products, whose bsums do not enter the values).
// Their quantizers are in quantize_act.cpp, since they run on activations every forward step.
#include <cstring>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/half.h"

namespace hotrod::quant {

void dequantize_row_q8_0_ref(const void* src, float* dst, int64_t n) {
    const auto* p = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n / QK; ++i, dst += QK) {
        BlockQ8_0 b;
        std::memcpy(&b, p + i * sizeof(b), sizeof(b));
        const float d = fp16_to_fp32(b.d);
        for (int j = 0; j < QK; ++j) dst[j] = float(b.qs[j]) * d;
    }
}

void dequantize_row_q8_k_ref(const void* src, float* dst, int64_t n) {
    const auto* p = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n / QK_K; ++i, dst += QK_K) {
        BlockQ8_K b;
        std::memcpy(&b, p + i * sizeof(b), sizeof(b));
        for (int j = 0; j < QK_K; ++j) dst[j] = b.d * float(b.qs[j]);
    }
}

}  // namespace hotrod::quant
