// libFuzzer target for the GGUF reader: any byte string must parse or throw gguf::Error, never crash or read
// out of bounds. Not wired into CMake (needs clang); build and run by hand:
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz/gguf_fuzz.cpp
//   src/gguf/*.cpp \
//       src/quant/types.cpp -o /tmp/gguf_fuzz && /tmp/gguf_fuzz -max_total_time=60 CORPUS_DIR
// Seed the corpus with small files from the writer (tests) or the first KB of a real model.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "gguf/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // An exact-size copy, so the sanitizer flags a read one byte past the end.
    const std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(data),
                                       reinterpret_cast<const std::byte*>(data) + size);
    try {
        const auto f = hotrod::gguf::File::open_bytes("fuzz.gguf", bytes);
        // Touch what a loader touches: every value printed, every tensor's first and last byte.
        size_t sum = 0;
        for (const auto& kv : f.metadata()) sum += kv.value.to_string(4).size();
        for (const auto& t : f.tensors())
            if (t.n_bytes) sum += size_t(t.data[0]) + size_t(t.data[t.n_bytes - 1]);
        return sum == 0xdeadbeef ? 1 : 0;
    } catch (const hotrod::gguf::Error&) {
        return 0;
    }
}
