// Loads text::Vocab from a GGUF file's tokenizer.ggml.* keys, checking lengths, ranges and types so the tokenizer
// can index its tables without further checks. Errors name the file and the key, expected and found.
#include "text/vocab.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "gguf/reader.h"

namespace hotrod::text {

namespace {

[[noreturn]] void fail(const gguf::File& f, std::string_view key, const std::string& what) {
    throw std::runtime_error(f.path() + ": " + std::string(key) + ": " + what);
}

TokenId read_id(const gguf::File& f, std::string_view key, TokenId fallback, size_t n_tokens) {
    const auto v = f.find<int64_t>(key);
    if (!v) return fallback;
    // Some converters write -1 (as i32) or 0xFFFFFFFF (as u32) for "none".
    if (*v < 0 || *v == 0xFFFFFFFFll) return kNoToken;
    if (size_t(*v) >= n_tokens)
        fail(f, key, "expected a token id below " + std::to_string(n_tokens) + ", found " + std::to_string(*v));
    return TokenId(*v);
}

}  // namespace

Vocab load_vocab(const gguf::File& f) {
    Vocab v;
    v.model_name = f.get<std::string>("tokenizer.ggml.model");
    if (v.model_name == "llama") {
        v.kind = VocabKind::Spm;
    } else if (v.model_name == "gpt2") {
        v.kind = VocabKind::Bpe;
    } else {
        fail(f, "tokenizer.ggml.model", "expected \"llama\" or \"gpt2\", found \"" + v.model_name + "\"");
    }
    v.pre = f.find<std::string>("tokenizer.ggml.pre").value_or("default");
    v.general_name = f.find<std::string>("general.name").value_or("");
    std::transform(v.general_name.begin(), v.general_name.end(), v.general_name.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });

    v.tokens = f.get_array<std::string>("tokenizer.ggml.tokens");
    const size_t n = v.tokens.size();
    if (n == 0) fail(f, "tokenizer.ggml.tokens", "expected at least one token, found none");
    if (n > size_t(INT32_MAX)) fail(f, "tokenizer.ggml.tokens", "too many tokens: " + std::to_string(n));

    if (auto s = f.find_array<float>("tokenizer.ggml.scores")) {
        if (s->size() != n)
            fail(f, "tokenizer.ggml.scores", "expected " + std::to_string(n) + " scores, found " + std::to_string(s->size()));
        v.scores = std::move(*s);
    } else if (v.kind == VocabKind::Spm) {
        fail(f, "tokenizer.ggml.scores", "missing (a \"llama\" vocabulary merges by score)");
    }

    v.types.assign(n, TokenType::Normal);
    if (auto t = f.find_array<int32_t>("tokenizer.ggml.token_type")) {
        if (t->size() != n)
            fail(f, "tokenizer.ggml.token_type", "expected " + std::to_string(n) + " types, found " + std::to_string(t->size()));
        for (size_t i = 0; i < n; ++i) {
            if ((*t)[i] < 0 || (*t)[i] > 6)
                fail(f, "tokenizer.ggml.token_type", "token " + std::to_string(i) + ": expected a type in 0..6, found " +
                                                         std::to_string((*t)[i]));
            v.types[i] = TokenType((*t)[i]);
        }
    }

    if (v.kind == VocabKind::Bpe) v.merges = f.get_array<std::string>("tokenizer.ggml.merges");

    // Defaults first (the reference loader's), then whatever the file states.
    if (v.kind == VocabKind::Spm) {
        v.bos_id = 1, v.eos_id = 2, v.unk_id = 0;
        v.add_bos = true, v.add_space_prefix = true;
    } else {
        v.add_bos = v.pre == "llama-bpe" || v.pre == "llama3" || v.pre == "llama-v3";
    }
    auto clamp_default = [n](TokenId id) { return size_t(id) < n ? id : kNoToken; };
    v.bos_id = read_id(f, "tokenizer.ggml.bos_token_id", clamp_default(v.bos_id), n);
    v.eos_id = read_id(f, "tokenizer.ggml.eos_token_id", clamp_default(v.eos_id), n);
    v.eot_id = read_id(f, "tokenizer.ggml.eot_token_id", kNoToken, n);
    v.unk_id = read_id(f, "tokenizer.ggml.unknown_token_id", clamp_default(v.unk_id), n);
    v.pad_id = read_id(f, "tokenizer.ggml.padding_token_id", kNoToken, n);
    v.add_bos = f.find<bool>("tokenizer.ggml.add_bos_token").value_or(v.add_bos);
    v.add_eos = f.find<bool>("tokenizer.ggml.add_eos_token").value_or(v.add_eos);
    v.add_space_prefix = f.find<bool>("tokenizer.ggml.add_space_prefix").value_or(v.add_space_prefix);
    if (v.kind == VocabKind::Bpe) v.add_space_prefix = false;  // byte-level BPE never prefixes a space
    return v;
}

Vocab load_vocab(const std::string& path) {
    const auto file = gguf::File::open_single(path);
    return load_vocab(file);
}

}  // namespace hotrod::text
