// gguf::Mapping: one file mapped read-only into memory for as long as the object lives (RAII over mmap).
// The reader hands out views and pointers into it, so a File keeps its mappings alive and never moves them.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace hotrod::gguf {

class Mapping {
  public:
    explicit Mapping(const std::string& path);  // throws Error naming the path and the system error
    // Borrows bytes the caller keeps alive (in-memory files: tests, fuzzing); name stands in for the path.
    Mapping(std::string name, std::span<const std::byte> bytes);
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
    bool owned_ = false;  // mapped by us, so unmapped by us
};

}  // namespace hotrod::gguf
