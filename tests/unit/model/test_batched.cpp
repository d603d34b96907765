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

}  // namespace
}  // namespace hotrod::model
