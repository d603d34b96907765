// text::BpeModel: byte-level BPE merges for one pre-tokenized word. Symbols are token ids from the start (one
// per byte, through GPT-2's byte-to-unicode map), merges are looked up by id pair, and the lowest-ranked
// adjacent pair is merged first with a heap over a linked list, so a long word costs O(n log n), not O(n²).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/vocab.h"

namespace hotrod::text {

// GPT-2's reversible byte <-> code point map: printable bytes map to themselves, the rest to U+0100 and up.
const std::array<char32_t, 256>& byte_to_codepoint();
// The byte a code point of that map stands for, or -1 if it is not one.
int codepoint_to_byte(char32_t cp);
// A byte-level token text decoded to the raw bytes it stands for (code points outside the map kept as UTF-8).
std::string bpe_token_bytes(std::string_view stored);

class BpeModel {
public:
    // ignore_merges: a word that is itself a token is emitted whole (Llama 3's tokenizer does this).
    BpeModel(const Vocab& vocab, bool ignore_merges);

    // Appends the ids of one word (raw bytes).
    void encode_word(std::string_view word, std::vector<TokenId>& out) const;

    size_t n_merges() const { return n_merges_; }

private:
    struct Merge {
        int32_t rank;
        TokenId result;
    };
    // Open-addressing table keyed by (left id << 32 | right id); merges are looked up once per candidate pair.
    const Merge* find_merge(TokenId left, TokenId right) const;

    std::array<TokenId, 256> byte_id_{};
    std::vector<uint64_t> keys_;
    std::vector<Merge> vals_;
    uint64_t mask_ = 0;
    size_t n_merges_ = 0;
    bool ignore_merges_ = false;
    std::unordered_map<std::string, TokenId> whole_;  // raw bytes -> id, for ignore_merges
};

}  // namespace hotrod::text
