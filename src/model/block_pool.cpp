// BlockPool: reference counts, the published-prefix map and the LRU list of parked blocks.
#include "model/block_pool.h"

#include <algorithm>
#include <stdexcept>

namespace hotrod::model {

namespace {

uint64_t mix64(uint64_t x) {  // a strong 64-bit finaliser: every input bit affects every output bit
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

}  // namespace

uint64_t prefix_block_hash(uint64_t parent, std::span<const int32_t> tokens) {
    uint64_t h = mix64(parent ^ 0x9e3779b97f4a7c15ull);
    for (const int32_t t : tokens) h = mix64(h ^ uint64_t(uint32_t(t)));
    return h == 0 ? 1 : h;  // 0 means "not published"
}

BlockPool::BlockPool(int n_blocks, int block_size)
    : n_blocks_(n_blocks),
      block_size_(block_size),
      ref_(size_t(n_blocks), 0),
      hash_(size_t(n_blocks), 0),
      parent_(size_t(n_blocks), 0),
      tokens_(size_t(n_blocks) * size_t(block_size), 0),
      prev_(size_t(n_blocks), -1),
      next_(size_t(n_blocks), -1) {
    free_.reserve(size_t(n_blocks));
    for (int b = n_blocks - 1; b >= 0; --b) free_.push_back(b);
}

void BlockPool::lru_unlink(int32_t b) {
    const int32_t p = prev_[size_t(b)], n = next_[size_t(b)];
    (p >= 0 ? next_[size_t(p)] : lru_head_) = n;
    (n >= 0 ? prev_[size_t(n)] : lru_tail_) = p;
    prev_[size_t(b)] = next_[size_t(b)] = -1;
    --n_parked_;
}

void BlockPool::lru_push_back(int32_t b) {
    prev_[size_t(b)] = lru_tail_;
    next_[size_t(b)] = -1;
    (lru_tail_ >= 0 ? next_[size_t(lru_tail_)] : lru_head_) = b;
    lru_tail_ = b;
    ++n_parked_;
}

int32_t BlockPool::allocate() {
    int32_t b = -1;
    if (!free_.empty()) {
        b = free_.back();
        free_.pop_back();
    } else if (lru_head_ >= 0) {
        b = lru_head_;
        lru_unlink(b);
        by_hash_.erase(hash_[size_t(b)]);
        hash_[size_t(b)] = 0;
    } else {
        return -1;
    }
    ref_[size_t(b)] = 1;
    return b;
}

void BlockPool::release(int32_t b) {
    if (b < 0 || b >= n_blocks_ || ref_[size_t(b)] <= 0) throw std::logic_error("BlockPool: release of a block not held");
    if (--ref_[size_t(b)] > 0) return;
    if (hash_[size_t(b)] != 0) lru_push_back(b);
    else free_.push_back(b);
}

void BlockPool::retain(int32_t b) {
    if (b < 0 || b >= n_blocks_) throw std::logic_error("BlockPool: retain of a foreign block");
    if (ref_[size_t(b)] == 0) {
        if (hash_[size_t(b)] == 0) throw std::logic_error("BlockPool: retain of a free block");
        lru_unlink(b);
    }
    ++ref_[size_t(b)];
}

bool BlockPool::publish(int32_t b, uint64_t hash, uint64_t parent, std::span<const int32_t> tokens) {
    if (b < 0 || b >= n_blocks_ || ref_[size_t(b)] <= 0) throw std::logic_error("BlockPool: publish of a block not held");
    if (int(tokens.size()) != block_size_) throw std::logic_error("BlockPool: publish of a partial block");
    if (hash_[size_t(b)] != 0 || hash == 0 || by_hash_.count(hash)) return false;
    hash_[size_t(b)] = hash;
    parent_[size_t(b)] = parent;
    std::copy(tokens.begin(), tokens.end(), tokens_.begin() + ptrdiff_t(size_t(b) * size_t(block_size_)));
    by_hash_.emplace(hash, b);
    return true;
}

void BlockPool::unpublish(int32_t b) {
    if (b < 0 || b >= n_blocks_ || ref_[size_t(b)] <= 0) throw std::logic_error("BlockPool: unpublish of a block not held");
    if (hash_[size_t(b)] == 0) return;
    by_hash_.erase(hash_[size_t(b)]);
    hash_[size_t(b)] = 0;
}

int32_t BlockPool::find(uint64_t hash, uint64_t parent, std::span<const int32_t> tokens) const {
    const auto it = by_hash_.find(hash);
    if (it == by_hash_.end()) return -1;
    const int32_t b = it->second;
    if (parent_[size_t(b)] != parent || int(tokens.size()) != block_size_) return -1;
    const auto stored = tokens_.begin() + ptrdiff_t(size_t(b) * size_t(block_size_));
    return std::equal(tokens.begin(), tokens.end(), stored) ? b : -1;
}

}  // namespace hotrod::model
