// text::SpmModel: SentencePiece-style encoding of one text fragment (spaces already written as ▁): start from
// UTF-8 characters, repeatedly merge the adjacent pair whose concatenation is the highest-scoring token, and emit
// any character that is not a token as its byte tokens (<0xNN>).
#pragma once

#include <array>
#include <string_view>
#include <vector>

#include "text/flat_map.h"
#include "text/vocab.h"

namespace hotrod::text {

class SpmModel {
public:
    explicit SpmModel(const Vocab& vocab);  // keeps views into vocab.tokens: vocab must outlive this

    void encode(std::string_view text, std::vector<TokenId>& out) const;

    TokenId find(std::string_view text) const { return by_text_.find(text); }

private:
    const std::vector<float>* scores_;
    StringIndex by_text_;
    std::array<TokenId, 256> byte_id_{};
    TokenId unk_id_ = kNoToken;
};

}  // namespace hotrod::text
