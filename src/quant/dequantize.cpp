// dequantize_row(): the type switch over the per-format references, plus the float formats (F32, F16, BF16), whose
// conversions are exact (every fp16 and bf16 value is a float32 value).
#include "quant/dequantize.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "quant/half.h"

namespace hotrod::quant {

void dequantize_row_f32_ref(const void* src, float* dst, int64_t n) {
    std::memcpy(dst, src, size_t(n) * sizeof(float));
}

void dequantize_row_f16_ref(const void* src, float* dst, int64_t n) {
    const auto* p = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(uint16_t(p[2 * i] | p[2 * i + 1] << 8));
}

void dequantize_row_bf16_ref(const void* src, float* dst, int64_t n) {
    const auto* p = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(uint16_t(p[2 * i] | p[2 * i + 1] << 8));
}

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
    const TypeInfo& info = type_info(type);
    if (n < 0 || n % info.block_size != 0)
        throw std::invalid_argument("dequantize_row: " + std::string(info.name) + " rows are whole blocks of " +
                                    std::to_string(info.block_size) + " elements, got n = " + std::to_string(n));
    switch (type) {
        case DType::F32: return dequantize_row_f32_ref(src, dst, n);
        case DType::F16: return dequantize_row_f16_ref(src, dst, n);
        case DType::BF16: return dequantize_row_bf16_ref(src, dst, n);
        case DType::Q4_0: return dequantize_row_q4_0_ref(src, dst, n);
        case DType::Q4_1: return dequantize_row_q4_1_ref(src, dst, n);
        case DType::Q5_0: return dequantize_row_q5_0_ref(src, dst, n);
        case DType::Q5_1: return dequantize_row_q5_1_ref(src, dst, n);
        case DType::Q8_0: return dequantize_row_q8_0_ref(src, dst, n);
        case DType::Q2_K: return dequantize_row_q2_k_ref(src, dst, n);
        case DType::Q3_K: return dequantize_row_q3_k_ref(src, dst, n);
        case DType::Q4_K: return dequantize_row_q4_k_ref(src, dst, n);
        case DType::Q5_K: return dequantize_row_q5_k_ref(src, dst, n);
        case DType::Q6_K: return dequantize_row_q6_k_ref(src, dst, n);
        case DType::Q8_K: return dequantize_row_q8_k_ref(src, dst, n);
        default: break;
    }
    throw std::invalid_argument("dequantize_row: no dequantizer for type " + std::string(info.name));
}

}  // namespace hotrod::quant
