// text::StreamDecoder: incremental detokenization for streaming. Token pieces are buffered until they end on a
// whole UTF-8 character, so no emitted chunk holds half a character, and the concatenation of every push() and the
// final finish() equals Tokenizer::decode() of the same ids.
#pragma once

#include <string>

#include "text/tokenizer.h"

namespace hotrod::text {

class StreamDecoder {
public:
    // special: show control tokens' text (as Tokenizer::decode(ids, special)).
    explicit StreamDecoder(const Tokenizer& tok, bool special = false) : tok_(&tok), special_(special) {}

    // The text that became complete with this token (possibly empty).
    std::string push(TokenId id);
    // Whatever is still held (an unfinished character at the end of generation), then resets for a new stream.
    std::string finish();

    size_t n_pending() const { return pending_.size(); }

private:
    const Tokenizer* tok_;
    bool special_;
    bool strip_ = true;  // the space-prefix rule still applies to the next non-empty piece
    std::string pending_;
};

}  // namespace hotrod::text
