// TokenIndex::Impl: the vocabulary's token pieces as a byte trie, flattened in pre-order so the mask walk is
// one forward scan that skips a whole subtree (every token sharing a rejected prefix) in one jump.
#pragma once

#include <cstdint>
#include <vector>

#include "sample/grammar.h"

namespace hotrod::sample {

struct TrieEntry {
    uint8_t byte = 0;       // the edge into this node
    uint16_t depth = 0;     // 1 for children of the root (the root itself is not stored)
    uint32_t end = 0;       // index one past this node's subtree
    uint32_t tokens_begin = 0, tokens_end = 0;  // range of token_ids whose piece ends exactly here
    // Length of the longest prefix of this node's path made of plain string bytes (printable ASCII other than
    // '"' and '\\'): inside a string those bytes only add code points, so the mask walk skips the automaton.
    uint16_t plain_prefix = 0;
    // The same for raw xml_function text (FrameKind::RawText): printable ASCII but '<', which may start its end.
    uint16_t raw_plain_prefix = 0;
};

inline bool is_plain_string_byte(uint8_t b) { return b >= 0x20 && b < 0x7f && b != '"' && b != '\\'; }
inline bool is_plain_raw_byte(uint8_t b) { return b >= 0x20 && b < 0x7f && b != '<'; }

struct TokenIndex::Impl {
    int32_t n_vocab = 0;
    uint32_t max_depth = 0;          // longest piece, in bytes
    std::vector<TrieEntry> trie;     // pre-order
    std::vector<int32_t> token_ids;  // grouped by trie node
    std::vector<int32_t> eog_ids;    // in range, sorted, unique
    std::vector<std::string> pieces;
};

}  // namespace hotrod::sample
