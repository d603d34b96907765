// The type table (types.cpp) against gguf-py's GGML_QUANT_SIZES (fixture type_sizes.json), and row_bytes.
#include <gtest/gtest.h>

#include "fixture.h"
#include "quant/types.h"

namespace hotrod::quant {
namespace {

TEST(Types, SizesMatchGguf) {
    const auto fx = test::load_fixture("type_sizes.json");
    int n_checked = 0;
    for (const auto& t : fx["types"]) {
        const TypeInfo* info = type_info(t["id"].get<uint32_t>());
        if (!info) continue;  // a type newer than our table (e.g. NVFP4): the reader reports it as unknown
        SCOPED_TRACE(t["name"].get<std::string>());
        EXPECT_EQ(info->name, t["name"].get<std::string>());
        EXPECT_EQ(info->block_size, t["block_size"].get<uint32_t>());
        EXPECT_EQ(info->block_bytes, t["block_bytes"].get<uint32_t>());
        EXPECT_EQ(type_from_name(info->name), info->type);
        ++n_checked;
    }
    // Every row of our table is known to gguf.
    int n_ours = 0;
    for (uint32_t id = 0; id < 256; ++id) n_ours += type_info(id) != nullptr;
    EXPECT_EQ(n_checked, n_ours);
    EXPECT_EQ(type_info(31u), nullptr);
    EXPECT_EQ(type_from_name("Q9_K"), std::nullopt);
}

TEST(Types, RowBytes) {
    EXPECT_EQ(row_bytes(DType::F32, 7), 28u);
    EXPECT_EQ(row_bytes(DType::BF16, 3), 6u);
    EXPECT_EQ(row_bytes(DType::Q4_0, 64), 36u);
    EXPECT_EQ(row_bytes(DType::Q4_0, 0), 0u);
    EXPECT_EQ(row_bytes(DType::Q4_0, 33), std::nullopt);
    EXPECT_EQ(row_bytes(DType::Q4_0, -32), std::nullopt);
    EXPECT_EQ(row_bytes(DType::Q4_K, 512), 288u);
    EXPECT_EQ(row_bytes(DType::Q4_K, 255), std::nullopt);
    EXPECT_EQ(row_bytes(DType::Q4_K, 257), std::nullopt);
    EXPECT_EQ(row_bytes(DType::Q6_K, 2816), 11u * 210u);
    EXPECT_EQ(row_bytes(DType::Q8_K, 256), 292u);
    // Large rows do not overflow: 2^40 elements of Q8_0.
    EXPECT_EQ(row_bytes(DType::Q8_0, int64_t(1) << 40), size_t(34) << 35);
}

}  // namespace
}  // namespace hotrod::quant
