// Parsing one GGUF file from its mapping (layout: magic, version, n_tensors, n_kv, key/values, tensor infos,
// padding to the alignment, tensor data). A Cursor checks every read against the bytes that remain before it
// reads, and every size computed from file values is checked for overflow, so no input can make us read
// outside the mapping.
#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "gguf/parse.h"

namespace hotrod::gguf {

std::string hex(uint64_t x) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(x));
    return buf;
}

std::string error_text(const std::string& path, uint64_t offset, std::string_view context,
                       std::string_view what) {
    std::string s = path + ": offset " + hex(offset) + ": ";
    if (!context.empty()) s.append(context).append(": ");
    s.append(what);
    return s;
}

namespace {

// Smallest encodings, used to reject counts that cannot fit in the bytes that remain before allocating for
// them.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;              // empty key, type, a u8
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name, n_dims 0, type, offset
constexpr uint64_t kMinArrayBytes = 4 + 8;               // element type, count
constexpr int kMaxArrayDepth = 8;  // arrays of arrays nest at most this deep (bounds the recursion)

std::string u64s(uint64_t x) {
    return std::to_string(x);
}

class Cursor {
  public:
    explicit Cursor(const Mapping& m) : m_(m) {}

    size_t pos() const { return pos_; }
    size_t remain() const { return m_.size() - pos_; }
    std::string context;  // what is being read: "key general.name", "tensor blk.0.attn_q.weight"

    [[noreturn]] void fail_at(uint64_t at, std::string_view what) const {
        throw Error(error_text(m_.path(), at, context, what));
    }
    [[noreturn]] void fail(std::string_view what) const { fail_at(pos_, what); }

    void need(uint64_t n, std::string_view what) const {
        if (n > remain())
            fail(std::string(what) + " needs " + u64s(n) + " bytes, " + u64s(remain()) +
                 " remain (truncated file?)");
    }

    template <class T>
    T read(std::string_view what) {
        need(sizeof(T), what);
        T x;
        std::memcpy(&x, m_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return x;
    }

    std::span<const std::byte> bytes(uint64_t n, std::string_view what) {
        need(n, what);
        std::span<const std::byte> s(m_.data() + pos_, size_t(n));
        pos_ += size_t(n);
        return s;
    }

    std::string_view string(std::string_view what) {
        const size_t at = pos_;
        const uint64_t len = read<uint64_t>(std::string(what) + " length");
        if (len > remain())
            fail_at(at, std::string(what) + " of " + u64s(len) +
                            " bytes runs past the end of the file: " + u64s(remain()) + " bytes remain");
        auto b = bytes(len, what);
        return {reinterpret_cast<const char*>(b.data()), b.size()};
    }

  private:
    const Mapping& m_;
    size_t pos_ = 0;
};

ValueType read_type(Cursor& c, std::string_view what) {
    const size_t at = c.pos();
    const uint32_t id = c.read<uint32_t>(what);
    if (!value_type_valid(id))
        c.fail_at(at, std::string(what) + ": expected a value type id 0..12, found " + u64s(id));
    return ValueType(id);
}

Value read_value(Cursor& c, ValueType t, int depth);

Value read_array(Cursor& c, int depth) {
    const ValueType elem = read_type(c, "array element type");
    const size_t at = c.pos();
    const uint64_t n = c.read<uint64_t>("array length");
    const std::string what = "array of " + u64s(n) + " " + std::string(value_type_name(elem)) + " items";
    if (const size_t size = value_type_size(elem)) {
        if (n > c.remain() / size)
            c.fail_at(at, what + " needs " +
                              (n > UINT64_MAX / size ? std::string("more than 2^64") : u64s(n * size)) +
                              " bytes, " + u64s(c.remain()) + " remain");
        return Value::view_array(elem, n, c.bytes(n * size, what));
    }
    if (elem == ValueType::String) {
        if (n > c.remain() / 8)
            c.fail_at(at,
                      what + " needs at least " + u64s(n) + " x 8 bytes, " + u64s(c.remain()) + " remain");
        std::vector<std::string_view> items;
        items.resize(size_t(n));
        for (auto& s : items) s = c.string("array string");
        return Value::view_string_array(std::move(items));
    }
    // Arrays of arrays: each item carries its own element type and length.
    if (depth >= kMaxArrayDepth)
        c.fail_at(at, what + ": arrays nest more than " + std::to_string(kMaxArrayDepth) + " deep");
    if (n > c.remain() / kMinArrayBytes)
        c.fail_at(at, what + " needs at least " + u64s(n) + " x 12 bytes, " + u64s(c.remain()) + " remain");
    std::vector<Value> items;
    items.reserve(size_t(n));
    for (uint64_t k = 0; k < n; ++k) items.push_back(read_array(c, depth + 1));
    return Value::array_of_arrays(std::move(items));
}

Value read_value(Cursor& c, ValueType t, int depth) {
    if (t == ValueType::String) return Value::view_string(c.string("string value"));
    if (t == ValueType::Array) return read_array(c, depth);
    auto b = c.bytes(value_type_size(t), std::string(value_type_name(t)) + " value");
    return Value::view_scalar(t, b.data());
}

void read_header(Cursor& c, ParsedPart& out, uint64_t& n_tensors, uint64_t& n_kv) {
    if (c.remain() < 4)
        c.fail("file is " + u64s(c.remain()) + " bytes, too short for a GGUF header (24 bytes)");
    auto magic = c.bytes(4, "magic");
    if (std::memcmp(magic.data(), "GGUF", 4) != 0) {
        std::string found;
        for (auto b : magic) {
            const unsigned char ch = static_cast<unsigned char>(b);
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\x%02x", ch);
            found += (ch >= 0x20 && ch < 0x7f) ? std::string(1, char(ch)) : std::string(esc);
        }
        c.fail_at(0, "expected magic \"GGUF\", found \"" + found + "\" (not a GGUF file)");
    }
    out.version = c.read<uint32_t>("version");
    if (out.version != 2 && out.version != 3) {
        std::string what = "unsupported GGUF version " + u64s(out.version) + " (expected 2 or 3)";
        if (out.version == 1)
            what += "; version 1 files use 32-bit counts and must be converted";
        else if (__builtin_bswap32(out.version) <= 3)
            what += "; the file looks big-endian";
        c.fail_at(4, what);
    }
    n_tensors = c.read<uint64_t>("tensor count");
    n_kv = c.read<uint64_t>("metadata count");
    if (n_kv > c.remain() / kMinKvBytes)
        c.fail_at(16, "metadata count " + u64s(n_kv) + " is impossible: each entry needs at least " +
                          u64s(kMinKvBytes) + " bytes and " + u64s(c.remain()) +
                          " remain (truncated or corrupt)");
    if (n_tensors > c.remain() / kMinTensorInfoBytes)
        c.fail_at(8, "tensor count " + u64s(n_tensors) + " is impossible: each tensor info needs at least " +
                         u64s(kMinTensorInfoBytes) + " bytes and " + u64s(c.remain()) +
                         " remain (truncated or corrupt)");
}

void read_metadata(Cursor& c, ParsedPart& out, uint64_t n_kv, std::vector<size_t>& kv_offsets) {
    std::unordered_set<std::string_view> seen;
    out.kv.reserve(size_t(n_kv));
    for (uint64_t k = 0; k < n_kv; ++k) {
        const size_t at = c.pos();
        kv_offsets.push_back(at);
        c.context = "metadata entry #" + u64s(k);
        const std::string_view key = c.string("key");
        c.context = "key " + std::string(key);
        if (!seen.insert(key).second) c.fail_at(at, "duplicate key");
        const ValueType t = read_type(c, "value type");
        out.kv.push_back({key, read_value(c, t, 0)});
    }
    c.context.clear();
}

void read_alignment(Cursor& c, ParsedPart& out, const std::vector<size_t>& kv_offsets) {
    for (size_t k = 0; k < out.kv.size(); ++k) {
        const KeyValue& kv = out.kv[k];
        const size_t at = kv_offsets[k];
        if (kv.key != "general.alignment") continue;
        c.context = "key general.alignment";
        const auto a = kv.value.as<uint32_t>();
        if (!a)
            c.fail_at(at, "expected a u32, found " + std::string(value_type_name(kv.value.type())) + " " +
                              kv.value.to_string(4));
        if (*a == 0 || !std::has_single_bit(*a))
            c.fail_at(at, "alignment must be a power of two, found " + u64s(*a));
        out.alignment = *a;
        c.context.clear();
    }
}

void read_tensor_infos(Cursor& c, ParsedPart& out, uint64_t n_tensors, uint32_t split_no,
                       std::vector<size_t>& info_offsets) {
    if (n_tensors > c.remain() / kMinTensorInfoBytes)
        c.fail_at(8, "tensor count " + u64s(n_tensors) + " is impossible: each tensor info needs at least " +
                         u64s(kMinTensorInfoBytes) + " bytes and " + u64s(c.remain()) +
                         " remain after the metadata");
    std::unordered_set<std::string_view> seen;
    out.tensors.reserve(size_t(n_tensors));
    for (uint64_t k = 0; k < n_tensors; ++k) {
        TensorInfo t;
        t.split_no = split_no;
        const size_t at = c.pos();
        info_offsets.push_back(at);
        c.context = "tensor info #" + u64s(k);
        t.name = c.string("tensor name");
        c.context = "tensor " + std::string(t.name);
        if (!seen.insert(t.name).second) c.fail_at(at, "duplicate tensor name");

        const size_t dims_at = c.pos();
        const uint32_t n_dims = c.read<uint32_t>("n_dims");
        if (n_dims > uint32_t(kMaxDims))
            c.fail_at(dims_at,
                      "n_dims is " + u64s(n_dims) + ", at most " + std::to_string(kMaxDims) + " supported");
        t.n_dims = int(n_dims);
        int64_t n_elements = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const size_t dim_at = c.pos();
            const uint64_t dim = c.read<uint64_t>("dimension");
            if (dim > uint64_t(INT64_MAX))
                c.fail_at(dim_at, "dims[" + u64s(d) + "] is " + u64s(dim) + ", past the int64 range");
            t.dims[d] = int64_t(dim);
            // Element counts are int64 everywhere downstream, so the product must fit before we use it.
            if (__builtin_mul_overflow(n_elements, t.dims[d], &n_elements))
                c.fail_at(dim_at, "the product of the dimensions overflows int64");
        }
        t.n_elements = n_elements;

        const size_t type_at = c.pos();
        const uint32_t type_id = c.read<uint32_t>("tensor type");
        const quant::TypeInfo* info = quant::type_info(type_id);
        if (!info) c.fail_at(type_at, "unknown tensor type id " + u64s(type_id));
        t.type = info->type;
        // row_bytes does not guard its product, so a huge row is rejected before it is asked.
        if (uint64_t(t.dims[0]) / info->block_size > SIZE_MAX / info->block_bytes)
            c.fail_at(dims_at, "the tensor's byte size overflows");
        const auto row = quant::row_bytes(t.type, t.dims[0]);
        if (!row)
            c.fail_at(dims_at, std::string(info->name) + " rows need a multiple of " +
                                   u64s(info->block_size) + " elements, dims[0] is " +
                                   u64s(uint64_t(t.dims[0])));
        if (t.dims[0] == 0) {
            t.n_bytes = 0;
        } else if (__builtin_mul_overflow(*row, size_t(t.n_elements / t.dims[0]), &t.n_bytes)) {
            c.fail_at(dims_at, "the tensor's byte size overflows");
        }
        t.offset = c.read<uint64_t>("tensor data offset");
        out.tensors.push_back(t);
    }
    c.context.clear();
}

// Tensor data: aligned, inside the file, and no two tensors share a byte.
void place_tensors(Cursor& c, const Mapping& m, ParsedPart& out, const std::vector<size_t>& info_offsets) {
    const uint64_t a = out.alignment;
    const uint64_t end = c.pos();
    if (end > UINT64_MAX - (a - 1)) c.fail("data section offset overflows");
    out.data_offset = (end + a - 1) / a * a;
    const uint64_t size = m.size();
    for (size_t k = 0; k < out.tensors.size(); ++k) {
        TensorInfo& t = out.tensors[k];
        c.context = "tensor " + std::string(t.name);
        const uint64_t info_at = info_offsets[k];
        if (t.offset % a != 0)
            c.fail_at(info_at,
                      "data offset " + hex(t.offset) + " is not a multiple of the alignment " + u64s(a));
        if (t.offset > UINT64_MAX - out.data_offset)
            c.fail_at(info_at, "data offset " + hex(t.offset) + " overflows");
        t.file_offset = out.data_offset + t.offset;
        const std::string type_name(quant::type_name(t.type));
        if (t.file_offset > size)
            c.fail_at(t.file_offset,
                      type_name + " data needs " + u64s(t.n_bytes) + " bytes, the file ends at " + hex(size));
        if (t.n_bytes > size - t.file_offset)
            c.fail_at(t.file_offset, type_name + " data needs " + u64s(t.n_bytes) + " bytes, " +
                                         u64s(size - t.file_offset) + " remain");
        t.data = m.data() + t.file_offset;
    }
    std::vector<size_t> order(out.tensors.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(),
              [&](size_t x, size_t y) { return out.tensors[x].file_offset < out.tensors[y].file_offset; });
    // Walk in offset order keeping the tensor that reaches furthest; any later start before that end overlaps
    // it.
    const TensorInfo* reach = nullptr;
    for (size_t k : order) {
        const TensorInfo& t = out.tensors[k];
        if (reach && t.n_bytes != 0 && reach->file_offset + reach->n_bytes > t.file_offset) {
            c.context = "tensor " + std::string(t.name);
            c.fail_at(t.file_offset, "data [" + hex(t.file_offset) + ", " + hex(t.file_offset + t.n_bytes) +
                                         ") overlaps tensor " + std::string(reach->name) + " [" +
                                         hex(reach->file_offset) + ", " +
                                         hex(reach->file_offset + reach->n_bytes) + ")");
        }
        if (!reach || t.file_offset + t.n_bytes > reach->file_offset + reach->n_bytes) reach = &t;
    }
    c.context.clear();
}

}  // namespace

ParsedPart parse_part(const Mapping& m, uint32_t split_no) {
    Cursor c(m);
    ParsedPart out;
    uint64_t n_tensors = 0, n_kv = 0;
    read_header(c, out, n_tensors, n_kv);
    std::vector<size_t> kv_offsets;
    read_metadata(c, out, n_kv, kv_offsets);
    read_alignment(c, out, kv_offsets);
    std::vector<size_t> info_offsets;
    read_tensor_infos(c, out, n_tensors, split_no, info_offsets);
    place_tensors(c, m, out, info_offsets);
    return out;
}

}  // namespace hotrod::gguf
