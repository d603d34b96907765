// BlockPool: the KV cache's block ids, reference-counted so that sequences with an equal token prefix share the
// blocks that hold it (prefix caching). A full block can be published under the hash of its token prefix; when
// its last holder lets go it is not freed but parked on a least-recently-used list, still findable by hash,
// until allocate() runs out of free blocks and evicts the oldest parked one.
// Invariant: every id is in exactly one place: the free list (ref 0, no hash), the LRU list (ref 0, hashed), or
// held (ref > 0, hashed or not).
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace hotrod::model {

// Hash of a block's tokens chained to the hash of everything before it: equal hashes mean equal prefixes.
uint64_t prefix_block_hash(uint64_t parent, std::span<const int32_t> tokens);

class BlockPool {
public:
    explicit BlockPool(int n_blocks, int block_size = 16);

    // A block with ref 1: a free one, else the least recently parked cached one (forgetting its hash); -1 if none.
    int32_t allocate();
    // Drops one reference; at 0 a published block is parked (kept for reuse), any other is freed.
    void release(int32_t block_id);
    // Takes one more reference (a parked block leaves the LRU list).
    void retain(int32_t block_id);

    // Publishes a held, full block under hash; parent is the hash of the block before it (0 for the first) and
    // tokens its block_size tokens, kept to verify look-ups. Returns false (and changes nothing) when another
    // block already holds that hash or this one is already published.
    bool publish(int32_t block_id, uint64_t hash, uint64_t parent, std::span<const int32_t> tokens);
    // Forgets a held block's hash (before its content is overwritten).
    void unpublish(int32_t block_id);
    // The block published under hash whose parent and tokens are equal, or -1.
    int32_t find(uint64_t hash, uint64_t parent, std::span<const int32_t> tokens) const;

    int n_blocks() const { return n_blocks_; }
    int n_free() const { return int(free_.size()); }
    int n_cached() const { return n_parked_; }                      // parked: evictable, reusable by hash
    int n_available() const { return n_free() + n_cached(); }      // what allocate() can still hand out
    int n_held() const { return n_blocks_ - n_available(); }
    int ref(int32_t block_id) const { return ref_.at(size_t(block_id)); }
    bool published(int32_t block_id) const { return hash_.at(size_t(block_id)) != 0; }

private:
    void lru_unlink(int32_t b);
    void lru_push_back(int32_t b);

    int n_blocks_;
    int block_size_;
    std::vector<int32_t> free_;    // lowest id last, so blocks are handed out in order
    std::vector<int32_t> ref_;
    std::vector<uint64_t> hash_;   // 0: not published
    std::vector<uint64_t> parent_;
    std::vector<int32_t> tokens_;  // [n_blocks * block_size] tokens of published blocks
    std::unordered_map<uint64_t, int32_t> by_hash_;
    std::vector<int32_t> prev_, next_;  // LRU links of parked blocks; -1 ends
    int32_t lru_head_ = -1, lru_tail_ = -1;  // head: least recently parked
    int n_parked_ = 0;
};

}  // namespace hotrod::model
