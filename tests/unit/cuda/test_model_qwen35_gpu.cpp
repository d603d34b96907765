// The hybrid model (synthetic tiny qwen35: gated delta-net layers and gated attention) on the GPU against the CPU
// backend: per-position logits of 200 random tokens (prefilled in chunks of 64 on the GPU, in one step on the CPU,
// so the snapshots the prefix cache plans at chunk ends and every 128 positions are taken on the GPU), 64 greedy
// tokens equal, batched == alone on the GPU, decode steps replayed from CUDA graphs equal to eager launches, and a
// prompt resumed from a prefix-cache snapshot equal to its cold run bit for bit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include "cpu/cpu_backend.h"
#include "cuda/cuda_backend.h"
#include "cuda/switches.h"
#include "gpu_test_util.h"
#include "model/batched_check.h"
#include "model/model.h"
#include "model/synth.h"

namespace hotrod::model {
namespace {

std::string qwen35_vocab() {
    if (const char* d = std::getenv("HOTROD_VOCAB_DIR")) return std::string(d) + "/ggml-vocab-qwen35.gguf";
    return std::string(HOTROD_SOURCE_DIR) + "/../shared/vocab/ggml-vocab-qwen35.gguf";
}

// A synthetic tiny qwen35 in the temp dir, removed with the object.
struct SynthFile {
    std::string path;
    SynthFile(const std::string& quant, uint64_t seed) {
        SynthOptions o;
        o.arch = "qwen35";
        o.vocab_path = qwen35_vocab();
        o.quant = quant;
        o.seed = seed;
        path = (std::filesystem::temp_directory_path() / ("hotrod_gpu_qwen35_" + quant + "_" + std::to_string(seed) +
                                                          "_" + std::to_string(::getpid()) + ".gguf"))
                   .string();
        write_synthetic_model(o, path);
    }
    ~SynthFile() { std::filesystem::remove(path); }
};

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
    ko.n_seqs = max_seqs + 1;  // a recurrent-state slot for each batched sequence and one run alone
    l.kv = std::make_unique<KvCache>(*l.be, l.m->config(), ko);
    return l;
}

#define REQUIRE_QWEN35_VOCAB()                                                                  \
    if (!std::filesystem::exists(qwen35_vocab()))                                               \
        GTEST_SKIP() << "skipped: missing " << qwen35_vocab() << " (set HOTROD_VOCAB_DIR)";

struct Agreement {
    double worst = 1.0;  // lowest per-position cosine
    size_t worst_p = 0;
    int agree = 0;       // positions whose arg-max is the same
    size_t n = 0;
};

// Per-position logits of n random tokens on the CPU (one step) and on the GPU (steps of gpu_chunk, so the prefix
// cache's snapshots at chunk ends and every 128 positions are taken there).
Agreement compare_logits(const std::string& path, size_t n, size_t gpu_chunk) {
    Loaded cpu = load(path, false), gpu = load(path, true);
    std::mt19937 rng(7);
    std::vector<int32_t> tokens(n);
    for (auto& t : tokens) t = int32_t(rng() % 20000u);
    const auto ref = test::run_all_logits(*cpu.m, *cpu.kv, tokens, n);
    const auto got = test::run_all_logits(*gpu.m, *gpu.kv, tokens, gpu_chunk);
    Agreement a;
    a.n = ref.size();
    EXPECT_EQ(ref.size(), got.size());
    for (size_t p = 0; p < std::min(ref.size(), got.size()); ++p) {
        double dot = 0, n1 = 0, n2 = 0;
        for (size_t i = 0; i < ref[p].size(); ++i) {
            if (!std::isfinite(got[p][i])) {
                ADD_FAILURE() << path << " position " << p << " logit " << i << " is " << got[p][i];
                return a;
            }
            dot += double(ref[p][i]) * got[p][i];
            n1 += double(ref[p][i]) * ref[p][i];
            n2 += double(got[p][i]) * got[p][i];
        }
        const double cos = dot / std::sqrt(n1 * n2);
        if (cos < a.worst) a.worst = cos, a.worst_p = p;
        a.agree += std::max_element(ref[p].begin(), ref[p].end()) - ref[p].begin() ==
                   std::max_element(got[p].begin(), got[p].end()) - got[p].begin();
    }
    return a;
}

// Whether the GPU's prefill matmuls quantize activations per block as the CPU does (HOTROD_CUDA_MMA=int8 or 0: the
// same bits, only the float order differs) rather than read them as fp16 (the default, matmul_mma_f16.cu: closer to
// the exact product, so it differs from the CPU by the CPU's own Q8_K rounding, which the decay gates of a delta net
// carry along the positions). The bounds below are per mode; bench/gpu_device_run.sh runs these tests in both.
bool same_activation_bits() {
    return cuda::switch_is("HOTROD_CUDA_MMA", "int8") || cuda::switch_off("HOTROD_CUDA_MMA");
}

// Cosine >= 0.9999 at every position and greedy text equal for Q8_0 weights. Measured on an H100 (session 8):
// q8_0 0.999942, q4_k_m 0.999884, 200/200 arg-max and greedy equal for both; the dense qwen3 tiny synthetic's
// q4_k_m gives 0.999899 in the same run (test_model_gpu.cpp), so q4_k_m's last digit is the K-format matmuls'
// float order (activations quantized per block, the same bits on both; the sums in another order), not the delta
// net (float-exact to ~1e-6 against the CPU, test_delta_rule.cpp). q4_k_m is held to 0.9998. With fp16 prefill
// activations (session 9, H100): q8_0 0.999899, q4_k_m 0.999718, 200/200 arg-max, greedy equal: held to 0.9998 /
// 0.9995.
TEST(GpuModel, SynthQwen35MatchesCpu) {
    HOTROD_REQUIRE_GPU();
    REQUIRE_QWEN35_VOCAB();
    for (const char* quant : {"q8_0", "q4_k_m"}) {
        const SynthFile f(quant, 11);
        const Agreement a = compare_logits(f.path, 200, 64);
        std::printf("  qwen35 tiny %s: worst cosine %.6f (position %zu), arg-max agreement %d/%zu\n", quant, a.worst,
                    a.worst_p, a.agree, a.n);
        const bool q8 = std::string(quant) == "q8_0";
        const double bound = same_activation_bits() ? (q8 ? 0.9999 : 0.9998) : (q8 ? 0.9998 : 0.9995);
        EXPECT_GE(a.worst, bound) << quant << " position " << a.worst_p;
        Loaded cpu = load(f.path, false), gpu = load(f.path, true);
        std::mt19937 rng(7);
        std::vector<int32_t> prompt(20);
        for (auto& t : prompt) t = int32_t(rng() % 20000u);
        EXPECT_EQ(test::greedy(*cpu.m, *cpu.kv, prompt, 64), test::greedy(*gpu.m, *gpu.kv, prompt, 64)) << quant;
    }
}

// Qwen3.5-4B's shape (32 layers, 24 delta-net, Q4_K_M mix, quick quantization as the GPU runs' benchmark file).
// Random weights over 32 layers amplify float-order noise, more than the dense synthetic 4B (test_model_gpu.cpp:
// 0.9946-0.9957 worst cosine, 75-81% arg-max) since a recurrent state also carries it along the positions.
// Measured on an H100 (session 8): worst cosine 0.985799 (position 41), arg-max 71/100 -- the class of the CPU's
// own agreement with llama.cpp on the 0.8B (>= 0.9975, 70-80%, and llama.cpp against itself with and without flash
// attention 77-82%). The tiny model above is the tight check; this one catches a wrong layer or state slot (a
// cosine far below 0.9). 100 positions: the CPU reference at this size is the slow part. With fp16 prefill
// activations (session 9, H100): 0.936312 (position 38), 43/100 -- the CPU's Q8_K rounding of every matmul input
// against none, amplified as above; the dense 4B moved only 0.9956 -> 0.9952 in the same run. Held to 0.9 / 35%.
TEST(GpuModel, SynthQwen35_4BMatchesCpu) {
    HOTROD_REQUIRE_GPU();
    REQUIRE_QWEN35_VOCAB();
    SynthOptions o;
    o.arch = "qwen35";
    o.shape = "4b";
    o.vocab_path = qwen35_vocab();
    o.quant = "q4_k_m";
    o.quick_quant = true;
    o.seed = 5;
    const auto path = (std::filesystem::temp_directory_path() / "hotrod_gpu_synth_qwen35_4b_q4_k_m.gguf").string();
    if (!std::filesystem::exists(path)) write_synthetic_model(o, path);
    const Agreement a = compare_logits(path, 100, 64);
    std::printf("  qwen35 4b q4_k_m: worst cosine %.6f (position %zu), arg-max agreement %d/%zu\n", a.worst,
                a.worst_p, a.agree, a.n);
    const bool same = same_activation_bits();
    EXPECT_GE(a.worst, same ? 0.98 : 0.9) << "position " << a.worst_p;
    EXPECT_GE(double(a.agree), (same ? 0.6 : 0.35) * double(a.n));
}

// Each sequence's conv and delta-rule state in its own slot across mixed prefill / decode steps. Tolerance 1e-2 of
// the row's largest logit, as the qwen3 synthetic model's (test_model_gpu.cpp): decode-sized and prefill-sized steps
// take different matmul kernels, whose float order a random-weight model amplifies; a wrong slot or a state read
// from the wrong sequence is off by far more.
TEST(GpuModel, BatchedEqualsAloneSynthQwen35) {
    HOTROD_REQUIRE_GPU();
    REQUIRE_QWEN35_VOCAB();
    const SynthFile f("q8_0", 3);
    Loaded g = load(f.path, true, 8);
    test::check_batched_vs_alone(*g.m, *g.kv, 1e-2f);
}

// Decode steps replayed from CUDA graphs equal the same steps launched op by op, bit for bit: two sequences
// decoding together across position 128 (where the prefix cache plans a snapshot mid-decode: a step with a
// snapshot replays the graph of steps without), then one alone.
TEST(GpuModel, Qwen35GraphReplayEqualsEager) {
    HOTROD_REQUIRE_GPU();
    REQUIRE_QWEN35_VOCAB();
    const SynthFile f("q8_0", 5);
    Loaded with = load(f.path, true, 2, true), without = load(f.path, true, 2, false);
    auto run = [](Loaded& l) {
        std::vector<std::vector<float>> rows;
        const int lengths[2] = {40, 100};
        int32_t seqs[2];
        Batch b;
        for (int q = 0; q < 2; ++q) {
            seqs[q] = l.kv->add_sequence();
            b.clear();
            const int s = b.add_sequence(seqs[q]);
            for (int i = 0; i < lengths[q]; ++i) b.add(s, int32_t(100 + 7 * i + q), i, i + 1 == lengths[q]);
            l.m->forward(b, *l.kv);
        }
        for (int step = 0; step < 60; ++step) {
            const int n = step < 40 ? 2 : 1;
            b.clear();
            for (int q = 0; q < n; ++q) b.add(b.add_sequence(seqs[q]), int32_t(1000 + step + q), lengths[q] + step, true);
            l.m->forward(b, *l.kv);
            for (int r = 0; r < n; ++r) rows.emplace_back(l.m->logits(r).begin(), l.m->logits(r).end());
        }
        return rows;
    };
    const auto a = run(with), b = run(without);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "logits row " << i;
    const auto& st = static_cast<cuda::CudaBackend&>(*with.be).graph_stats();
    std::printf("  graphs: %llu captured, %llu replayed, %llu eager\n", (unsigned long long)st.captures,
                (unsigned long long)st.replays, (unsigned long long)st.eager);
    EXPECT_GT(st.replays, 40u);
    EXPECT_LE(st.eager, 2u);  // a step whose attention scratch grows runs op by op; the recurrent ops never do
    EXPECT_EQ(static_cast<cuda::CudaBackend&>(*without.be).graph_stats().replays, 0u);
}

// A prompt resumed from a prefix-cache snapshot gives, bit for bit, the last logits its cold run gave: the cold run
// from position 0 in one step, the repeat's 22-token tail from the snapshot at 128 (a multiple of the chunked delta
// rule's 64, where KvCache::prompt_align puts prompt snapshots), both steps said to be prompt tokens, so the tail
// takes the chunked form over the chunk the cold run cut there (the token loop's sums would differ).
TEST(GpuModel, Qwen35PrefixHitEqualsColdBitForBit) {
    HOTROD_REQUIRE_GPU();
    REQUIRE_QWEN35_VOCAB();
    const SynthFile f("q4_k_m", 13);
    Loaded g = load(f.path, true, 2);
    if (g.kv->prompt_align() == 1) GTEST_SKIP() << "batch invariance is off (HOTROD_CUDA_BATCH_INVARIANT=0)";
    EXPECT_EQ(g.kv->prompt_align(), 64);
    std::mt19937 rng(3);
    std::vector<int32_t> prompt(150);
    for (auto& t : prompt) t = int32_t(rng() % 20000u);
    auto run = [&](int32_t seq, int from) {
        Batch b;
        const int s = b.add_sequence(seq);
        for (int i = from; i < int(prompt.size()); ++i) b.add(s, prompt[size_t(i)], i, i + 1 == int(prompt.size()));
        b.n_decode = 0;
        g.m->forward(b, *g.kv);
        g.kv->publish_prefix(seq, prompt, int(prompt.size()));
        return std::vector<float>(g.m->logits(0).begin(), g.m->logits(0).end());
    };
    const int32_t cold_seq = g.kv->add_sequence();
    const auto cold = run(cold_seq, 0);
    g.kv->remove_sequence(cold_seq);
    const int32_t warm_seq = g.kv->add_sequence();
    ASSERT_EQ(g.kv->match_prefix(warm_seq, prompt), 128);
    const auto warm = run(warm_seq, 128);
    ASSERT_EQ(cold.size(), warm.size());
    size_t differ = 0;
    for (size_t i = 0; i < cold.size(); ++i) differ += std::memcmp(&cold[i], &warm[i], sizeof(float)) != 0;
    EXPECT_EQ(differ, 0u) << "of " << cold.size() << " logits";
}

}  // namespace
}  // namespace hotrod::model
