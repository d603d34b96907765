// The GGUF/GGML tensor element types: their on-disk ids, block sizes and byte sizes.
// This is the one table every other layer asks "how many bytes does a row of n elements take?".
// Layouts of the block formats live in blocks.h; conversions in dequantize.h / quantize.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hotrod::quant {

// Values are the type ids stored in GGUF files (gaps are ids the format has retired).
enum class DType : uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

struct TypeInfo {
    DType type;
    std::string_view name;   // as gguf-py spells it: "Q4_K", "BF16"
    uint32_t block_size;     // elements per block (1 for plain scalars)
    uint32_t block_bytes;    // bytes per block
    bool can_dequantize;     // hotrod implements dequantize for it
};

// nullptr for an id that is not a known type (the GGUF reader turns that into an error).
const TypeInfo* type_info(uint32_t type_id);
const TypeInfo& type_info(DType type);
std::string_view type_name(DType type);
std::optional<DType> type_from_name(std::string_view name);

// Bytes of a row of n elements; nullopt when n is not a whole number of blocks.
std::optional<size_t> row_bytes(DType type, int64_t n);

}  // namespace hotrod::quant
