// Run-time weight type -> compile-time Format<T>: visit_block_type calls fn(std::integral_constant<DType, T>{})
// for every block format the matmul and embedding kernels take, and returns false for any other type. Shared by
// matmul.cu, matmul_decode.cu, matmul_prefill.cu and dequant.cu so the list of formats is written once.
#pragma once

#include <type_traits>

#include "cuda/formats.cuh"
#include "cuda/formats_k.cuh"
#include "cuda/formats_q32.cuh"
#include "quant/types.h"

namespace hotrod::cuda {

template <quant::DType T>
using DTypeConst = std::integral_constant<quant::DType, T>;

template <class Fn>
bool visit_block_type(quant::DType type, Fn&& fn) {
    using quant::DType;
    switch (type) {
        case DType::Q4_0: fn(DTypeConst<DType::Q4_0>{}); return true;
        case DType::Q4_1: fn(DTypeConst<DType::Q4_1>{}); return true;
        case DType::Q5_0: fn(DTypeConst<DType::Q5_0>{}); return true;
        case DType::Q5_1: fn(DTypeConst<DType::Q5_1>{}); return true;
        case DType::Q8_0: fn(DTypeConst<DType::Q8_0>{}); return true;
        case DType::Q2_K: fn(DTypeConst<DType::Q2_K>{}); return true;
        case DType::Q3_K: fn(DTypeConst<DType::Q3_K>{}); return true;
        case DType::Q4_K: fn(DTypeConst<DType::Q4_K>{}); return true;
        case DType::Q5_K: fn(DTypeConst<DType::Q5_K>{}); return true;
        case DType::Q6_K: fn(DTypeConst<DType::Q6_K>{}); return true;
        default: return false;
    }
}

// The float weight formats: fn(DTypeConst<T>{}) for F32 / F16 / BF16, false otherwise.
template <class Fn>
bool visit_float_type(quant::DType type, Fn&& fn) {
    using quant::DType;
    switch (type) {
        case DType::F32: fn(DTypeConst<DType::F32>{}); return true;
        case DType::F16: fn(DTypeConst<DType::F16>{}); return true;
        case DType::BF16: fn(DTypeConst<DType::BF16>{}); return true;
        default: return false;
    }
}

// Element i of a float-format weight row (F32 rows 4-byte aligned, F16 / BF16 rows 2-byte aligned).
template <quant::DType T>
__device__ __forceinline__ float load_float_weight(const uint8_t* row, int64_t i) {
    if constexpr (T == quant::DType::F32) {
        return reinterpret_cast<const float*>(row)[i];
    } else if constexpr (T == quant::DType::F16) {
        return half_bits_to_float(reinterpret_cast<const uint16_t*>(row)[i]);
    } else {
        static_assert(T == quant::DType::BF16, "float weight formats are F32, F16 and BF16");
        return __uint_as_float(uint32_t(reinterpret_cast<const uint16_t*>(row)[i]) << 16);
    }
}

}  // namespace hotrod::cuda
