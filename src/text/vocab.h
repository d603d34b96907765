// text::Vocab: everything a tokenizer needs from a model file's `tokenizer.ggml.*` metadata, as plain data
// (tokens, scores, token types, merges, the pre-tokenizer name, special ids and flags), and its loader from a GGUF
// file. The tokenizer (tokenizer.h) builds its look-up tables from a Vocab; this file holds no algorithm.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hotrod::gguf {
class File;
}

namespace hotrod::text {

using TokenId = int32_t;
constexpr TokenId kNoToken = -1;

// tokenizer.ggml.token_type values, as stored.
enum class TokenType : int32_t {
    Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

enum class VocabKind {
    Spm,  // tokenizer.ggml.model "llama": SentencePiece-style, score-driven merges, byte fallback, ▁ for space
    Bpe,  // tokenizer.ggml.model "gpt2": byte-level BPE, rank-driven merges, regex pre-tokenizer
};

struct Vocab {
    VocabKind kind = VocabKind::Bpe;
    std::string model_name;               // tokenizer.ggml.model as stored
    std::string pre;                      // tokenizer.ggml.pre ("gpt-2", "llama-bpe", "qwen2", "smollm", ...)
    std::string general_name;             // general.name, lower-cased (a few per-model token rules key on it)

    std::vector<std::string> tokens;      // (n_tokens) token texts as stored (byte-level encoded for Bpe)
    std::vector<float> scores;            // (n_tokens) Spm merge scores; empty for Bpe
    std::vector<TokenType> types;         // (n_tokens)
    std::vector<std::string> merges;      // Bpe merges, "left right", in rank order (rank = index)

    TokenId bos_id = kNoToken;
    TokenId eos_id = kNoToken;
    TokenId eot_id = kNoToken;
    TokenId unk_id = kNoToken;
    TokenId pad_id = kNoToken;
    bool add_bos = false;                 // prepend BOS when the caller asks for special tokens
    bool add_eos = false;
    bool add_space_prefix = false;        // Spm: a space before the first text fragment

    size_t n_tokens() const { return tokens.size(); }
};

// Reads tokenizer.ggml.* from an open GGUF file. Defaults for absent keys follow the reference loader:
// Spm: bos 1, eos 2, unk 0, add_bos true, add_space_prefix true; Bpe: add_bos true only for llama-bpe.
// Throws std::runtime_error naming the file and key when a key is missing or malformed.
Vocab load_vocab(const gguf::File& file);
Vocab load_vocab(const std::string& path);

}  // namespace hotrod::text
