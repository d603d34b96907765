// Flat open-addressing hash tables for the tokenizers' hot look-ups (merge pairs, trie edges, token texts):
// one probe sequence in a contiguous array instead of std::unordered_map's node chasing. Built once, read-only
// after; a miss stops at the first empty slot (load factor <= 1/2).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace hotrod::text {

inline uint64_t hash_u64(uint64_t k) {  // splitmix64 finaliser: spreads sequential keys over the table
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ull;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebull;
    return k ^ (k >> 31);
}

inline uint64_t hash_bytes(std::string_view s) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        h = hash_u64(h ^ w);
    }
    uint64_t tail = 0;
    std::memcpy(&tail, s.data() + i, s.size() - i);
    return hash_u64(h ^ tail);
}

inline size_t table_size_for(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    return cap;
}

// uint64 key -> int32 value; key ~0 is reserved (empty).
class FlatMapU64 {
public:
    static constexpr uint64_t kEmpty = ~uint64_t(0);

    void reserve(size_t n) {
        keys_.assign(table_size_for(n), kEmpty);
        vals_.assign(keys_.size(), -1);
        mask_ = keys_.size() - 1;
    }
    // Inserts if absent; returns false (keeping the old value) if the key is already there.
    bool insert(uint64_t key, int32_t val) {
        if (size_ * 2 >= keys_.size()) grow();
        uint64_t slot = hash_u64(key) & mask_;
        while (keys_[slot] != kEmpty) {
            if (keys_[slot] == key) return false;
            slot = (slot + 1) & mask_;
        }
        keys_[slot] = key;
        vals_[slot] = val;
        ++size_;
        return true;
    }
    int32_t find(uint64_t key, int32_t missing = -1) const {
        if (keys_.empty()) return missing;
        for (uint64_t slot = hash_u64(key) & mask_;; slot = (slot + 1) & mask_) {
            if (keys_[slot] == key) return vals_[slot];
            if (keys_[slot] == kEmpty) return missing;
        }
    }
    size_t size() const { return size_; }

private:
    void grow() {
        std::vector<uint64_t> keys;
        std::vector<int32_t> vals;
        keys.swap(keys_);
        vals.swap(vals_);
        reserve(keys.empty() ? 8 : keys.size());
        size_ = 0;
        for (size_t i = 0; i < keys.size(); ++i)
            if (keys[i] != kEmpty) insert(keys[i], vals[i]);
    }
    std::vector<uint64_t> keys_;
    std::vector<int32_t> vals_;
    uint64_t mask_ = 0;
    size_t size_ = 0;
};

// Text -> id over a list of texts owned elsewhere (the vocabulary); the table stores ids and a hash tag only.
class StringIndex {
public:
    // texts must outlive the index and not move their characters. On duplicates the last id wins.
    void build(const std::vector<std::string>& texts) {
        texts_ = texts.data();
        slots_.assign(table_size_for(texts.size()), Slot{});
        mask_ = slots_.size() - 1;
        for (size_t i = 0; i < texts.size(); ++i) {
            const uint64_t h = hash_bytes(texts[i]);
            uint64_t s = h & mask_;
            while (slots_[s].id >= 0 && !(slots_[s].tag == uint32_t(h >> 32) && texts[slots_[s].id] == texts[i]))
                s = (s + 1) & mask_;
            slots_[s] = {uint32_t(h >> 32), int32_t(i)};
        }
    }
    int32_t find(std::string_view text) const {
        if (slots_.empty()) return -1;
        const uint64_t h = hash_bytes(text);
        const uint32_t tag = uint32_t(h >> 32);
        for (uint64_t s = h & mask_;; s = (s + 1) & mask_) {
            const Slot& slot = slots_[s];
            if (slot.id < 0) return -1;
            if (slot.tag == tag && std::string_view(texts_[slot.id]) == text) return slot.id;
        }
    }

private:
    struct Slot {
        uint32_t tag = 0;
        int32_t id = -1;
    };
    const std::string* texts_ = nullptr;
    std::vector<Slot> slots_;
    uint64_t mask_ = 0;
};

}  // namespace hotrod::text
