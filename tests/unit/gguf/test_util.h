// Helpers shared by the GGUF tests: where the real models are (skip or fail when missing), scratch files,
// FNV-1a.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace hotrod::gguf::test {

inline std::string models_dir() {
    if (const char* d = std::getenv("HOTROD_MODELS"); d && *d) return d;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + "/.cache/hotrod/models";
}

inline bool models_required() {
    const char* r = std::getenv("HOTROD_REQUIRE_MODELS");
    return r && std::string_view(r) == "1";
}

// Path of a real model, or "" after GTEST_SKIP / a failure (HOTROD_REQUIRE_MODELS=1) when it is missing.
// Use as: auto path = model_path(name); if (path.empty()) return;
#define HOTROD_MODEL_OR_SKIP(var, name)                                                  \
    const std::string var = ::hotrod::gguf::test::models_dir() + "/" + (name);           \
    if (!std::filesystem::exists(var)) {                                                 \
        if (::hotrod::gguf::test::models_required()) FAIL() << "model missing: " << var; \
        GTEST_SKIP() << "model missing: " << var;                                        \
    }

// A scratch directory per test binary run, removed at exit.
inline const std::filesystem::path& scratch_dir() {
    struct Dir {
        std::filesystem::path p;
        Dir() {
            p = std::filesystem::temp_directory_path() / ("hotrod_gguf_test_" + std::to_string(::getpid()));
            std::filesystem::create_directories(p);
        }
        ~Dir() {
            std::error_code ec;
            std::filesystem::remove_all(p, ec);
        }
    };
    static Dir dir;
    return dir.p;
}

inline std::vector<std::byte> read_bytes(const std::string& path, size_t max_bytes = SIZE_MAX) {
    std::ifstream f(path, std::ios::binary);
    f.seekg(0, std::ios::end);
    const size_t size = std::min(size_t(f.tellg()), max_bytes);
    f.seekg(0);
    std::vector<std::byte> b(size);
    f.read(reinterpret_cast<char*>(b.data()), std::streamsize(size));
    return b;
}

inline void write_bytes(const std::string& path, const std::byte* data, size_t n) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), std::streamsize(n));
}

// FNV-1a 64, the hash tests/fixtures/gen_gguf_fixture.py stores for long arrays (definition there).
struct Fnv1a64 {
    uint64_t h = 0xcbf29ce484222325ull;
    void add(const void* p, size_t n) {
        const auto* b = static_cast<const unsigned char*>(p);
        for (size_t k = 0; k < n; ++k) {
            h ^= b[k];
            h *= 0x100000001b3ull;
        }
    }
};

}  // namespace hotrod::gguf::test
