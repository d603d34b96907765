// quantize_row(): the type switch over the per-format quantizers, plus the float formats (F32 copy, F16 and BF16
// with round-to-nearest-even, as numpy's astype(float16) and gguf-py's BF16 do).
#include <cstring>
#include <stdexcept>
#include <string>

#include "quant/blocks.h"
#include "quant/half.h"
#include "quant/quantize.h"

namespace hotrod::quant {

void quantize_row_f16_ref(const float* x, void* dst, int64_t n) {
    auto* p = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = fp32_to_fp16(x[i]);
        p[2 * i] = uint8_t(h);
        p[2 * i + 1] = uint8_t(h >> 8);
    }
}

void quantize_row_bf16_ref(const float* x, void* dst, int64_t n) {
    auto* p = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = fp32_to_bf16(x[i]);
        p[2 * i] = uint8_t(h);
        p[2 * i + 1] = uint8_t(h >> 8);
    }
}

namespace {

using QuantizeFn = void (*)(const float*, void*, int64_t);

void quantize_row_f32(const float* x, void* dst, int64_t n) { std::memcpy(dst, x, size_t(n) * sizeof(float)); }

QuantizeFn find_quantizer(DType type) {
    switch (type) {
        case DType::F32: return quantize_row_f32;
        case DType::F16: return quantize_row_f16_ref;
        case DType::BF16: return quantize_row_bf16_ref;
        case DType::Q4_0: return quantize_row_q4_0_ref;
        case DType::Q4_1: return quantize_row_q4_1_ref;
        case DType::Q5_0: return quantize_row_q5_0_ref;
        case DType::Q5_1: return quantize_row_q5_1_ref;
        case DType::Q8_0: return quantize_row_q8_0_ref;
        case DType::Q8_1: return quantize_row_q8_1_ref;
        case DType::Q2_K: return quantize_row_q2_k_ref;
        case DType::Q3_K: return quantize_row_q3_k_ref;
        case DType::Q4_K: return quantize_row_q4_k_ref;
        case DType::Q5_K: return quantize_row_q5_k_ref;
        case DType::Q6_K: return quantize_row_q6_k_ref;
        case DType::Q8_K: return quantize_row_q8_k_ref;
        default: return nullptr;
    }
}

}  // namespace

bool can_quantize(DType type) { return find_quantizer(type) != nullptr; }

void quantize_row(DType type, const float* x, void* dst, int64_t n) {
    const TypeInfo& info = type_info(type);
    const QuantizeFn fn = find_quantizer(type);
    if (!fn) throw std::invalid_argument("quantize_row: no quantizer for type " + std::string(info.name));
    if (n < 0 || n % info.block_size != 0)
        throw std::invalid_argument("quantize_row: " + std::string(info.name) + " rows are whole blocks of " +
                                    std::to_string(info.block_size) + " elements, got n = " + std::to_string(n));
    fn(x, dst, n);
}

void quantize_row_quick(DType type, const float* x, void* dst, int64_t n) {
    if ((type == DType::Q4_K || type == DType::Q6_K) && n >= 0 && n % QK_K == 0) {
        (type == DType::Q4_K ? quantize_row_q4_k_quick : quantize_row_q6_k_quick)(x, dst, n);
        return;
    }
    quantize_row(type, x, dst, n);  // every other type, and the errors
}

}  // namespace hotrod::quant
