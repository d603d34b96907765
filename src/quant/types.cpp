// The type table: one row per GGUF type id (sizes checked against gguf-py's GGML_QUANT_SIZES in tests).
#include "quant/types.h"

#include <array>

namespace hotrod::quant {
namespace {

constexpr std::array kTypes = {
    TypeInfo{DType::F32, "F32", 1, 4, true},
    TypeInfo{DType::F16, "F16", 1, 2, true},
    TypeInfo{DType::Q4_0, "Q4_0", 32, 18, true},
    TypeInfo{DType::Q4_1, "Q4_1", 32, 20, true},
    TypeInfo{DType::Q5_0, "Q5_0", 32, 22, true},
    TypeInfo{DType::Q5_1, "Q5_1", 32, 24, true},
    TypeInfo{DType::Q8_0, "Q8_0", 32, 34, true},
    TypeInfo{DType::Q8_1, "Q8_1", 32, 40, false},
    TypeInfo{DType::Q2_K, "Q2_K", 256, 84, true},
    TypeInfo{DType::Q3_K, "Q3_K", 256, 110, true},
    TypeInfo{DType::Q4_K, "Q4_K", 256, 144, true},
    TypeInfo{DType::Q5_K, "Q5_K", 256, 176, true},
    TypeInfo{DType::Q6_K, "Q6_K", 256, 210, true},
    TypeInfo{DType::Q8_K, "Q8_K", 256, 292, true},
    TypeInfo{DType::IQ2_XXS, "IQ2_XXS", 256, 66, false},
    TypeInfo{DType::IQ2_XS, "IQ2_XS", 256, 74, false},
    TypeInfo{DType::IQ3_XXS, "IQ3_XXS", 256, 98, false},
    TypeInfo{DType::IQ1_S, "IQ1_S", 256, 50, false},
    TypeInfo{DType::IQ4_NL, "IQ4_NL", 32, 18, false},
    TypeInfo{DType::IQ3_S, "IQ3_S", 256, 110, false},
    TypeInfo{DType::IQ2_S, "IQ2_S", 256, 82, false},
    TypeInfo{DType::IQ4_XS, "IQ4_XS", 256, 136, false},
    TypeInfo{DType::I8, "I8", 1, 1, false},
    TypeInfo{DType::I16, "I16", 1, 2, false},
    TypeInfo{DType::I32, "I32", 1, 4, false},
    TypeInfo{DType::I64, "I64", 1, 8, false},
    TypeInfo{DType::F64, "F64", 1, 8, false},
    TypeInfo{DType::IQ1_M, "IQ1_M", 256, 56, false},
    TypeInfo{DType::BF16, "BF16", 1, 2, true},
    TypeInfo{DType::TQ1_0, "TQ1_0", 256, 54, false},
    TypeInfo{DType::TQ2_0, "TQ2_0", 256, 66, false},
    TypeInfo{DType::MXFP4, "MXFP4", 32, 17, false},
};

}  // namespace

const TypeInfo* type_info(uint32_t type_id) {
    for (const auto& t : kTypes)
        if (uint32_t(t.type) == type_id) return &t;
    return nullptr;
}

const TypeInfo& type_info(DType type) { return *type_info(uint32_t(type)); }

std::string_view type_name(DType type) { return type_info(type).name; }

std::optional<DType> type_from_name(std::string_view name) {
    for (const auto& t : kTypes)
        if (t.name == name) return t.type;
    return std::nullopt;
}

std::optional<size_t> row_bytes(DType type, int64_t n) {
    const TypeInfo& t = type_info(type);
    if (n < 0 || n % t.block_size != 0) return std::nullopt;
    return size_t(n / t.block_size) * t.block_bytes;
}

}  // namespace hotrod::quant
