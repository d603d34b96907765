// The reader against the PyPI gguf package on both real models: every key (type and value, long arrays by
// length, first/last items and FNV-1a 64), every tensor (name, type, shape, bytes, absolute offset, first
// data bytes). Fixtures: tests/fixtures/gguf/*.json from tests/fixtures/gen_gguf_fixture.py.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gguf/reader.h"
#include "test_util.h"

namespace hotrod::gguf {
namespace {

using nlohmann::json;

json load_fixture(const std::string& model) {
    const std::string path =
        std::string(HOTROD_FIXTURES_DIR) + "/gguf/" + model.substr(0, model.size() - 5) + ".json";
    std::ifstream f(path);
    EXPECT_TRUE(f.good()) << path;
    return json::parse(f);
}

// One expected item (JSON scalar) against one value.
void expect_same(const json& want, const Value& got, const std::string& where) {
    if (want.is_boolean()) {
        EXPECT_EQ(got.as<bool>(), want.get<bool>()) << where;
    } else if (want.is_number_float()) {
        EXPECT_EQ(got.as<double>(), want.get<double>()) << where;  // f32 widened to double both sides: exact
    } else if (want.is_number_unsigned()) {
        EXPECT_EQ(got.as<uint64_t>(), want.get<uint64_t>()) << where;
    } else if (want.is_number_integer()) {
        EXPECT_EQ(got.as<int64_t>(), want.get<int64_t>()) << where;
    } else if (want.is_string()) {
        const auto s = got.as<std::string_view>();
        if (got.type() == ValueType::String)
            EXPECT_EQ(s, want.get<std::string>()) << where;
        else
            EXPECT_TRUE(std::isnan(*got.as<double>()) || std::isinf(*got.as<double>()))
                << where;  // "nan", "inf"
    } else {
        ADD_FAILURE() << where << ": unexpected JSON " << want.dump();
    }
}

Value element(const Value& a, size_t k) {
    if (a.array_type() == ValueType::String) return Value::view_string(a.array_strings()[k]);
    return Value::view_scalar(a.array_type(), a.array_bytes().data() + k * value_type_size(a.array_type()));
}

uint64_t array_hash(const Value& a) {
    test::Fnv1a64 h;
    if (a.array_type() == ValueType::String) {
        const char zero = 0;
        for (auto s : a.array_strings()) {
            h.add(s.data(), s.size());
            h.add(&zero, 1);
        }
    } else {
        h.add(a.array_bytes().data(), a.array_bytes().size());
    }
    return h.h;
}

std::string hex16(const std::byte* p) {
    std::string s;
    char buf[4];
    for (int k = 0; k < 16; ++k) {
        std::snprintf(buf, sizeof buf, "%02x", unsigned(p[k]));
        s += buf;
    }
    return s;
}

void check_model(const std::string& name) {
    HOTROD_MODEL_OR_SKIP(path, name);
    const json want = load_fixture(name);

    const auto t0 = std::chrono::steady_clock::now();
    const File f = File::open(path);
    const double open_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("[ info     ] %s: File::open %.2f ms (%zu keys, %zu tensors)\n", name.c_str(), open_ms,
                f.metadata().size(), f.tensors().size());

    EXPECT_EQ(f.version(), want["version"].get<uint32_t>());
    EXPECT_EQ(f.alignment(), want["alignment"].get<uint32_t>());
    EXPECT_EQ(f.data_offset(), want["data_offset"].get<uint64_t>());
    EXPECT_EQ(f.n_parts(), 1u);

    const auto& kvs = want["metadata"];
    ASSERT_EQ(f.metadata().size(), kvs.size());
    ASSERT_EQ(f.metadata().size(), want["n_kv"].get<size_t>());
    for (size_t k = 0; k < kvs.size(); ++k) {
        const json& w = kvs[k];
        const KeyValue& kv = f.metadata()[k];
        const std::string key = w["key"];
        ASSERT_EQ(kv.key, key) << "metadata entry #" << k;
        EXPECT_EQ(value_type_name(kv.value.type()), w["type"].get<std::string>()) << key;
        EXPECT_EQ(f.find_value(key), &kv.value) << key;
        if (!kv.value.is_array()) {
            expect_same(w["value"], kv.value, key);
            continue;
        }
        const Value& a = kv.value;
        EXPECT_EQ(value_type_name(a.array_type()), w["elem_type"].get<std::string>()) << key;
        const size_t n = w["length"];
        ASSERT_EQ(a.array_size(), n) << key;
        if (w.contains("items")) {
            for (size_t i = 0; i < n; ++i)
                expect_same(w["items"][i], element(a, i), key + "[" + std::to_string(i) + "]");
            continue;
        }
        const auto& first = w["first"];
        const auto& last = w["last"];
        for (size_t i = 0; i < first.size(); ++i)
            expect_same(first[i], element(a, i), key + "[" + std::to_string(i) + "]");
        for (size_t i = 0; i < last.size(); ++i) {
            const size_t at = n - last.size() + i;
            expect_same(last[i], element(a, at), key + "[" + std::to_string(at) + "]");
        }
        EXPECT_EQ(std::stoull(w["fnv1a64"].get<std::string>(), nullptr, 16), array_hash(a)) << key;
    }

    const auto& ts = want["tensors"];
    ASSERT_EQ(f.tensors().size(), ts.size());
    ASSERT_EQ(f.tensors().size(), want["n_tensors"].get<size_t>());
    for (size_t k = 0; k < ts.size(); ++k) {
        const json& w = ts[k];
        const TensorInfo& t = f.tensors()[k];
        const std::string tname = w["name"];
        ASSERT_EQ(t.name, tname) << "tensor #" << k;
        EXPECT_EQ(quant::type_name(t.type), w["type"].get<std::string>()) << tname;
        const auto shape = w["shape"].get<std::vector<int64_t>>();
        ASSERT_EQ(size_t(t.n_dims), shape.size()) << tname;
        int64_t n_elements = 1;
        for (size_t d = 0; d < shape.size(); ++d) {
            EXPECT_EQ(t.dims[d], shape[d]) << tname << " dim " << d;
            n_elements *= shape[d];
        }
        EXPECT_EQ(t.n_elements, n_elements) << tname;
        EXPECT_EQ(t.n_bytes, w["n_bytes"].get<size_t>()) << tname;
        EXPECT_EQ(t.file_offset, w["offset"].get<uint64_t>()) << tname;
        EXPECT_EQ(t.offset + f.data_offset(), t.file_offset) << tname;
        ASSERT_GE(t.n_bytes, 16u) << tname;
        EXPECT_EQ(hex16(t.data), w["head"].get<std::string>()) << tname;
        EXPECT_EQ(f.find_tensor(tname), &t) << tname;
    }
}

TEST(GgufFixture, SmolLM2MatchesGgufPy) {
    check_model("SmolLM2-135M-Instruct.Q4_1.gguf");
}
TEST(GgufFixture, Gemma3MatchesGgufPy) {
    check_model("gemma-3-270m-q4_k_m.gguf");
}

// The typed look-ups a model loader and the tokenizer use, on the real files.
TEST(GgufFixture, TypedLookups) {
    HOTROD_MODEL_OR_SKIP(path, "gemma-3-270m-q4_k_m.gguf");
    const File f = File::open(path);
    EXPECT_EQ(f.architecture(), "gemma3");
    EXPECT_EQ(f.get<uint32_t>("{arch}.context_length"), 32768u);
    EXPECT_EQ(f.get<uint64_t>("{arch}.context_length"), 32768u);  // lossless widening
    EXPECT_EQ(f.find<uint32_t>("{arch}.no_such_key"), std::nullopt);
    EXPECT_EQ(f.get<std::string_view>("tokenizer.ggml.model"), "llama");
    EXPECT_TRUE(f.get<bool>("tokenizer.ggml.add_bos_token"));
    const auto tokens = f.get_array<std::string_view>("tokenizer.ggml.tokens");
    ASSERT_EQ(tokens.size(), 262144u);
    EXPECT_EQ(tokens[2], "<bos>");
    const auto scores = f.get_array<float>("tokenizer.ggml.scores");
    EXPECT_EQ(scores.size(), 262144u);
    const auto types = f.get_array<int32_t>("tokenizer.ggml.token_type");
    EXPECT_EQ(types[0], 3);
    EXPECT_THROW(f.get<uint8_t>("{arch}.context_length"), Error);  // 32768 does not fit
    EXPECT_THROW(f.get<float>("{arch}.context_length"), Error);
    EXPECT_THROW(f.get<uint32_t>("general.missing"), Error);
    EXPECT_THROW(f.get_array<float>("tokenizer.ggml.tokens"), Error);
    EXPECT_THROW(f.tensor("no.such.tensor"), Error);
    try {
        f.get<float>("{arch}.context_length");
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("gemma3.context_length"), std::string::npos) << msg;
        EXPECT_NE(msg.find("expected f32, found u32"), std::string::npos) << msg;
    }
    const TensorInfo& emb = f.tensor("token_embd.weight");
    EXPECT_EQ(emb.type, quant::DType::Q8_0);
    EXPECT_EQ(emb.dims[0], 640);
    EXPECT_EQ(emb.n_rows(), 262144);
}

}  // namespace
}  // namespace hotrod::gguf
