// The PyPI gguf reader accepts what our writer writes: the synthetic model is written at two alignments, read
// by check_with_gguf_py.py under $HOTROD_PYTHON (skipped when unset), and its summary compared with the
// writer's input.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "gguf/writer.h"
#include "sample_model.h"
#include "test_util.h"

namespace hotrod::gguf {
namespace {

using nlohmann::json;

std::string run_capture(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = ::pclose(p);
    EXPECT_EQ(status, 0) << cmd;
    return out;
}

json scalar_json(const Value& v) {
    switch (v.type()) {
        case ValueType::Bool:
            return *v.as<bool>();
        case ValueType::String:
            return std::string(*v.as<std::string_view>());
        case ValueType::F32:
        case ValueType::F64:
            return *v.as<double>();
        case ValueType::U8:
        case ValueType::U16:
        case ValueType::U32:
        case ValueType::U64:
            return *v.as<uint64_t>();
        default:
            return *v.as<int64_t>();
    }
}

// gguf-py reports a key's types as the chain down the first element of each nesting level.
json type_chain(const Value& v) {
    json chain = json::array({std::string(value_type_name(v.type()))});
    if (!v.is_array() || v.array_size() == 0) return chain;
    if (v.array_type() == ValueType::Array) {
        for (const auto& t : type_chain(v.array_values()[0])) chain.push_back(t);
    } else {
        chain.push_back(std::string(value_type_name(v.array_type())));
    }
    return chain;
}

// gguf-py flattens nested arrays into their leaves.
void leaves(const Value& v, json& out) {
    if (v.array_type() == ValueType::Array) {
        for (const auto& a : v.array_values()) leaves(a, out);
    } else if (v.array_type() == ValueType::String) {
        for (auto s : v.array_strings()) out.push_back(std::string(s));
    } else {
        const size_t size = value_type_size(v.array_type());
        for (size_t k = 0; k < v.array_size(); ++k)
            out.push_back(scalar_json(Value::view_scalar(v.array_type(), v.array_bytes().data() + k * size)));
    }
}

void check_alignment(uint32_t alignment) {
    const char* python = std::getenv("HOTROD_PYTHON");
    if (!python || !*python) GTEST_SKIP() << "HOTROD_PYTHON not set";
    const test::SampleModel m = test::make_sample_model(7);
    const std::string path =
        (test::scratch_dir() / ("for_gguf_py_" + std::to_string(alignment) + ".gguf")).string();
    test::make_writer(m, alignment).write(path);

    const std::string script = std::string(HOTROD_SOURCE_DIR) + "/tests/unit/gguf/check_with_gguf_py.py";
    const std::string out = run_capture(std::string(python) + " '" + script + "' '" + path + "'");
    const json got = json::parse(out);

    EXPECT_EQ(got["version"], 3);
    EXPECT_EQ(got["alignment"], alignment);
    EXPECT_EQ(got["data_offset"].get<uint64_t>() % alignment, 0u);

    const auto& kv = got["kv"];
    const size_t n_extra = alignment == kDefaultAlignment ? 0 : 1;
    ASSERT_EQ(kv.size(), m.kv.size() + n_extra);
    for (size_t k = 0; k < m.kv.size(); ++k) {
        const auto& [key, v] = m.kv[k];
        EXPECT_EQ(kv[k]["key"], key);
        EXPECT_EQ(kv[k]["types"], type_chain(v)) << key;
        json want;
        if (v.is_array()) {
            want = json::array();
            leaves(v, want);
        } else {
            want = scalar_json(v);
        }
        EXPECT_EQ(kv[k]["value"], want) << key;
    }
    if (n_extra) {
        EXPECT_EQ(kv.back()["key"], "general.alignment");
        EXPECT_EQ(kv.back()["value"], alignment);
    }

    const auto& ts = got["tensors"];
    ASSERT_EQ(ts.size(), m.tensors.size());
    for (size_t k = 0; k < m.tensors.size(); ++k) {
        const auto& t = m.tensors[k];
        EXPECT_EQ(ts[k]["name"], t.name);
        EXPECT_EQ(ts[k]["type"], std::string(quant::type_name(t.type))) << t.name;
        EXPECT_EQ(ts[k]["shape"], json(t.shape)) << t.name;
        EXPECT_EQ(ts[k]["n_bytes"], t.data.size()) << t.name;
        EXPECT_EQ(ts[k]["offset"].get<uint64_t>() % alignment, 0u) << t.name;
        test::Fnv1a64 h;
        h.add(t.data.data(), t.data.size());
        EXPECT_EQ(std::stoull(ts[k]["fnv1a64"].get<std::string>(), nullptr, 16), h.h) << t.name;
    }
}

TEST(GgufPy, ReadsOurFileAlign32) {
    check_alignment(32);
}
TEST(GgufPy, ReadsOurFileAlign64) {
    check_alignment(64);
}

}  // namespace
}  // namespace hotrod::gguf
