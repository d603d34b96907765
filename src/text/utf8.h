// UTF-8 helpers for the tokenizers: code point decode/encode, the sanitizer that makes any byte string valid
// UTF-8 (each invalid byte becomes U+FFFD, as the reference tokenizer does), and the length of the longest prefix
// that holds only complete characters (what a streaming decoder may emit now).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hotrod::text {

constexpr char32_t kReplacementChar = 0xFFFD;

// Bytes of the sequence a lead byte announces: 1 for ASCII and for stray continuation bytes, 2..4 otherwise.
inline size_t utf8_len(unsigned char lead) {
    static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return kLen[lead >> 4];
}

// Decodes one well-formed sequence at s[pos] (rejecting overlongs, surrogates, > U+10FFFF). Returns its length
// in bytes, or 0 if s[pos..] does not start with a valid sequence; on success *cp holds the code point.
size_t utf8_decode(std::string_view s, size_t pos, char32_t* cp);

void utf8_append(std::string& out, char32_t cp);

bool utf8_valid(std::string_view s);

// s with every byte that does not belong to a valid sequence replaced by U+FFFD (one per byte).
std::string utf8_sanitize(std::string_view s);

// Length of the longest prefix of s that does not end inside an incomplete (but still possibly valid) sequence.
// Invalid bytes count as complete: holding them back would stall a stream that can never become valid.
size_t utf8_complete_prefix(std::string_view s);

}  // namespace hotrod::text
