// Helpers shared by the quant tests: loading the JSON fixtures made by tests/fixtures/gen_quant.py, and C++ mirrors
// of that script's input generators (splitmix64, gen_floats) and of its bits_hash, so inputs need not be stored.
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hotrod::quant::test {

inline nlohmann::json load_fixture(const std::string& name) {
    const std::string path = std::string(HOTROD_FIXTURES_DIR) + "/quant/" + name;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open fixture " + path + " (run tests/fixtures/gen_quant.py)");
    return nlohmann::json::parse(in);
}

inline std::vector<uint8_t> from_hex(const std::string& s) {
    std::vector<uint8_t> out(s.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) out[i] = uint8_t(std::stoi(s.substr(2 * i, 2), nullptr, 16));
    return out;
}

inline uint64_t splitmix64(uint64_t x) {
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// sum_i ((bits[i] ^ (i * K1)) * K2) mod 2^64, i counted from `start` (gen_quant.py: bits_hash).
struct BitsHash {
    uint64_t h = 0;
    uint64_t i = 0;
    void add(uint64_t bits) {
        h += (bits ^ (i * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
        ++i;
    }
};

// gen_quant.py: gen_floats(seed, n).
inline std::vector<float> gen_floats(uint64_t seed, int64_t n) {
    std::vector<float> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        int64_t s = 0;
        for (int k = 0; k < 4; ++k) s += int64_t(splitmix64(seed + 5 * uint64_t(i) + k) & 0x1FFFFF) - 0x100000;
        const int block_exp = -29 + int(splitmix64(seed + 1000003 + uint64_t(i / 32)) % 15);
        out[size_t(i)] = float(std::ldexp(double(s), block_exp));
    }
    return out;
}

// Normalised mean squared error sum((a-b)^2) / sum(a^2) of a reconstruction b of a.
inline double nmse(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        den += double(a[i]) * a[i];
    }
    return den > 0 ? num / den : num;
}

}  // namespace hotrod::quant::test
