// Tensor parallelism on the CPU (issue #17 part B, what runs without several GPUs): N ranks in one process, each
// its own thread and CpuBackend joined to a cpu::HostGroup (NCCL's stand-in), each loading its slice of the model
// (model/tensor_parallel.h). Checked: the group's all-reduce (rank-order sums, the same bits on every rank); the
// sharding math of one product (a column-parallel slice gives exactly the unsplit rows, a row-parallel one partial
// sums that add up to the unsplit product) for several formats and ragged sizes; whole models: logits of N ranks
// against the unsplit model (cosine >= 0.9999, greedy equal), every rank's logits identical, one rank through the
// group path equal to the plain path bit for bit; and the refusals (heads that do not divide, block boundaries,
// delta-net layers).
#include <gtest/gtest.h>

#include <cmath>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/host_group.h"
#include "model/synth.h"
#include "model/tensor_parallel.h"
#include "quant/quantize.h"
#include "quant/types.h"
#include "test_util.h"

namespace hotrod::model {
namespace {

using quant::DType;

// Runs fn(rank) for every rank on its own thread; rethrows the first failure after all have ended.
void on_each_rank(int n, const std::function<void(int)>& fn) {
    std::vector<std::exception_ptr> errors(static_cast<size_t>(n));
    std::vector<std::thread> threads;
    for (int r = 0; r < n; ++r) {
        threads.emplace_back([&, r] {
            try {
                fn(r);
            } catch (...) {
                errors[size_t(r)] = std::current_exception();
            }
        });
    }
    for (auto& t : threads) t.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

std::vector<float> random_floats(std::mt19937& rng, size_t n, float scale = 1.0f) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}

TEST(HostGroup, AllReduceSumsInRankOrderOnEveryRank) {
    std::mt19937 rng(7);
    for (int size : {1, 2, 3, 4}) {
        cpu::HostGroup group(size);
        for (size_t n : {size_t(1), size_t(2), size_t(7), size_t(1000), size_t(4097)}) {
            std::vector<std::vector<float>> x(static_cast<size_t>(size));
            for (auto& v : x) v = random_floats(rng, n, 100.0f);
            std::vector<float> want(n);
            for (size_t i = 0; i < n; ++i) {
                float s = x[0][i];
                for (int r = 1; r < size; ++r) s += x[size_t(r)][i];
                want[i] = s;
            }
            on_each_rank(size, [&](int r) { group.all_reduce(r, x[size_t(r)].data(), n); });
            for (int r = 0; r < size; ++r) ASSERT_EQ(x[size_t(r)], want) << size << " ranks, n " << n << ", rank " << r;
        }
    }
}

TEST(HostGroup, DifferentLengthsThrowOnEveryRank) {
    cpu::HostGroup group(3);
    std::vector<float> a(8), b(9), c(8);
    float* xs[3] = {a.data(), b.data(), c.data()};
    const size_t ns[3] = {8, 9, 8};
    std::vector<int> threw(3, 0);
    on_each_rank(3, [&](int r) {
        try {
            group.all_reduce(r, xs[r], ns[r]);
        } catch (const std::invalid_argument&) {
            threw[size_t(r)] = 1;
        }
    });
    EXPECT_EQ(threw, (std::vector<int>{1, 1, 1}));
    // The group still works after it.
    std::vector<float> ones(3, 1.0f);
    std::vector<std::vector<float>> x(3, ones);
    on_each_rank(3, [&](int r) { group.all_reduce(r, x[size_t(r)].data(), 3); });
    EXPECT_EQ(x[2], std::vector<float>(3, 3.0f));
}

// A random weight of n_out x n_in in `type` (host bytes and a view of them).
struct HostWeight {
    std::vector<uint8_t> bytes;
    TensorView view;
    HostWeight(std::mt19937& rng, DType type, int64_t n_out, int64_t n_in) {
        const size_t rb = *quant::row_bytes(type, n_in);
        bytes.resize(rb * size_t(n_out));
        const auto w = random_floats(rng, size_t(n_out * n_in), 0.05f);
        for (int64_t r = 0; r < n_out; ++r)
            quant::quantize_row(type, w.data() + r * n_in, bytes.data() + size_t(r) * rb, n_in);
        view = {type, bytes.data(), n_out, n_in, rb};
    }
};

TensorView f32_view(std::vector<float>& v, int64_t rows, int64_t cols) {
    return {DType::F32, v.data(), rows, cols, size_t(cols) * sizeof(float)};
}

TensorSpec layer_spec(TensorView LayerWeights::*field) {
    TensorSpec s;
    s.name = "blk.0.test";
    s.layer = 0;
    s.field = field;
    s.shape = {1, 1};
    return s;
}

// ffn_gate (column-parallel) and ffn_down (row-parallel) cut by shard_weight, multiplied on each rank's backend.
TEST(TensorParallel, ShardedProductsEqualTheUnsplitProduct) {
    std::mt19937 rng(11);
    for (DType type : {DType::Q4_K, DType::Q6_K, DType::Q8_0, DType::Q4_1, DType::F16}) {
        const int64_t block = quant::type_info(type).block_size;
        for (int n : {2, 3, 4}) {
            for (int64_t tokens : {1, 5, 70}) {
                // gate: n_out = n_ff split by rows; down: n_in = n_ff split by columns at block boundaries.
                const int64_t n_ff = int64_t(n) * block * (type == DType::F16 ? 3 : 1) * (tokens == 5 ? 2 : 1);
                const int64_t n_embd = 2 * block;
                Config c;
                c.n_ff = int(n_ff);
                const HostWeight gate(rng, type, n_ff, n_embd), down(rng, type, 37 + tokens, n_ff);
                auto x = random_floats(rng, size_t(tokens * n_embd));
                auto h = random_floats(rng, size_t(tokens * n_ff));
                cpu::CpuBackend whole(1);
                std::vector<float> y_gate(size_t(tokens * n_ff)), y_down(size_t(tokens * down.view.n_rows));
                whole.matmul(gate.view, f32_view(x, tokens, n_embd), f32_view(y_gate, tokens, n_ff));
                whole.matmul(down.view, f32_view(h, tokens, n_ff), f32_view(y_down, tokens, down.view.n_rows));

                cpu::HostGroup group(n);
                const int64_t part = n_ff / n;
                std::vector<std::vector<float>> gate_r(static_cast<size_t>(n)), down_r(static_cast<size_t>(n));
                on_each_rank(n, [&](int r) {
                    cpu::CpuBackend be(1);
                    be.join_group(&group, r);
                    const TensorParallel tp{r, n};
                    const TensorView g = shard_weight(layer_spec(&LayerWeights::ffn_gate), gate.view, c, tp);
                    const TensorView d = shard_weight(layer_spec(&LayerWeights::ffn_down), down.view, c, tp);
                    EXPECT_EQ(g.n_rows, part);  // EXPECT: a rank that left early would leave the others waiting
                    EXPECT_EQ(d.n_cols, part);
                    gate_r[size_t(r)].resize(size_t(tokens * part));
                    be.matmul(g, f32_view(x, tokens, n_embd), f32_view(gate_r[size_t(r)], tokens, part));
                    // This rank's columns of h (the FFN activations it would hold), then its partial of down.
                    std::vector<float> h_r(size_t(tokens * part));
                    for (int64_t t = 0; t < tokens; ++t)
                        for (int64_t i = 0; i < part; ++i) h_r[size_t(t * part + i)] = h[size_t(t * n_ff + r * part + i)];
                    down_r[size_t(r)].resize(size_t(tokens * d.n_rows));
                    TensorView y = f32_view(down_r[size_t(r)], tokens, d.n_rows);
                    be.matmul(d, f32_view(h_r, tokens, part), y);
                    be.all_reduce(y);
                });
                const std::string what = std::string(quant::type_name(type)) + ", " + std::to_string(n) + " ranks, " +
                                         std::to_string(tokens) + " tokens";
                // Column-parallel: each rank's rows are exactly the unsplit product's.
                for (int r = 0; r < n; ++r)
                    for (int64_t t = 0; t < tokens; ++t)
                        for (int64_t i = 0; i < part; ++i)
                            ASSERT_EQ(gate_r[size_t(r)][size_t(t * part + i)], y_gate[size_t(t * n_ff + r * part + i)])
                                << what << ": rank " << r << " token " << t << " row " << i;
                // Row-parallel: the all-reduced partials equal the unsplit product up to the order of the sum, and
                // every rank holds the same bits.
                for (int r = 1; r < n; ++r) ASSERT_EQ(down_r[size_t(r)], down_r[0]) << what;
                double err = 0, mag = 0;
                for (size_t i = 0; i < y_down.size(); ++i) {
                    err = std::max(err, double(std::abs(down_r[0][i] - y_down[i])));
                    mag = std::max(mag, double(std::abs(y_down[i])));
                }
                EXPECT_LE(err, 1e-5 * mag + 1e-6) << what;
            }
        }
    }
}

TEST(TensorParallel, RefusesWhatCannotBeSplit) {
    Config c;
    c.arch = "qwen3", c.n_heads = 8, c.n_kv_heads = 2, c.n_ff = 768, c.head_dim = 64;
    EXPECT_EQ(shard_config(c, 1).n_heads, 8);
    const Config two = shard_config(c, 2);
    EXPECT_EQ(two.n_heads, 4);
    EXPECT_EQ(two.n_kv_heads, 1);
    EXPECT_EQ(two.n_ff, 384);
    EXPECT_THROW(shard_config(c, 4), Error);  // 2 KV heads
    EXPECT_THROW(shard_config(c, 0), Error);
    Config odd_ff = c;
    odd_ff.n_ff = 769;
    EXPECT_THROW(shard_config(odd_ff, 2), Error);
    Config hybrid = c;
    hybrid.delta_net.n_v_heads = 32;
    EXPECT_THROW(shard_config(hybrid, 2), Error);
    // 768 FFN columns over 2 ranks: 384 each, not whole Q4_K blocks of 256.
    std::mt19937 rng(3);
    const HostWeight down(rng, DType::Q4_K, 16, 768);
    EXPECT_THROW(shard_weight(layer_spec(&LayerWeights::ffn_down), down.view, c, {1, 2}), Error);
    // Replicated tensors come back as they are.
    const TensorView same = shard_weight(layer_spec(&LayerWeights::attn_norm), down.view, c, {1, 2});
    EXPECT_EQ(same.data, down.view.data);
    EXPECT_EQ(same.n_cols, down.view.n_cols);
}

// The step and cache sizes of every model these tests load, ranked or plain.
LoadOptions small_load(TensorParallel tp = {}) {
    LoadOptions lo;
    lo.max_batch_tokens = 64;
    lo.max_logit_rows = 64;
    lo.max_seqs = 2;
    lo.tp = tp;
    return lo;
}
KvOptions small_cache() {
    KvOptions ko;
    ko.n_ctx = 256;
    ko.block_size = 16;
    return ko;
}

// N ranks of one model, each on its own thread, backend and KV cache.
struct Ranks {
    cpu::HostGroup group;
    std::vector<std::unique_ptr<cpu::CpuBackend>> be;
    std::vector<std::unique_ptr<Model>> m;
    std::vector<std::unique_ptr<KvCache>> kv;

    Ranks(const std::string& path, int n) : group(n) {
        for (int r = 0; r < n; ++r) {
            be.push_back(std::make_unique<cpu::CpuBackend>(1));
            be.back()->join_group(&group, r);
            m.push_back(Model::load(path, *be.back(), small_load({r, n})));
            kv.push_back(std::make_unique<KvCache>(*be.back(), m.back()->config(), small_cache()));
        }
    }
    int size() const { return int(m.size()); }

    // Every position's logits (rank 0's), after checking every rank computed the same bits.
    std::vector<std::vector<float>> all_logits(const std::vector<int32_t>& tokens, int chunk) {
        std::vector<std::vector<std::vector<float>>> got(static_cast<size_t>(size()));
        on_each_rank(size(), [&](int r) { got[size_t(r)] = test::run_all_logits(*m[size_t(r)], *kv[size_t(r)], tokens, chunk); });
        for (int r = 1; r < size(); ++r) EXPECT_EQ(got[size_t(r)], got[0]) << "rank " << r << "'s logits differ from rank 0's";
        return got[0];
    }
};

void check_model(const std::string& path, int n, double min_cosine) {
    cpu::CpuBackend plain_be(1);
    auto plain = Model::load(path, plain_be, small_load());
    KvCache plain_kv(plain_be, plain->config(), small_cache());

    std::mt19937 rng(5);
    std::vector<int32_t> tokens(48);
    for (int32_t& t : tokens) t = int32_t(rng() % 5000);
    const auto want = test::run_all_logits(*plain, plain_kv, tokens, 16);

    // One rank through the group path: the plain path bit for bit.
    {
        Ranks one(path, 1);
        EXPECT_EQ(one.all_logits(tokens, 16), want) << "one rank differs from the plain path";
    }
    Ranks ranks(path, n);
    const auto got = ranks.all_logits(tokens, 16);
    ASSERT_EQ(got.size(), want.size());
    double worst = 1;
    for (size_t p = 0; p < want.size(); ++p) {
        double dot = 0, n1 = 0, n2 = 0;
        for (size_t i = 0; i < want[p].size(); ++i) {
            dot += double(want[p][i]) * got[p][i];
            n1 += double(want[p][i]) * want[p][i];
            n2 += double(got[p][i]) * got[p][i];
        }
        worst = std::min(worst, dot / std::sqrt(n1 * n2));
    }
    std::printf("  %s over %d ranks: worst cosine against the unsplit model %.7f\n", path.c_str(), n, worst);
    EXPECT_GE(worst, min_cosine);

    const std::vector<int32_t> prompt(tokens.begin(), tokens.begin() + 20);
    const auto plain_greedy = test::greedy(*plain, plain_kv, prompt, 32);
    std::vector<std::vector<int32_t>> rank_greedy(static_cast<size_t>(n));
    on_each_rank(n, [&](int r) { rank_greedy[size_t(r)] = test::greedy(*ranks.m[size_t(r)], *ranks.kv[size_t(r)], prompt, 32); });
    for (int r = 0; r < n; ++r) EXPECT_EQ(rank_greedy[size_t(r)], plain_greedy) << "rank " << r;
}

std::string synth(const std::string& shape, const std::string& quant) {
    SynthOptions o;
    o.vocab_path = test::shared_vocab("ggml-vocab-qwen2.gguf");
    o.shape = shape;
    o.quant = quant;
    o.seed = 21;
    const std::string path = (test::temp_dir() / ("tp_" + shape + "_" + quant + ".gguf")).string();
    write_synthetic_model(o, path);
    return path;
}

// The tiny shape's attention output is 256 wide: 128 columns a rank are not whole Q4_K blocks (refused, see
// RefusesWhatCannotBeSplit), so its Q4_K_M file is not cut here.
#define VOCAB_OR_SKIP()                                                                                     \
    if (!std::filesystem::exists(test::shared_vocab("ggml-vocab-qwen2.gguf")))                              \
        GTEST_SKIP() << "missing " << test::shared_vocab("ggml-vocab-qwen2.gguf");

TEST(TensorParallel, SynthQwen3OverTwoRanks) {
    VOCAB_OR_SKIP();
    for (const char* quant : {"q8_0", "f16"}) check_model(synth("tiny", quant), 2, 0.9999);
}

// 28 random layers amplify the float-order difference of the all-reduced sums (the 4B shape's GPU against CPU:
// 0.995): measured 0.99989 at 4 ranks (Q4_K_M: 0.99981), greedy equal.
TEST(TensorParallel, SynthQwen3_0_6BOverFourRanks) {
    VOCAB_OR_SKIP();
    const std::string path = synth("0.6b", "q8_0");
    check_model(path, 4, 0.9998);
    std::filesystem::remove(path);
}

// SmolLM2 moves more under a change of summation order than a random model: the GPU against the CPU gives 0.99958
// (test_model_gpu.cpp), llama.cpp's two attention paths agree on 93-95% of arg-maxes. Three ranks measured 0.99950.
TEST(TensorParallel, SmolLM2OverThreeRanks) {
    HOTROD_MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf");  // 3 KV heads, 9 query heads, n_ff 1536
    check_model(path, 3, 0.999);
}

TEST(TensorParallel, LoadRefusesAModelThatDoesNotSplit) {
    HOTROD_MODEL_OR_SKIP(path, "gemma-3-270m-q4_k_m.gguf");  // one KV head
    cpu::HostGroup two(2);
    cpu::CpuBackend be(1);
    be.join_group(&two, 0);
    LoadOptions lo;
    lo.tp = {0, 2};
    try {
        Model::load(path, be, lo);
        FAIL() << "loaded";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("KV heads"), std::string::npos) << e.what();
    }
    lo.tp = {2, 2};
    EXPECT_THROW(Model::load(path, be, lo), std::invalid_argument);
    // A backend that is not in a group of the model's rank count (alone here) is refused before anything loads.
    HOTROD_MODEL_OR_SKIP(smol, "SmolLM2-135M-Instruct.Q4_1.gguf");
    be.join_group(nullptr, 0);
    lo.tp = {0, 3};
    EXPECT_THROW(Model::load(smol, be, lo), std::invalid_argument);
}

}  // namespace
}  // namespace hotrod::model
