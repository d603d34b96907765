// gguf::Value: one GGUF metadata value of any type (u8..f64, bool, string, arrays of any of them, arrays of
// arrays). Values read from a file are views into its mapping (no copy, so Gemma's 262144-token list loads in
// milliseconds); values built in memory (for the writer and tests) own their storage. Typed access converts
// only losslessly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace hotrod::gguf {

// Every parse or look-up failure. The message names the file, the byte offset (hex) where one applies, the
// key or tensor, and what was expected versus found.
class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The GGUF metadata value type ids, as stored in the file.
enum class ValueType : uint32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
};

std::string_view value_type_name(ValueType t);  // "u8", "i32", "f32", "bool", "string", "array", ...
size_t value_type_size(ValueType t);            // bytes of one element on disk; 0 for string and array
bool value_type_valid(uint32_t id);

// The ValueType a C++ type is stored as (uint32_t -> U32, std::string_view -> String, ...).
template <class T>
constexpr ValueType value_type_of() {
    if constexpr (std::is_same_v<T, uint8_t>)
        return ValueType::U8;
    else if constexpr (std::is_same_v<T, int8_t>)
        return ValueType::I8;
    else if constexpr (std::is_same_v<T, uint16_t>)
        return ValueType::U16;
    else if constexpr (std::is_same_v<T, int16_t>)
        return ValueType::I16;
    else if constexpr (std::is_same_v<T, uint32_t>)
        return ValueType::U32;
    else if constexpr (std::is_same_v<T, int32_t>)
        return ValueType::I32;
    else if constexpr (std::is_same_v<T, uint64_t>)
        return ValueType::U64;
    else if constexpr (std::is_same_v<T, int64_t>)
        return ValueType::I64;
    else if constexpr (std::is_same_v<T, float>)
        return ValueType::F32;
    else if constexpr (std::is_same_v<T, double>)
        return ValueType::F64;
    else if constexpr (std::is_same_v<T, bool>)
        return ValueType::Bool;
    else if constexpr (std::is_same_v<T, std::string_view> || std::is_same_v<T, std::string>)
        return ValueType::String;
    else
        static_assert(sizeof(T) == 0, "not a GGUF value type");
}

class Value {
  public:
    Value() = default;  // u8 0

    // --- building (copies its input, so the Value owns what it refers to) ---
    template <class T>
    static Value scalar(T v);  // T: an integer type of value_type_of, float, double, bool
    static Value string(std::string_view s);
    template <class T>
    static Value array(std::span<const T> items);  // numeric or bool elements
    template <class T>
    static Value array(const std::vector<T>& items) {
        return array(std::span<const T>(items));
    }
    static Value string_array(std::span<const std::string_view> items);
    static Value string_array(std::span<const std::string> items);
    static Value array_of_arrays(
        std::vector<Value> items);  // every item must be an array (of any element type)

    // --- views (no copy: the caller keeps the bytes alive; used by the reader) ---
    static Value view_scalar(ValueType t, const std::byte* le_bytes);  // t is a numeric or bool type
    static Value view_string(std::string_view s);
    static Value view_array(ValueType elem, uint64_t n,
                            std::span<const std::byte> le_bytes);  // numeric or bool
    static Value view_string_array(std::vector<std::string_view> items);

    // The same value owning all its bytes (for keeping a value read from a File after the File is gone).
    Value deep_copy() const;

    ValueType type() const { return type_; }
    bool is_array() const { return type_ == ValueType::Array; }

    // Scalars: an integer converts to any integer type that holds it, f32 and f64 to each other, bool and
    // string only to themselves; otherwise nullopt.
    template <class T>
    std::optional<T> as() const;

    // Arrays.
    ValueType array_type() const { return elem_type_; }
    size_t array_size() const { return size_t(n_); }
    std::span<const std::byte> array_bytes() const { return bytes_; }  // numeric/bool elements, little-endian
    std::span<const std::string_view> array_strings() const { return strings_; }
    std::span<const Value> array_values() const { return arrays_; }  // arrays of arrays
    // Every element converted as by as<T>(); nullopt if this is not an array or one element does not convert.
    template <class T>
    std::optional<std::vector<T>> as_array() const;

    // Printable form; arrays longer than max_items show their element type, length and first items.
    std::string to_string(size_t max_items = SIZE_MAX) const;

    bool operator==(const Value& o) const;  // same type and same bits (NaN equals itself)

  private:
    // Integer scalars are widened: signed into i_, unsigned and bool into u_, floats into f_.
    std::optional<int64_t> as_i64() const;
    std::optional<uint64_t> as_u64() const;
    template <class T>
    static std::optional<T> element(ValueType t, const std::byte* p);

    ValueType type_ = ValueType::U8;
    ValueType elem_type_ = ValueType::U8;
    uint64_t u_ = 0;
    int64_t i_ = 0;
    double f_ = 0;
    std::string_view str_;
    uint64_t n_ = 0;
    std::span<const std::byte> bytes_;
    std::vector<std::string_view> strings_;
    std::vector<Value> arrays_;
    std::shared_ptr<const void> keep_;  // owned storage behind str_ / bytes_ / strings_ for built values
};

// ---- template definitions ----

template <class T>
Value Value::scalar(T v) {
    constexpr ValueType t = value_type_of<T>();
    static_assert(t != ValueType::String, "use Value::string");
    std::byte b[8] = {};
    std::memcpy(b, &v, sizeof(T));
    return view_scalar(t, b);  // a scalar holds no pointer into b
}

template <class T>
Value Value::array(std::span<const T> items) {
    constexpr ValueType t = value_type_of<T>();
    static_assert(t != ValueType::String, "use Value::string_array");
    auto owned = std::make_shared<std::vector<std::byte>>(items.size() * sizeof(T));
    if (!items.empty()) std::memcpy(owned->data(), items.data(), owned->size());
    Value v = view_array(t, items.size(), *owned);
    v.keep_ = owned;
    return v;
}

template <class T>
std::optional<T> Value::element(ValueType t, const std::byte* p) {
    Value v = view_scalar(t, p);
    return v.as<T>();
}

template <class T>
std::optional<T> Value::as() const {
    if constexpr (std::is_same_v<T, bool>) {
        if (type_ != ValueType::Bool) return std::nullopt;
        return u_ != 0;
    } else if constexpr (std::is_same_v<T, std::string_view>) {
        if (type_ != ValueType::String) return std::nullopt;
        return str_;
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (type_ != ValueType::String) return std::nullopt;
        return std::string(str_);
    } else if constexpr (std::is_floating_point_v<T>) {
        if (type_ != ValueType::F32 && type_ != ValueType::F64) return std::nullopt;
        return T(f_);
    } else {
        static_assert(std::is_integral_v<T>, "not a GGUF value type");
        if constexpr (std::is_signed_v<T>) {
            auto x = as_i64();
            if (!x || *x < int64_t(std::numeric_limits<T>::min()) ||
                *x > int64_t(std::numeric_limits<T>::max()))
                return std::nullopt;
            return T(*x);
        } else {
            auto x = as_u64();
            if (!x || *x > uint64_t(std::numeric_limits<T>::max())) return std::nullopt;
            return T(*x);
        }
    }
}

template <class T>
std::optional<std::vector<T>> Value::as_array() const {
    if (type_ != ValueType::Array) return std::nullopt;
    std::vector<T> out;
    if constexpr (std::is_same_v<T, std::string_view> || std::is_same_v<T, std::string>) {
        if (elem_type_ != ValueType::String) return std::nullopt;
        out.assign(strings_.begin(), strings_.end());
    } else {
        if (elem_type_ == ValueType::String || elem_type_ == ValueType::Array) return std::nullopt;
        out.resize(n_);
        if (!std::is_same_v<T, bool> &&
            elem_type_ == value_type_of<T>()) {  // the common case: one copy, no per-element checks
            if constexpr (!std::is_same_v<T, bool>)
                if (n_ != 0) std::memcpy(out.data(), bytes_.data(), n_ * sizeof(T));
            return out;
        }
        const size_t size = value_type_size(elem_type_);
        for (uint64_t k = 0; k < n_; ++k) {
            auto x = element<T>(elem_type_, bytes_.data() + k * size);
            if (!x) return std::nullopt;
            out[k] = *x;
        }
    }
    return out;
}

}  // namespace hotrod::gguf
