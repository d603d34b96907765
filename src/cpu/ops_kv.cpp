// KV cache row conversion: the F16 reference and the table choosing a kernel per cache type and ISA.
#include "cpu/ops_kv.h"

#include "cpu/quantize_act.h"
#include "quant/half.h"

namespace hotrod::cpu {

void kv_row_store_f16_ref(const float* src, void* dst, int64_t n) {
    auto* out = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; ++i) out[i] = quant::fp32_to_fp16(src[i]);
}

bool is_kv_cache_type(quant::DType type) { return type == quant::DType::F16 || type == quant::DType::Q8_0; }

KvRowStoreFn find_kv_row_store(quant::DType type, Isa isa) {
    if (type == quant::DType::Q8_0) return find_quantize_q8_0(isa);  // bit-identical to the quant/ reference
    if (type != quant::DType::F16) return nullptr;
    switch (isa) {
        case Isa::Avx512: return kernels::kv_row_store_f16_avx512;
        case Isa::Avx2: return kernels::kv_row_store_f16_avx2;
        case Isa::Scalar: break;
    }
    return kv_row_store_f16_ref;
}

}  // namespace hotrod::cpu
