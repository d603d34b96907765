// Byte-level BPE: the byte map, the merge table (built from "left right" merge strings) and the merge loop.
#include "text/bpe.h"

#include <algorithm>
#include <queue>

#include "text/utf8.h"

namespace hotrod::text {

namespace {

constexpr uint64_t kEmpty = ~uint64_t(0);

uint64_t pair_key(TokenId l, TokenId r) { return uint64_t(uint32_t(l)) << 32 | uint32_t(r); }

uint64_t mix(uint64_t k) {  // splitmix64 finaliser: spreads sequential ids over the table
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ull;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebull;
    return k ^ (k >> 31);
}

}  // namespace

const std::array<char32_t, 256>& byte_to_codepoint() {
    static const std::array<char32_t, 256> map = [] {
        std::array<char32_t, 256> m{};
        char32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            m[b] = printable ? char32_t(b) : next++;
        }
        return m;
    }();
    return map;
}

int codepoint_to_byte(char32_t cp) {
    static const std::array<int16_t, 512> inv = [] {
        std::array<int16_t, 512> m{};
        m.fill(-1);
        const auto& fwd = byte_to_codepoint();
        for (int b = 0; b < 256; ++b) m[fwd[b]] = int16_t(b);
        return m;
    }();
    return cp < inv.size() ? inv[cp] : -1;
}

std::string bpe_token_bytes(std::string_view stored) {
    std::string out;
    out.reserve(stored.size());
    for (size_t pos = 0; pos < stored.size();) {
        char32_t cp;
        const size_t n = utf8_decode(stored, pos, &cp);
        if (n == 0) {  // not UTF-8: keep the byte
            out += stored[pos++];
            continue;
        }
        const int b = codepoint_to_byte(cp);
        if (b >= 0)
            out += char(b);
        else
            out.append(stored.substr(pos, n));
        pos += n;
    }
    return out;
}

BpeModel::BpeModel(const Vocab& v, bool ignore_merges) : ignore_merges_(ignore_merges) {
    std::unordered_map<std::string_view, TokenId> by_text;
    by_text.reserve(v.n_tokens());
    for (size_t i = 0; i < v.n_tokens(); ++i) by_text[v.tokens[i]] = TokenId(i);  // last id wins, as in the reference

    byte_id_.fill(kNoToken);
    for (int b = 0; b < 256; ++b) {
        std::string s;
        utf8_append(s, byte_to_codepoint()[b]);
        if (auto it = by_text.find(s); it != by_text.end()) byte_id_[b] = it->second;
    }

    size_t cap = 16;
    while (cap < v.merges.size() * 2) cap <<= 1;
    keys_.assign(cap, kEmpty);
    vals_.resize(cap);
    mask_ = cap - 1;
    std::string joined;
    for (size_t rank = 0; rank < v.merges.size(); ++rank) {
        const std::string& m = v.merges[rank];
        const size_t sp = m.find(' ', 1);
        if (sp == std::string::npos) continue;
        joined.assign(m, 0, sp);
        joined.append(m, sp + 1);
        const auto l = by_text.find(std::string_view(m).substr(0, sp));
        const auto r = by_text.find(std::string_view(m).substr(sp + 1));
        const auto res = by_text.find(joined);
        // A merge whose parts or result are not tokens can never fire on token-id symbols; it is dropped.
        if (l == by_text.end() || r == by_text.end() || res == by_text.end()) continue;
        const uint64_t key = pair_key(l->second, r->second);
        uint64_t slot = mix(key) & mask_;
        while (keys_[slot] != kEmpty && keys_[slot] != key) slot = (slot + 1) & mask_;
        if (keys_[slot] == key) continue;  // a repeated pair keeps its first (lowest) rank
        keys_[slot] = key;
        vals_[slot] = {int32_t(rank), res->second};
        ++n_merges_;
    }

    if (ignore_merges_) {
        whole_.reserve(v.n_tokens());
        for (size_t i = 0; i < v.n_tokens(); ++i)
            if (v.types[i] == TokenType::Normal) whole_.emplace(bpe_token_bytes(v.tokens[i]), TokenId(i));
    }
}

const BpeModel::Merge* BpeModel::find_merge(TokenId left, TokenId right) const {
    if (left < 0 || right < 0) return nullptr;
    const uint64_t key = pair_key(left, right);
    for (uint64_t slot = mix(key) & mask_;; slot = (slot + 1) & mask_) {
        if (keys_[slot] == key) return &vals_[slot];
        if (keys_[slot] == kEmpty) return nullptr;
    }
}

void BpeModel::encode_word(std::string_view word, std::vector<TokenId>& out) const {
    if (word.empty()) return;
    if (ignore_merges_) {
        if (auto it = whole_.find(std::string(word)); it != whole_.end()) {
            out.push_back(it->second);
            return;
        }
    }
    const int n = int(word.size());
    struct Sym {
        TokenId id;
        int prev, next;
    };
    std::vector<Sym> sym(n);
    for (int i = 0; i < n; ++i) sym[i] = {byte_id_[static_cast<unsigned char>(word[i])], i - 1, i + 1 < n ? i + 1 : -1};
    if (n == 1) {
        if (sym[0].id >= 0) out.push_back(sym[0].id);
        return;
    }

    struct Cand {
        int32_t rank;
        int left, right;
        TokenId left_id, right_id;
    };
    // Lowest rank first; among equal ranks the leftmost pair.
    auto worse = [](const Cand& a, const Cand& b) { return a.rank != b.rank ? a.rank > b.rank : a.left > b.left; };
    std::vector<Cand> heap;
    heap.reserve(n);
    auto push = [&](int l, int r) {
        if (l < 0 || r < 0) return;
        if (const Merge* m = find_merge(sym[l].id, sym[r].id)) {
            heap.push_back({m->rank, l, r, sym[l].id, sym[r].id});
            std::push_heap(heap.begin(), heap.end(), worse);
        }
    };
    for (int i = 0; i + 1 < n; ++i) push(i, i + 1);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), worse);
        const Cand c = heap.back();
        heap.pop_back();
        Sym& l = sym[c.left];
        Sym& r = sym[c.right];
        // Stale if either side has merged since (ids changed or the pair is no longer adjacent).
        if (l.id != c.left_id || r.id != c.right_id || l.next != c.right) continue;
        l.id = find_merge(c.left_id, c.right_id)->result;
        l.next = r.next;
        if (r.next >= 0) sym[r.next].prev = c.left;
        r.id = kNoToken;
        r.next = -2;  // dead
        push(l.prev, c.left);
        push(c.left, l.next);
    }
    for (int i = 0; i >= 0; i = sym[i].next)
        if (sym[i].id >= 0) out.push_back(sym[i].id);
}

}  // namespace hotrod::text
