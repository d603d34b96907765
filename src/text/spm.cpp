// SentencePiece-style merges. Every symbol is a byte range of the input, so a candidate pair is looked up as one
// contiguous substring without building strings. Ties: higher score first, then the leftmost pair.
#include "text/spm.h"

#include <algorithm>
#include <cstdio>

#include "text/utf8.h"

namespace hotrod::text {

SpmModel::SpmModel(const Vocab& v) : scores_(&v.scores), unk_id_(v.unk_id) {
    by_text_.build(v.tokens);  // last id wins on a duplicate text, as in the reference
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        TokenId id = find(name);
        const char c = char(b);
        if (id == kNoToken) id = find(std::string_view(&c, 1));  // the reference's fallback: the byte itself
        byte_id_[b] = id;
    }
}

void SpmModel::encode(std::string_view text, std::vector<TokenId>& out) const {
    if (text.empty()) return;
    struct Sym {
        uint32_t begin, len;  // len 0: merged away
        int prev, next;
    };
    std::vector<Sym> sym;
    sym.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
        const size_t len = std::min(utf8_len(static_cast<unsigned char>(text[pos])), text.size() - pos);
        const int i = int(sym.size());
        sym.push_back({uint32_t(pos), uint32_t(len), i - 1, pos + len < text.size() ? i + 1 : -1});
        pos += len;
    }

    struct Cand {
        float score;
        int left, right;
        uint32_t len;
    };
    auto worse = [](const Cand& a, const Cand& b) { return a.score != b.score ? a.score < b.score : a.left > b.left; };
    std::vector<Cand> heap;
    heap.reserve(sym.size());
    const auto& scores = *scores_;
    auto push = [&](int l, int r) {
        if (l < 0 || r < 0) return;
        const uint32_t len = sym[l].len + sym[r].len;
        const TokenId id = find(text.substr(sym[l].begin, len));
        if (id == kNoToken) return;
        heap.push_back({scores[id], l, r, len});
        std::push_heap(heap.begin(), heap.end(), worse);
    };
    for (int i = 0; i + 1 < int(sym.size()); ++i) push(i, i + 1);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), worse);
        const Cand c = heap.back();
        heap.pop_back();
        Sym& l = sym[c.left];
        Sym& r = sym[c.right];
        if (l.len == 0 || r.len == 0 || l.len + r.len != c.len) continue;  // one side changed since
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) sym[r.next].prev = c.left;
        push(l.prev, c.left);
        push(c.left, l.next);
    }
    for (int i = 0; i >= 0; i = sym[i].next) {
        const std::string_view piece = text.substr(sym[i].begin, sym[i].len);
        if (const TokenId id = find(piece); id != kNoToken) {
            out.push_back(id);
            continue;
        }
        // Not a token (only single characters can be): byte fallback, or <unk> where a byte has no token.
        for (unsigned char b : piece) {
            const TokenId id = byte_id_[b] != kNoToken ? byte_id_[b] : unk_id_;
            if (id != kNoToken) out.push_back(id);
        }
    }
}

}  // namespace hotrod::text
