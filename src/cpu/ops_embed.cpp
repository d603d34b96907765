// Embedding row lookup and elementwise add.
#include "cpu/ops_embed.h"

#include "quant/dequantize.h"

namespace hotrod::cpu {

void embed_row(quant::DType type, const void* row, int64_t n, float scale, float* out) {
    quant::dequantize_row(type, row, out, n);
    if (scale != 1.0f) {
        for (int64_t i = 0; i < n; ++i) out[i] *= scale;
    }
}

void add_row(float* x, const float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace hotrod::cpu
