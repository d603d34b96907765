// Writer -> reader round trips: every value type (nested and empty arrays too), several tensor types and
// ranks, several alignments, and split models written in 3 parts and opened through any part.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "sample_model.h"
#include "test_util.h"

namespace hotrod::gguf {
namespace {

void expect_tensor(const TensorInfo& t, const test::SampleTensor& want, uint32_t alignment) {
    EXPECT_EQ(t.name, want.name);
    EXPECT_EQ(t.type, want.type) << want.name;
    ASSERT_EQ(size_t(t.n_dims), want.shape.size()) << want.name;
    int64_t n = 1;
    for (size_t d = 0; d < want.shape.size(); ++d) {
        EXPECT_EQ(t.dims[d], want.shape[d]) << want.name;
        n *= want.shape[d];
    }
    EXPECT_EQ(t.n_elements, n) << want.name;
    ASSERT_EQ(t.n_bytes, want.data.size()) << want.name;
    EXPECT_EQ(t.file_offset % alignment, 0u) << want.name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % alignment, 0u) << want.name;  // mmap is page aligned
    EXPECT_EQ(std::memcmp(t.data, want.data.data(), want.data.size()), 0) << want.name;
}

class RoundTrip : public testing::TestWithParam<uint32_t> {};

TEST_P(RoundTrip, EveryValueTypeAndTensor) {
    const uint32_t alignment = GetParam();
    const test::SampleModel m = test::make_sample_model();
    const std::string path =
        (test::scratch_dir() / ("roundtrip_" + std::to_string(alignment) + ".gguf")).string();
    test::make_writer(m, alignment).write(path);

    const File f = File::open(path);
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), alignment);
    EXPECT_EQ(f.data_offset() % alignment, 0u);
    const size_t n_extra = alignment == kDefaultAlignment ? 0 : 1;  // general.alignment, added by the writer
    ASSERT_EQ(f.metadata().size(), m.kv.size() + n_extra);
    for (size_t k = 0; k < m.kv.size(); ++k) {
        EXPECT_EQ(f.metadata()[k].key, m.kv[k].first);
        EXPECT_TRUE(f.metadata()[k].value == m.kv[k].second)
            << m.kv[k].first << ": read " << f.metadata()[k].value.to_string() << ", wrote "
            << m.kv[k].second.to_string();
    }
    if (n_extra) {
        EXPECT_EQ(f.get<uint32_t>("general.alignment"), alignment);
    }

    ASSERT_EQ(f.tensors().size(), m.tensors.size());
    for (size_t k = 0; k < m.tensors.size(); ++k) expect_tensor(f.tensors()[k], m.tensors[k], alignment);

    // Typed access to what was written.
    EXPECT_EQ(f.get<uint32_t>("{arch}.context_length"), 4096u);
    EXPECT_EQ(f.get<int64_t>("sample.i64"), -9000000000000000000ll);
    EXPECT_EQ(f.get<uint64_t>("sample.u64"), 18000000000000000000ull);
    EXPECT_THROW(f.find<int64_t>("sample.u64"), Error);  // present but of a type that cannot hold it
    EXPECT_THROW(f.get<int64_t>("sample.u64"), Error);   // does not fit
    EXPECT_EQ(f.get<float>("sample.f32"), -1.25e-7f);
    EXPECT_EQ(f.get<double>("sample.f64"), 3.141592653589793);
    EXPECT_EQ(f.get<std::string_view>("sample.nul_inside"), std::string_view("a\0b", 3));
    EXPECT_EQ(f.get_array<int64_t>("sample.arr_u8"), (std::vector<int64_t>{0, 1, 255}));
    EXPECT_EQ(f.get_array<float>("sample.arr_f32"), (std::vector<float>{0.5f, -2.0f, 1e30f}));
    EXPECT_EQ(f.get_array<bool>("sample.arr_bool"), (std::vector<bool>{true, false, true, true}));
    EXPECT_EQ(f.get_array<std::string>("sample.arr_str"),
              (std::vector<std::string>{"alpha", "", "\xc4\xa0t", "<|im_end|>"}));
    EXPECT_TRUE(f.get_array<int32_t>("sample.arr_empty_i32").empty());
    EXPECT_THROW(f.get_array<uint8_t>("sample.arr_i8"), Error);  // -128 does not fit
    const Value& nested = f.value("sample.arr_of_arr_str");
    ASSERT_EQ(nested.array_type(), ValueType::Array);
    ASSERT_EQ(nested.array_size(), 2u);
    EXPECT_EQ(nested.array_values()[0].array_strings()[1], "yz");
    const Value& deep = f.value("sample.arr_3_deep");
    EXPECT_EQ(deep.array_values()[0].array_values()[0].as_array<int16_t>(), (std::vector<int16_t>{-7}));
}

INSTANTIATE_TEST_SUITE_P(Alignments, RoundTrip, testing::Values(1u, 8u, 32u, 64u, 4096u));

TEST(Writer, RejectsBadInput) {
    EXPECT_THROW(Writer(0), Error);
    EXPECT_THROW(Writer(48), Error);
    Writer w;
    const std::vector<std::byte> data(18);
    const std::vector<int64_t> shape{32};
    w.add_tensor("a", quant::DType::Q4_0, shape, data);
    EXPECT_THROW(w.add_tensor("a", quant::DType::Q4_0, shape, data), Error);  // duplicate
    EXPECT_THROW(w.add_tensor("b", quant::DType::Q4_0, std::vector<int64_t>{31}, data),
                 Error);  // not whole blocks
    EXPECT_THROW(w.add_tensor("c", quant::DType::Q4_0, std::vector<int64_t>{64}, data),
                 Error);  // size mismatch
    EXPECT_THROW(
        w.add_tensor("d", quant::DType::F32, std::vector<int64_t>{1, 1, 1, 1, 1}, std::vector<std::byte>(4)),
        Error);  // 5 dims
    w.set("general.alignment", Value::scalar<uint32_t>(64));
    EXPECT_THROW(w.serialize(), Error);  // contradicts the writer's alignment
}

TEST(Writer, ValueOutlivesItsFile) {
    const test::SampleModel m = test::make_sample_model();
    const std::string path = (test::scratch_dir() / "outlive.gguf").string();
    test::make_writer(m, 32).write(path);
    Value copy;
    {
        const File f = File::open(path);
        copy = f.value("sample.arr_of_arr_str").deep_copy();
    }
    EXPECT_EQ(copy.array_values()[0].array_strings()[0], "x");
}

TEST(Split, ThreePartsOpenThroughAnyPart) {
    const test::SampleModel m = test::make_sample_model(99);
    const auto prefix = (test::scratch_dir() / "split_model").string();
    const auto paths = test::make_writer(m, 64).write_split(prefix, 3);
    ASSERT_EQ(paths.size(), 3u);
    EXPECT_EQ(paths[0], prefix + "-00001-of-00003.gguf");
    EXPECT_EQ(paths[2], prefix + "-00003-of-00003.gguf");

    for (const auto& open_path : paths) {
        const File f = File::open(open_path);
        EXPECT_EQ(f.path(), paths[0]);
        EXPECT_EQ(f.n_parts(), 3u);
        EXPECT_EQ(f.alignment(), 64u);
        EXPECT_EQ(f.get<uint32_t>("split.count"), 3u);
        EXPECT_EQ(f.get<std::string_view>("general.architecture"), "llama");
        ASSERT_EQ(f.tensors().size(), m.tensors.size());
        for (size_t k = 0; k < m.tensors.size(); ++k) {
            const TensorInfo& t = f.tensors()[k];
            expect_tensor(t, m.tensors[k], 64);
            EXPECT_EQ(t.split_no, k * 3 / m.tensors.size()) << t.name;
            EXPECT_EQ(f.find_tensor(m.tensors[k].name), &t);
        }
    }
    const File first_only = File::open_single(paths[0]);
    EXPECT_EQ(first_only.n_parts(), 1u);
    EXPECT_EQ(first_only.tensors().size(), m.tensors.size() / 3);

    // A missing part is an error naming that part.
    std::filesystem::rename(paths[1], paths[1] + ".away");
    try {
        File::open(paths[0]);
        ADD_FAILURE() << "opened a split model with a part missing";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("-00002-of-00003.gguf"), std::string::npos) << e.what();
    }
    std::filesystem::rename(paths[1] + ".away", paths[1]);

    // A part from another split model (wrong split.no) is an error too.
    std::filesystem::copy_file(paths[2], paths[1], std::filesystem::copy_options::overwrite_existing);
    EXPECT_THROW(File::open(paths[0]), Error);
}

TEST(Split, SplitKeysButPlainName) {
    const test::SampleModel m = test::make_sample_model();
    const auto prefix = (test::scratch_dir() / "renamed").string();
    const auto paths = test::make_writer(m, 32).write_split(prefix, 2);
    const std::string plain = (test::scratch_dir() / "renamed.gguf").string();
    std::filesystem::copy_file(paths[0], plain);
    EXPECT_THROW(File::open(plain), Error);     // cannot find the other parts
    EXPECT_NO_THROW(File::open_single(plain));  // but the part itself is valid
}

}  // namespace
}  // namespace hotrod::gguf
