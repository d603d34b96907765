// Greedy-only steps (Batch::greedy_only): Backend::argmax_rows's reference on rows built to trip it (ties, NaN,
// rows with nothing above -inf, +inf), and a model step that returns ids instead of logits rows (on a backend that
// prefers_argmax_rows) against the arg-max of the same step's logits: the same tokens, row for row.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "cpu/argmax_cpu_backend.h"
#include "cpu/cpu_backend.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/synth.h"
#include "test_util.h"

namespace hotrod::model {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

using hotrod::test::ArgmaxCpuBackend;

TEST(GreedyIds, ArgmaxRowsReference) {
    cpu::CpuBackend be(1);
    const int64_t n_cols = 5;
    std::vector<float> x = {
        1, 3, 3, 2, 0,                  // tie: the first 3
        kNaN, -1, -2, kNaN, -1,         // NaN never wins; -1 twice: the first
        -kInf, -kInf, -kInf, -kInf, -kInf,  // nothing above -inf
        kNaN, kNaN, kNaN, kNaN, kNaN,   // nor here
        0, kInf, 5, kInf, 1,            // +inf: the first
    };
    const backend::TensorView v{quant::DType::F32, x.data(), 5, n_cols, size_t(n_cols) * sizeof(float)};
    std::vector<int32_t> ids(5, 99);
    be.argmax_rows(v, ids.data());
    EXPECT_EQ(ids, (std::vector<int32_t>{1, 1, -1, -1, 1}));
}

TEST(GreedyIds, ModelReturnsTheLogitsArgmax) {
    const std::string vocab = test::shared_vocab("ggml-vocab-qwen2.gguf");
    if (!std::filesystem::exists(vocab)) GTEST_SKIP() << "missing " << vocab;
    SynthOptions o;
    o.vocab_path = vocab;
    o.seed = 5;
    const std::string path = (test::temp_dir() / "synth_greedy_ids.gguf").string();
    write_synthetic_model(o, path);
    ArgmaxCpuBackend be(2);
    LoadOptions lo;
    lo.max_seqs = 8;
    auto m = Model::load(path, be, lo);
    KvOptions ko;
    ko.n_ctx = 512;
    ko.n_seqs = 8;
    KvCache kv(be, m->config(), ko);

    // The same three sequences (a prefill chunk with two logits rows, a decode token, a 5-token chunk) twice, in
    // fresh KV sequences: once for logits, once greedy-only.
    std::mt19937 rng(11);
    std::vector<std::vector<int32_t>> toks(3);
    for (size_t s = 0; s < toks.size(); ++s)
        for (size_t i = 0; i < 3 + 4 * s; ++i) toks[s].push_back(int32_t(rng() % 5000));
    auto run = [&](bool greedy_only) {
        Batch b;
        for (size_t s = 0; s < toks.size(); ++s) {
            const int bs = b.add_sequence(kv.add_sequence());
            for (size_t i = 0; i < toks[s].size(); ++i)
                b.add(bs, toks[s][i], int32_t(i), i + 1 == toks[s].size() || (s == 0 && i == 0));
        }
        b.greedy_only = greedy_only;
        const int n = m->forward(b, kv);
        std::vector<int32_t> ids;
        for (int i = 0; i < n; ++i) {
            if (greedy_only) {
                ids.push_back(m->greedy_id(i));
                continue;
            }
            const auto row = m->logits(i);
            ids.push_back(int32_t(std::max_element(row.begin(), row.end()) - row.begin()));
        }
        for (int32_t id : b.seq_ids) kv.remove_sequence(id);
        return ids;
    };
    const std::vector<int32_t> want = run(false);
    EXPECT_FALSE(m->greedy_ids_only());
    EXPECT_THROW(m->greedy_id(0), std::logic_error);
    const std::vector<int32_t> got = run(true);
    EXPECT_TRUE(m->greedy_ids_only());
    EXPECT_THROW(m->logits(0), std::logic_error);
    ASSERT_EQ(want.size(), 4u);
    EXPECT_EQ(got, want);

    // A backend that reads rows on the host keeps returning them.
    cpu::CpuBackend plain(1);
    auto m2 = Model::load(path, plain, lo);
    KvCache kv2(plain, m2->config(), ko);
    Batch b;
    b.add(b.add_sequence(kv2.add_sequence()), 42, 0, true);
    b.greedy_only = true;
    m2->forward(b, kv2);
    EXPECT_FALSE(m2->greedy_ids_only());
    EXPECT_EQ(m2->logits(0).size(), size_t(m2->config().n_vocab));
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace hotrod::model
