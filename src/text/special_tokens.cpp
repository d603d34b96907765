// Special-token attributes and the text partition around special tokens. Occurrences are collected with a trie
// walk from every position, then accepted longest-token-first, which reproduces the reference's repeated
// search-and-split passes (one per special token) in one pass over the text.
#include "text/special_tokens.h"

#include <algorithm>
#include <numeric>
#include <string>

namespace hotrod::text {

namespace {

// Texts the reference treats as end of generation (and forces to control type).
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
    "<|end_of_text|>", "<end_of_utterance>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "</s>",  // the reference lists it for PaddleOCR; it also makes Gemma's </s> tag a control token
    "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
};

bool is_eog_text(std::string_view s) {
    return std::find(std::begin(kEogTexts), std::end(kEogTexts), s) != std::end(kEogTexts);
}

uint8_t attr_of_type(TokenType t) {
    switch (t) {
        case TokenType::Normal: return kAttrNormal;
        case TokenType::Unknown: return kAttrUnknown;
        case TokenType::Control: return kAttrControl;
        case TokenType::UserDefined: return kAttrUserDefined;
        case TokenType::Unused: return kAttrUnused;
        case TokenType::Byte: return kAttrByte;
        case TokenType::Undefined: break;
    }
    return kAttrNormal;  // undefined: treated as normal, as the reference does
}

bool c_isspace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

}  // namespace

std::vector<uint8_t> token_attrs(const Vocab& v) {
    std::vector<uint8_t> a(v.n_tokens());
    for (size_t i = 0; i < a.size(); ++i) {
        a[i] = attr_of_type(v.types[i]);
        if (is_eog_text(v.tokens[i])) a[i] = kAttrControl;
    }
    // Phi-3: every special token strips the whitespace after it, except <unk>, <s> and <|endoftext|>.
    if (v.general_name.find("phi-3") != std::string::npos || v.general_name.find("phi3") != std::string::npos) {
        for (size_t i = 0; i < a.size(); ++i) {
            if (!(a[i] & (kAttrControl | kAttrUserDefined | kAttrUnknown))) continue;
            const std::string& t = v.tokens[i];
            if (t == "<unk>" || t == "<s>" || t == "<|endoftext|>") continue;
            a[i] |= kAttrRstrip;
        }
    }
    return a;
}

std::vector<TokenId> eog_ids(const Vocab& v) {
    std::vector<TokenId> ids;
    if (v.eos_id != kNoToken) ids.push_back(v.eos_id);
    if (v.eot_id != kNoToken) ids.push_back(v.eot_id);
    for (size_t i = 0; i < v.n_tokens(); ++i)
        if (is_eog_text(v.tokens[i])) ids.push_back(TokenId(i));
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

SpecialMatcher::SpecialMatcher(const Vocab& v, const std::vector<uint8_t>& attrs) {
    for (size_t i = 0; i < v.n_tokens(); ++i)
        if ((attrs[i] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) && !v.tokens[i].empty())
            order_.push_back(TokenId(i));
    std::stable_sort(order_.begin(), order_.end(),
                     [&](TokenId a, TokenId b) { return v.tokens[a].size() > v.tokens[b].size(); });
    nodes_.emplace_back();
    for (size_t r = 0; r < order_.size(); ++r) {
        const std::string& t = v.tokens[order_[r]];
        attr_of_rank_.push_back(attrs[order_[r]]);
        len_of_rank_.push_back(uint32_t(t.size()));
        first_byte_[static_cast<unsigned char>(t[0])] = true;
        int32_t node = 0;
        for (unsigned char c : t) {
            const uint64_t key = uint64_t(node) << 8 | c;
            int32_t next = edges_.find(key);
            if (next < 0) {
                nodes_.emplace_back();
                next = int32_t(nodes_.size() - 1);
                edges_.insert(key, next);
            }
            node = next;
        }
        nodes_[node].rank = int32_t(r);
    }
}

int32_t SpecialMatcher::child(int32_t node, unsigned char c) const {
    return edges_.find(uint64_t(node) << 8 | c);
}

void SpecialMatcher::partition(std::string_view text, bool parse_special, std::vector<Fragment>& out) const {
    const size_t n = text.size();
    if (n == 0) return;
    struct Hit {
        int32_t rank;
        uint32_t pos;
    };
    std::vector<Hit> hits;
    const uint8_t skip = parse_special ? 0 : uint8_t(kAttrControl | kAttrUnknown);
    for (size_t pos = 0; pos < n; ++pos) {
        if (!first_byte_[static_cast<unsigned char>(text[pos])]) continue;
        int32_t node = 0;
        for (size_t k = pos; k < n; ++k) {
            node = child(node, static_cast<unsigned char>(text[k]));
            if (node < 0) break;
            const int32_t r = nodes_[node].rank;
            if (r >= 0 && !(attr_of_rank_[r] & skip)) hits.push_back({r, uint32_t(pos)});
        }
    }
    if (hits.empty()) {
        out.push_back({kNoToken, 0, uint32_t(n)});
        return;
    }
    // Order by (rank, pos): hits were collected by position, so a stable counting sort on rank suffices.
    {
        std::vector<uint32_t> start(order_.size() + 1, 0);
        for (const Hit& h : hits) ++start[h.rank + 1];
        for (size_t r = 0; r < order_.size(); ++r) start[r + 1] += start[r];
        std::vector<Hit> sorted(hits.size());
        for (const Hit& h : hits) sorted[start[h.rank]++] = h;
        hits.swap(sorted);
    }
    // owner[i]: 0 free, 1 taken by an accepted token, 2 whitespace swallowed by a strip attribute.
    std::vector<uint8_t> owner(n, 0);
    std::vector<Hit> accepted;
    for (const Hit& h : hits) {
        const uint32_t len = len_of_rank_[h.rank];
        bool free = true;
        for (uint32_t k = h.pos; k < h.pos + len && free; ++k) free = owner[k] == 0;
        if (!free) continue;
        std::fill(owner.begin() + h.pos, owner.begin() + h.pos + len, uint8_t(1));
        accepted.push_back(h);
        const uint8_t a = attr_of_rank_[h.rank];
        if (a & kAttrLstrip)
            for (size_t k = h.pos; k > 0 && owner[k - 1] == 0 && c_isspace(text[k - 1]); --k) owner[k - 1] = 2;
        if (a & kAttrRstrip)
            for (size_t k = h.pos + len; k < n && owner[k] == 0 && c_isspace(text[k]); ++k) owner[k] = 2;
    }
    std::sort(accepted.begin(), accepted.end(), [](const Hit& a, const Hit& b) { return a.pos < b.pos; });
    size_t pos = 0;
    auto emit_text = [&](size_t begin, size_t end) {
        while (begin < end && owner[begin] == 2) ++begin;
        while (end > begin && owner[end - 1] == 2) --end;
        if (end > begin) out.push_back({kNoToken, uint32_t(begin), uint32_t(end)});
    };
    for (const Hit& h : accepted) {
        emit_text(pos, h.pos);
        out.push_back({order_[h.rank], h.pos, h.pos + len_of_rank_[h.rank]});
        pos = h.pos + len_of_rank_[h.rank];
    }
    emit_text(pos, n);
}

}  // namespace hotrod::text
