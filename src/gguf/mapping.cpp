// Mapping: open + fstat + mmap(PROT_READ, MAP_PRIVATE); the descriptor is closed at once, the mapping stays.
#include "gguf/mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "gguf/value.h"

namespace hotrod::gguf {

Mapping::Mapping(const std::string& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        throw Error(path + ": cannot stat: " + std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(path + ": not a regular file");
    }
    size_ = size_t(st.st_size);
    if (size_ > 0) {
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            throw Error(path + ": cannot mmap " + std::to_string(size_) + " bytes: " + std::strerror(err));
        }
        data_ = static_cast<const std::byte*>(p);
        owned_ = true;
    }
    ::close(fd);
}

Mapping::Mapping(std::string name, std::span<const std::byte> bytes)
    : path_(std::move(name)), data_(bytes.empty() ? nullptr : bytes.data()), size_(bytes.size()) {}

Mapping::~Mapping() {
    if (owned_) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace hotrod::gguf
