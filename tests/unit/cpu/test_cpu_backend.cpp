// CpuBackend: every op (inline and pool paths, 1 and 2 threads, every ISA) equals the scalar references; the
// quantized-x cache never serves a stale x; bad shapes throw. End to end: a tiny two-layer transformer written
// once against backend::Backend runs on CpuBackend and on RefBackend (below: the scalar references only, with
// RoPE in double and plain dot products) over two batched steps (prefill of two sequences, then decode).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/cpu_features.h"
#include "cpu/ops_act.h"
#include "cpu/ops_attention.h"
#include "cpu/ops_embed.h"
#include "cpu/ops_kv.h"
#include "cpu/ops_norm.h"
#include "cpu/ops_rope.h"
#include "quant/dot_ref.h"
#include "quant/quantize.h"

namespace hotrod::cpu {
namespace {

using backend::TensorView;
using quant::DType;

struct Mat {  // an owned F32 matrix and its view
    std::vector<float> data;
    int64_t n_rows = 0, n_cols = 0;
    Mat(int64_t r, int64_t c, uint32_t seed = 0, float lo = -1, float hi = 1) : data(size_t(r * c)), n_rows(r), n_cols(c) {
        std::mt19937 rng(seed);
        std::uniform_real_distribution<float> d(lo, hi);
        for (auto& x : data) x = seed ? d(rng) : 0.0f;
    }
    TensorView view() { return {DType::F32, data.data(), n_rows, n_cols, size_t(n_cols) * 4}; }
};

struct QWeight {  // a Q8_0 (or F32) weight quantized from random floats
    DType type;
    std::vector<uint8_t> bytes;
    int64_t n_out, n_in;
    QWeight(DType t, int64_t out, int64_t in, uint32_t seed) : type(t), n_out(out), n_in(in) {
        Mat w(out, in, seed, -0.3f, 0.3f);
        const size_t rb = *quant::row_bytes(t, in);
        bytes.resize(size_t(out) * rb);
        for (int64_t r = 0; r < out; ++r) quant::quantize_row(t, w.data.data() + r * in, bytes.data() + r * rb, in);
    }
    TensorView view() { return {type, bytes.data(), n_out, n_in, *quant::row_bytes(type, n_in)}; }
};

float* row(const TensorView& v, int64_t r) { return reinterpret_cast<float*>(static_cast<char*>(v.data) + r * v.row_bytes); }

class VecBuffer : public backend::Buffer {
public:
    explicit VecBuffer(size_t n) : v_(n) {}
    void* data() override { return v_.data(); }
    size_t bytes() const override { return v_.size(); }
private:
    std::vector<uint8_t> v_;
};

// The op set from the scalar references alone, one thread.
class RefBackend : public backend::Backend {
public:
    std::string name() const override { return "ref"; }
    std::unique_ptr<backend::Buffer> alloc(size_t bytes) override { return std::make_unique<VecBuffer>(bytes); }
    TensorView weight(const TensorView& h) override { return h; }
    void embed(const TensorView& table, std::span<const int32_t> ids, float scale, TensorView out) override {
        for (size_t t = 0; t < ids.size(); ++t) {
            embed_row(table.type, static_cast<char*>(table.data) + ids[t] * table.row_bytes, table.n_cols, scale, row(out, int64_t(t)));
        }
    }
    void rms_norm(const TensorView& x, const TensorView& w, float eps, TensorView out) override {
        for (int64_t r = 0; r < x.n_rows; ++r) rms_norm_row_ref(row(x, r), w.f32(), eps, x.n_cols, row(out, r));
    }
    void rms_norm_heads(TensorView x, const TensorView& w, int hd, float eps) override {
        for (int64_t r = 0; r < x.n_rows; ++r)
            for (int64_t h = 0; h < x.n_cols / hd; ++h) rms_norm_row_ref(row(x, r) + h * hd, w.f32(), eps, hd, row(x, r) + h * hd);
    }
    void matmul(const TensorView& w, const TensorView& x, TensorView y) override {
        std::vector<uint8_t> xq(*quant::row_bytes(DType::Q8_0, x.n_cols));
        for (int64_t t = 0; t < x.n_rows; ++t) {
            const void* xp = row(x, t);
            if (w.type == DType::Q8_0) {
                quant::quantize_row_q8_0_ref(row(x, t), xq.data(), x.n_cols);
                xp = xq.data();
            }
            for (int64_t r = 0; r < w.n_rows; ++r) {
                const void* wr = static_cast<char*>(w.data) + r * w.row_bytes;
                row(y, t)[r] = w.type == DType::Q8_0 ? quant::dot_ref_q8_0(w.n_cols, wr, xp) : quant::dot_ref_f32(w.n_cols, wr, xp);
            }
        }
    }
    void rope(TensorView x, int hd, std::span<const int32_t> pos, const backend::RopeParams& p) override {
        rope_ref(x.f32(), x.n_rows, x.row_bytes / 4, int(x.n_cols / hd), hd, pos.data(), p);
    }
    void kv_store(const backend::KvLayerView& c, const backend::KvLayout& l, const TensorView& k, const TensorView& v) override {
        const int64_t width = int64_t(c.n_kv_heads) * c.head_dim;
        const size_t rb = *quant::row_bytes(c.type, width);
        for (size_t t = 0; t < l.positions.size(); ++t) {
            const int64_t slot = kv_slot(l.block_tables[l.token_seq[t]], l.block_size, l.positions[t]);
            kv_row_store_f16_ref(row(k, int64_t(t)), static_cast<uint8_t*>(c.k) + slot * rb, width);
            kv_row_store_f16_ref(row(v, int64_t(t)), static_cast<uint8_t*>(c.v) + slot * rb, width);
        }
    }
    void attention(const TensorView& q, const backend::KvLayerView& c, const backend::KvLayout& l,
                   const backend::AttentionParams& p, TensorView out) override {
        AttentionJob j;
        j.q = q.f32(), j.q_stride = q.row_bytes / 4, j.out = out.f32(), j.out_stride = out.row_bytes / 4;
        j.kv_type = c.type, j.k = static_cast<uint8_t*>(c.k), j.v = static_cast<uint8_t*>(c.v);
        j.kv_row_bytes = *quant::row_bytes(c.type, int64_t(c.n_kv_heads) * c.head_dim);
        j.n_heads = p.n_heads, j.n_kv_heads = p.n_kv_heads, j.head_dim = p.head_dim;
        j.scale = p.scale, j.softcap = p.softcap, j.window = p.window;
        j.positions = l.positions.data(), j.token_seq = l.token_seq.data(), j.block_tables = l.block_tables.data();
        j.block_size = l.block_size;
        attention_run(j, int64_t(l.positions.size()), {attention_scores_ref, attention_values_ref, nullptr});
    }
    void swiglu(const TensorView& g, const TensorView& u, TensorView o) override {
        for (int64_t r = 0; r < g.n_rows; ++r) swiglu_ref(row(g, r), row(u, r), row(o, r), g.n_cols);
    }
    void geglu(const TensorView& g, const TensorView& u, TensorView o) override {
        for (int64_t r = 0; r < g.n_rows; ++r) geglu_ref(row(g, r), row(u, r), row(o, r), g.n_cols);
    }
    void add(TensorView x, const TensorView& y) override {
        for (int64_t r = 0; r < x.n_rows; ++r) add_row(row(x, r), row(y, r), x.n_cols);
    }
    void gather_rows(const TensorView& x, std::span<const int32_t> rows, TensorView out) override {
        for (size_t i = 0; i < rows.size(); ++i) std::memcpy(row(out, int64_t(i)), row(x, rows[i]), size_t(x.n_cols) * 4);
    }
    void sync() override {}
};

void expect_near(const Mat& got, const Mat& want, double tol, const std::string& what) {
    double err = 0, mag = 0;
    for (size_t i = 0; i < got.data.size(); ++i) {
        err = std::max(err, double(std::fabs(got.data[i] - want.data[i])));
        mag = std::max(mag, double(std::fabs(want.data[i])));
    }
    EXPECT_LE(err, tol * std::max(mag, 1e-3)) << what << ": max abs error " << err << " of max |ref| " << mag;
}

struct Config {
    int isa, n_threads;
    std::string str() const { return std::string(isa_name(Isa(isa))) + " x" + std::to_string(n_threads); }
};

std::vector<Config> configs() {
    std::vector<Config> c;
    for (int isa = 0; isa < n_supported_isas(); ++isa)
        for (int n : {1, 2}) c.push_back({isa, n});
    return c;
}

TEST(CpuBackend, RowOpsMatchReferences) {
    RefBackend ref;
    for (const Config& cfg : configs()) {
        CpuBackend be(cfg.n_threads, Isa(cfg.isa));
        for (int64_t n_rows : {1, 3, 97}) {  // 97 x 640 crosses the inline threshold: pool path
            const int64_t n_cols = 640;
            Mat x(n_rows, n_cols, 1), w(1, n_cols, 2, 0.5f, 1.5f), wh(1, 64, 3, 0.5f, 1.5f), y(n_rows, n_cols, 4);
            Mat a(n_rows, n_cols), b(n_rows, n_cols);
            be.rms_norm(x.view(), w.view(), 1e-6f, a.view());
            ref.rms_norm(x.view(), w.view(), 1e-6f, b.view());
            expect_near(a, b, 2e-5, "rms_norm " + cfg.str());
            a = x, b = x;
            be.rms_norm_heads(a.view(), wh.view(), 64, 1e-6f);
            ref.rms_norm_heads(b.view(), wh.view(), 64, 1e-6f);
            expect_near(a, b, 2e-5, "rms_norm_heads " + cfg.str());
            be.swiglu(x.view(), y.view(), a.view());
            ref.swiglu(x.view(), y.view(), b.view());
            expect_near(a, b, 1e-5, "swiglu " + cfg.str());
            be.geglu(x.view(), y.view(), a.view());
            ref.geglu(x.view(), y.view(), b.view());
            // GeGLU rounds its GELU to fp16 (as llama.cpp): the SIMD tanh may land on the neighbouring fp16 value,
            // one fp16 step (<= 2^-10 relative); OpsAct.SimdMatchesRef checks such flips stay rare.
            expect_near(a, b, 1e-3, "geglu " + cfg.str());
            a = x, b = x;
            be.add(a.view(), y.view());
            ref.add(b.view(), y.view());
            expect_near(a, b, 0, "add " + cfg.str());
            std::vector<int32_t> pos(static_cast<size_t>(n_rows));
            for (int64_t t = 0; t < n_rows; ++t) pos[size_t(t)] = int32_t(t * 37 % 1000);
            for (auto kind : {backend::RopeKind::Normal, backend::RopeKind::NeoX}) {
                const backend::RopeParams p{kind, 48, 10000.0f, 1.0f};
                a = x, b = x;
                be.rope(a.view(), 64, pos, p);
                be.rope(a.view(), 64, pos, p);  // a second call hits the cached table
                ref.rope(b.view(), 64, pos, p);
                ref.rope(b.view(), 64, pos, p);
                expect_near(a, b, 2e-6, "rope " + cfg.str());
            }
            std::vector<int32_t> rows = {int32_t(n_rows - 1), 0};
            Mat g(2, n_cols);
            be.gather_rows(x.view(), rows, g.view());
            EXPECT_EQ(0, std::memcmp(g.data.data(), x.data.data() + (n_rows - 1) * n_cols, n_cols * 4));
            QWeight table(DType::Q8_0, 50, n_cols, 5);
            std::vector<int32_t> ids(static_cast<size_t>(n_rows));
            for (int64_t t = 0; t < n_rows; ++t) ids[size_t(t)] = int32_t(t * 7 % 50);
            be.embed(table.view(), ids, 2.5f, a.view());
            ref.embed(table.view(), ids, 2.5f, b.view());
            expect_near(a, b, 0, "embed " + cfg.str());
        }
    }
}

TEST(CpuBackend, BadShapesThrow) {
    CpuBackend be(1);
    Mat x(2, 64, 1), w(1, 32, 2), out(2, 64);
    EXPECT_THROW(be.rms_norm(x.view(), w.view(), 1e-6f, out.view()), std::invalid_argument);
    EXPECT_THROW(be.rms_norm_heads(x.view(), w.view(), 48, 1e-6f), std::invalid_argument);
    QWeight table(DType::Q8_0, 10, 64, 3);
    std::vector<int32_t> bad = {3, 10};
    EXPECT_THROW(be.embed(table.view(), bad, 1.0f, out.view()), std::invalid_argument);
    std::vector<int32_t> rows = {2};
    Mat g(1, 64);
    EXPECT_THROW(be.gather_rows(x.view(), rows, g.view()), std::invalid_argument);
    std::vector<int32_t> pos = {0, 1};
    EXPECT_THROW(be.rope(x.view(), 64, pos, {backend::RopeKind::Normal, 65, 1e4f, 1.0f}), std::invalid_argument);
}

TEST(CpuBackend, RecurrentOpsDefaultToAnErrorNamingOpAndBackend) {
    // A backend without the recurrent ops (RefBackend here, CUDA for now) fails when a model first calls one.
    RefBackend be;
    Mat x(2, 64, 1), w(64, 4, 2), state(1, 3 * 64), out(2, 64);
    const backend::RecurrentLayout layout;
    try {
        be.conv1d_causal(x.view(), w.view(), state.view(), layout, true, out.view());
        FAIL() << "no throw";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("conv1d_causal"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("ref"), std::string::npos) << e.what();
    }
    EXPECT_THROW(be.sigmoid_gate(x.view(), out.view(), 64, 64), std::runtime_error);
    EXPECT_THROW(be.rms_norm_gated(x.view(), w.view(), out.view(), 64, 1e-6f, out.view()), std::runtime_error);
}

TEST(CpuBackend, QuantizedXCacheIsNeverStale) {
    for (const Config& cfg : configs()) {
        CpuBackend be(cfg.n_threads, Isa(cfg.isa));
        RefBackend ref;
        QWeight w1(DType::Q8_0, 96, 64, 1), w2(DType::Q8_0, 40, 64, 2);
        Mat x(3, 64, 3), d(3, 64, 4), y1(3, 96), y2(3, 40), r1(3, 96), r2(3, 40);
        be.matmul(w1.view(), x.view(), y1.view());
        be.matmul(w2.view(), x.view(), y2.view());  // reuses the quantized x
        ref.matmul(w1.view(), x.view(), r1.view());
        ref.matmul(w2.view(), x.view(), r2.view());
        expect_near(y1, r1, 1e-5, "first " + cfg.str());
        expect_near(y2, r2, 1e-5, "reused " + cfg.str());
        be.add(x.view(), d.view());  // x changes in place: same pointer, new contents
        ref.add(d.view(), Mat(3, 64).view());
        be.matmul(w1.view(), x.view(), y1.view());
        ref.matmul(w1.view(), x.view(), r1.view());
        expect_near(y1, r1, 1e-5, "after add " + cfg.str());
    }
}

// matmul_shared (one dispatch for q/k/v or gate/up) gives exactly what separate matmul calls give: decode-sized
// and prefill-sized x, products of different widths and formats (Q8_0 and Q4_K activations side by side), and
// more products than one dispatch takes.
TEST(CpuBackend, SharedXMatmulEqualsSeparateCalls) {
    for (const Config& cfg : configs()) {
        CpuBackend be(cfg.n_threads, Isa(cfg.isa));
        for (int64_t n_tokens : {1, 5, 8, 9, 40}) {
            QWeight wq(DType::Q8_0, 96, 256, 1), wk(DType::Q4_K, 32, 256, 2), wv(DType::Q8_0, 32, 256, 3),
                w4(DType::Q4_0, 40, 256, 4), w5(DType::Q5_0, 8, 256, 5);
            Mat x(n_tokens, 256, 6);
            std::vector<QWeight*> ws = {&wq, &wk, &wv, &w4, &w5};
            for (size_t n : {size_t(1), size_t(2), size_t(3), size_t(5)}) {
                std::vector<Mat> shared, alone;
                std::vector<backend::MatmulOut> outs;
                for (size_t i = 0; i < n; ++i) {
                    shared.emplace_back(n_tokens, ws[i]->n_out);
                    alone.emplace_back(n_tokens, ws[i]->n_out);
                }
                for (size_t i = 0; i < n; ++i) outs.push_back({ws[i]->view(), shared[i].view()});
                be.matmul_shared(x.view(), outs);
                for (size_t i = 0; i < n; ++i) be.matmul(ws[i]->view(), x.view(), alone[i].view());
                for (size_t i = 0; i < n; ++i) {
                    EXPECT_EQ(shared[i].data, alone[i].data) << cfg.str() << " tokens=" << n_tokens << " n=" << n
                                                             << " product " << i;
                }
            }
        }
    }
}

// Attention through the backend (inline, one task per (token, group), and split-context paths) equals the
// reference run, with the cache written by kv_store over shuffled blocks.
TEST(CpuBackend, AttentionPathsMatchReference) {
    struct Case { int n_heads, n_kv, hd; std::vector<std::pair<int, int>> seqs; };  // (length, new tokens)
    const Case cases[] = {
        {9, 3, 64, {{5, 5}, {3, 3}}},          // small: inline
        {4, 1, 256, {{1000, 1}}},              // one decode token, one KV head: split over the context
        {9, 3, 64, {{600, 1}, {300, 1}}},      // decode of two sequences
        {8, 2, 64, {{90, 90}, {40, 40}}},      // prefill: many units
    };
    for (const Config& cfg : configs()) {
        CpuBackend be(cfg.n_threads, Isa(cfg.isa));
        RefBackend ref;
        for (const Case& c : cases) {
            const int block_size = 16;
            std::vector<std::vector<int32_t>> tables;
            int n_blocks = 0;
            for (auto [len, n_new] : c.seqs) n_blocks += (len + block_size - 1) / block_size;
            std::vector<int32_t> ids;
            for (int b = n_blocks - 1; b >= 0; --b) ids.push_back(b);
            std::mt19937 rng(7);
            std::shuffle(ids.begin(), ids.end(), rng);
            std::vector<int32_t> pos_all, seq_all, pos_new, seq_new;
            size_t next = 0;
            for (size_t s = 0; s < c.seqs.size(); ++s) {
                auto [len, n_new] = c.seqs[s];
                tables.emplace_back(ids.begin() + next, ids.begin() + next + (len + block_size - 1) / block_size);
                next += tables.back().size();
                for (int p = 0; p < len; ++p) {
                    pos_all.push_back(p), seq_all.push_back(int32_t(s));
                    if (p >= len - n_new) pos_new.push_back(p), seq_new.push_back(int32_t(s));
                }
            }
            std::vector<const int32_t*> tptr;
            for (auto& t : tables) tptr.push_back(t.data());
            const int width_kv = c.n_kv * c.hd;
            std::vector<uint8_t> kc(size_t(n_blocks * block_size * width_kv) * 2), vc(kc.size());
            const backend::KvLayerView cache{DType::F16, kc.data(), vc.data(), c.n_kv, c.hd};
            Mat k(int64_t(pos_all.size()), width_kv, 11), v(int64_t(pos_all.size()), width_kv, 12);
            be.kv_store(cache, {pos_all, seq_all, tptr, block_size}, k.view(), v.view());
            std::vector<uint8_t> kc_ref(kc.size()), vc_ref(kc.size());
            ref.kv_store({DType::F16, kc_ref.data(), vc_ref.data(), c.n_kv, c.hd}, {pos_all, seq_all, tptr, block_size},
                         k.view(), v.view());
            ASSERT_EQ(kc, kc_ref) << cfg.str();
            ASSERT_EQ(vc, vc_ref) << cfg.str();
            const backend::KvLayout layout{pos_new, seq_new, tptr, block_size};
            const backend::AttentionParams p{c.n_heads, c.n_kv, c.hd, 1.0f / std::sqrt(float(c.hd)), 0, 0.0f};
            Mat q(int64_t(pos_new.size()), c.n_heads * c.hd, 13), a(q.n_rows, q.n_cols), b(q.n_rows, q.n_cols);
            be.attention(q.view(), cache, layout, p, a.view());
            ref.attention(q.view(), cache, layout, p, b.view());
            // The probabilities are rounded to fp16 (ops_attention.h): one that sits on a rounding boundary may go
            // the other way in the SIMD path, moving an output by up to 2^-11 * p * |v| (test_ops_attention.cpp
            // bounds the mean error tightly).
            expect_near(a, b, 4.9e-4, "attention " + cfg.str() + " " + std::to_string(c.n_heads) + "/" + std::to_string(c.n_kv));
        }
    }
}

// A tiny two-layer transformer (GQA, QK-norm, RoPE, SwiGLU then GeGLU, tied-style F32 output head) written once
// against backend::Backend, run for two batched steps; returns the logits of the rows asked for in each step.
std::vector<Mat> tiny_forward(backend::Backend& be) {
    constexpr int dim = 64, n_heads = 4, n_kv = 2, hd = 16, ffn = 96, vocab = 40, bs = 4;
    QWeight emb(DType::Q8_0, vocab, dim, 100), out_w(DType::F32, vocab, dim, 101);
    struct Layer { QWeight q, k, v, o, gate, up, down; Mat attn_norm, ffn_norm, q_norm, k_norm; };
    std::vector<Layer> layers;
    for (uint32_t l = 0; l < 2; ++l) {
        const uint32_t s = 200 + 20 * l;
        layers.push_back({QWeight(DType::Q8_0, n_heads * hd, dim, s), QWeight(DType::Q8_0, n_kv * hd, dim, s + 1),
                          QWeight(DType::Q8_0, n_kv * hd, dim, s + 2), QWeight(DType::Q8_0, dim, n_heads * hd, s + 3),
                          QWeight(DType::Q8_0, ffn, dim, s + 4), QWeight(DType::Q8_0, ffn, dim, s + 5),
                          QWeight(DType::Q8_0, dim, ffn, s + 6), Mat(1, dim, s + 7, 0.5f, 1.5f),
                          Mat(1, dim, s + 8, 0.5f, 1.5f), Mat(1, hd, s + 9, 0.5f, 1.5f), Mat(1, hd, s + 10, 0.5f, 1.5f)});
    }
    Mat out_norm(1, dim, 300, 0.5f, 1.5f);
    // Two sequences; blocks out of order. KV cache: 2 layers x 6 blocks x 4 positions.
    const std::vector<int32_t> table_a = {5, 1, 3}, table_b = {0, 4, 2};
    const std::vector<const int32_t*> tables = {table_a.data(), table_b.data()};
    std::vector<std::vector<uint16_t>> kc(2, std::vector<uint16_t>(6 * bs * n_kv * hd)), vc = kc;

    struct Step { std::vector<int32_t> tokens, positions, seqs, logit_rows; };
    const Step steps[] = {{{3, 17, 5, 39, 0, 22, 8, 8, 1, 30}, {0, 1, 2, 3, 4, 5, 0, 1, 2, 3}, {0, 0, 0, 0, 0, 0, 1, 1, 1, 1}, {5, 9}},
                          {{12, 33}, {6, 4}, {0, 1}, {0, 1}}};
    std::vector<Mat> logits;
    for (const Step& st : steps) {
        const int64_t n = int64_t(st.tokens.size());
        Mat x(n, dim), h(n, dim), q(n, n_heads * hd), k(n, n_kv * hd), v(n, n_kv * hd), att(n, n_heads * hd),
            o(n, dim), g(n, ffn), u(n, ffn), f(n, ffn), sel(int64_t(st.logit_rows.size()), dim),
            lg(int64_t(st.logit_rows.size()), vocab);
        const backend::KvLayout layout{st.positions, st.seqs, tables, bs};
        be.embed(be.weight(emb.view()), st.tokens, 8.0f, x.view());
        for (int l = 0; l < 2; ++l) {
            Layer& L = layers[size_t(l)];
            be.rms_norm(x.view(), L.attn_norm.view(), 1e-6f, h.view());
            be.matmul(be.weight(L.q.view()), h.view(), q.view());
            be.matmul(be.weight(L.k.view()), h.view(), k.view());
            be.matmul(be.weight(L.v.view()), h.view(), v.view());
            be.rms_norm_heads(q.view(), L.q_norm.view(), hd, 1e-6f);
            be.rms_norm_heads(k.view(), L.k_norm.view(), hd, 1e-6f);
            const backend::RopeParams rp{l == 0 ? backend::RopeKind::Normal : backend::RopeKind::NeoX, hd, 10000.0f, 1.0f};
            be.rope(q.view(), hd, st.positions, rp);
            be.rope(k.view(), hd, st.positions, rp);
            const backend::KvLayerView cache{DType::F16, kc[size_t(l)].data(), vc[size_t(l)].data(), n_kv, hd};
            be.kv_store(cache, layout, k.view(), v.view());
            be.attention(q.view(), cache, layout, {n_heads, n_kv, hd, 0.25f, l == 1 ? 3 : 0, l == 1 ? 20.0f : 0.0f}, att.view());
            be.matmul(be.weight(L.o.view()), att.view(), o.view());
            be.add(x.view(), o.view());
            be.rms_norm(x.view(), L.ffn_norm.view(), 1e-6f, h.view());
            be.matmul(be.weight(L.gate.view()), h.view(), g.view());
            be.matmul(be.weight(L.up.view()), h.view(), u.view());
            if (l == 0) be.swiglu(g.view(), u.view(), f.view()); else be.geglu(g.view(), u.view(), f.view());
            be.matmul(be.weight(L.down.view()), f.view(), o.view());
            be.add(x.view(), o.view());
        }
        be.rms_norm(x.view(), out_norm.view(), 1e-6f, x.view());
        be.gather_rows(x.view(), st.logit_rows, sel.view());
        be.matmul(be.weight(out_w.view()), sel.view(), lg.view());
        be.sync();
        logits.push_back(lg);
    }
    return logits;
}

TEST(CpuBackend, TinyTwoLayerForwardMatchesReferenceOps) {
    RefBackend ref;
    const auto want = tiny_forward(ref);
    for (const Config& cfg : configs()) {
        CpuBackend be(cfg.n_threads, Isa(cfg.isa));
        const auto got = tiny_forward(be);
        ASSERT_EQ(got.size(), want.size());
        for (size_t s = 0; s < got.size(); ++s) {
            // Float summation order, the table-driven RoPE and the polynomial exp differ from the references by
            // ~1e-6 relative; a Q8_0 activation rounding that flips on such a difference moves a logit by one
            // quantum (~1/127 of one input's share): 2e-3 of the largest logit bounds both.
            expect_near(got[s], want[s], 2e-3, "step " + std::to_string(s) + " " + cfg.str());
            for (int64_t r = 0; r < got[s].n_rows; ++r) {
                auto gr = got[s].data.begin() + r * got[s].n_cols, wr = want[s].data.begin() + r * want[s].n_cols;
                EXPECT_EQ(std::max_element(gr, gr + got[s].n_cols) - gr, std::max_element(wr, wr + want[s].n_cols) - wr);
            }
        }
    }
}

}  // namespace
}  // namespace hotrod::cpu
