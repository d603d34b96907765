// Scalar dot references of the float weight formats (F32, F16, BF16) against F32 activations: widen each
// weight to float and accumulate in order in float, as plainly as it can be written.
#include <cstring>

#include "quant/dot_ref.h"
#include "quant/half.h"

namespace hotrod::quant {

float dot_ref_f32(int64_t n, const void* w, const void* x_f32) {
    // Weight rows may sit at any byte offset (a row stride need not keep 4-byte alignment): load by memcpy.
    const auto* wb = static_cast<const uint8_t*>(w);
    const auto* xf = static_cast<const float*>(x_f32);
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        float wi;
        std::memcpy(&wi, wb + 4 * i, sizeof wi);
        sum += wi * xf[i];
    }
    return sum;
}

float dot_ref_f16(int64_t n, const void* w, const void* x_f32) {
    const auto* wh = static_cast<const uint16_t*>(w);
    const auto* xf = static_cast<const float*>(x_f32);
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += fp16_to_fp32(wh[i]) * xf[i];
    return sum;
}

float dot_ref_bf16(int64_t n, const void* w, const void* x_f32) {
    const auto* wh = static_cast<const uint16_t*>(w);
    const auto* xf = static_cast<const float*>(x_f32);
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += bf16_to_fp32(wh[i]) * xf[i];
    return sum;
}

}  // namespace hotrod::quant
