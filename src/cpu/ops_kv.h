// Writing K/V rows into the paged cache: where a position lives (kv_slot) and the F32 -> cache-type row
// conversion (F16, round to nearest even; or Q8_0). The F16 reference is quant::fp32_to_fp16 per element; the
// AVX2 / AVX-512 versions use F16C (VCVTPS2PH, also round to nearest even, so bit-identical on finite input).
#pragma once

#include <cstdint>

#include "cpu/dot.h"
#include "quant/types.h"

namespace hotrod::cpu {

// Physical cache row of logical position pos of a sequence whose blocks are block_table[0..].
inline int64_t kv_slot(const int32_t* block_table, int block_size, int32_t pos) {
    return int64_t(block_table[pos / block_size]) * block_size + pos % block_size;
}

// Converts n floats to a cache row of `type` at dst.
using KvRowStoreFn = void (*)(const float* src, void* dst, int64_t n);

void kv_row_store_f16_ref(const float* src, void* dst, int64_t n);

// F16 at any n; Q8_0 needs n a multiple of 32. nullptr for any other type.
KvRowStoreFn find_kv_row_store(quant::DType type, Isa isa);

// Whether `type` can be a KV cache type.
bool is_kv_cache_type(quant::DType type);

namespace kernels {
void kv_row_store_f16_avx2(const float* src, void* dst, int64_t n);
void kv_row_store_f16_avx512(const float* src, void* dst, int64_t n);
}  // namespace kernels

}  // namespace hotrod::cpu
