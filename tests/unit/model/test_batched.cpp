// Batched forward equals the same sequences run one at a time: 1, 2, 4 and 8 sequences of different lengths in
// one batch, mixing prefill chunks and single decode tokens step by step, against each sequence prefilled alone.
// Tolerance 1e-4 of the row's largest logit: only the summation order may differ (GEMM tiles versus GEMV,
// attention split over the cache), not the maths; activations are quantized per row either way.
#include <gtest/gtest.h>

#include <random>

#include "model/synth.h"
#include "test_util.h"

namespace hotrod::model {
namespace {

void check_batched(const std::string& path) {
    cpu::CpuBackend be(2);
    LoadOptions lo;
    lo.max_batch_tokens = 256;
    lo.max_logit_rows = 256;
    lo.max_seqs = 8;
    auto m = Model::load(path, be, lo);
    KvOptions ko;
    ko.n_ctx = 8 * 112;
    ko.block_size = 16;
    KvCache kv(be, m->config(), ko);
    std::mt19937 rng(42);

    for (int n_seqs : {1, 2, 4, 8}) {
        std::vector<std::vector<int32_t>> seqs(static_cast<size_t>(n_seqs));
        for (int s = 0; s < n_seqs; ++s) {
            const int len = 2 + 5 * s + (s % 3) * 4;  // 2 .. 45, crossing block boundaries unevenly
            for (int i = 0; i < len; ++i) seqs[size_t(s)].push_back(int32_t(rng() % 5000));
        }
        // Reference: each sequence alone, prefilled in one step.
        std::vector<std::vector<std::vector<float>>> alone;
        for (const auto& t : seqs) alone.push_back(test::run_all_logits(*m, kv, t, int(t.size())));

        // Batched: sequence s first prefills a chunk of ~half its tokens, then feeds 1 (odd s) or 3 (even s)
        // tokens per step, all sequences in the same steps.
        std::vector<int32_t> ids(static_cast<size_t>(n_seqs));
        std::vector<size_t> done(static_cast<size_t>(n_seqs), 0);
        for (int s = 0; s < n_seqs; ++s) ids[size_t(s)] = kv.add_sequence();
        double worst = 0;
        Batch b;
        for (int step = 0;; ++step) {
            b.clear();
            std::vector<std::pair<int, size_t>> who;  // (sequence, position) of each logits row
            for (int s = 0; s < n_seqs; ++s) {
                const auto& t = seqs[size_t(s)];
                if (done[size_t(s)] == t.size()) continue;
                const size_t n = step == 0 ? std::max<size_t>(1, t.size() / 2) : (s % 2 ? 1 : 3);
                const int bs = b.add_sequence(ids[size_t(s)]);
                for (size_t i = done[size_t(s)]; i < std::min(t.size(), done[size_t(s)] + n); ++i) {
                    b.add(bs, t[i], int32_t(i), true);
                    who.emplace_back(s, i);
                }
                done[size_t(s)] = std::min(t.size(), done[size_t(s)] + n);
            }
            if (b.n_tokens() == 0) break;
            const int n_rows = m->forward(b, kv);
            ASSERT_EQ(size_t(n_rows), who.size());
            for (int r = 0; r < n_rows; ++r) {
                const auto ours = m->logits(r);
                const auto& ref = alone[size_t(who[size_t(r)].first)][who[size_t(r)].second];
                float scale = 1.0f, diff = 0.0f;
                for (size_t i = 0; i < ref.size(); ++i) {
                    scale = std::max(scale, std::abs(ref[i]));
                    diff = std::max(diff, std::abs(ours[i] - ref[i]));
                }
                worst = std::max(worst, double(diff / scale));
                ASSERT_LE(diff, 1e-4f * scale) << n_seqs << " sequences, step " << step << ", sequence "
                                               << who[size_t(r)].first << " position " << who[size_t(r)].second;
            }
        }
        for (int32_t id : ids) kv.remove_sequence(id);
        std::printf("  %d sequences: worst relative difference %.2e\n", n_seqs, worst);
    }
}

TEST(Batched, SmolLM2) {
    HOTROD_MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf");
    check_batched(path);
}

TEST(Batched, Gemma3) {
    HOTROD_MODEL_OR_SKIP(path, "gemma-3-270m-q4_k_m.gguf");
    check_batched(path);
}

TEST(Batched, SynthQwen3) {
    const std::string vocab = test::shared_vocab("ggml-vocab-qwen2.gguf");
    if (!std::filesystem::exists(vocab)) GTEST_SKIP() << "missing " << vocab;
    SynthOptions o;
    o.vocab_path = vocab;
    o.seed = 3;
    const std::string path = (test::temp_dir() / "synth_batched.gguf").string();
    write_synthetic_model(o, path);
    check_batched(path);
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace hotrod::model
