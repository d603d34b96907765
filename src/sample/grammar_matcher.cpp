// Matcher: one request's position in its grammar. fill_mask walks the pre-order token trie once, stepping a
// copy of the automaton state per trie node (state at depth d = state at depth d-1 plus one byte) and skipping
// the subtree of any rejected prefix. Masks are cached by state bytes: inside a free string the state repeats
// token after token, and that walk visits nearly the whole trie, so the steady state is one copy.
#include <algorithm>
#include <cstring>

#include "sample/grammar_machine.h"
#include "sample/grammar_token_index.h"

namespace hotrod::sample {

namespace {

// A walk that visits fewer trie nodes than this is cheap enough to redo; caching it would only cost memory.
constexpr size_t kCacheMinVisits = 4096;
// Masks kept per request (Gemma: 32 KiB each).
constexpr size_t kCacheMaxEntries = 16;

void set_bit(std::span<uint64_t> mask, int32_t id) {
    mask[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (static_cast<uint32_t>(id) & 63);
}

}  // namespace

struct Matcher::Impl {
    std::shared_ptr<const Grammar> grammar;
    std::shared_ptr<const TokenIndex> index;
    State state;
    std::vector<State> walk;  // one state per trie depth, sized once
    // Few entries: a linear scan by state bytes finds one without allocating (the step loop allocates nothing
    // once a state is cached); a new entry replaces the oldest.
    struct Cached {
        std::string key;
        std::vector<uint64_t> mask;
    };
    std::vector<Cached> cache;
    size_t cache_next = 0;

    bool step_bytes(State& s, std::string_view bytes) const {
        for (char c : bytes) {
            if (!step(*grammar, s, static_cast<uint8_t>(c))) return false;
        }
        return true;
    }

    // The state as the mask sees it. Inside a length-bounded string the code-point count changes every token,
    // but while more code points remain than the longest token has bytes, no token can reach the limit: those
    // counts share one mask (the benchmark's 96-character scope string would otherwise walk the trie each step).
    State keyed;
    std::string_view cache_key() {
        keyed.copy_from(state);
        if (keyed.depth > 0) {
            Frame& f = keyed.frames[keyed.depth - 1];
            if (f.kind == FrameKind::String && f.phase == 0) {
                const Node& nd = grammar->nodes[f.node];
                const uint32_t longest = index->impl().max_depth;
                if (nd.max_length != kUnbounded && f.n >= nd.min_length && nd.max_length - f.n >= longest) {
                    f.n = kUnbounded;
                }
            } else if (f.kind == FrameKind::RawText) {
                // The same for a raw xml_function string, whose count includes the terminator's 13 bytes.
                const Node& nd = grammar->nodes[f.node];
                const uint32_t longest = index->impl().max_depth;
                if (nd.max_length != kUnbounded && f.n >= nd.min_length + 13 && f.n <= nd.max_length &&
                    nd.max_length - f.n >= longest) {
                    f.n = kUnbounded;
                }
            }
        }
        return keyed.key();
    }

    // walk[d] for a path of d plain string bytes: the root state with d more code points counted (an unbounded
    // string counts up to `floor` only: its minLength, plus a raw value's 13 terminator bytes).
    void materialize_plain(uint32_t d, uint32_t floor) {
        State& s = walk[d];
        s.copy_from(walk[0]);
        Frame& f = s.frames[s.depth - 1];
        const Node& nd = grammar->nodes[f.node];
        if (nd.max_length != kUnbounded) {
            f.n += d;
        } else {
            f.n = std::min(f.n + d, floor);
        }
    }

    // Fills mask from the trie walk; returns the number of trie nodes visited.
    size_t walk_trie(std::span<uint64_t> mask) {
        const TokenIndex::Impl& x = index->impl();
        const Grammar& g = *grammar;
        walk[0].copy_from(state);
        size_t visited = 0;
        const size_t n = x.trie.size();
        // Inside a string, a run of plain bytes only adds code points: such nodes are decided by the count
        // left, and the automaton state is built only where a path leaves the plain run.
        const Frame* str = nullptr;
        uint32_t room = 0;   // plain bytes the string can still take
        uint32_t floor = 0;  // an unbounded string's count stops here
        bool raw = false;    // a raw xml_function value: its own plain bytes (TrieEntry::raw_plain_prefix)
        if (state.depth > 0) {
            const Frame& top = state.frames[state.depth - 1];
            // Not JSON strings in xml_function grammars, where '<' is not plain (step_string). A raw value only
            // where no part of its end is matched (ws == 0: no '<' or '\n' pending, phase 0: between characters).
            if (top.kind == FrameKind::String && top.phase == 0 && !g.calls.xml) {
                str = &top;
            } else if (top.kind == FrameKind::RawText && top.phase == 0 && top.ws == 0) {
                str = &top, raw = true;
            }
            if (str) {
                const Node& nd = g.nodes[top.node];
                floor = nd.min_length + (raw ? 13 : 0);
                room = nd.max_length == kUnbounded ? kUnbounded : nd.max_length - top.n;
            }
        }
        for (size_t i = 0; i < n;) {
            const TrieEntry& e = x.trie[i];
            ++visited;
            if (str) {
                const uint16_t plain = raw ? e.raw_plain_prefix : e.plain_prefix;
                if (plain == e.depth) {
                    if (e.depth > room) {
                        i = e.end;
                        continue;
                    }
                    for (uint32_t t = e.tokens_begin; t < e.tokens_end; ++t) set_bit(mask, x.token_ids[t]);
                    ++i;
                    continue;
                }
                if (plain == e.depth - 1u && e.depth > 1) materialize_plain(e.depth - 1u, floor);
            }
            State& s = walk[e.depth];
            s.copy_from(walk[e.depth - 1u]);
            if (!step(g, s, e.byte)) {
                i = e.end;
                continue;
            }
            for (uint32_t t = e.tokens_begin; t < e.tokens_end; ++t) set_bit(mask, x.token_ids[t]);
            ++i;
        }
        return visited;
    }
};

Matcher::Matcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenIndex> index) : impl_(new Impl) {
    impl_->grammar = std::move(grammar);
    impl_->index = std::move(index);
    impl_->state = initial_state(*impl_->grammar);
}

Matcher::~Matcher() = default;
Matcher::Matcher(Matcher&&) noexcept = default;
Matcher& Matcher::operator=(Matcher&&) noexcept = default;

void Matcher::fill_mask(std::span<uint64_t> mask) {
    Impl& m = *impl_;
    const TokenIndex::Impl& x = m.index->impl();
    const size_t words = (static_cast<size_t>(x.n_vocab) + 63) / 64;
    mask = mask.first(std::min(mask.size(), words));
    const std::string_view key = m.cache_key();
    for (const auto& c : m.cache) {
        if (c.key == key) {
            std::memcpy(mask.data(), c.mask.data(), mask.size() * sizeof(uint64_t));
            return;
        }
    }
    std::fill(mask.begin(), mask.end(), 0);
    if (m.walk.empty()) m.walk.resize(x.max_depth + 1);  // on the first mask: a Matcher used only to accept needs none
    const size_t visited = m.walk_trie(mask);
    if (sample::is_complete(*m.grammar, m.state)) {
        for (int32_t id : x.eog_ids) set_bit(mask, id);
    }
    if (visited >= kCacheMinVisits) {
        Impl::Cached entry{std::string(key), std::vector<uint64_t>(mask.begin(), mask.end())};
        if (m.cache.size() < kCacheMaxEntries) {
            m.cache.push_back(std::move(entry));
        } else {
            m.cache[m.cache_next] = std::move(entry);
            m.cache_next = (m.cache_next + 1) % kCacheMaxEntries;
        }
    }
}

bool Matcher::accept(int32_t token_id) {
    Impl& m = *impl_;
    const TokenIndex::Impl& x = m.index->impl();
    if (token_id < 0 || token_id >= x.n_vocab) return false;
    if (std::binary_search(x.eog_ids.begin(), x.eog_ids.end(), token_id)) return sample::is_complete(*m.grammar, m.state);
    const std::string& piece = x.pieces[static_cast<size_t>(token_id)];
    if (piece.empty()) return false;
    return accept_bytes(piece);
}

bool Matcher::accept_bytes(std::string_view bytes) {
    Impl& m = *impl_;
    State next;
    next.copy_from(m.state);
    if (!m.step_bytes(next, bytes)) return false;
    m.state.copy_from(next);
    return true;
}

std::string Matcher::forced_bytes() const {
    const Impl& m = *impl_;
    State s;
    s.copy_from(m.state);
    std::string out;
    // Bounded: a schema's longest scaffolding (keys, enum tails) is far shorter.
    while (out.size() < 1024 && !sample::is_complete(*m.grammar, s)) {
        int only = -1;
        State next;
        for (int b = 0; b < 256; ++b) {
            State t;
            t.copy_from(s);
            if (!step(*m.grammar, t, static_cast<uint8_t>(b))) continue;
            if (only >= 0) return out;
            only = b;
            next.copy_from(t);
        }
        if (only < 0) break;
        out.push_back(static_cast<char>(only));
        s.copy_from(next);
    }
    return out;
}

bool Matcher::is_complete() const { return sample::is_complete(*impl_->grammar, impl_->state); }

bool Matcher::is_finished() const {
    const Impl& m = *impl_;
    if (!sample::is_complete(*m.grammar, m.state)) return false;
    for (int b = 0; b < 256; ++b) {
        State t;
        t.copy_from(m.state);
        if (step(*m.grammar, t, static_cast<uint8_t>(b))) return false;
    }
    return true;
}

}  // namespace hotrod::sample
