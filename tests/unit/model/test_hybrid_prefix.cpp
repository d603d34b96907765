// The prefix cache of a hybrid model (synthetic tiny qwen35, CPU): a sequence's state snapshots at block
// boundaries (every snapshot_interval positions, each prefill chunk's last boundary or, when the backend asks for
// an alignment, the last multiple of it; the decode tail when it ends), published with their K/V blocks; a later
// prompt resumes from the longest snapshot its blocks reach and gets the logits a cold run gets (within the
// batched-vs-alone tolerance: only row counts of the matmuls differ).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "model/synth.h"
#include "test_util.h"

namespace hotrod::model {
namespace {

// A CPU backend that asks for prompt cuts at multiples of 64, as CUDA's chunked delta rule does.
class Aligned64 : public cpu::CpuBackend {
public:
    Aligned64() : cpu::CpuBackend(2) {}
    int recurrent_align() const override { return 64; }
};

template <class Be = cpu::CpuBackend>
struct Fixture {
    std::string path;
    Be be{};
    std::unique_ptr<Model> m;
    std::unique_ptr<KvCache> kv;
    Fixture() {
        SynthOptions o;
        o.arch = "qwen35";
        o.vocab_path = test::shared_vocab("ggml-vocab-qwen35.gguf");
        o.seed = 4;
        path = (test::temp_dir() / "synth_qwen35_prefix.gguf").string();
        write_synthetic_model(o, path);
        LoadOptions lo;
        lo.max_batch_tokens = 64;
        m = Model::load(path, be, lo);
        KvOptions ko;
        ko.block_size = 16;
        ko.n_ctx = 1024;
        ko.n_seqs = 3;
        ko.n_state_snapshots = 8;
        ko.snapshot_interval = 32;
        kv = std::make_unique<KvCache>(be, m->config(), ko);
    }
    ~Fixture() { std::filesystem::remove(path); }

    // Runs tokens[from, to) of sequence id in chunks as the engine does (publishing after each step); returns the
    // last position's logits.
    std::vector<float> run(int32_t id, const std::vector<int32_t>& tokens, int from, int to, int chunk) {
        std::vector<float> last;
        Batch b;
        for (int first = from; first < to; first += chunk) {
            b.clear();
            const int s = b.add_sequence(id);
            const int end = std::min(to, first + chunk);
            for (int i = first; i < end; ++i) b.add(s, tokens[size_t(i)], i, i + 1 == end);
            m->forward(b, *kv);
            kv->publish_prefix(id, tokens, end);
            last.assign(m->logits(0).begin(), m->logits(0).end());
        }
        return last;
    }
    // The same prompt in a fresh sequence with nothing matched.
    std::vector<float> cold(const std::vector<int32_t>& tokens) {
        const int32_t id = kv->add_sequence();
        auto l = run(id, tokens, 0, int(tokens.size()), 64);
        kv->truncate(id, 0);  // unpublished: a cold run leaves nothing for the next check
        kv->remove_sequence(id);
        return l;
    }
};

void expect_close(const std::vector<float>& a, const std::vector<float>& b) {
    ASSERT_EQ(a.size(), b.size());
    float scale = 1.0f, diff = 0.0f;
    for (size_t i = 0; i < a.size(); ++i) {
        scale = std::max(scale, std::abs(b[i]));
        diff = std::max(diff, std::abs(a[i] - b[i]));
    }
    EXPECT_LE(diff, 1e-4f * scale);
}

TEST(HybridPrefix, ResumesFromTheLongestSnapshotItsBlocksReach) {
    if (!std::filesystem::exists(test::shared_vocab("ggml-vocab-qwen35.gguf"))) GTEST_SKIP() << "no qwen35 vocab";
    Fixture<> f;
    std::mt19937 rng(7);
    std::vector<int32_t> a(100);
    for (auto& t : a) t = int32_t(rng() % 5000);

    // A: a 100-token prompt in chunks of 40, then 20 decode tokens, then it ends.
    const int32_t ida = f.kv->add_sequence();
    EXPECT_EQ(f.kv->match_prefix(ida, a), 0);  // nothing cached yet
    f.run(ida, a, 0, 100, 40);  // snapshots at 32 (interval and chunk end), 64 (interval), 80 (chunk end), 96
    for (int i = 0; i < 20; ++i) {
        a.push_back(int32_t(rng() % 5000));
        f.run(ida, a, int(a.size()) - 1, int(a.size()), 1);  // the tail: 112
    }
    f.kv->remove_sequence(ida);
    EXPECT_EQ(f.kv->n_state_snapshots(), 5);  // 32, 64, 80, 96, 112

    // B shares A's first 70 tokens: its blocks reach 64, where a snapshot is.
    std::vector<int32_t> b(a.begin(), a.begin() + 70);
    for (int i = 0; i < 30; ++i) b.push_back(int32_t(5000 + i));
    const int32_t idb = f.kv->add_sequence();
    EXPECT_EQ(f.kv->match_prefix(idb, b), 64);
    EXPECT_EQ(f.kv->state_positions(idb), 64);
    const auto warm_b = f.run(idb, b, 64, 100, 64);
    f.kv->truncate(idb, 0);
    f.kv->remove_sequence(idb);
    expect_close(warm_b, f.cold(b));

    // C: the next turn of A's chat (its prompt and reply, then more): resumes at A's tail.
    std::vector<int32_t> c = a;
    for (int i = 0; i < 10; ++i) c.push_back(int32_t(6000 + i));
    const int32_t idc = f.kv->add_sequence();
    EXPECT_EQ(f.kv->match_prefix(idc, c), 112);
    const auto warm_c = f.run(idc, c, 112, int(c.size()), 64);
    f.kv->truncate(idc, 0);
    f.kv->remove_sequence(idc);
    expect_close(warm_c, f.cold(c));
}

TEST(HybridPrefix, SnapshotRowsAreRecycledLeastRecentlyUsedFirst) {
    if (!std::filesystem::exists(test::shared_vocab("ggml-vocab-qwen35.gguf"))) GTEST_SKIP() << "no qwen35 vocab";
    Fixture<> f;
    std::mt19937 rng(9);
    // Twelve unrelated 40-token prompts, each snapshotting at 32: 8 rows hold the newest 8.
    std::vector<std::vector<int32_t>> prompts(12, std::vector<int32_t>(40));
    for (auto& p : prompts)
        for (auto& t : p) t = int32_t(rng() % 5000);
    for (const auto& p : prompts) {
        const int32_t id = f.kv->add_sequence();
        f.run(id, p, 0, 40, 64);
        f.kv->remove_sequence(id);
    }
    EXPECT_EQ(f.kv->n_state_snapshots(), 8);
    for (size_t i = 0; i < prompts.size(); ++i) {
        const int32_t id = f.kv->add_sequence();
        EXPECT_EQ(f.kv->match_prefix(id, prompts[i]), i < 4 ? 0 : 32) << "prompt " << i;
        f.kv->truncate(id, 0);
        f.kv->remove_sequence(id);
    }
}

// With the backend asking for 64: prompt snapshots only at multiples of 64 (the interval, 32, rounded up to 64; a
// chunk's last boundary rounded down to one), the decode tail still at its last block boundary.
TEST(HybridPrefix, PromptSnapshotsSitOnTheBackendsAlignment) {
    if (!std::filesystem::exists(test::shared_vocab("ggml-vocab-qwen35.gguf"))) GTEST_SKIP() << "no qwen35 vocab";
    Fixture<Aligned64> f;
    EXPECT_EQ(f.kv->prompt_align(), 64);
    std::mt19937 rng(8);
    std::vector<int32_t> a(100);
    for (auto& t : a) t = int32_t(rng() % 5000);
    const int32_t ida = f.kv->add_sequence();
    f.run(ida, a, 0, 100, 40);  // chunks end at 40, 80, 100: one snapshot, at 64
    for (int i = 0; i < 20; ++i) {
        a.push_back(int32_t(rng() % 5000));
        f.run(ida, a, int(a.size()) - 1, int(a.size()), 1);  // the tail: 112
    }
    f.kv->remove_sequence(ida);
    EXPECT_EQ(f.kv->n_state_snapshots(), 2);  // 64, 112

    std::vector<int32_t> b(a.begin(), a.begin() + 100);  // A's prompt again: its blocks reach 96, a snapshot 64
    const int32_t idb = f.kv->add_sequence();
    EXPECT_EQ(f.kv->match_prefix(idb, b), 64);
    const auto warm = f.run(idb, b, 64, 100, 64);
    f.kv->truncate(idb, 0);
    f.kv->remove_sequence(idb);
    expect_close(warm, f.cold(b));
}

}  // namespace
}  // namespace hotrod::model
