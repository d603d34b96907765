// gguf::Writer: serialisation of metadata and tensors into GGUF v3 (little-endian, u64 counts), each tensor's
// data placed at the next multiple of the alignment after the previous one, and the split-model layout.
#include "gguf/writer.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace hotrod::gguf {

namespace {

class Out {
  public:
    std::vector<std::byte> bytes;

    void raw(const void* p, size_t n) {  // resize + memcpy: gcc 12 misreads vector::insert of a few bytes
        if (n == 0) return;
        const size_t at = bytes.size();
        bytes.resize(at + n);
        std::memcpy(bytes.data() + at, p, n);
    }
    template <class T>
    void put(T x) {
        raw(&x, sizeof x);
    }
    void string(std::string_view s) {
        put<uint64_t>(s.size());
        raw(s.data(), s.size());
    }
    void pad_to(uint64_t alignment) { bytes.resize((bytes.size() + alignment - 1) / alignment * alignment); }
};

void put_array_body(Out& o, const Value& v) {
    o.put<uint32_t>(uint32_t(v.array_type()));
    o.put<uint64_t>(v.array_size());
    if (v.array_type() == ValueType::String) {
        for (auto s : v.array_strings()) o.string(s);
    } else if (v.array_type() == ValueType::Array) {
        for (const auto& a : v.array_values()) put_array_body(o, a);
    } else {
        o.raw(v.array_bytes().data(), v.array_bytes().size());
    }
}

void put_value(Out& o, const Value& v) {
    switch (v.type()) {
        case ValueType::U8:
            o.put(*v.as<uint8_t>());
            break;
        case ValueType::I8:
            o.put(*v.as<int8_t>());
            break;
        case ValueType::U16:
            o.put(*v.as<uint16_t>());
            break;
        case ValueType::I16:
            o.put(*v.as<int16_t>());
            break;
        case ValueType::U32:
            o.put(*v.as<uint32_t>());
            break;
        case ValueType::I32:
            o.put(*v.as<int32_t>());
            break;
        case ValueType::U64:
            o.put(*v.as<uint64_t>());
            break;
        case ValueType::I64:
            o.put(*v.as<int64_t>());
            break;
        case ValueType::F32:
            o.put(*v.as<float>());
            break;
        case ValueType::F64:
            o.put(*v.as<double>());
            break;
        case ValueType::Bool:
            o.put<uint8_t>(*v.as<bool>() ? 1 : 0);
            break;
        case ValueType::String:
            o.string(*v.as<std::string_view>());
            break;
        case ValueType::Array:
            put_array_body(o, v);
            break;
    }
}

std::string split_name(const std::string& prefix, uint32_t no, uint32_t count) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "-%05u-of-%05u.gguf", no, count);
    return prefix + buf;
}

void write_file(const std::string& path, const std::vector<std::byte>& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(path + ": cannot open for writing");
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    f.close();
    if (!f) throw Error(path + ": write failed");
}

}  // namespace

Writer::Writer(uint32_t alignment) : alignment_(alignment) {
    if (alignment == 0 || !std::has_single_bit(alignment))
        throw Error("gguf::Writer: alignment must be a power of two, got " + std::to_string(alignment));
}

void Writer::set(std::string_view key, Value value) {
    for (auto& e : kv_)
        if (e.key == key) {
            e.value = value.deep_copy();
            return;
        }
    kv_.push_back({std::string(key), value.deep_copy()});
}

void Writer::add_tensor(std::string_view name, quant::DType type, std::span<const int64_t> shape,
                        std::span<const std::byte> data) {
    const std::string what = "gguf::Writer: tensor " + std::string(name) + ": ";
    for (const auto& t : tensors_)
        if (t.name == name) throw Error(what + "duplicate name");
    if (shape.size() > size_t(kMaxDims)) throw Error(what + "more than 4 dims");
    int64_t n = 1;
    for (int64_t d : shape)
        if (d < 0 || __builtin_mul_overflow(n, d, &n)) throw Error(what + "bad shape");
    const int64_t row = shape.empty() ? 1 : shape[0];
    const auto row_b = quant::row_bytes(type, row);
    if (!row_b) throw Error(what + "row length is not a whole number of blocks");
    const size_t n_bytes = row == 0 ? 0 : *row_b * size_t(n / row);
    if (data.size() != n_bytes)
        throw Error(what + "expected " + std::to_string(n_bytes) + " bytes of data, got " +
                    std::to_string(data.size()));
    tensors_.push_back({std::string(name), type, {shape.begin(), shape.end()}, {data.begin(), data.end()}});
}

std::vector<std::byte> Writer::serialize_part(const std::vector<Entry>& kv, size_t first, size_t n) const {
    Out o;
    o.raw("GGUF", 4);
    o.put<uint32_t>(3);
    o.put<uint64_t>(n);
    o.put<uint64_t>(kv.size());
    for (const auto& e : kv) {
        o.string(e.key);
        o.put<uint32_t>(uint32_t(e.value.type()));
        put_value(o, e.value);
    }
    uint64_t offset = 0;
    for (size_t k = first; k < first + n; ++k) {
        const Tensor& t = tensors_[k];
        o.string(t.name);
        o.put<uint32_t>(uint32_t(t.shape.size()));
        for (int64_t d : t.shape) o.put<uint64_t>(uint64_t(d));
        o.put<uint32_t>(uint32_t(t.type));
        o.put<uint64_t>(offset);
        offset = (offset + t.data.size() + alignment_ - 1) / alignment_ * alignment_;
    }
    o.pad_to(alignment_);
    for (size_t k = first; k < first + n; ++k) {
        o.raw(tensors_[k].data.data(), tensors_[k].data.size());
        o.pad_to(alignment_);
    }
    return std::move(o.bytes);
}

// Adds general.alignment when it differs from the default and the caller did not set it; rejects a
// contradiction.
void Writer::add_alignment_key(std::vector<Entry>& kv) const {
    for (const auto& e : kv)
        if (e.key == "general.alignment") {
            if (e.value.as<uint32_t>() != alignment_)
                throw Error("gguf::Writer: general.alignment is " + e.value.to_string() +
                            " but the writer aligns to " + std::to_string(alignment_));
            return;
        }
    if (alignment_ != kDefaultAlignment)
        kv.push_back({"general.alignment", Value::scalar<uint32_t>(alignment_)});
}

std::vector<std::byte> Writer::serialize() const {
    std::vector<Entry> kv = kv_;
    add_alignment_key(kv);
    return serialize_part(kv, 0, tensors_.size());
}

void Writer::write(const std::string& path) const {
    write_file(path, serialize());
}

std::vector<std::string> Writer::write_split(const std::string& prefix, uint32_t n_parts) const {
    if (n_parts == 0 || n_parts > 99999) throw Error("gguf::Writer: bad number of split parts");
    std::vector<std::string> paths;
    // The split keys as llama.cpp's gguf-split writes them: u16 part number and count, i32 total tensor
    // count.
    auto split_keys = [&](uint32_t no) {
        std::vector<Entry> kv;
        kv.push_back({"split.no", Value::scalar<uint16_t>(uint16_t(no))});
        kv.push_back({"split.count", Value::scalar<uint16_t>(uint16_t(n_parts))});
        kv.push_back({"split.tensors.count", Value::scalar<int32_t>(int32_t(tensors_.size()))});
        return kv;
    };
    for (uint32_t p = 0; p < n_parts; ++p) {
        std::vector<Entry> kv;
        if (p == 0) kv = kv_;
        for (auto& e : split_keys(p)) kv.push_back(std::move(e));
        add_alignment_key(kv);
        const size_t first = tensors_.size() * p / n_parts;
        const size_t last = tensors_.size() * (p + 1) / n_parts;
        paths.push_back(split_name(prefix, p + 1, n_parts));
        write_file(paths.back(), serialize_part(kv, first, last - first));
    }
    return paths;
}

}  // namespace hotrod::gguf
