// A synthetic model for the writer tests: metadata of every value type (empty, nested and string arrays
// included) and tensors of several types and ranks with random bytes. Kept as plain data so each test can
// compare against it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gguf/writer.h"
#include "quant/types.h"

namespace hotrod::gguf::test {

struct SampleTensor {
    std::string name;
    quant::DType type;
    std::vector<int64_t> shape;
    std::vector<std::byte> data;
};

struct SampleModel {
    std::vector<std::pair<std::string, Value>> kv;
    std::vector<SampleTensor> tensors;
};

inline SampleModel make_sample_model(uint32_t seed = 1234) {
    SampleModel m;
    auto add = [&](std::string key, Value v) { m.kv.emplace_back(std::move(key), std::move(v)); };
    add("general.architecture", Value::string("llama"));
    add("general.name", Value::string("sample \xe2\x9c\x93 \"quoted\"\n"));
    add("sample.empty_string", Value::string(""));
    add("sample.nul_inside", Value::string(std::string_view("a\0b", 3)));
    add("sample.u8", Value::scalar<uint8_t>(250));
    add("sample.i8", Value::scalar<int8_t>(-120));
    add("sample.u16", Value::scalar<uint16_t>(65000));
    add("sample.i16", Value::scalar<int16_t>(-32000));
    add("sample.u32", Value::scalar<uint32_t>(4000000000u));
    add("sample.i32", Value::scalar<int32_t>(-2000000000));
    add("sample.u64", Value::scalar<uint64_t>(18000000000000000000ull));
    add("sample.i64", Value::scalar<int64_t>(-9000000000000000000ll));
    add("sample.f32", Value::scalar<float>(-1.25e-7f));
    add("sample.f64", Value::scalar<double>(3.141592653589793));
    add("sample.bool_true", Value::scalar<bool>(true));
    add("sample.bool_false", Value::scalar<bool>(false));
    add("llama.context_length", Value::scalar<uint32_t>(4096));
    add("sample.arr_u8", Value::array(std::vector<uint8_t>{0, 1, 255}));
    add("sample.arr_i8", Value::array(std::vector<int8_t>{-128, 0, 127}));
    add("sample.arr_u16", Value::array(std::vector<uint16_t>{1, 65535}));
    add("sample.arr_i16", Value::array(std::vector<int16_t>{-32768, 32767}));
    add("sample.arr_u32", Value::array(std::vector<uint32_t>{7, 8, 9, 4294967295u}));
    add("sample.arr_i32", Value::array(std::vector<int32_t>{-1, 2, -3}));
    add("sample.arr_u64", Value::array(std::vector<uint64_t>{1ull << 63, 5}));
    add("sample.arr_i64", Value::array(std::vector<int64_t>{-(1ll << 62), 6}));
    add("sample.arr_f32", Value::array(std::vector<float>{0.5f, -2.0f, 1e30f}));
    add("sample.arr_f64", Value::array(std::vector<double>{1e-300, -0.0, 2.5}));
    add("sample.arr_str",
        Value::string_array(std::vector<std::string>{"alpha", "", "\xc4\xa0t", "<|im_end|>"}));
    add("sample.arr_empty_i32", Value::array(std::vector<int32_t>{}));
    add("sample.arr_of_arr_u8", Value::array_of_arrays({Value::array(std::vector<uint8_t>{1, 2}),
                                                        Value::array(std::vector<uint8_t>{3, 4, 5})}));
    add("sample.arr_of_arr_str",
        Value::array_of_arrays({Value::string_array(std::vector<std::string>{"x", "yz"}),
                                Value::string_array(std::vector<std::string>{"w"})}));
    add("sample.arr_3_deep",
        Value::array_of_arrays({Value::array_of_arrays({Value::array(std::vector<int16_t>{-7})})}));
    // Bool arrays: built from a byte span so the stored bytes are exactly 0/1.
    {
        const std::vector<uint8_t> bits{1, 0, 1, 1};
        add("sample.arr_bool",
            Value::view_array(ValueType::Bool, bits.size(), std::as_bytes(std::span<const uint8_t>(bits)))
                .deep_copy());
    }

    std::mt19937 rng(seed);
    auto tensor = [&](std::string name, quant::DType type, std::vector<int64_t> shape) {
        int64_t n = 1;
        for (auto d : shape) n *= d;
        const size_t bytes = *quant::row_bytes(type, shape[0]) * size_t(n / shape[0]);
        std::vector<std::byte> data(bytes);
        for (auto& b : data) b = std::byte(rng() & 0xff);
        m.tensors.push_back({std::move(name), type, std::move(shape), std::move(data)});
    };
    tensor("token_embd.weight", quant::DType::Q8_0, {64, 10});
    tensor("blk.0.attn_norm.weight", quant::DType::F32, {7});
    tensor("blk.0.attn_q.weight", quant::DType::Q4_K, {256, 3});
    tensor("blk.0.ffn_down.weight", quant::DType::Q6_K, {512, 2});
    tensor("blk.0.ffn_up.weight", quant::DType::Q4_0, {32, 3, 2});
    tensor("blk.0.ffn_gate.weight", quant::DType::Q5_0, {96, 5});
    tensor("blk.0.x.weight", quant::DType::F16, {5, 3, 2, 2});
    tensor("blk.0.y.weight", quant::DType::BF16, {9, 1});
    tensor("output.weight", quant::DType::Q4_1, {64, 4});
    return m;
}

inline Writer make_writer(const SampleModel& m, uint32_t alignment) {
    Writer w(alignment);
    for (const auto& [k, v] : m.kv) w.set(k, v);
    for (const auto& t : m.tensors) w.add_tensor(t.name, t.type, t.shape, t.data);
    return w;
}

}  // namespace hotrod::gguf::test
