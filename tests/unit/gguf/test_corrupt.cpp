// Corrupt files: truncations at every byte of the first 4 KB and sampled beyond, and targeted overwrites of
// every structural field (string lengths, array counts, value types, tensor count, n_dims, dims, types,
// offsets, alignment), plus seeded random byte mutations. Each case must be a gguf::Error or a valid file,
// never a crash; the images are exact-size heap buffers opened with File::open_bytes, so ASan sees any read
// past the end.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "sample_model.h"
#include "test_util.h"

namespace hotrod::gguf {
namespace {

using Bytes = std::vector<std::byte>;

// Positions of the structural fields of a valid file, found by a plain walk that trusts the file.
struct Fields {
    std::vector<size_t> key_len, value_type, string_len, array_type, array_count;
    std::vector<size_t> name_len, n_dims, dim0, dim1, tensor_type, tensor_offset;
    size_t alignment_value = 0;
};

struct Walker {
    explicit Walker(const Bytes& bytes) : b(bytes) {}
    const Bytes& b;
    Fields f;
    size_t pos = 24;

    template <class T>
    T at(size_t p) const {
        T x;
        std::memcpy(&x, b.data() + p, sizeof x);
        return x;
    }
    void skip_string(bool record) {
        if (record) f.string_len.push_back(pos);
        pos += 8 + at<uint64_t>(pos);
    }
    void value(uint32_t t) {
        if (t == uint32_t(ValueType::String)) return skip_string(true);
        if (t != uint32_t(ValueType::Array)) {
            pos += value_type_size(ValueType(t));
            return;
        }
        f.array_type.push_back(pos);
        const uint32_t et = at<uint32_t>(pos);
        f.array_count.push_back(pos + 4);
        const uint64_t n = at<uint64_t>(pos + 4);
        pos += 12;
        for (uint64_t k = 0; k < n; ++k) {
            if (et == uint32_t(ValueType::String))
                skip_string(k < 3 || k + 1 == n);
            else if (et == uint32_t(ValueType::Array))
                value(et);
            else
                pos += value_type_size(ValueType(et));
        }
    }
    Fields walk() {
        const uint64_t n_tensors = at<uint64_t>(8), n_kv = at<uint64_t>(16);
        for (uint64_t k = 0; k < n_kv; ++k) {
            f.key_len.push_back(pos);
            const std::string key(reinterpret_cast<const char*>(b.data() + pos + 8), at<uint64_t>(pos));
            skip_string(false);
            f.value_type.push_back(pos);
            const uint32_t t = at<uint32_t>(pos);
            pos += 4;
            if (key == "general.alignment") f.alignment_value = pos;
            value(t);
        }
        for (uint64_t k = 0; k < n_tensors; ++k) {
            f.name_len.push_back(pos);
            skip_string(false);
            f.n_dims.push_back(pos);
            const uint32_t n_dims = at<uint32_t>(pos);
            pos += 4;
            if (n_dims >= 1) f.dim0.push_back(pos);
            if (n_dims >= 2) f.dim1.push_back(pos + 8);
            pos += 8 * n_dims;
            f.tensor_type.push_back(pos);
            pos += 4;
            f.tensor_offset.push_back(pos);
            pos += 8;
        }
        return f;
    }
};

// Opens an image; returns the error text, or "" when the image is (still) a valid file.
std::string try_open(const Bytes& b) {
    try {
        File::open_bytes("corrupt.gguf", b);
        return "";
    } catch (const Error& e) {
        std::string msg = e.what();
        EXPECT_EQ(msg.rfind("corrupt.gguf: ", 0), 0u) << msg;  // names the file first
        return msg;
    }
}

template <class T>
void put(Bytes& b, size_t pos, T x) {
    std::memcpy(b.data() + pos, &x, sizeof x);
}

// Overwrites a field, expects an error containing `expect` (any error when empty), restores the bytes.
template <class T>
void expect_error(Bytes& b, size_t pos, T x, std::string_view expect, const std::string& what) {
    T old;
    std::memcpy(&old, b.data() + pos, sizeof old);
    put(b, pos, x);
    const std::string msg = try_open(b);
    EXPECT_FALSE(msg.empty()) << what << " at " << pos << " = " << uint64_t(x) << ": opened without error";
    EXPECT_NE(msg.find(expect), std::string::npos) << what << ": " << msg;
    put(b, pos, old);
}

// The synthetic model, and a model with SmolLM2's real metadata (vocabulary, merges) and one small tensor per
// real tensor (same name, type and rank), both valid files to start from.
Bytes sample_image() {
    return test::make_writer(test::make_sample_model(3), 64).serialize();
}

TEST(Corrupt, ValidImagesOpen) {
    const Bytes b = sample_image();
    EXPECT_EQ(try_open(b), "");
    EXPECT_FALSE(Walker(b).walk().tensor_offset.empty());
}

TEST(Corrupt, HeaderBasics) {
    Bytes b = sample_image();
    EXPECT_NE(try_open(Bytes{}).find("too short"), std::string::npos);
    expect_error(b, 0, uint32_t(0x58554747), "magic", "magic");
    expect_error(b, 4, uint32_t(1), "version 1", "version");
    expect_error(b, 4, uint32_t(4), "unsupported GGUF version 4", "version");
    expect_error(b, 4, uint32_t(0x03000000), "big-endian", "version");
    expect_error(b, 8, uint64_t(-1), "tensor count", "tensor count");
    expect_error(b, 8, uint64_t(1) << 40, "tensor count", "tensor count");
    expect_error(b, 16, uint64_t(-1), "metadata count", "kv count");
    expect_error(b, 16, uint64_t(1) << 40, "metadata count", "kv count");
    const Fields f = Walker(b).walk();
    expect_error(b, 8, uint64_t(f.tensor_offset.size() + 1), "", "tensor count + 1");
    expect_error(b, 16, uint64_t(f.key_len.size() + 1), "", "kv count + 1");
    // v2 has the v3 layout for little-endian files: accepted.
    put(b, 4, uint32_t(2));
    EXPECT_EQ(try_open(b), "");
}

TEST(Corrupt, EveryStructuralField) {
    Bytes b = sample_image();
    const Fields f = Walker(b).walk();
    const uint64_t size = b.size();
    for (size_t p : f.key_len) {
        expect_error(b, p, uint64_t(-1), "runs past the end", "key length");
        expect_error(b, p, size, "runs past the end", "key length");
    }
    for (size_t p : f.string_len) {
        expect_error(b, p, uint64_t(-1), "runs past the end", "string length");
        expect_error(b, p, uint64_t(1) << 63, "runs past the end", "string length");
    }
    for (size_t p : f.value_type) {
        expect_error(b, p, uint32_t(13), "value type", "value type");
        expect_error(b, p, uint32_t(-1), "value type", "value type");
    }
    for (size_t p : f.array_type) expect_error(b, p, uint32_t(99), "array element type", "array type");
    for (size_t p : f.array_count) {
        expect_error(b, p, uint64_t(-1), "array of", "array count");
        expect_error(b, p, uint64_t(1) << 61, "array of", "array count");
        expect_error(b, p, size, "array of", "array count");
    }
    for (size_t p : f.name_len) expect_error(b, p, uint64_t(-1), "runs past the end", "tensor name length");
    for (size_t p : f.n_dims) {
        expect_error(b, p, uint32_t(5), "n_dims is 5", "n_dims");
        expect_error(b, p, uint32_t(-1), "n_dims", "n_dims");
    }
    for (size_t p : f.dim0) {
        expect_error(b, p, uint64_t(-1), "int64 range", "dims[0]");
        expect_error(b, p, uint64_t(1) << 62, "", "dims[0]");  // data far past the end
        expect_error(b, p, uint64_t(1000003), "", "dims[0]");  // not whole blocks, or past the end
    }
    for (size_t k = 0; k < f.dim1.size(); ++k) {
        const size_t p0 = f.dim1[k] - 8;
        uint64_t d0;
        std::memcpy(&d0, b.data() + p0, 8);
        put(b, p0, uint64_t(1) << 40);
        expect_error(b, f.dim1[k], uint64_t(1) << 40, "overflows", "dims product");
        put(b, p0, d0);
    }
    for (size_t p : f.tensor_type) {
        expect_error(b, p, uint32_t(4), "unknown tensor type id 4", "tensor type");  // a retired id
        expect_error(b, p, uint32_t(1000), "unknown tensor type", "tensor type");
    }
    for (size_t k = 0; k < f.tensor_offset.size(); ++k) {
        const size_t p = f.tensor_offset[k];
        uint64_t off;
        std::memcpy(&off, b.data() + p, 8);
        expect_error(b, p, off + 1, "not a multiple of the alignment", "tensor offset");
        expect_error(b, p, uint64_t(-64), "", "tensor offset");
        expect_error(b, p, uint64_t(size) / 64 * 64, "data needs", "tensor offset");
        if (k > 0) {
            uint64_t prev;
            std::memcpy(&prev, b.data() + f.tensor_offset[k - 1], 8);
            expect_error(b, p, prev, "overlaps", "tensor offset");
        }
    }
    ASSERT_NE(f.alignment_value, 0u);
    expect_error(b, f.alignment_value, uint32_t(0), "power of two", "alignment");
    expect_error(b, f.alignment_value, uint32_t(3), "power of two", "alignment");
    expect_error(b, f.alignment_value, uint32_t(48), "power of two", "alignment");
    expect_error(b, f.alignment_value, uint32_t(1) << 31, "", "alignment");
}

TEST(Corrupt, DuplicateNames) {
    Bytes b = sample_image();
    auto rename = [&](std::string_view from, std::string_view to) {
        const std::string_view s(reinterpret_cast<const char*>(b.data()), b.size());
        const size_t at = s.find(from);
        ASSERT_NE(at, std::string_view::npos);
        std::memcpy(b.data() + at, to.data(), to.size());
    };
    rename("sample.arr_i8", "sample.arr_u8");
    EXPECT_NE(try_open(b).find("duplicate key"), std::string::npos) << try_open(b);
    b = sample_image();
    rename("blk.0.y.weight", "blk.0.x.weight");
    EXPECT_NE(try_open(b).find("duplicate tensor name"), std::string::npos) << try_open(b);
}

TEST(Corrupt, TruncatedSample) {
    const Bytes b = sample_image();
    const File f = File::open_bytes("ok", b);
    size_t data_end = 0;  // bytes past the last tensor's data are padding: a cut there leaves a valid file
    for (const auto& t : f.tensors()) data_end = std::max<size_t>(data_end, t.file_offset + t.n_bytes);
    for (size_t n = 0; n < data_end; ++n) {
        const Bytes cut(b.begin(), b.begin() + std::ptrdiff_t(n));
        EXPECT_NE(try_open(cut), "") << "cut at " << n;
    }
}

TEST(Corrupt, RandomMutations) {
    Bytes b = sample_image();
    const Fields f = Walker(b).walk();
    const size_t header_end = f.tensor_offset.back() + 8;
    std::mt19937_64 rng(42);
    size_t n_errors = 0;
    for (int it = 0; it < 20000; ++it) {
        const size_t p = rng() % header_end;
        const size_t n = 1 + rng() % 8;
        Bytes m = b;
        for (size_t k = 0; k < n && p + k < m.size(); ++k) m[p + k] = std::byte(rng() & 0xff);
        n_errors += !try_open(m).empty();
    }
    EXPECT_GT(n_errors, 1000u);  // most mutations of the header break it; all must stay well-defined
}

// The real header region of a model: every byte of the first 4 KB, then sampled through the tensor infos.
TEST(Corrupt, TruncatedRealHeader) {
    HOTROD_MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf");
    const uint64_t data_offset = File::open(path).data_offset();
    const Bytes head = test::read_bytes(path, size_t(data_offset) + 4096);
    std::vector<size_t> cuts;
    for (size_t n = 0; n < 4096; ++n) cuts.push_back(n);
    // Each cut past 4 KB re-parses the whole vocabulary (~4 ms), so the rest is sampled: strides through the
    // metadata and the tensor infos (the last ~14 KB), every byte around the end of the infos.
    for (size_t n = 4096; n < head.size(); n += 9973) cuts.push_back(n);
    for (size_t n = size_t(data_offset) - 16384; n < size_t(data_offset) - 64; n += 61) cuts.push_back(n);
    for (size_t n = size_t(data_offset) - 64; n < size_t(data_offset) + 64; ++n) cuts.push_back(n);
    for (size_t n : cuts) {
        const Bytes cut(head.begin(), head.begin() + std::ptrdiff_t(n));
        EXPECT_NE(try_open(cut), "") << "cut at " << n;
    }
    // The same through the mmap path, on a temp file, at a few points.
    const std::string tmp = (test::scratch_dir() / "cut.gguf").string();
    for (size_t n :
         {size_t(0), size_t(3), size_t(23), size_t(24), size_t(1000), size_t(data_offset) - 5, head.size()}) {
        test::write_bytes(tmp, head.data(), n);
        EXPECT_THROW(File::open(tmp), Error) << "cut at " << n;
    }
}

// Structural overwrites of the real header (vocabulary, merges, token types and 272 tensor infos).
TEST(Corrupt, RealHeaderFields) {
    HOTROD_MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf");
    const uint64_t data_offset = File::open(path).data_offset();
    Bytes b = test::read_bytes(path, size_t(data_offset));  // header region only: opens with a data error
    const Fields f = Walker(b).walk();
    ASSERT_EQ(f.tensor_offset.size(), 272u);
    EXPECT_NE(try_open(b).find("data needs"), std::string::npos);
    for (size_t p : f.array_count) expect_error(b, p, uint64_t(1) << 60, "array of", "array count");
    for (size_t p : f.string_len)
        expect_error(b, p, uint64_t(data_offset), "runs past the end", "string length");
    for (size_t k = 0; k < f.n_dims.size(); k += 17) {
        expect_error(b, f.n_dims[k], uint32_t(7), "n_dims", "n_dims");
        expect_error(b, f.tensor_type[k], uint32_t(5), "unknown tensor type", "type");
        expect_error(b, f.tensor_offset[k], uint64_t(3), "", "offset");  // tensor 0's data is cut off first
    }
}

}  // namespace
}  // namespace hotrod::gguf
