// Every tensor of the two real models, dequantized by our references, against gguf-py (fixture models.json):
// bytes are read with plain file I/O at the recorded absolute offsets (independent of src/gguf), and the whole
// tensor is compared by an exact hash of its float32 bits, float64 sum and sum of squares, and sampled values.
// Skips when a model is missing, unless HOTROD_REQUIRE_MODELS=1.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fixture.h"
#include "quant/dequantize.h"

namespace hotrod::quant {
namespace {

std::filesystem::path models_dir() {
    if (const char* env = std::getenv("HOTROD_MODELS")) return env;
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home ? home : ".") / ".cache/hotrod/models";
}

void check_model(const std::string& file_name) {
    const auto fx = test::load_fixture("models.json");
    ASSERT_TRUE(fx.contains(file_name)) << "models.json has no entry for " << file_name;
    const auto path = models_dir() / file_name;
    if (!std::filesystem::exists(path)) {
        const char* req = std::getenv("HOTROD_REQUIRE_MODELS");
        if (req && std::string(req) == "1") FAIL() << path << " missing and HOTROD_REQUIRE_MODELS=1";
        GTEST_SKIP() << path << " not found";
    }
    const auto& model = fx[file_name];
    ASSERT_EQ(std::filesystem::file_size(path), model["file_size"].get<uint64_t>())
        << path << " is not the file the fixture was made from";
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << path;

    constexpr int64_t kChunk = int64_t(1) << 20;  // elements per read: a whole number of blocks of every type
    std::vector<uint8_t> bytes;
    std::vector<float> values;
    int n_tensors = 0;
    for (const auto& t : model["tensors"]) {
        const std::string name = t["name"];
        SCOPED_TRACE(file_name + ": " + name);
        const auto type = type_from_name(t["type"].get<std::string>());
        ASSERT_TRUE(type.has_value());
        const int64_t n = t["n"];
        ASSERT_EQ(row_bytes(*type, n), t["n_bytes"].get<uint64_t>());
        in.seekg(std::streamoff(t["offset"].get<uint64_t>()));
        test::BitsHash hash;
        double sum = 0, sum_sq = 0;
        auto sample = t["samples"].begin();
        for (int64_t start = 0; start < n; start += kChunk) {
            const int64_t m = std::min(kChunk, n - start);
            bytes.resize(*row_bytes(*type, m));
            values.resize(size_t(m));
            in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()));
            ASSERT_TRUE(in) << "short read";
            dequantize_row(*type, bytes.data(), values.data(), m);
            for (int64_t i = 0; i < m; ++i) {
                const float v = values[size_t(i)];
                hash.add(std::bit_cast<uint32_t>(v));
                sum += v;
                sum_sq += double(v) * v;
            }
            for (; sample != t["samples"].end() && (*sample)[0].get<int64_t>() < start + m; ++sample) {
                const int64_t i = (*sample)[0].get<int64_t>() - start;
                EXPECT_EQ(values[size_t(i)], float((*sample)[1].get<double>())) << "element " << (i + start);
            }
        }
        EXPECT_EQ(hash.h, t["hash"].get<uint64_t>()) << "dequantized values differ from gguf-py";
        // Sums differ only by summation order (numpy pairwise vs sequential): float64 rounding over n <= 2^28
        // terms stays far below 1e-9 of the scale sqrt(n * sum_sq) that bounds sum |x|.
        const double scale = std::sqrt(double(n) * t["sum_sq"].get<double>()) + 1e-30;
        EXPECT_NEAR(sum, t["sum"].get<double>(), 1e-9 * scale);
        EXPECT_NEAR(sum_sq, t["sum_sq"].get<double>(), 1e-9 * t["sum_sq"].get<double>());
        ++n_tensors;
    }
    EXPECT_GT(n_tensors, 200);
}

TEST(Models, SmolLM2Q4_1DequantizesLikeGguf) { check_model("SmolLM2-135M-Instruct.Q4_1.gguf"); }
TEST(Models, Gemma3Q4_K_MDequantizesLikeGguf) { check_model("gemma-3-270m-q4_k_m.gguf"); }

}  // namespace
}  // namespace hotrod::quant
