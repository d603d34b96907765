// gguf::Value: construction, lossless scalar conversion, printing and comparison (see value.h).
// Scalars are decoded from little-endian bytes with memcpy, which is right on every host hotrod targets
// (x86-64).
#include "gguf/value.h"

#include <cinttypes>
#include <cstdio>

namespace hotrod::gguf {

std::string_view value_type_name(ValueType t) {
    switch (t) {
        case ValueType::U8:
            return "u8";
        case ValueType::I8:
            return "i8";
        case ValueType::U16:
            return "u16";
        case ValueType::I16:
            return "i16";
        case ValueType::U32:
            return "u32";
        case ValueType::I32:
            return "i32";
        case ValueType::F32:
            return "f32";
        case ValueType::Bool:
            return "bool";
        case ValueType::String:
            return "string";
        case ValueType::Array:
            return "array";
        case ValueType::U64:
            return "u64";
        case ValueType::I64:
            return "i64";
        case ValueType::F64:
            return "f64";
    }
    return "?";
}

size_t value_type_size(ValueType t) {
    switch (t) {
        case ValueType::U8:
        case ValueType::I8:
        case ValueType::Bool:
            return 1;
        case ValueType::U16:
        case ValueType::I16:
            return 2;
        case ValueType::U32:
        case ValueType::I32:
        case ValueType::F32:
            return 4;
        case ValueType::U64:
        case ValueType::I64:
        case ValueType::F64:
            return 8;
        case ValueType::String:
        case ValueType::Array:
            return 0;
    }
    return 0;
}

bool value_type_valid(uint32_t id) {
    return id <= uint32_t(ValueType::F64);
}

Value Value::view_scalar(ValueType t, const std::byte* p) {
    Value v;
    v.type_ = t;
    auto load = [p](auto x) {
        std::memcpy(&x, p, sizeof(x));
        return x;
    };
    switch (t) {
        case ValueType::U8:
            v.u_ = load(uint8_t{});
            break;
        case ValueType::Bool:
            v.u_ = load(uint8_t{});
            break;  // read as a byte: any non-zero byte is true
        case ValueType::U16:
            v.u_ = load(uint16_t{});
            break;
        case ValueType::U32:
            v.u_ = load(uint32_t{});
            break;
        case ValueType::U64:
            v.u_ = load(uint64_t{});
            break;
        case ValueType::I8:
            v.i_ = load(int8_t{});
            break;
        case ValueType::I16:
            v.i_ = load(int16_t{});
            break;
        case ValueType::I32:
            v.i_ = load(int32_t{});
            break;
        case ValueType::I64:
            v.i_ = load(int64_t{});
            break;
        case ValueType::F32:
            v.f_ = load(float{});
            break;
        case ValueType::F64:
            v.f_ = load(double{});
            break;
        case ValueType::String:
        case ValueType::Array:
            throw Error("Value::view_scalar: not a scalar type");
    }
    return v;
}

Value Value::view_string(std::string_view s) {
    Value v;
    v.type_ = ValueType::String;
    v.str_ = s;
    return v;
}

Value Value::string(std::string_view s) {
    auto owned = std::make_shared<std::string>(s);
    Value v = view_string(*owned);
    v.keep_ = owned;
    return v;
}

Value Value::view_array(ValueType elem, uint64_t n, std::span<const std::byte> bytes) {
    if (value_type_size(elem) == 0) throw Error("Value::view_array: element type must be numeric or bool");
    Value v;
    v.type_ = ValueType::Array;
    v.elem_type_ = elem;
    v.n_ = n;
    v.bytes_ = bytes;
    return v;
}

Value Value::view_string_array(std::vector<std::string_view> items) {
    Value v;
    v.type_ = ValueType::Array;
    v.elem_type_ = ValueType::String;
    v.n_ = items.size();
    v.strings_ = std::move(items);
    return v;
}

Value Value::string_array(std::span<const std::string_view> items) {
    // One shared vector of owned strings that never changes after construction, so the views stay valid.
    auto owned = std::make_shared<std::vector<std::string>>(items.begin(), items.end());
    std::vector<std::string_view> views(owned->begin(), owned->end());
    Value v = view_string_array(std::move(views));
    v.keep_ = owned;
    return v;
}

Value Value::string_array(std::span<const std::string> items) {
    std::vector<std::string_view> views(items.begin(), items.end());
    return string_array(std::span<const std::string_view>(views));
}

Value Value::array_of_arrays(std::vector<Value> items) {
    for (const auto& it : items)
        if (!it.is_array()) throw Error("Value::array_of_arrays: every item must be an array");
    Value v;
    v.type_ = ValueType::Array;
    v.elem_type_ = ValueType::Array;
    v.n_ = items.size();
    v.arrays_ = std::move(items);
    return v;
}

Value Value::deep_copy() const {
    if (type_ == ValueType::String) return string(str_);
    if (type_ != ValueType::Array) return *this;
    if (elem_type_ == ValueType::String) return string_array(std::span<const std::string_view>(strings_));
    if (elem_type_ == ValueType::Array) {
        std::vector<Value> items;
        items.reserve(arrays_.size());
        for (const auto& a : arrays_) items.push_back(a.deep_copy());
        return array_of_arrays(std::move(items));
    }
    auto owned = std::make_shared<std::vector<std::byte>>(bytes_.begin(), bytes_.end());
    Value v = view_array(elem_type_, n_, *owned);
    v.keep_ = owned;
    return v;
}

std::optional<int64_t> Value::as_i64() const {
    switch (type_) {
        case ValueType::I8:
        case ValueType::I16:
        case ValueType::I32:
        case ValueType::I64:
            return i_;
        case ValueType::U8:
        case ValueType::U16:
        case ValueType::U32:
        case ValueType::U64:
            if (u_ > uint64_t(INT64_MAX)) return std::nullopt;
            return int64_t(u_);
        default:
            return std::nullopt;
    }
}

std::optional<uint64_t> Value::as_u64() const {
    switch (type_) {
        case ValueType::U8:
        case ValueType::U16:
        case ValueType::U32:
        case ValueType::U64:
            return u_;
        case ValueType::I8:
        case ValueType::I16:
        case ValueType::I32:
        case ValueType::I64:
            if (i_ < 0) return std::nullopt;
            return uint64_t(i_);
        default:
            return std::nullopt;
    }
}

namespace {

void append_quoted(std::string& out, std::string_view s) {
    out += '"';
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += char(c);
        }
    }
    out += '"';
}

std::string scalar_text(ValueType t, uint64_t u, int64_t i, double f) {
    char buf[64];
    switch (t) {
        case ValueType::Bool:
            return u ? "true" : "false";
        case ValueType::F32:
            std::snprintf(buf, sizeof buf, "%.9g", f);
            break;
        case ValueType::F64:
            std::snprintf(buf, sizeof buf, "%.17g", f);
            break;
        case ValueType::I8:
        case ValueType::I16:
        case ValueType::I32:
        case ValueType::I64:
            std::snprintf(buf, sizeof buf, "%" PRId64, i);
            break;
        default:
            std::snprintf(buf, sizeof buf, "%" PRIu64, u);
            break;
    }
    return buf;
}

}  // namespace

std::string Value::to_string(size_t max_items) const {
    std::string out;
    if (type_ == ValueType::String) {
        append_quoted(out, str_);
        return out;
    }
    if (type_ != ValueType::Array) return scalar_text(type_, u_, i_, f_);
    const size_t shown = n_ < max_items ? size_t(n_) : max_items;
    out += '[';
    const size_t size = value_type_size(elem_type_);
    for (size_t k = 0; k < shown; ++k) {
        if (k) out += ", ";
        if (elem_type_ == ValueType::String)
            append_quoted(out, strings_[k]);
        else if (elem_type_ == ValueType::Array)
            out += arrays_[k].to_string(max_items);
        else {
            Value e = view_scalar(elem_type_, bytes_.data() + k * size);
            out += scalar_text(e.type_, e.u_, e.i_, e.f_);
        }
    }
    if (shown < n_) out += ", ... (" + std::to_string(n_ - shown) + " more)";
    out += ']';
    return out;
}

bool Value::operator==(const Value& o) const {
    if (type_ != o.type_) return false;
    switch (type_) {
        case ValueType::String:
            return str_ == o.str_;
        case ValueType::F32:
        case ValueType::F64:
            return std::memcmp(&f_, &o.f_, sizeof f_) == 0;
        case ValueType::Array:
            break;
        default:
            return u_ == o.u_ && i_ == o.i_;
    }
    if (elem_type_ != o.elem_type_ || n_ != o.n_) return false;
    if (elem_type_ == ValueType::String) {
        for (size_t k = 0; k < n_; ++k)
            if (strings_[k] != o.strings_[k]) return false;
        return true;
    }
    if (elem_type_ == ValueType::Array) {
        for (size_t k = 0; k < n_; ++k)
            if (!(arrays_[k] == o.arrays_[k])) return false;
        return true;
    }
    return bytes_.size() == o.bytes_.size() &&
           (bytes_.empty() || std::memcmp(bytes_.data(), o.bytes_.data(), bytes_.size()) == 0);
}

}  // namespace hotrod::gguf
