// Batched forward equals the same sequences run one at a time: 1, 2, 4 and 8 sequences of different lengths in
// one batch, mixing prefill chunks and single decode tokens step by step, against each sequence prefilled alone.
// Tolerance 1e-4 of the row's largest logit: only the summation order may differ (GEMM tiles versus GEMV,
// attention split over the cache), not the maths; activations are quantized per row either way.
#include <gtest/gtest.h>

#include <random>

#include "model/synth.h"
#include "batched_check.h"

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
    ko.n_seqs = 9;  // hybrid models: a recurrent-state slot for each of 8 batched sequences and the one run alone
    KvCache kv(be, m->config(), ko);
    test::check_batched_vs_alone(*m, kv, 1e-4f);
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

// Gemma 3's shape (synthetic, SentencePiece-style vocabulary): sliding layers whose 32-token window the longer
// sequences pass, one global layer, 256-wide heads over one KV head, post-norms, GeGLU.
TEST(Batched, SynthGemma3) {
    const std::string vocab = test::shared_vocab("ggml-vocab-llama-spm.gguf");
    if (!std::filesystem::exists(vocab)) GTEST_SKIP() << "missing " << vocab;
    SynthOptions o;
    o.arch = "gemma3";
    o.vocab_path = vocab;
    o.quant = "q4_k_m";
    o.seed = 3;
    const std::string path = (test::temp_dir() / "synth_batched_gemma3.gguf").string();
    write_synthetic_model(o, path);
    check_batched(path);
    std::filesystem::remove(path);
}

// The hybrid model: each sequence's conv and delta-rule state carried in its own slot across steps of mixed
// prefill chunks and decode tokens.
TEST(Batched, SynthQwen35) {
    const std::string vocab = test::shared_vocab("ggml-vocab-qwen35.gguf");
    if (!std::filesystem::exists(vocab)) GTEST_SKIP() << "missing " << vocab;
    SynthOptions o;
    o.arch = "qwen35";
    o.vocab_path = vocab;
    o.seed = 3;
    const std::string path = (test::temp_dir() / "synth_qwen35_batched.gguf").string();
    write_synthetic_model(o, path);
    check_batched(path);
    std::filesystem::remove(path);
}

// A hybrid model's state holds exactly the positions run: a step must continue there (or restart at 0), with
// consecutive positions; anything else is refused before any state is touched.
TEST(Batched, SynthQwen35RefusesGapsInItsState) {
    const std::string vocab = test::shared_vocab("ggml-vocab-qwen35.gguf");
    if (!std::filesystem::exists(vocab)) GTEST_SKIP() << "missing " << vocab;
    SynthOptions o;
    o.arch = "qwen35";
    o.vocab_path = vocab;
    const std::string path = (test::temp_dir() / "synth_qwen35_gaps.gguf").string();
    write_synthetic_model(o, path);
    cpu::CpuBackend be(1);
    auto m = Model::load(path, be, LoadOptions{});
    KvCache kv(be, m->config(), KvOptions{});
    const int32_t id = kv.add_sequence();
    Batch b;
    auto run = [&](std::vector<int32_t> positions) {
        b.clear();
        const int s = b.add_sequence(id);
        for (int32_t p : positions) b.add(s, 100 + p, p, true);
        return m->forward(b, kv);
    };
    EXPECT_EQ(run({0, 1, 2}), 3);
    EXPECT_EQ(kv.state_positions(id), 3);
    EXPECT_THROW(run({4}), std::invalid_argument);     // skips position 3
    EXPECT_THROW(run({3, 5}), std::invalid_argument);  // a gap inside the step
    EXPECT_THROW(run({1}), std::invalid_argument);     // behind the state
    EXPECT_EQ(run({3}), 1);
    EXPECT_EQ(run({0}), 1);  // starting again is always allowed
    EXPECT_EQ(kv.state_positions(id), 1);
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace hotrod::model
