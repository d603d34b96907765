// Reference quantizers of the activation formats: Q8_0 (32-element blocks, fp16 scale), Q8_1 (Q8_0 plus the
// fp16 block sum, for Q4_1 / Q5_1) and Q8_K (256-element
// super-blocks, float scale, group-of-16 sums used by the K-format dot products to fold in the mins).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/half.h"
#include "quant/quantize.h"

namespace hotrod::quant {

void quantize_row_q8_0_ref(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_0*>(dst);
    for (int64_t b = 0; b < n / QK; ++b, x += QK) {
        float amax = 0.0f;
        for (int j = 0; j < QK; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = fp32_to_fp16(d);
        for (int j = 0; j < QK; ++j) y[b].qs[j] = int8_t(std::lround(x[j] * id));
    }
}

// Activations as llama.cpp's x86 build quantizes them (its AVX quantize_row_q8_0 / q8_1, not its scalar
// reference, which the weight quantizer above follows): multiplier id = 127 / amax, ties rounded to even.
// Matching these roundings bit for bit matters: a code one step off moves a product by d_w * d_x, and on real
// models such flips were the largest remaining difference to llama.cpp after the attention roundings.
void quantize_row_q8_0_act_ref(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_0*>(dst);
    for (int64_t b = 0; b < n / QK; ++b, x += QK) {
        float amax = 0.0f;
        for (int j = 0; j < QK; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[b].d = fp32_to_fp16(amax / 127.0f);
        for (int j = 0; j < QK; ++j) y[b].qs[j] = int8_t(std::nearbyint(x[j] * id));  // default mode: ties to even
    }
}

void quantize_row_q8_1_ref(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_1*>(dst);
    for (int64_t b = 0; b < n / QK; ++b, x += QK) {
        float amax = 0.0f;
        for (int j = 0; j < QK; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;  // as quantize_row_q8_0_act_ref
        int sum = 0;
        for (int j = 0; j < QK; ++j) {
            y[b].qs[j] = int8_t(std::nearbyint(x[j] * id));
            sum += y[b].qs[j];
        }
        // s from the unrounded d, then both rounded to fp16 (llama.cpp's Q8_1 numbers, see blocks.h).
        y[b].d = fp16_to_fp32(fp32_to_fp16(d));
        y[b].s = fp16_to_fp32(fp32_to_fp16(d * float(sum)));
    }
}

void quantize_row_q8_k_ref(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<BlockQ8_K*>(dst);
    for (int64_t b = 0; b < n / QK_K; ++b, x += QK_K) {
        // Scale by the signed extreme so it maps to exactly -127 (the largest magnitude never clips).
        float amax = 0.0f, extreme = 0.0f;
        for (int j = 0; j < QK_K; ++j) {
            if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); extreme = x[j]; }
        }
        if (amax == 0.0f) {
            std::memset(&y[b], 0, sizeof(BlockQ8_K));
            continue;
        }
        const float iscale = -127.0f / extreme;
        for (int j = 0; j < QK_K; ++j) {
            const int v = int(std::nearbyint(iscale * x[j]));
            y[b].qs[j] = int8_t(std::min(127, v));
        }
        for (int g = 0; g < QK_K / 16; ++g) {
            int sum = 0;
            for (int j = 0; j < 16; ++j) sum += y[b].qs[g * 16 + j];
            y[b].bsums[g] = int16_t(sum);
        }
        y[b].d = 1.0f / iscale;
    }
}

void round_row_like_act_ref(DType act, const float* x, float* out, int64_t n) {
    if (act == DType::Q8_0 || act == DType::Q8_1) {  // Q8_1's codes and d are Q8_0's (see above)
        if (n % QK != 0) throw std::invalid_argument("round_row_like_act_ref: a row of " + std::to_string(n));
        std::vector<BlockQ8_0> q(size_t(n / QK));
        quantize_row_q8_0_act_ref(x, q.data(), n);
        dequantize_row_q8_0_ref(q.data(), out, n);
    } else if (act == DType::Q8_K) {
        if (n % QK_K != 0) throw std::invalid_argument("round_row_like_act_ref: a row of " + std::to_string(n));
        std::vector<BlockQ8_K> q(size_t(n / QK_K));
        quantize_row_q8_k_ref(x, q.data(), n);
        dequantize_row_q8_k_ref(q.data(), out, n);
    } else {
        throw std::invalid_argument("round_row_like_act_ref: " + std::string(type_name(act)) + " is no activation format");
    }
}

}  // namespace hotrod::quant
