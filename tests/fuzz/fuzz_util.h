// Helpers shared by the fuzz targets: reading the test material beside the checkout, and a failed property
// turned into a crash that libFuzzer records (it keeps the input and prints the message).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace hotrod::fuzz {

// ../shared/<rel>, or HOTROD_SHARED_DIR from the environment when set. Empty when the file is absent, so a
// target still runs (with less) on a checkout without the shared material.
inline std::string shared_file(const std::string& rel) {
    const char* env = std::getenv("HOTROD_SHARED_DIR");
    const std::filesystem::path p = std::filesystem::path(env ? env : HOTROD_SHARED_DIR) / rel;
    return std::filesystem::exists(p) ? p.string() : std::string();
}

inline std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

// Bytes as C escapes, for property messages.
inline std::string escaped(std::string_view s) {
    std::string out;
    for (const char c : s) {
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += c;
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(uint8_t(c)));
            out += buf;
        }
    }
    return out;
}

[[noreturn]] inline void property_failed(const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "fuzz property failed: %s %s\n", what, detail.c_str());
    std::abort();
}

}  // namespace hotrod::fuzz
