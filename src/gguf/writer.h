// gguf::Writer: builds a GGUF v3 file in memory (metadata of every value type, tensors as raw bytes) and
// writes it whole or as a split model (NAME-00001-of-0000N.gguf). Tests use it to make synthetic models; it
// copies its inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/reader.h"
#include "gguf/value.h"
#include "quant/types.h"

namespace hotrod::gguf {

class Writer {
  public:
    // alignment: of the data section and of every tensor's data; must be a power of two. A value other than
    // 32 is also written as general.alignment (u32) so readers find it.
    explicit Writer(uint32_t alignment = kDefaultAlignment);

    // Adds a key, or replaces its value in place (metadata keeps the order of first insertion).
    void set(std::string_view key, Value value);
    template <class T>
    void set_scalar(std::string_view key, T v) {
        set(key, Value::scalar(v));
    }
    void set_string(std::string_view key, std::string_view s) { set(key, Value::string(s)); }

    // shape in ggml order (shape[0] is the row length), 0..4 dims; data must be exactly the tensor's byte
    // size. Throws Error on a duplicate name, a bad shape or a size mismatch.
    void add_tensor(std::string_view name, quant::DType type, std::span<const int64_t> shape,
                    std::span<const std::byte> data);

    size_t n_tensors() const { return tensors_.size(); }
    uint32_t alignment() const { return alignment_; }

    std::vector<std::byte> serialize() const;
    void write(const std::string& path) const;
    // Writes n_parts files prefix-%05d-of-%05d.gguf (tensors in contiguous runs, metadata in the first part,
    // split.* keys in all) and returns their paths.
    std::vector<std::string> write_split(const std::string& prefix, uint32_t n_parts) const;

  private:
    struct Tensor {
        std::string name;
        quant::DType type;
        std::vector<int64_t> shape;
        std::vector<std::byte> data;
    };
    struct Entry {
        std::string key;
        Value value;
    };
    void add_alignment_key(std::vector<Entry>& kv) const;
    std::vector<std::byte> serialize_part(const std::vector<Entry>& kv, size_t first_tensor, size_t n) const;

    uint32_t alignment_;
    std::vector<Entry> kv_;
    std::vector<Tensor> tensors_;
};

}  // namespace hotrod::gguf
