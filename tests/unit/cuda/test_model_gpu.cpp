// The whole model on the GPU against the CPU backend, the independent reference for every CUDA kernel: per-position
// logits of a prompt (bounds per model below, with what was measured), 64 greedy tokens equal on a synthetic model,
// and batched == alone on the GPU (1/2/4/8 sequences mixing prefill and decode).
// Both backends quantize activations the same way and take the same integer block sums; what differs is the order
// of float additions (and the GELU table the CPU uses), hence cosine, not equality.
//
// Random-weight models amplify those last-bit differences: a float difference that flips one 8-bit activation
// rounding moves that element by a whole quantization step, and deep random networks carry it on. Measured on the
// CPU alone (same code, AVX-512 vs AVX2 kernels, whose sums differ only in order), the synthetic Qwen3-0.6B gives
// cosine 0.99967 and arg-max agreement 58/64; the GPU against the CPU on the synthetic 4B gives 0.995-0.996 and
// 75-79%. Some real models amplify as much (Gemma 3: below), so each model's bound is its own measured variation
// with room; the 2-layer synthetic model is held to 0.9998 (it measures 0.99989) with greedy text equal, and the 4B
// to cosine >= 0.99 and arg-max >= 70%, which still catches any real kernel error (those give cosines far below 0.9).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>

#include "cpu/cpu_backend.h"
#include "cuda/cuda_backend.h"
#include "gpu_test_util.h"
#include "model/model.h"
#include "model/batched_check.h"
#include "model/synth.h"

namespace hotrod::model {
namespace {

std::string vocab_path(const std::string& name) {
    if (const char* d = std::getenv("HOTROD_VOCAB_DIR")) return std::string(d) + "/" + name;
    return std::string(HOTROD_SOURCE_DIR) + "/../shared/vocab/" + name;
}

#define MODEL_OR_SKIP(var, file)                                                          \
    const std::string var = test::models_dir() + "/" + (file);                                  \
    if (!std::filesystem::exists(var)) GTEST_SKIP() << "skipped: missing model " << var;

// A synthetic model in the temp directory, removed when this goes; the test skips when its vocabulary is missing.
struct SynthFile {
    std::string path;
    explicit SynthFile(SynthOptions o, const std::string& vocab_file, const std::string& name) {
        o.vocab_path = vocab_path(vocab_file);
        if (!std::filesystem::exists(o.vocab_path)) return;
        path = (std::filesystem::temp_directory_path() / ("hotrod_gpu_" + name + ".gguf")).string();
        write_synthetic_model(o, path);
    }
    ~SynthFile() {
        if (!path.empty()) std::filesystem::remove(path);
    }
    SynthFile(const SynthFile&) = delete;
    SynthFile& operator=(const SynthFile&) = delete;
};

SynthOptions synth_options(uint64_t seed, const std::string& quant = "q8_0", const std::string& arch = "qwen3") {
    SynthOptions o;
    o.arch = arch;
    o.quant = quant;
    o.seed = seed;
    return o;
}

#define SYNTH_OR_SKIP(var, options, vocab_file, name)                                      \
    const SynthFile var(options, vocab_file, name);                                        \
    if (var.path.empty()) GTEST_SKIP() << "skipped: missing " << (vocab_file) << " (set HOTROD_VOCAB_DIR)";

struct Loaded {
    std::unique_ptr<backend::Backend> be;
    std::unique_ptr<Model> m;
    std::unique_ptr<KvCache> kv;
};

Loaded load(const std::string& path, bool gpu, int max_seqs = 1, bool graphs = true) {
    Loaded l;
    cuda::CudaOptions co;
    co.graphs = graphs;
    if (gpu) l.be = std::make_unique<cuda::CudaBackend>(co);
    else l.be = std::make_unique<cpu::CpuBackend>(0);
    LoadOptions lo;
    lo.max_batch_tokens = 256;
    lo.max_logit_rows = 256;
    lo.max_seqs = max_seqs;
    l.m = Model::load(path, *l.be, lo);
    KvOptions ko;
    ko.n_ctx = 1024;
    l.kv = std::make_unique<KvCache>(*l.be, l.m->config(), ko);
    return l;
}

void compare_with_cpu(const std::string& path, double min_cosine, double min_argmax_agreement, bool greedy_equal,
                      size_t n_tokens = 200) {
    Loaded cpu = load(path, false), gpu = load(path, true);
    std::mt19937 rng(7);
    std::vector<int32_t> tokens(n_tokens);
    const int n_vocab = cpu.m->config().n_vocab;
    for (auto& t : tokens) t = int32_t(rng() % uint32_t(std::min(n_vocab, 20000)));
    // Chunks of 64 on the GPU (prefill path and, for the last rows, several steps) against 200 at once on the CPU.
    const auto ref = test::run_all_logits(*cpu.m, *cpu.kv, tokens, int(n_tokens));
    const auto got = test::run_all_logits(*gpu.m, *gpu.kv, tokens, 64);
    ASSERT_EQ(ref.size(), got.size());
    int agree = 0;
    double worst_cos = 1.0;
    size_t worst_p = 0;
    for (size_t p = 0; p < ref.size(); ++p) {
        double dot = 0, n1 = 0, n2 = 0;
        for (size_t i = 0; i < ref[p].size(); ++i) {
            ASSERT_TRUE(std::isfinite(got[p][i])) << "position " << p << " logit " << i;
            dot += double(ref[p][i]) * got[p][i];
            n1 += double(ref[p][i]) * ref[p][i];
            n2 += double(got[p][i]) * got[p][i];
        }
        const double cos = dot / std::sqrt(n1 * n2);
        if (cos < worst_cos) worst_p = p;
        worst_cos = std::min(worst_cos, cos);
        const auto a = std::max_element(ref[p].begin(), ref[p].end()) - ref[p].begin();
        const auto b = std::max_element(got[p].begin(), got[p].end()) - got[p].begin();
        agree += a == b;
    }
    const double agreement = double(agree) / double(ref.size());
    std::printf("  %s: worst cosine %.6f (position %zu), arg-max agreement %.1f%%\n", path.c_str(), worst_cos, worst_p,
                100 * agreement);
    EXPECT_GE(worst_cos, min_cosine) << "position " << worst_p;
    EXPECT_GE(agreement, min_argmax_agreement);
    if (greedy_equal) {
        const std::vector<int32_t> prompt(tokens.begin(), tokens.begin() + 20);
        EXPECT_EQ(test::greedy(*cpu.m, *cpu.kv, prompt, 64), test::greedy(*gpu.m, *gpu.kv, prompt, 64));
    }
}

std::string synth_4b() {
    const std::string vocab = vocab_path("ggml-vocab-qwen2.gguf");
    if (!std::filesystem::exists(vocab)) return "";
    const auto path = std::filesystem::temp_directory_path() / "hotrod_gpu_synth_qwen3_4b_q4_k_m.gguf";
    if (!std::filesystem::exists(path)) {
        SynthOptions o;
        o.quick_quant = true;  // the GPU and the CPU read the same file: its values need no scale search
        o.vocab_path = vocab;
        o.shape = "4b";
        o.quant = "q4_k_m";
        o.seed = 5;
        write_synthetic_model(o, path.string());
    }
    return path.string();
}

// The real models are held to llama.cpp's own variation (tests/unit/model/test_logits_ref.cpp: its flash-attention
// path against its default path on SmolLM2 agrees on 93.2-95.0% of arg-maxes), not to the 0.9999 / 99%,
// which two implementations that add floats in different orders do not reach: measured on an H100 (2026-12-06),
// SmolLM2 GPU vs CPU worst cosine 0.99958 (position 6 of 200 random tokens), arg-max 94%, while the perplexity of
// the two agrees to 16.4014 vs 16.4017 over 39 chunks of 512 (the numerically honest measure).
// Since the fp16 tensor-core prefill and the tensor-core prefill attention, SmolLM2's random-token rows agree less
// often on near-ties: on an H100 (2026-12-07) worst cosine 0.99951 and arg-max 90.5% (0.99934 / 89.0% before x
// was rounded to the 8-bit grid first; HOTROD_CUDA_MMA=int8: 0.99905 / 91.0%; =0, no tensor cores: 0.99958 /
// 94.0%), while the two perplexities agree within 0.1% (docs/model_speed.md): held to 0.999 and 87%.
TEST(GpuModel, SmolLM2MatchesCpu) {
    HOTROD_REQUIRE_GPU();
    MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf");
    compare_with_cpu(path, 0.999, 0.87, false);
}

// Gemma 3 270M on random tokens is far more sensitive than SmolLM2: the CPU against itself (its AVX-512 against its
// AVX2 kernels, the same arithmetic summed in another order; these 200 tokens, 2026-12-07) gives worst cosine 0.979
// (position 164) and arg-max agreement 86.5%; on 200 tokens of real text (the perplexity fixture) 0.9963 and 95%.
// The GPU against the CPU on an H100 (2026-12-07): worst cosine 0.9648 (position 194), arg-max 81%, while the GPU's
// perplexity over the fixture text is 15.4286 against llama-perplexity's 15.4268 (+0.01%; the CPU's: 15.4508).
// Held to 0.95 and 75%: that variation with room; a wrong kernel gives cosines far below.
TEST(GpuModel, Gemma3MatchesCpu) {
    HOTROD_REQUIRE_GPU();
    MODEL_OR_SKIP(path, "gemma-3-270m-q4_k_m.gguf");
    compare_with_cpu(path, 0.95, 0.75, false);
}

TEST(GpuModel, SynthQwen3TinyMatchesCpu) {
    HOTROD_REQUIRE_GPU();
    for (const char* quant : {"q4_k_m", "q8_0"}) {
        SYNTH_OR_SKIP(f, synth_options(11, quant), "ggml-vocab-qwen2.gguf", std::string("tiny_") + quant);
        // 0.9998: this 2-layer random model gives 0.99989-0.99990 at its worst position (H100), greedy equal.
        compare_with_cpu(f.path, 0.9998, 1.0, true);
    }
}

// Gemma 3's architecture on the GPU without its 253 MB file (which the GPU machine's carry limit makes five
// calls): the synthetic tiny shape (sliding layers with a 32-token window that 200 positions pass, one global
// layer, 256-wide heads over one KV head, post-norms, GeGLU, scaled embeddings) against the CPU.
TEST(GpuModel, SynthGemma3TinyMatchesCpu) {
    HOTROD_REQUIRE_GPU();
    for (const char* quant : {"q4_k_m", "q8_0"}) {
        SYNTH_OR_SKIP(f, synth_options(13, quant, "gemma3"), "ggml-vocab-llama-spm.gguf", std::string("gemma3_") + quant);
        compare_with_cpu(f.path, 0.999, 0.95, false);
    }
}

TEST(GpuModel, SynthQwen3_4BMatchesCpu) {
    HOTROD_REQUIRE_GPU();
    const std::string path = synth_4b();
    if (path.empty()) GTEST_SKIP() << "skipped: missing ggml-vocab-qwen2.gguf (set HOTROD_VOCAB_DIR)";
    // 100 positions: the CPU reference at 4B takes ~1 s each. Measured on an H100: worst cosine 0.9946-0.9957,
    // arg-max agreement 75-79% (36 random layers amplify the float-order noise more than the 0.6B's 28).
    compare_with_cpu(path, 0.99, 0.7, false, 100);
}

// 1, 2, 4 and 8 sequences in one batch, a prefill chunk then 1 or 3 tokens a step, against each sequence alone.
// Not bit-identical: a token's rows take the decode kernels (up to 16 rows a step) or the tiled prefill kernels
// (more), which add floats in different orders. Tolerance a fraction of the row's largest logit (SmolLM2: below); the
// random-weight synthetic model amplifies one flipped 8-bit activation rounding into a few 1e-3 (0.042 of a largest
// logit of 20 measured on an H100), so it is held to 1e-2, still far below what a wrong row (another sequence's logits) differs by.
void check_batched(const std::string& path, float tolerance) {
    Loaded g = load(path, true, 8);
    test::check_batched_vs_alone(*g.m, *g.kv, tolerance);
}

// SmolLM2 is held to 8e-2. Two kinds of drift, both measured on an H100 (2026-12-07):
// - 2 sequences, sequence 1 at position 5 (prefilled in one 11-token step alone, a decode row batched): 0.664 of a
//   largest logit of 29.2 (2.3e-2). DISABLED_TraceBatchedVsAloneSmolLM2 shows it is float-order noise: every
//   intermediate of the two rows is bit-identical except the attention output (tile vs decode kernel: 1-5e-7 of
//   its scale in each layer) until layer 11, where one such difference flips an 8-bit rounding of the
//   activations, and SmolLM2's residual stream (up to 260) carries that to 2% of the logits.
// - 4 and 8 sequences: up to 5.2e-2 (4.5-5.2e-2 over two builds). A first token that ran in a 24-row step batched
//   (the fp16 tensor-core prefill) but in a 2-row step alone (the decode kernel's exact integer products) has K/V
//   that differ by the fp16 roundings of w and x, and SmolLM2 amplifies that as above. Since the fp16 prefill
//   rounds x to the 8-bit grid first (round_rows_f16) the two paths see the same x; the rest is fp16's.
// A wrong row (another position's or sequence's logits) differs by the order of the largest logit itself.
TEST(GpuModel, BatchedEqualsAloneSmolLM2) {
    HOTROD_REQUIRE_GPU();
    MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf");
    check_batched(path, 8e-2f);
}

// Diagnostic (run with --gtest_also_run_disabled_tests): BatchedEqualsAloneSmolLM2's first failure (2 sequences,
// step 1, sequence 1 at position 5), replayed with the same tokens and steps, every named intermediate of that row
// compared between the batched step and the sequence's one-step prefill alone: prints where they part.
TEST(GpuModel, DISABLED_TraceBatchedVsAloneSmolLM2) {
    HOTROD_REQUIRE_GPU();
    MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf");
    Loaded g = load(path, true, 8);
    std::mt19937 rng(42);
    std::vector<std::vector<int32_t>> seqs;
    for (int len : {2, 2, 11}) {  // check_batched_vs_alone's draws: 1 sequence of 2, then 2 of 2 and 11
        seqs.emplace_back();
        for (int i = 0; i < len; ++i) seqs.back().push_back(int32_t(rng() % 5000));
    }
    // (name, layer) -> the row, and the names in the order the forward dumped them.
    using Rows = std::map<std::pair<std::string, int>, std::vector<float>>;
    std::vector<std::pair<std::string, int>> order;
    auto capture = [&](Rows& into, int64_t row) {
        g.m->set_trace([&into, &order, row](std::string_view name, int il, const TensorView& t) {
            if (row >= t.n_rows) return;
            const float* r = reinterpret_cast<const float*>(static_cast<const char*>(t.data) + row * t.row_bytes);
            if (!into.count({std::string(name), il})) order.emplace_back(std::string(name), il);
            into[{std::string(name), il}] = std::vector<float>(r, r + t.n_cols);
        });
    };
    // The one-sequence round as the check runs it: alone, then batched (prefill 1, then the rest).
    test::run_all_logits(*g.m, *g.kv, seqs[0], 2);
    {
        const int32_t id = g.kv->add_sequence();
        for (int p = 0; p < 2; ++p) {
            Batch b;
            const int s = b.add_sequence(id);
            b.add(s, seqs[0][size_t(p)], p, true);
            g.m->forward(b, *g.kv);
        }
        g.kv->remove_sequence(id);
    }
    // Two sequences: each alone (capturing sequence 1's position 5), then batched.
    Rows alone, batched;
    test::run_all_logits(*g.m, *g.kv, seqs[1], 2);
    capture(alone, 5);
    const auto alone_logits = test::run_all_logits(*g.m, *g.kv, seqs[2], 11);
    g.m->set_trace(nullptr);
    const int32_t a = g.kv->add_sequence(), c = g.kv->add_sequence();
    Batch b;
    int sa = b.add_sequence(a);
    b.add(sa, seqs[1][0], 0, true);
    int sc = b.add_sequence(c);
    for (int p = 0; p < 5; ++p) b.add(sc, seqs[2][size_t(p)], p, true);
    g.m->forward(b, *g.kv);
    b.clear();
    sa = b.add_sequence(a);
    b.add(sa, seqs[1][1], 1, true);
    sc = b.add_sequence(c);
    b.add(sc, seqs[2][5], 5, true);
    capture(batched, 1);
    g.m->forward(b, *g.kv);
    g.m->set_trace(nullptr);
    const auto got = g.m->logits(1);
    float diff = 0, scale = 1;
    for (size_t i = 0; i < got.size(); ++i) {
        diff = std::max(diff, std::abs(got[i] - alone_logits[5][i]));
        scale = std::max(scale, std::abs(alone_logits[5][i]));
    }
    std::printf("  logits: max |batched - alone| %.4g of %.4g\n", diff, scale);
    // The first intermediates that differ at all (where the rows part, at full resolution), then those past 1e-3.
    int shown = 0, first = 0;
    order.resize(alone.size());  // the alone run's order (captured first)
    for (const bool coarse : {false, true}) {
        for (const auto& key : order) {
            const auto& ref = alone[key];
            const auto it = batched.find(key);
            if (it == batched.end() || it->second.size() != ref.size()) continue;
            float d = 0, m = 1e-30f;
            for (size_t i = 0; i < ref.size(); ++i)
                d = std::max(d, std::abs(it->second[i] - ref[i])), m = std::max(m, std::abs(ref[i]));
            if (!coarse && d > 0 && first++ < 16)
                std::printf("  first: layer %2d %-16s rel %.3g (max |ref| %.3g)\n", key.second, key.first.c_str(), d / m, m);
            if (coarse && d / m > 1e-3f && shown++ < 24)
                std::printf("  layer %2d %-16s rel %.3g (max |ref| %.3g)\n", key.second, key.first.c_str(), d / m, m);
        }
    }
    std::printf("  %d intermediates differ at all, %d by more than 1e-3 of their scale (of %zu)\n", first, shown, alone.size());
    g.kv->remove_sequence(a);
    g.kv->remove_sequence(c);
}

TEST(GpuModel, BatchedEqualsAloneSynthQwen3) {
    HOTROD_REQUIRE_GPU();
    SYNTH_OR_SKIP(f, synth_options(3), "ggml-vocab-qwen2.gguf", "synth_tiny");
    check_batched(f.path, 1e-2f);
}

// Batch invariance on the GPU with each token's kind said (Backend's StepIndex::decode_tokens): prompt tokens on
// the prefill kernels and generated tokens on the decode kernels whatever the step holds, so every logits row
// equals the same sequence's alone, bit for bit (model/batched_check.h: prompts in two chunks, generated tokens
// one or two a step, 1/2/4/8 sequences). SmolLM2 (Q4_1: fp16 tensor-core prefill) and a synthetic Qwen3 (Q8_0).
TEST(GpuModel, KindsMakeBatchedBitEqualToAloneSmolLM2) {
    HOTROD_REQUIRE_GPU();
    MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf");
    Loaded g = load(path, true, 8);
    test::check_kind_invariance(*g.m, *g.kv);
}

TEST(GpuModel, KindsMakeBatchedBitEqualToAloneSynthQwen3) {
    HOTROD_REQUIRE_GPU();
    SYNTH_OR_SKIP(f, synth_options(4), "ggml-vocab-qwen2.gguf", "synth_kinds");
    Loaded g = load(f.path, true, 8);
    test::check_kind_invariance(*g.m, *g.kv);
}

// Decode steps replayed from CUDA graphs give the same logits, bit for bit, as the same steps launched op by op:
// three sequences of different lengths decoding together, then one alone, for 300 steps, across the lengths where
// the attention split count changes (each a new graph; the block tables' width is no launch argument: a sequence
// passing a block boundary replays the same graph).
TEST(GpuModel, GraphReplayEqualsEagerLaunch) {
    HOTROD_REQUIRE_GPU();
    SYNTH_OR_SKIP(f, synth_options(5), "ggml-vocab-qwen2.gguf", "graph_tiny");
    Loaded with = load(f.path, true, 4, true), without = load(f.path, true, 4, false);

    auto run = [&](Loaded& l) {
        std::vector<std::vector<float>> rows;
        std::vector<int32_t> seqs;
        const int lengths[3] = {5, 40, 130};
        Batch b;
        for (int q = 0; q < 3; ++q) {  // prefill each alone
            seqs.push_back(l.kv->add_sequence());
            b.clear();
            const int s = b.add_sequence(seqs.back());
            for (int i = 0; i < lengths[q]; ++i) b.add(s, int32_t(100 + 7 * i + q), i, i + 1 == lengths[q]);
            l.m->forward(b, *l.kv);
        }
        for (int step = 0; step < 300; ++step) {
            const int n = step < 150 ? 3 : 1;  // then the first sequence alone
            b.clear();
            for (int q = 0; q < n; ++q) {
                const int s = b.add_sequence(seqs[size_t(q)]);
                b.add(s, int32_t(1000 + step + q), lengths[q] + step, true);
            }
            l.m->forward(b, *l.kv);
            for (int r = 0; r < n; ++r) {
                const auto row = l.m->logits(r);
                rows.emplace_back(row.begin(), row.end());
            }
        }
        return rows;
    };
    const auto a = run(with), e = run(without);
    ASSERT_EQ(a.size(), e.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], e[i]) << "logits row " << i << " differ";
    const auto& st = static_cast<cuda::CudaBackend&>(*with.be).graph_stats();
    std::printf("  graphs: %llu captured, %llu replayed, %llu steps eager\n", (unsigned long long)st.captures,
                (unsigned long long)st.replays, (unsigned long long)st.eager);
    EXPECT_GT(st.replays, 250u);
    EXPECT_LE(st.captures, 12u);  // two row counts times the few split counts 5..430 positions pass
    EXPECT_LE(st.eager, 2u);  // a step whose attention scratch grows (a longer split) runs op by op
    EXPECT_EQ(static_cast<cuda::CudaBackend&>(*without.be).graph_stats().replays, 0u);
}

}  // namespace
}  // namespace hotrod::model
