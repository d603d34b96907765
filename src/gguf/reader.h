// gguf::File: a GGUF v2/v3 model opened read-only through mmap and validated before anything is handed out:
// metadata (typed look-ups with `{arch}` expansion), the tensor table (ggml dim order, absolute data
// pointers), and split models (NAME-00001-of-0000N.gguf) merged into one table. Nothing here reads outside
// the mapping; every problem is a gguf::Error naming file, byte offset, key or tensor, expected and found.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/value.h"
#include "quant/types.h"

namespace hotrod::gguf {

constexpr uint32_t kDefaultAlignment = 32;  // when general.alignment is absent
constexpr int kMaxDims = 4;

struct KeyValue {
    std::string_view key;  // view into the mapping
    Value value;
};

struct TensorInfo {
    std::string_view name;  // view into the mapping
    quant::DType type = quant::DType::F32;
    int n_dims = 0;
    std::array<int64_t, kMaxDims> dims{1, 1, 1,
                                       1};  // ggml order: dims[0] is the contiguous row length; unused = 1
    int64_t n_elements = 0;
    size_t n_bytes = 0;               // quant::row_bytes(type, dims[0]) * rows
    uint32_t split_no = 0;            // which part of a split model holds the data (0 otherwise)
    uint64_t offset = 0;              // as stored: relative to its part's data section
    uint64_t file_offset = 0;         // absolute byte offset of the data in its part's file
    const std::byte* data = nullptr;  // file_offset within the mapping, valid while the File lives

    int64_t n_rows() const { return dims[0] == 0 ? 0 : n_elements / dims[0]; }
    std::span<const int64_t> shape() const { return {dims.data(), size_t(n_dims)}; }
};

class Mapping;  // RAII read-only mmap of one file (mapping.h)

class File {
  public:
    // Opens and validates path. If it is one part of a split model (split.count > 1), every part is opened
    // (their names follow NAME-%05d-of-%05d.gguf) and the tensors are merged; metadata is the first part's.
    static File open(const std::string& path);
    // Opens one file only, even if it is a part of a split model.
    static File open_single(const std::string& path);
    // Parses a file image in memory, which the caller keeps alive as long as the File (tests, fuzzing);
    // name stands for the path in error messages. Split parts are not followed.
    static File open_bytes(std::string name, std::span<const std::byte> bytes);

    File(File&&) noexcept;
    File& operator=(File&&) noexcept;
    ~File();

    const std::string& path() const { return path_; }  // the path of the first part
    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }  // first part's data section start
    size_t n_parts() const;
    uint64_t file_size() const;                              // summed over the parts
    std::string_view architecture() const { return arch_; }  // general.architecture, "" if absent

    // --- metadata, in file order. Keys may contain "{arch}", replaced by general.architecture. ---
    std::span<const KeyValue> metadata() const { return kv_; }
    const Value* find_value(std::string_view key) const;
    const Value& value(std::string_view key) const;  // throws Error if missing

    template <class T>
    std::optional<T> find(
        std::string_view key) const;  // nullopt if missing; Error if present but of another type
    template <class T>
    T get(std::string_view key) const;  // Error if missing or of another type
    template <class T>
    std::optional<std::vector<T>> find_array(std::string_view key) const;
    template <class T>
    std::vector<T> get_array(std::string_view key) const;

    // --- tensors, in file order (parts concatenated) ---
    std::span<const TensorInfo> tensors() const { return tensors_; }
    const TensorInfo* find_tensor(std::string_view name) const;
    const TensorInfo& tensor(std::string_view name) const;  // throws Error if missing

  private:
    File();
    std::string expand(std::string_view key) const;
    [[noreturn]] void fail_type(std::string_view key, const Value& v, std::string_view expected) const;
    friend struct Parser;
    friend File open_parts(std::unique_ptr<Mapping>, bool);

    std::string path_;
    uint32_t version_ = 0;
    uint32_t alignment_ = kDefaultAlignment;
    uint64_t data_offset_ = 0;
    std::string_view arch_;
    std::vector<std::unique_ptr<Mapping>> maps_;
    std::vector<KeyValue> kv_;
    std::unordered_map<std::string_view, size_t> kv_index_;
    std::vector<TensorInfo> tensors_;
    std::unordered_map<std::string_view, size_t> tensor_index_;
};

template <class T>
std::optional<T> File::find(std::string_view key) const {
    const Value* v = find_value(key);
    if (!v) return std::nullopt;
    auto x = v->as<T>();
    if (!x) fail_type(key, *v, value_type_name(value_type_of<T>()));
    return x;
}

template <class T>
T File::get(std::string_view key) const {
    const Value& v = value(key);
    auto x = v.as<T>();
    if (!x) fail_type(key, v, value_type_name(value_type_of<T>()));
    return *x;
}

template <class T>
std::optional<std::vector<T>> File::find_array(std::string_view key) const {
    const Value* v = find_value(key);
    if (!v) return std::nullopt;
    auto x = v->as_array<T>();
    if (!x) fail_type(key, *v, std::string("array of ").append(value_type_name(value_type_of<T>())));
    return x;
}

template <class T>
std::vector<T> File::get_array(std::string_view key) const {
    const Value& v = value(key);
    auto x = v.as_array<T>();
    if (!x) fail_type(key, v, std::string("array of ").append(value_type_name(value_type_of<T>())));
    return std::move(*x);
}

}  // namespace hotrod::gguf
