// Paged attention kernels: the scalar references against a naive double-precision softmax attention written
// here (with llama.cpp's two fp16 roundings: Q, and each probability), then every SIMD kernel pair against the
// references, over GQA ratios 1/3/4, ragged head dims, windows, soft-capping, F16 and Q8_0 caches, block
// tables out of order and batches mixing prefill and decode tokens. Split spans merged with
// attention_softmax_merge equal one pass. The prefill tiles against the references over ragged batches.
// Error budget: away from fp16 rounding boundaries the float paths agree to ~1e-7; a probability that lands
// within an ulp of a boundary may round the other way in one path, moving an output by at most 2^-11 * p * |v|
// (|v| <= 1). So the checks are: the mean error tiny, the max error within one such flip.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/ops_attention.h"
#include "cpu/ops_kv.h"
#include "quant/dequantize.h"
#include "quant/half.h"
#include "quant/types.h"

namespace hotrod::cpu {
namespace {

using quant::DType;

struct Shape {
    int n_heads, n_kv_heads, head_dim;
    int window;
    float softcap;
    DType kv_type;
};

// A batch over a paged cache with random contents: sequences of different lengths, each owning shuffled
// physical blocks, and tokens that are the tail (prefill chunk or single decode token) of each sequence.
struct Fixture {
    int block_size = 16;
    std::vector<std::vector<int32_t>> tables;
    std::vector<const int32_t*> table_ptrs;
    std::vector<int32_t> positions, token_seq;
    std::vector<uint8_t> k, v;
    std::vector<float> q;
    size_t row_bytes = 0;
    AttentionJob job;

    Fixture(const Shape& s, const std::vector<std::pair<int, int>>& seqs /* (length, tokens in batch) */,
            uint32_t seed) {
        std::mt19937 rng(seed);
        std::uniform_real_distribution<float> d(-1.0f, 1.0f);
        int n_blocks = 0;
        for (auto [len, n_new] : seqs) n_blocks += (len + block_size - 1) / block_size;
        std::vector<int32_t> ids(static_cast<size_t>(n_blocks));
        std::iota(ids.begin(), ids.end(), 0);
        std::shuffle(ids.begin(), ids.end(), rng);
        size_t next = 0;
        for (size_t si = 0; si < seqs.size(); ++si) {
            auto [len, n_new] = seqs[si];
            tables.emplace_back();
            for (int b = 0; b < (len + block_size - 1) / block_size; ++b) tables.back().push_back(ids[next++]);
            for (int p = len - n_new; p < len; ++p) positions.push_back(p), token_seq.push_back(int32_t(si));
        }
        for (auto& t : tables) table_ptrs.push_back(t.data());
        const int width = s.n_kv_heads * s.head_dim;
        row_bytes = *quant::row_bytes(s.kv_type, width);
        const size_t n_rows = size_t(n_blocks) * size_t(block_size);
        k.resize(n_rows * row_bytes);
        v.resize(n_rows * row_bytes);
        std::vector<float> row(static_cast<size_t>(width));
        for (size_t r = 0; r < n_rows; ++r) {
            for (auto* cache : {&k, &v}) {
                for (auto& x : row) x = d(rng);
                find_kv_row_store(s.kv_type, Isa::Scalar)(row.data(), cache->data() + r * row_bytes, width);
            }
        }
        q.resize(positions.size() * size_t(s.n_heads) * s.head_dim);
        for (auto& x : q) x = d(rng);
        job.q = q.data();
        job.q_stride = size_t(s.n_heads) * s.head_dim;
        job.out_stride = job.q_stride;
        job.kv_type = s.kv_type;
        job.k = k.data();
        job.v = v.data();
        job.kv_row_bytes = row_bytes;
        job.n_heads = s.n_heads;
        job.n_kv_heads = s.n_kv_heads;
        job.head_dim = s.head_dim;
        job.scale = 1.0f / std::sqrt(float(s.head_dim));
        job.softcap = s.softcap;
        job.window = s.window;
        job.positions = positions.data();
        job.token_seq = token_seq.data();
        job.block_tables = table_ptrs.data();
        job.block_size = block_size;
    }

    int64_t n_tokens() const { return int64_t(positions.size()); }

    std::vector<float> run(const AttentionKernels& k) {
        std::vector<float> out(q.size(), -7.0f);
        AttentionJob j = job;
        j.out = out.data();
        attention_run(j, n_tokens(), k);
        return out;
    }

    std::vector<float> run_tiled(const AttentionKernels& k) {
        std::vector<float> out(q.size(), -7.0f);
        AttentionJob j = job;
        j.out = out.data();
        attention_run_tiled(j, n_tokens(), k);
        return out;
    }

    // Naive softmax attention in double over the dequantized cache, Q and the probabilities rounded to fp16.
    std::vector<double> naive() const {
        const int hd = job.head_dim, group = job.n_heads / job.n_kv_heads;
        std::vector<double> out(q.size());
        std::vector<float> kf(static_cast<size_t>(hd)), vf(static_cast<size_t>(hd));
        auto head = [&](const std::vector<uint8_t>& c, int64_t row, int g, float* dst) {
            const uint8_t* r = c.data() + size_t(row) * row_bytes;
            if (job.kv_type == DType::F16) {
                for (int i = 0; i < hd; ++i) dst[i] = quant::fp16_to_fp32(reinterpret_cast<const uint16_t*>(r)[g * hd + i]);
            } else {
                quant::dequantize_row(DType::Q8_0, r + size_t(g) * (hd / 32) * 34, dst, hd);
            }
        };
        for (int64_t t = 0; t < n_tokens(); ++t) {
            const int32_t p = positions[size_t(t)];
            const int32_t lo = job.window > 0 ? std::max(0, p - job.window + 1) : 0;
            for (int h = 0; h < job.n_heads; ++h) {
                const int g = h / group;
                const float* qh = q.data() + size_t(t) * job.q_stride + size_t(h) * hd;
                std::vector<double> s;
                for (int32_t j = lo; j <= p; ++j) {
                    head(k, kv_slot(tables[size_t(token_seq[size_t(t)])].data(), block_size, j), g, kf.data());
                    double dot = 0;
                    for (int i = 0; i < hd; ++i) dot += double(quant::fp16_to_fp32(quant::fp32_to_fp16(qh[i]))) * kf[i];
                    dot *= job.scale;
                    if (job.softcap > 0) dot = job.softcap * std::tanh(dot / job.softcap);
                    s.push_back(dot);
                }
                const double mx = *std::max_element(s.begin(), s.end());
                double sum = 0;
                for (double& x : s) sum += (x = std::exp(x - mx));
                double* o = out.data() + size_t(t) * job.q_stride + size_t(h) * hd;
                for (int32_t j = lo; j <= p; ++j) {
                    head(v, kv_slot(tables[size_t(token_seq[size_t(t)])].data(), block_size, j), g, vf.data());
                    const double pr = quant::fp16_to_fp32(quant::fp32_to_fp16(float(s[size_t(j - lo)] / sum)));
                    for (int i = 0; i < hd; ++i) o[i] += pr * vf[i];
                }
            }
        }
        return out;
    }
};

const Shape kShapes[] = {
    {4, 4, 64, 0, 0.0f, DType::F16},     // ratio 1
    {9, 3, 64, 0, 0.0f, DType::F16},     // SmolLM2-135M: ratio 3
    {4, 1, 256, 0, 0.0f, DType::F16},    // Gemma 3 270M: ratio 4, head_dim 256
    {8, 2, 128, 20, 0.0f, DType::F16},   // ratio 4, sliding window
    {6, 2, 64, 7, 0.0f, DType::Q8_0},    // Q8_0 cache, small window
    {3, 3, 40, 0, 0.0f, DType::F16},     // ragged head_dim (the AVX-512 kernel hands it to the reference)
    {5, 5, 24, 0, 0.0f, DType::F16},     // ragged head_dim, odd head count
    {4, 2, 64, 0, 0.5f, DType::F16},     // soft-capping that bites (scores reach ~1)
    {8, 2, 256, 0, 0.0f, DType::Q8_0},   // ratio 4, Q8_0
};

const std::vector<std::pair<int, int>> kSeqs = {{38, 38}, {71, 1}, {25, 5}, {1, 1}, {130, 2}};

const AttentionKernels kRef{attention_scores_ref, attention_values_ref, nullptr};

// Max and mean absolute difference.
template <class A, class B>
std::pair<double, double> errors(const A& got, const B& want) {
    double max_err = 0, sum = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double e = std::fabs(double(got[i]) - double(want[i]));
        max_err = std::max(max_err, e);
        sum += e;
    }
    return {max_err, sum / double(got.size())};
}

TEST(OpsAttention, RefMatchesNaiveDouble) {
    for (const Shape& s : kShapes) {
        Fixture f(s, kSeqs, uint32_t(s.head_dim * 31 + s.n_heads));
        const auto [max_err, mean_err] = errors(f.run(kRef), f.naive());
        // Float scores and exp against double: ~1e-7 per output, plus the rare fp16 flip (header).
        EXPECT_LT(max_err, 4.9e-4) << s.n_heads << "/" << s.n_kv_heads << "x" << s.head_dim << " window " << s.window;
        EXPECT_LT(mean_err, 2e-6) << s.n_heads << "/" << s.n_kv_heads << "x" << s.head_dim << " window " << s.window;
    }
}

TEST(OpsAttention, SimdMatchesRef) {
    for (int isa = 1; isa < n_supported_isas(); ++isa) {
        for (const Shape& s : kShapes) {
            Fixture f(s, kSeqs, uint32_t(s.head_dim * 7 + s.n_kv_heads));
            const auto [max_err, mean_err] = errors(f.run(find_attention_kernels(s.kv_type, Isa(isa))), f.run(kRef));
            // Summation order and the polynomial exp (< 2e-7 relative), plus the rare fp16 flip (header).
            EXPECT_LT(max_err, 4.9e-4) << isa_name(Isa(isa)) << " " << s.n_heads << "/" << s.n_kv_heads << "x"
                                       << s.head_dim << " window " << s.window << " softcap " << s.softcap;
            EXPECT_LT(mean_err, 1e-6) << isa_name(Isa(isa)) << " " << s.n_heads << "/" << s.n_kv_heads << "x"
                                      << s.head_dim << " window " << s.window << " softcap " << s.softcap;
        }
    }
}

TEST(OpsAttention, SplitSpansMergeToOnePass) {
    for (int isa = 0; isa < n_supported_isas(); ++isa) {
        const Shape s{8, 2, 64, 0, 0.0f, DType::F16};
        Fixture f(s, {{300, 1}, {77, 1}}, 99);
        const AttentionKernels k = find_attention_kernels(s.kv_type, Isa(isa));
        const auto whole = f.run(k);
        const int group = s.n_heads / s.n_kv_heads;
        std::vector<float> out(f.q.size());
        AttentionJob j = f.job;
        j.out = out.data();
        for (int64_t t = 0; t < f.n_tokens(); ++t) {
            int32_t first = 0, end = 0;
            attention_range(j, t, first, end);
            for (int g = 0; g < s.n_kv_heads; ++g) {
                const int n_parts = 5;  // the last parts can be empty for the short sequence: still merged
                const int32_t len = end - first;
                std::vector<float> scores(size_t(group) * size_t(len)), m_l(2 * size_t(group) * n_parts), m_inv(2 * size_t(group));
                std::vector<float> acc(size_t(group) * s.head_dim * n_parts);
                int32_t bounds[n_parts + 1];
                for (int i = 0; i <= n_parts; ++i) bounds[i] = first + len * i * i / (n_parts * n_parts);
                for (int i = 0; i < n_parts; ++i) {
                    k.scores(j, t, g, bounds[i], bounds[i + 1], scores.data() + size_t(group) * (bounds[i] - first),
                             m_l.data() + 2 * size_t(group) * i);
                }
                attention_softmax_merge(j, n_parts, m_l.data(), 2 * size_t(group), m_inv.data());
                for (int i = 0; i < n_parts; ++i) {
                    k.values(j, t, g, bounds[i], bounds[i + 1], scores.data() + size_t(group) * (bounds[i] - first),
                             m_inv.data(), acc.data() + size_t(group) * s.head_dim * i);
                }
                float* o = out.data() + size_t(t) * j.out_stride + size_t(g) * group * s.head_dim;
                for (size_t i = 0; i < size_t(group) * s.head_dim; ++i) {
                    o[i] = 0.0f;
                    for (int p = 0; p < n_parts; ++p) o[i] += acc[size_t(group) * s.head_dim * p + i];
                }
            }
        }
        const auto [max_err, mean_err] = errors(out, whole);
        EXPECT_LT(max_err, 4.9e-4) << isa_name(Isa(isa));
        EXPECT_LT(mean_err, 1e-7) << isa_name(Isa(isa));
    }
}

const Shape kTileShapes[] = {
    {4, 4, 64, 0, 0.0f, DType::F16},      // G = 1: 32 tokens a tile
    {16, 8, 128, 0, 0.0f, DType::F16},    // Qwen3-0.6B: G = 2
    {4, 1, 256, 0, 0.0f, DType::F16},     // Gemma 3 270M: G = 4
    {4, 1, 256, 29, 0.0f, DType::F16},    // window shorter than the span of a tile's rows
    {16, 2, 64, 0, 0.0f, DType::Q8_0},    // G = 8, Q8_0
    {8, 2, 128, 45, 0.0f, DType::Q8_0},   // Q8_0, window
    {8, 4, 64, 0, 0.5f, DType::F16},      // soft-capping that bites
    {9, 3, 64, 0, 0.0f, DType::F16},      // G = 3: 10 tokens, 30 lanes a tile
    {3, 3, 40, 0, 0.0f, DType::F16},      // ragged head_dim: the tile hands it to the unit kernels
    {32, 1, 64, 0, 0.0f, DType::F16},     // G = 32: one token a tile
};

// (sequence length, tokens in the batch): a whole prompt (not a multiple of any tile), a chunk after a cached
// prefix, decode tokens in between, a short prompt (tile not full), two-token and one-position sequences.
const std::vector<std::pair<int, int>> kTileSeqs = {{75, 75}, {70, 1}, {140, 37}, {9, 9}, {1, 1}, {300, 2}, {50, 3}};

TEST(OpsAttention, TiledMatchesRef) {
    for (int isa = 0; isa < n_supported_isas(); ++isa) {
        for (const Shape& s : kTileShapes) {
            Fixture f(s, kTileSeqs, uint32_t(s.head_dim * 5 + s.n_heads));
            const AttentionKernels k = find_attention_kernels(s.kv_type, Isa(isa));
            const auto want = f.run(kRef);
            const auto [max_err, mean_err] = errors(f.run_tiled(k), want);
            // The unit kernels' own distance to the reference: sums in another order, plus the rare fp16 flip
            // of a probability (header). TiledIsTheUnitPath holds the tile to the unit kernels exactly.
            EXPECT_LT(max_err, 4.9e-4) << isa_name(Isa(isa)) << " " << s.n_heads << "/" << s.n_kv_heads << "x"
                                       << s.head_dim << " window " << s.window << " softcap " << s.softcap;
            EXPECT_LT(mean_err, 1e-6) << isa_name(Isa(isa)) << " " << s.n_heads << "/" << s.n_kv_heads << "x"
                                      << s.head_dim << " window " << s.window << " softcap " << s.softcap;
            // The reference tile is the unit path itself.
            const AttentionKernels ref_tiles{attention_scores_ref, attention_values_ref, attention_tile_ref};
            EXPECT_EQ(f.run_tiled(ref_tiles), want);
        }
    }
}

// More shapes for the exact check: head_dim % 32 == 16 (the unit dot's tail), G = 16 (the largest the unit
// kernel takes), soft-capping with a window and with Q8_0.
const Shape kTileExactShapes[] = {
    {8, 4, 80, 0, 0.0f, DType::F16},      // head_dim % 32 == 16
    {4, 2, 48, 19, 0.0f, DType::F16},     // same, window
    {16, 1, 64, 0, 0.0f, DType::F16},     // G = 16: two tokens a tile
    {16, 1, 128, 33, 0.7f, DType::Q8_0},  // G = 16, Q8_0, window, soft-cap
    {8, 1, 256, 0, 0.4f, DType::Q8_0},    // G = 8, Q8_0, soft-cap
    {4, 4, 128, 17, 0.3f, DType::F16},    // G = 1, window, soft-cap
};

// The tile is switched on only because it is the unit path bit for bit: a token prefilled in a tile and the
// same token computed alone (decode, or batched with other sequences) must give identical attention, or the
// roundings downstream (fp16 probabilities, 8-bit activations) drift apart and batched != alone.
TEST(OpsAttention, TiledIsTheUnitPath) {
    bool tiled = false;
    for (int isa = 0; isa < n_supported_isas(); ++isa) {
        auto check = [&](const Shape& s) {
            Fixture f(s, kTileSeqs, uint32_t(s.head_dim * 7 + s.n_heads + s.window));
            const AttentionKernels k = find_attention_kernels(s.kv_type, Isa(isa));
            tiled = tiled || k.tile != nullptr;
            const AttentionKernels unit{k.scores, k.values, nullptr};
            EXPECT_EQ(f.run_tiled(k), f.run(unit)) << isa_name(Isa(isa)) << " " << s.n_heads << "/" << s.n_kv_heads
                                                   << "x" << s.head_dim << " window " << s.window << " softcap "
                                                   << s.softcap;
        };
        for (const Shape& s : kTileShapes) check(s);
        for (const Shape& s : kTileExactShapes) check(s);
    }
    if (n_supported_isas() > int(Isa::Avx512)) {
        EXPECT_TRUE(tiled) << "the AVX-512 tile is in the kernel table";
    }
}

TEST(OpsAttention, TilePlanCutsRunsAndLeavesLoneTokens) {
    const Shape s{8, 4, 64, 0, 0.0f, DType::F16};  // G = 2: 16 tokens a tile
    Fixture f(s, {{40, 40}, {10, 1}, {60, 20}, {5, 1}}, 3);
    std::vector<AttentionTile> tiles;
    attention_plan_tiles(f.job, f.n_tokens(), tiles);
    std::vector<std::pair<int64_t, int32_t>> got;
    for (const AttentionTile& t : tiles) got.emplace_back(t.t0, t.n_tokens);
    std::sort(got.begin(), got.end());
    const std::vector<std::pair<int64_t, int32_t>> want = {{0, 16}, {16, 16}, {32, 8}, {40, 1},
                                                           {41, 16}, {57, 4}, {61, 1}};
    EXPECT_EQ(got, want);
    for (size_t i = 1; i < tiles.size(); ++i) EXPECT_GE(tiles[i - 1].span, tiles[i].span);  // heaviest first
}

}  // namespace
}  // namespace hotrod::cpu

