// gguf::Value on its own: lossless conversions only, printing of scalars and summarised arrays, equality, and
// the error messages of typed look-ups (key named after {arch} expansion, expected versus found).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gguf/reader.h"
#include "gguf/writer.h"

namespace hotrod::gguf {
namespace {

TEST(Value, IntegerConversionsAreLossless) {
    const Value u = Value::scalar<uint32_t>(300);
    EXPECT_EQ(u.as<uint32_t>(), 300u);
    EXPECT_EQ(u.as<int64_t>(), 300);
    EXPECT_EQ(u.as<int16_t>(), 300);
    EXPECT_EQ(u.as<uint8_t>(), std::nullopt);  // 300 does not fit
    EXPECT_EQ(u.as<float>(), std::nullopt);    // no integer -> float
    EXPECT_EQ(u.as<bool>(), std::nullopt);
    const Value neg = Value::scalar<int8_t>(-1);
    EXPECT_EQ(neg.as<int32_t>(), -1);
    EXPECT_EQ(neg.as<uint64_t>(), std::nullopt);
    const Value big = Value::scalar<uint64_t>(std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(big.as<int64_t>(), std::nullopt);
    EXPECT_EQ(big.as<uint64_t>(), std::numeric_limits<uint64_t>::max());
    const Value lo = Value::scalar<int64_t>(std::numeric_limits<int64_t>::min());
    EXPECT_EQ(lo.as<int64_t>(), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(lo.as<int32_t>(), std::nullopt);
}

TEST(Value, FloatsBoolsStrings) {
    EXPECT_EQ(Value::scalar<float>(0.1f).as<float>(), 0.1f);
    EXPECT_EQ(Value::scalar<float>(0.1f).as<double>(), double(0.1f));
    EXPECT_EQ(Value::scalar<double>(0.25).as<float>(), 0.25f);
    EXPECT_EQ(Value::scalar<float>(1.0f).as<int32_t>(), std::nullopt);
    EXPECT_EQ(Value::scalar<bool>(true).as<bool>(), true);
    EXPECT_EQ(Value::scalar<bool>(true).as<uint8_t>(), std::nullopt);
    EXPECT_EQ(Value::string("hi").as<std::string_view>(), "hi");
    EXPECT_EQ(Value::string("hi").as<uint32_t>(), std::nullopt);
    // A bool byte other than 0/1 (possible in a file) reads as true without UB.
    const std::byte two{2};
    EXPECT_EQ(Value::view_scalar(ValueType::Bool, &two).as<bool>(), true);
}

TEST(Value, Arrays) {
    const Value a = Value::array(std::vector<int32_t>{1, -2, 3});
    EXPECT_TRUE(a.is_array());
    EXPECT_EQ(a.array_type(), ValueType::I32);
    EXPECT_EQ(a.array_size(), 3u);
    EXPECT_EQ(a.as_array<int64_t>(), (std::vector<int64_t>{1, -2, 3}));
    EXPECT_EQ(a.as_array<uint32_t>(), std::nullopt);  // -2
    EXPECT_EQ(a.as_array<std::string_view>(), std::nullopt);
    EXPECT_EQ(a.as<int32_t>(), std::nullopt);  // not a scalar
    const Value s = Value::string_array(std::vector<std::string>{"a", "b"});
    EXPECT_EQ(s.as_array<std::string>(), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(s.as_array<int32_t>(), std::nullopt);
    EXPECT_THROW(Value::array_of_arrays({Value::scalar<uint8_t>(1)}), Error);
}

TEST(Value, ToString) {
    EXPECT_EQ(Value::scalar<int16_t>(-5).to_string(), "-5");
    EXPECT_EQ(Value::scalar<bool>(false).to_string(), "false");
    EXPECT_EQ(Value::scalar<float>(0.5f).to_string(), "0.5");
    EXPECT_EQ(Value::string("a\"b\n\x01").to_string(), "\"a\\\"b\\n\\x01\"");
    std::vector<uint16_t> many(20);
    for (size_t k = 0; k < many.size(); ++k) many[k] = uint16_t(k);
    EXPECT_EQ(Value::array(many).to_string(3), "[0, 1, 2, ... (17 more)]");
    EXPECT_EQ(Value::array_of_arrays(
                  {Value::array(std::vector<uint8_t>{1}), Value::string_array(std::vector<std::string>{"x"})})
                  .to_string(),
              "[[1], [\"x\"]]");
}

TEST(Value, Equality) {
    EXPECT_TRUE(Value::scalar<uint32_t>(1) == Value::scalar<uint32_t>(1));
    EXPECT_FALSE(Value::scalar<uint32_t>(1) == Value::scalar<uint64_t>(1));  // type is part of the value
    const float nan = std::numeric_limits<float>::quiet_NaN();
    EXPECT_TRUE(Value::scalar<float>(nan) == Value::scalar<float>(nan));
    EXPECT_FALSE(Value::array(std::vector<uint8_t>{1, 2}) == Value::array(std::vector<uint8_t>{1, 3}));
    EXPECT_TRUE(Value::string_array(std::vector<std::string>{"a"}) ==
                Value::string_array(std::vector<std::string>{"a"}));
}

TEST(FileLookup, ArchExpansionAndMessages) {
    Writer w;
    w.set("general.architecture", Value::string("qwen3"));
    w.set("qwen3.block_count", Value::scalar<uint32_t>(28));
    w.set("qwen3.rope.freq_base", Value::scalar<float>(1e6f));
    w.set("tokenizer.ggml.tokens", Value::string_array(std::vector<std::string>{"a", "b", "c"}));
    const auto bytes = w.serialize();
    const File f = File::open_bytes("qwen.gguf", bytes);
    EXPECT_EQ(f.architecture(), "qwen3");
    EXPECT_EQ(f.get<uint32_t>("{arch}.block_count"), 28u);
    EXPECT_EQ(f.find<uint32_t>("{arch}.expert_count"), std::nullopt);
    EXPECT_EQ(f.get<float>("{arch}.rope.freq_base"), 1e6f);
    EXPECT_TRUE(f.tensors().empty());
    auto message = [&](auto&& fn) {
        try {
            fn();
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message([&] { f.get<uint32_t>("{arch}.expert_count"); }),
              "qwen.gguf: key qwen3.expert_count not found");
    EXPECT_EQ(message([&] { f.get<std::string_view>("{arch}.block_count"); }),
              "qwen.gguf: key qwen3.block_count: expected string, found u32 28");
    EXPECT_EQ(message([&] { f.get_array<float>("tokenizer.ggml.tokens"); }),
              "qwen.gguf: key tokenizer.ggml.tokens: expected array of f32, found array of string [\"a\", "
              "\"b\", \"c\"]");
    EXPECT_EQ(message([&] { f.tensor("output.weight"); }), "qwen.gguf: tensor output.weight not found");
}

TEST(FileLookup, NoArchitecture) {
    Writer w;
    w.set("general.name", Value::string("x"));
    const auto bytes = w.serialize();
    const File f = File::open_bytes("noarch.gguf", bytes);
    EXPECT_EQ(f.architecture(), "");
    try {
        f.get<uint32_t>("{arch}.block_count");
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("general.architecture is missing"), std::string::npos)
            << e.what();
    }
}

TEST(FileLookup, ArchitectureMustBeString) {
    Writer w;
    w.set("general.architecture", Value::scalar<uint32_t>(1));
    const auto bytes = w.serialize();
    EXPECT_THROW(File::open_bytes("x.gguf", bytes), Error);
}

TEST(FileLookup, ErrorNamesOffsetInHex) {
    Writer w;
    w.set("general.architecture", Value::string("llama"));
    auto bytes = w.serialize();
    bytes.resize(66);  // inside "llama": 24 header + 28 key + 4 type + 8 length + 2 bytes
    try {
        File::open_bytes("cut.gguf", bytes);
        ADD_FAILURE();
    } catch (const Error& e) {
        // The string's length field sits after magic, version, counts (24), key (8 + 20) and value type (4).
        EXPECT_STREQ(e.what(),
                     "cut.gguf: offset 0x38: key general.architecture: string value of 5 bytes runs past "
                     "the end of the file: 2 bytes remain");
    }
}

}  // namespace
}  // namespace hotrod::gguf
