// gguf::Mapping: one file mapped read-only into memory for as long as the object lives (RAII over mmap).
// The reader hands out views and pointers into it, so a File keeps its mappings alive and never moves them.
#pragma once

#include <cstddef>
#include <string>

namespace hotrod::gguf {

class Mapping {
public:
    explicit Mapping(const std::string& path);  // throws Error naming the path and the system error
    ~Mapping();
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;

    const std::byte* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    const std::byte* data_ = nullptr;  // nullptr for an empty file (mmap refuses length 0)
    size_t size_ = 0;
};

}  // namespace hotrod::gguf
