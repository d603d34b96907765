// dequantize_row against gguf-py's dequantize on random blocks of every supported format (fixture blocks.json),
// and its error handling. Every format is expected bit-exact: each reference computes in float32 in the same
// order as gguf-py (scale * sub-scale first, then * q, then - min), and the build does not contract to FMA.
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <stdexcept>

#include "fixture.h"
#include "quant/dequantize.h"

namespace hotrod::quant {
namespace {

TEST(Dequantize, MatchesGgufOnRandomBlocks) {
    const auto fx = test::load_fixture("blocks.json");
    int n_formats = 0;
    for (const auto& f : fx["formats"]) {
        const auto type = type_from_name(f["type"].get<std::string>());
        ASSERT_TRUE(type.has_value()) << f["type"];
        SCOPED_TRACE(f["type"].get<std::string>());
        const auto bytes = test::from_hex(f["bytes"]);
        const int64_t n = f["n"];
        ASSERT_EQ(row_bytes(*type, n), bytes.size());
        std::vector<float> out(size_t(n), -1.0f);
        dequantize_row(*type, bytes.data(), out.data(), n);
        int n_bad = 0;
        for (int64_t i = 0; i < n; ++i) {
            const float want = float(f["values"][size_t(i)].get<double>());
            if (std::bit_cast<uint32_t>(out[size_t(i)]) != std::bit_cast<uint32_t>(want) && n_bad++ < 5)
                ADD_FAILURE() << "element " << i << ": got " << out[size_t(i)] << ", gguf " << want;
        }
        EXPECT_EQ(n_bad, 0);
        ++n_formats;
    }
    EXPECT_EQ(n_formats, 14);
}

TEST(Dequantize, UnalignedSourceAndRowByRow) {
    // Blocks are copied out, so a source at an odd address works; rows of one block each give the same values.
    const auto fx = test::load_fixture("blocks.json");
    for (const auto& f : fx["formats"]) {
        const DType type = *type_from_name(f["type"].get<std::string>());
        const auto bytes = test::from_hex(f["bytes"]);
        const int64_t n = f["n"];
        std::vector<uint8_t> shifted(bytes.size() + 1);
        std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
        std::vector<float> whole(static_cast<size_t>(n)), pieces(static_cast<size_t>(n));
        dequantize_row(type, shifted.data() + 1, whole.data(), n);
        const int64_t bs = type_info(type).block_size;
        const size_t bb = type_info(type).block_bytes;
        for (int64_t b = 0; b < n / bs; ++b)
            dequantize_row(type, bytes.data() + size_t(b) * bb, pieces.data() + b * bs, bs);
        EXPECT_EQ(0, std::memcmp(whole.data(), pieces.data(), whole.size() * sizeof(float))) << f["type"];
    }
}

TEST(Dequantize, RejectsUnsupportedTypesAndRaggedRows) {
    uint8_t buf[512] = {};
    float out[256];
    try {
        dequantize_row(DType::IQ2_XXS, buf, out, 256);
        FAIL() << "IQ2_XXS should throw";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("IQ2_XXS"), std::string::npos) << e.what();
    }
    EXPECT_THROW(dequantize_row(DType::Q4_K, buf, out, 100), std::invalid_argument);
    EXPECT_THROW(dequantize_row(DType::Q4_0, buf, out, 33), std::invalid_argument);
    EXPECT_THROW(dequantize_row(DType::Q4_0, buf, out, -32), std::invalid_argument);
    EXPECT_NO_THROW(dequantize_row(DType::Q4_0, buf, out, 0));
}

TEST(Dequantize, CanDequantizeFlagMatchesImplementation) {
    // can_dequantize must be true exactly where dequantize_row does not throw.
    std::vector<uint8_t> buf(4096, 0);
    std::vector<float> out(256);
    for (uint32_t id = 0; id < 64; ++id) {
        const TypeInfo* info = type_info(id);
        if (!info) continue;
        bool threw = false;
        try {
            dequantize_row(info->type, buf.data(), out.data(), info->block_size);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        EXPECT_EQ(info->can_dequantize, !threw) << info->name;
    }
}

}  // namespace
}  // namespace hotrod::quant
