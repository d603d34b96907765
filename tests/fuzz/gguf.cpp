// libFuzzer target for the GGUF reader and what a loader reads first: any byte string must parse or throw
// gguf::Error, never crash or read out of the bytes. A file that parses is touched as a loader touches it
// (every value printed and converted, every tensor's first and last byte); its tokenizer.ggml.* keys go
// through the vocabulary loader (std::runtime_error allowed), and a vocabulary it accepts must build a
// working tokenizer.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "gguf/reader.h"
#include "text/tokenizer.h"
#include "text/vocab.h"

namespace {

using namespace hotrod;

size_t touch(const gguf::File& f) {
    size_t sum = 0;
    for (const auto& kv : f.metadata()) {
        sum += kv.value.to_string(4).size() + kv.value.deep_copy().to_string(4).size();
        if (kv.value.is_array()) {
            if (auto a = kv.value.as_array<int64_t>()) sum += a->size();
            if (auto a = kv.value.as_array<float>()) sum += a->size();
        } else if (auto i = kv.value.as<uint32_t>()) {
            sum += *i;
        }
        // Look-ups expand "{arch}", so a key holding it literally is not found by its own name (as
        // documented).
        if (kv.key.find("{arch}") == std::string_view::npos && f.find_value(kv.key) == nullptr)
            hotrod::fuzz::property_failed("metadata key not found again", hotrod::fuzz::escaped(kv.key));
    }
    for (const auto& t : f.tensors()) {
        if (t.n_bytes) sum += size_t(t.data[0]) + size_t(t.data[t.n_bytes - 1]);
        if (f.find_tensor(t.name) == nullptr) hotrod::fuzz::property_failed("tensor not found again");
    }
    return sum;
}

void tokenize(const gguf::File& f) {
    text::Vocab vocab;
    try {
        vocab = text::load_vocab(f);
    } catch (const std::runtime_error&) {
        return;
    }
    // Building the tables costs time per token; a fuzzed vocabulary that large says nothing new.
    if (vocab.n_tokens() > 4096 || vocab.merges.size() > 4096) return;
    const size_t n_tokens = vocab.n_tokens();
    try {
        const text::Tokenizer tok(std::move(vocab));
        for (const bool special : {false, true}) {
            const auto ids =
                tok.encode("Hello world <s> \xE2\x96\x81x 12345 \xF0\x9F\x98\x80\n", special, special);
            for (const text::TokenId id : ids)
                if (id < 0 || size_t(id) >= n_tokens) hotrod::fuzz::property_failed("token id out of range");
            (void)tok.decode(ids, special);
        }
    } catch (const std::runtime_error&) {
        // An unknown pre-tokenizer name.
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // An exact-size copy, so the sanitizer flags a read one byte past the end.
    const std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(data),
                                       reinterpret_cast<const std::byte*>(data) + size);
    try {
        const auto f = gguf::File::open_bytes("fuzz.gguf", bytes);
        if (touch(f) == 0xdeadbeef) return 0;
        tokenize(f);
    } catch (const gguf::Error&) {
    }
    return 0;
}
