// Prefix sharing in the paged KV cache: BlockPool reference counts, publish/find, LRU parking and eviction, and
// KvCache::match_prefix / publish_prefix as the scheduler uses them.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "cpu/cpu_backend.h"
#include "model/block_pool.h"
#include "model/kv_cache.h"

namespace hotrod::model {
namespace {

std::vector<int32_t> iota_tokens(int n, int start = 100) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    std::iota(t.begin(), t.end(), start);
    return t;
}

TEST(BlockPool, SharedBlocksAreParkedThenEvictedLeastRecentFirst) {
    BlockPool p(3, 4);
    const auto t1 = iota_tokens(4), t2 = iota_tokens(4, 200);
    const int32_t a = p.allocate(), b = p.allocate();
    const uint64_t ha = prefix_block_hash(0, t1), hb = prefix_block_hash(0, t2);
    EXPECT_TRUE(p.publish(a, ha, 0, t1));
    EXPECT_FALSE(p.publish(b, ha, 0, t1));  // the hash is taken: b stays private
    EXPECT_TRUE(p.publish(b, hb, 0, t2));
    EXPECT_EQ(p.find(ha, 0, t1), a);
    EXPECT_EQ(p.find(ha, 0, t2), -1);       // same hash, other tokens: not a match
    EXPECT_EQ(p.find(ha, 7, t1), -1);       // other parent
    p.retain(a);
    p.release(a);
    EXPECT_EQ(p.n_cached(), 0);             // still held once
    p.release(a);
    p.release(b);
    EXPECT_EQ(p.n_cached(), 2);
    EXPECT_EQ(p.n_free(), 1);
    EXPECT_EQ(p.n_available(), 3);
    p.retain(a);                            // a leaves the LRU list; b is now the only parked block
    EXPECT_EQ(p.n_cached(), 1);
    EXPECT_EQ(p.allocate(), 2);             // free blocks go first
    EXPECT_EQ(p.allocate(), b);             // then the parked one, which forgets its hash
    EXPECT_EQ(p.find(hb, 0, t2), -1);
    EXPECT_EQ(p.allocate(), -1);
    p.release(2);
    EXPECT_THROW(p.release(2), std::logic_error);  // released twice
}

TEST(BlockPool, LruOrderFollowsReleaseTime) {
    BlockPool p(3, 1);
    std::vector<int32_t> ids;
    for (int i = 0; i < 3; ++i) {
        ids.push_back(p.allocate());
        const int32_t tok = i;
        ASSERT_TRUE(p.publish(ids.back(), prefix_block_hash(0, {&tok, 1}), 0, {&tok, 1}));
    }
    p.release(ids[1]);
    p.release(ids[0]);
    p.release(ids[2]);
    EXPECT_EQ(p.allocate(), ids[1]);
    EXPECT_EQ(p.allocate(), ids[0]);
    EXPECT_EQ(p.allocate(), ids[2]);
}

struct SmallCache {
    cpu::CpuBackend be{1};
    Config c = [] {
        Config c;
        c.n_layers = 1, c.n_kv_heads = 1, c.head_dim = 8;
        return c;
    }();
    KvCache kv{be, c, [] {
                   KvOptions o;
                   o.block_size = 4;
                   o.n_ctx = 32;  // 8 blocks
                   return o;
               }()};
};

TEST(KvCache, MatchPrefixSharesPublishedBlocksAndLeavesOneTokenToCompute) {
    SmallCache s;
    KvCache& kv = s.kv;
    const auto prompt = iota_tokens(10);
    const int32_t a = kv.add_sequence();
    EXPECT_EQ(kv.match_prefix(a, prompt), 0);
    kv.reserve(a, 10);
    kv.publish_prefix(a, prompt, 10);  // blocks 0 and 1 are full; block 2 holds 2 tokens
    const int32_t b = kv.add_sequence();
    EXPECT_EQ(kv.match_prefix(b, prompt), 8);
    EXPECT_EQ(kv.block_table(b)[0], kv.block_table(a)[0]);
    EXPECT_EQ(kv.block_table(b)[1], kv.block_table(a)[1]);
    // A prompt of exactly 8 tokens matches only 4: the last token's logits must be computed.
    const int32_t c = kv.add_sequence();
    EXPECT_EQ(kv.match_prefix(c, std::span(prompt).first(8)), 4);
    // A diverging second block matches only the first.
    auto other = prompt;
    other[5] = 7;
    const int32_t d = kv.add_sequence();
    EXPECT_EQ(kv.match_prefix(d, other), 4);
    EXPECT_EQ(kv.prefix_hits(), 2u + 1u + 1u);
    // After every holder is gone, the published blocks are parked and still found.
    for (int32_t id : {a, b, c, d}) kv.remove_sequence(id);
    EXPECT_EQ(kv.n_blocks_cached(), 2);
    const int32_t e = kv.add_sequence();
    EXPECT_EQ(kv.match_prefix(e, prompt), 8);
    EXPECT_EQ(kv.n_blocks_cached(), 0);
    // Filling the pool evicts parked blocks when nothing is free.
    kv.remove_sequence(e);
    const int32_t f = kv.add_sequence();
    kv.reserve(f, 32);
    EXPECT_EQ(kv.n_blocks_available(), 0);
    kv.remove_sequence(f);
    const int32_t g = kv.add_sequence();
    EXPECT_EQ(kv.match_prefix(g, prompt), 0);
}

TEST(KvCache, TruncateIntoAPublishedBlockUnpublishesIt) {
    SmallCache s;
    KvCache& kv = s.kv;
    const auto prompt = iota_tokens(9);
    const int32_t a = kv.add_sequence();
    kv.reserve(a, 9);
    kv.publish_prefix(a, prompt, 9);
    kv.truncate(a, 6);  // block 1 (positions 4..7) is kept partially and will be rewritten
    const int32_t b = kv.add_sequence();
    EXPECT_EQ(kv.match_prefix(b, prompt), 4);
    EXPECT_THROW(kv.truncate(a, 2), std::logic_error);  // block 0 is shared with b
}

}  // namespace
}  // namespace hotrod::model
