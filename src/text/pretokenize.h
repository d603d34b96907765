// text::PreTokenizer: the regex stage of byte-level BPE, which cuts text into words before any merge. Each
// `tokenizer.ggml.pre` name maps to one or more patterns (applied in sequence, each to the pieces of the last;
// text between matches is kept as its own piece), run with PCRE2 in UTF + Unicode-property mode, JIT-compiled.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace hotrod::text {

struct Piece {
    uint32_t begin = 0;  // byte offsets into the text passed to split()
    uint32_t end = 0;
};

class PreTokenizer {
public:
    // Throws std::runtime_error for a name it does not know (the list is in pretokenize.cpp).
    static PreTokenizer for_name(std::string_view pre);
    static bool known(std::string_view pre);

    PreTokenizer(PreTokenizer&&) noexcept;
    PreTokenizer& operator=(PreTokenizer&&) noexcept;
    ~PreTokenizer();

    // Appends the pieces of text (valid UTF-8, < 4 GiB) to out, in order, covering it completely.
    void split(std::string_view text, std::vector<Piece>& out) const;

    size_t n_patterns() const;

private:
    struct Impl;
    explicit PreTokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace hotrod::text
