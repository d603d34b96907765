// Special tokens: which tokens are control / user-defined / unknown (with the reference's per-model overrides),
// and the partition of input text into raw-text fragments and special tokens found inside it. Control and
// unknown tokens are recognised only when the caller allows it (parse_special); user-defined ones always are.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "text/flat_map.h"
#include "text/vocab.h"

namespace hotrod::text {

// Per-token attribute bits (a token has exactly one of the kind bits, plus optional strip bits).
enum TokenAttr : uint8_t {
    kAttrNormal = 1 << 0,
    kAttrUnknown = 1 << 1,
    kAttrControl = 1 << 2,
    kAttrUserDefined = 1 << 3,
    kAttrUnused = 1 << 4,
    kAttrByte = 1 << 5,
    kAttrLstrip = 1 << 6,  // swallow whitespace before the token when it is found in text
    kAttrRstrip = 1 << 7,  // ... and after it
};

// Attributes from the stored token types, with two overrides the reference applies: end-of-generation tokens
// named like "<|im_end|>" are made control tokens whatever their stored type (so user text cannot end a turn),
// and Phi-3's special tokens strip the whitespace after them.
std::vector<uint8_t> token_attrs(const Vocab& vocab);

// End-of-generation ids: eos, eot and every token named like an end-of-turn marker.
std::vector<TokenId> eog_ids(const Vocab& vocab);

struct Fragment {
    TokenId id = kNoToken;  // a special token, or kNoToken for raw text
    uint32_t begin = 0;     // raw text: byte range in the input
    uint32_t end = 0;
};

class SpecialMatcher {
public:
    SpecialMatcher(const Vocab& vocab, const std::vector<uint8_t>& attrs);

    // Splits text into fragments in order. Result equals the reference's: special tokens are taken longest first
    // over the whole text, each one's occurrences left to right, never overlapping an earlier choice.
    void partition(std::string_view text, bool parse_special, std::vector<Fragment>& out) const;

    size_t n_special() const { return order_.size(); }

private:
    struct Node {
        int32_t rank = -1;  // index into order_ if a special token ends here
    };
    int32_t child(int32_t node, unsigned char c) const;

    std::vector<TokenId> order_;             // special ids, longest text first (ties by id)
    std::vector<uint8_t> attr_of_rank_;      // attrs by rank
    std::vector<uint32_t> len_of_rank_;
    std::vector<Node> nodes_;                // trie over the special texts; node 0 is the root
    FlatMapU64 edges_;                       // (node << 8 | byte) -> child
    bool first_byte_[256] = {};
};

}  // namespace hotrod::text
