// Builds the pre-order token trie: sort the non-empty pieces as unsigned bytes, then each piece adds the nodes
// past its common prefix with the one before. Pieces longer than 65535 bytes (none in real vocabularies)
// are left out: their tokens are never allowed.
#include "sample/grammar_token_index.h"

#include <algorithm>
#include <numeric>

namespace hotrod::sample {

TokenIndex::TokenIndex(std::vector<std::string> pieces, std::vector<int32_t> eog_ids) : impl_(new Impl) {
    Impl& x = *impl_;
    x.n_vocab = static_cast<int32_t>(pieces.size());
    for (int32_t id : eog_ids) {
        if (id >= 0 && id < x.n_vocab) x.eog_ids.push_back(id);
    }
    std::sort(x.eog_ids.begin(), x.eog_ids.end());
    x.eog_ids.erase(std::unique(x.eog_ids.begin(), x.eog_ids.end()), x.eog_ids.end());

    std::vector<int32_t> order;
    for (int32_t id = 0; id < x.n_vocab; ++id) {
        const std::string& p = pieces[static_cast<size_t>(id)];
        if (p.empty() || p.size() > 65535) continue;
        if (std::binary_search(x.eog_ids.begin(), x.eog_ids.end(), id)) continue;  // only through the EOG rule
        order.push_back(id);
    }
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        return pieces[static_cast<size_t>(a)] < pieces[static_cast<size_t>(b)];  // char_traits<char> compares as unsigned
    });

    std::vector<uint32_t> path;  // trie index of the node at each depth of the previous piece
    const std::string* prev = nullptr;
    for (int32_t id : order) {
        const std::string& p = pieces[static_cast<size_t>(id)];
        size_t common = 0;
        if (prev) {
            while (common < prev->size() && common < p.size() && (*prev)[common] == p[common]) ++common;
        }
        for (size_t d = common; d < path.size(); ++d) x.trie[path[d]].end = static_cast<uint32_t>(x.trie.size());
        path.resize(common);
        for (size_t d = common; d < p.size(); ++d) {
            TrieEntry e;
            e.byte = static_cast<uint8_t>(p[d]);
            e.depth = static_cast<uint16_t>(d + 1);
            e.tokens_begin = e.tokens_end = static_cast<uint32_t>(x.token_ids.size());
            const uint16_t parent_plain = d == 0 ? 0 : x.trie[path[d - 1]].plain_prefix;
            e.plain_prefix = parent_plain == d && is_plain_string_byte(e.byte) ? static_cast<uint16_t>(d + 1) : parent_plain;
            const uint16_t parent_raw = d == 0 ? 0 : x.trie[path[d - 1]].raw_plain_prefix;
            e.raw_plain_prefix = parent_raw == d && is_plain_raw_byte(e.byte) ? static_cast<uint16_t>(d + 1) : parent_raw;
            path.push_back(static_cast<uint32_t>(x.trie.size()));
            x.trie.push_back(e);
        }
        TrieEntry& leaf = x.trie[path.back()];
        if (leaf.tokens_begin == leaf.tokens_end) leaf.tokens_begin = static_cast<uint32_t>(x.token_ids.size());
        x.token_ids.push_back(id);
        leaf.tokens_end = static_cast<uint32_t>(x.token_ids.size());
        x.max_depth = std::max(x.max_depth, static_cast<uint32_t>(p.size()));
        prev = &p;
    }
    for (uint32_t i : path) x.trie[i].end = static_cast<uint32_t>(x.trie.size());
    x.pieces = std::move(pieces);
}

TokenIndex::~TokenIndex() = default;

int32_t TokenIndex::n_vocab() const { return impl_->n_vocab; }

}  // namespace hotrod::sample
