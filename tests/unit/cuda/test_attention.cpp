// The GPU KV-cache write and paged attention (src/cuda/attention.h) against host references. kv_store is compared
// bit for bit with the CPU backend's row store (cpu::find_kv_row_store: F16 round to nearest even, Q8_0
// quantize_row_q8_0_act_ref) over the whole cache buffer, so a stray write shows too. Attention is compared with
// plain double-precision attention over the same cache contents (Q8_0 rows dequantized by
// dequantize_row_q8_0_ref): random caches in shuffled physical blocks of 16, cache rows the batch may not see
// filled with NaN (a read of one poisons the output), outputs poisoned with NaN before the kernel.
// cuda_runtime.h (not only the _api header) for the typed cudaMalloc overload DeviceArray calls.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "cpu/ops_kv.h"
#include "cuda/attention.h"
#include "cuda/matmul.h"
#include "gpu_test_util.h"
#include "paged_batch.h"
#include "quant/dequantize.h"
#include "quant/blocks.h"
#include "quant/half.h"
#include "quant/quantize.h"
#include "quant/types.h"

namespace hotrod::cuda::test {
namespace {

using quant::DType;

constexpr int kBlockSize = 16;

// SeqSpec (paged_batch.h): here the K/V rows of a batch's n_query tokens are in the cache too, as after kv_store.

// A random paged cache on the host, holding every position of every sequence of `seqs`.
struct HostCache {
    DType type = DType::F16;
    int n_kv_heads = 0, head_dim = 0;
    size_t row_bytes = 0;
    int64_t n_rows = 0;
    std::vector<uint8_t> k, v;          // the cache bytes
    std::vector<float> k_f, v_f;        // every row dequantized, n_rows x width (NaN where poisoned)
    std::vector<int32_t> block_tables;  // [n_seqs x stride]
    int stride = 0;
    float v_max = 0.0f;                 // max |v| over the rows the batch may see
};

int width_of(const HostCache& c) { return c.n_kv_heads * c.head_dim; }

// Physical blocks shuffled over the sequences (plus spare blocks nobody owns); rows of a sequence's positions hold
// random K/V rows converted by the CPU's row store, every other row holds NaN (F16 0x7e00 halves; Q8_0 blocks
// with a NaN scale).
// k_bias is added to dims 0 and 1 of every KV head: a large component shared by every position, as real models'
// keys carry (their massive activations), which makes every raw score large while their differences stay small.
HostCache make_cache(DType type, int n_kv_heads, int head_dim, const std::vector<SeqSpec>& seqs, uint32_t seed,
                     float k_bias = 0.0f) {
    HostCache c;
    c.type = type;
    c.n_kv_heads = n_kv_heads;
    c.head_dim = head_dim;
    const int width = width_of(c);
    c.row_bytes = *quant::row_bytes(type, width);
    std::vector<int> n_blocks(seqs.size());
    int total_blocks = 3;  // spares
    for (size_t s = 0; s < seqs.size(); ++s) {
        n_blocks[s] = (seqs[s].n_cached + seqs[s].n_query + kBlockSize - 1) / kBlockSize;
        c.stride = std::max(c.stride, n_blocks[s]);
        total_blocks += n_blocks[s];
    }
    c.stride = std::max(c.stride, 1);
    std::mt19937 rng(seed);
    std::vector<int32_t> perm(static_cast<size_t>(total_blocks));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    c.block_tables.assign(seqs.size() * size_t(c.stride), -1);
    c.n_rows = int64_t(total_blocks) * kBlockSize;
    std::vector<int> row_seq(size_t(c.n_rows), -1);
    size_t next = 0;
    for (size_t s = 0; s < seqs.size(); ++s) {
        for (int b = 0; b < n_blocks[s]; ++b) c.block_tables[s * size_t(c.stride) + size_t(b)] = perm[next++];
        const int len = seqs[s].n_cached + seqs[s].n_query;
        for (int p = 0; p < len; ++p) {
            const int64_t row = cpu::kv_slot(c.block_tables.data() + s * size_t(c.stride), kBlockSize, p);
            row_seq[size_t(row)] = int(s);
        }
    }
    const cpu::KvRowStoreFn store = cpu::find_kv_row_store(type, cpu::Isa::Scalar);
    c.k.resize(size_t(c.n_rows) * c.row_bytes);
    c.v.resize(size_t(c.n_rows) * c.row_bytes);
    c.k_f.resize(size_t(c.n_rows) * size_t(width));
    c.v_f.resize(size_t(c.n_rows) * size_t(width));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> kr(static_cast<size_t>(width)), vr(static_cast<size_t>(width));
    for (int64_t r = 0; r < c.n_rows; ++r) {
        uint8_t* kd = c.k.data() + size_t(r) * c.row_bytes;
        uint8_t* vd = c.v.data() + size_t(r) * c.row_bytes;
        if (row_seq[size_t(r)] >= 0) {
            for (int i = 0; i < width; ++i) {
                const bool biased = k_bias != 0.0f && i % head_dim < 2;  // nearly constant over positions
                kr[size_t(i)] = biased ? k_bias + 0.02f * normal(rng) : normal(rng);
                vr[size_t(i)] = normal(rng);
            }
            store(kr.data(), kd, width);
            store(vr.data(), vd, width);
        } else if (type == DType::F16) {
            for (int i = 0; i < width; ++i) {
                const uint16_t nan = 0x7e00;
                std::memcpy(kd + 2 * i, &nan, 2);
                std::memcpy(vd + 2 * i, &nan, 2);
            }
        } else {
            for (int b = 0; b < width / 32; ++b) {
                for (uint8_t* blk : {kd + 34 * b, vd + 34 * b}) {
                    const uint16_t nan = 0x7e00;
                    std::memcpy(blk, &nan, 2);
                    for (int j = 0; j < 32; ++j) blk[2 + j] = uint8_t(rng());
                }
            }
        }
        float* kf = c.k_f.data() + size_t(r) * size_t(width);
        float* vf = c.v_f.data() + size_t(r) * size_t(width);
        if (type == DType::F16) {
            for (int i = 0; i < width; ++i) {
                uint16_t hk = 0, hv = 0;
                std::memcpy(&hk, kd + 2 * i, 2);
                std::memcpy(&hv, vd + 2 * i, 2);
                kf[i] = quant::fp16_to_fp32(hk);
                vf[i] = quant::fp16_to_fp32(hv);
            }
        } else {
            quant::dequantize_row_q8_0_ref(kd, kf, width);
            quant::dequantize_row_q8_0_ref(vd, vf, width);
        }
        if (row_seq[size_t(r)] >= 0)
            for (int i = 0; i < width; ++i) c.v_max = std::max(c.v_max, std::fabs(vf[i]));
    }
    return c;
}

struct Case {
    DType type = DType::F16;
    int n_kv_heads = 2;
    int group = 4;
    int head_dim = 128;
    int window = 0;
    float softcap = 0.0f;
    float score_sigma = 2.0f;  // q ~ N(0, score_sigma), k ~ N(0, 1), scale 1/sqrt(D): scores ~ N(0, score_sigma^2)
    std::vector<SeqSpec> seqs;
    uint32_t seed = 1;
    int decode_tokens = -1;  // Attention::plan's (-1: the old rule)
};

std::string describe(const Case& c) {
    std::string s = std::string(quant::type_name(c.type)) + " kv_heads " + std::to_string(c.n_kv_heads) + " G " +
                    std::to_string(c.group) + " D " + std::to_string(c.head_dim) + " window " +
                    std::to_string(c.window) + " softcap " + std::to_string(c.softcap) + " seqs";
    for (const SeqSpec& q : c.seqs) s += " (" + std::to_string(q.n_cached) + "+" + std::to_string(q.n_query) + ")";
    if (c.decode_tokens >= 0) s += " decode_tokens " + std::to_string(c.decode_tokens);
    return s;
}

// One attention call on the GPU over `cache` (block tables `tables`, cache.stride apart, one row a sequence):
// query rows q (q_stride floats apart) at `positions` of sequences `token_seq`; returns the output rows,
// out_stride floats apart (poisoned with NaN first, so a row never written fails every comparison). With act_q,
// the launch also writes the rows as Q8_K (Attention::launch's act_q, act_row_bytes apart) into *act_q.
std::vector<float> run_attention(Attention& attn, const HostCache& cache, const std::vector<int32_t>& tables,
                                 const std::vector<int32_t>& positions, const std::vector<int32_t>& token_seq,
                                 const std::vector<float>& q, int64_t q_stride, const AttentionShape& shape,
                                 int64_t out_stride, std::vector<uint8_t>* act_q = nullptr, size_t act_row_bytes = 0,
                                 int decode_tokens = -1) {
    const int n_tokens = int(positions.size());
    int max_kv_len = 0;
    for (int32_t p : positions) max_kv_len = std::max(max_kv_len, p + 1);
    DeviceArray<uint8_t> k_d(cache.k), v_d(cache.v);
    DeviceArray<int32_t> pos_d(positions), seq_d(token_seq), bt_d(block_index(tables, cache.stride));
    DeviceArray<float> q_d(q), out_d(size_t(n_tokens) * size_t(out_stride));
    out_d.poison(0xff);  // NaN
    DeviceKvCache dc;
    dc.type = cache.type;
    dc.k = k_d.get();
    dc.v = v_d.get();
    dc.n_kv_heads = cache.n_kv_heads;
    dc.head_dim = cache.head_dim;
    DeviceKvLayout dl;
    dl.positions = pos_d.get();
    dl.token_seq = seq_d.get();
    dl.block_index = bt_d.get();
    dl.block_size = kBlockSize;
    dl.n_tokens = n_tokens;
    dl.max_kv_len = max_kv_len;
    if (act_q == nullptr) {
        if (decode_tokens < 0) attn.run(q_d.get(), q_stride, dc, dl, shape, out_d.get(), out_stride, nullptr);
        else Attention::launch(attn.plan(dc, dl, shape, decode_tokens), q_d.get(), q_stride, dc, dl, shape,
                               out_d.get(), out_stride, nullptr);
        return out_d.download();
    }
    DeviceArray<uint8_t> act_d(size_t(n_tokens) * act_row_bytes);
    act_d.poison(0xa5);
    const Attention::Plan plan = attn.plan(dc, dl, shape, decode_tokens);
    EXPECT_TRUE(Attention::quantizes_output(plan, shape, token_seq));
    Attention::launch(plan, q_d.get(), q_stride, dc, dl, shape, out_d.get(), out_stride, nullptr, act_d.get(),
                      act_row_bytes);
    *act_q = act_d.download();
    return out_d.download();
}

// Runs one case on the GPU with `attn` and compares with double-precision attention on the host.
//
// The reference rounds Q to fp16 as the kernels do (and the CPU backend, as llama.cpp's CPU attention); its
// probabilities are exact. The kernels round each probability to fp16 too (the CPU's other rounding), relative to
// their running max, so the tolerance is that rounding's: max |gpu - ref| <= 6e-4 * max|v| and NMSE < 2e-7
// (measured on an H100: up to 2e-4 * max|v| and 4e-8). The fp32 arithmetic besides adds ~1e-6 relative. Real
// faults are larger: a position off by one or a missed mask moves outputs by whole probabilities (1e-2 and up here),
// and a read of a row outside the window gives NaN.
void check_attention(Attention& attn, const Case& c) {
    SCOPED_TRACE(describe(c));
    const int n_heads = c.n_kv_heads * c.group, D = c.head_dim;
    const int width = n_heads * D;
    const HostCache cache = make_cache(c.type, c.n_kv_heads, D, c.seqs, c.seed);
    const int kv_width = width_of(cache);

    std::vector<int32_t> positions, token_seq;
    for (size_t s = 0; s < c.seqs.size(); ++s)
        for (int i = 0; i < c.seqs[s].n_query; ++i) {
            positions.push_back(c.seqs[s].n_cached + i);
            token_seq.push_back(int32_t(s));
        }
    const int n_tokens = int(positions.size());
    const int64_t q_stride = width + 7, out_stride = width + 3;  // ragged strides
    std::vector<float> q = random_floats(size_t(n_tokens) * size_t(q_stride), c.seed + 1000, c.score_sigma);
    const float scale = 1.0f / std::sqrt(float(D));

    AttentionShape shape;
    shape.n_heads = n_heads;
    shape.n_kv_heads = c.n_kv_heads;
    shape.head_dim = D;
    shape.scale = scale;
    shape.window = c.window;
    shape.softcap = c.softcap;
    const std::vector<float> out_all = run_attention(attn, cache, cache.block_tables, positions, token_seq, q, q_stride,
                                                     shape, out_stride, nullptr, 0, c.decode_tokens);

    std::vector<float> got(size_t(n_tokens) * size_t(width)), ref(got.size());
    std::vector<double> scores;
    for (int t = 0; t < n_tokens; ++t) {
        const int32_t p = positions[size_t(t)];
        const int32_t first = c.window > 0 ? std::max(0, p - c.window + 1) : 0;
        const int32_t* table = cache.block_tables.data() + size_t(token_seq[size_t(t)]) * size_t(cache.stride);
        for (int h = 0; h < n_heads; ++h) {
            const int g = h / c.group;
            const float* qh = q.data() + size_t(t) * size_t(q_stride) + size_t(h) * size_t(D);
            scores.assign(size_t(p - first + 1), 0.0);
            double m = -INFINITY;
            for (int32_t j = first; j <= p; ++j) {
                const float* kr = cache.k_f.data() + size_t(cpu::kv_slot(table, kBlockSize, j)) * size_t(kv_width) +
                                  size_t(g) * size_t(D);
                double s = 0.0;
                for (int i = 0; i < D; ++i) s += double(quant::fp16_to_fp32(quant::fp32_to_fp16(qh[i]))) * double(kr[i]);
                s *= double(scale);
                if (c.softcap > 0.0f) s = double(c.softcap) * std::tanh(s / double(c.softcap));
                scores[size_t(j - first)] = s;
                m = std::max(m, s);
            }
            double sum = 0.0;
            for (double& s : scores) sum += (s = std::exp(s - m));
            std::vector<double> o(size_t(D), 0.0);
            for (int32_t j = first; j <= p; ++j) {
                const float* vr = cache.v_f.data() + size_t(cpu::kv_slot(table, kBlockSize, j)) * size_t(kv_width) +
                                  size_t(g) * size_t(D);
                const double w = scores[size_t(j - first)] / sum;
                for (int i = 0; i < D; ++i) o[size_t(i)] += w * double(vr[i]);
            }
            for (int i = 0; i < D; ++i) {
                const size_t at = size_t(t) * size_t(width) + size_t(h) * size_t(D) + size_t(i);
                ref[at] = float(o[size_t(i)]);
                got[at] = out_all[size_t(t) * size_t(out_stride) + size_t(h) * size_t(D) + size_t(i)];
            }
        }
    }
    const ErrorStats e = compare(got.data(), ref.data(), got.size());
    EXPECT_TRUE(e.finite) << "unwritten or NaN outputs (a poisoned cache row was read?)";
    EXPECT_LE(e.max_abs, 6e-4 * cache.v_max) << "max |v| " << cache.v_max << ", nmse " << e.nmse;
    EXPECT_LT(e.nmse, 2e-7) << "max abs " << e.max_abs;
}

const DType kTypes[] = {DType::F16, DType::Q8_0};

TEST(CudaAttention, DecodeRaggedLengths) {
    HOTROD_REQUIRE_GPU();
    Attention attn;
    uint32_t seed = 1;
    for (DType type : kTypes)
        for (int D : {64, 128, 256})
            for (int G : {1, 3, 4, 8}) {
                Case c;
                c.type = type;
                c.head_dim = D;
                c.group = G;
                c.seqs = {{0, 1}, {36, 1}, {499, 1}, {2999, 1}};
                c.seed = seed++;
                check_attention(attn, c);
            }
}

// A decode step's output also quantized for the o projection (AttentionArgs::act_q), by the decode kernel (one
// split: many sequences) and by the combine kernel (splits: a long context): the float rows bit for bit those of
// the plain launch, each Q8_K row quantize_row_q8_k_ref's bytes of its float row.
TEST(CudaAttention, DecodeQuantizesOutputForTheNextMatmul) {
    HOTROD_REQUIRE_GPU();
    Attention attn;
    std::mt19937 rng(11);
    std::vector<SeqSpec> many;
    for (int s = 0; s < 600; ++s) many.push_back({int(rng() % 100), s % 40 == 3 ? 3 : 1});  // >= 4 blocks an SM
    for (DType type : kTypes)
        for (const auto& [kv_heads, G, D] : {std::tuple{2, 4, 128}, std::tuple{1, 4, 256}, std::tuple{1, 8, 64}})
            for (const std::vector<SeqSpec>& seqs : {std::vector<SeqSpec>{{2999, 1}, {40, 2}}, many}) {
                const int n_heads = kv_heads * G, width = n_heads * D;
                const HostCache cache = make_cache(type, kv_heads, D, seqs, 77u + uint32_t(D));
                std::vector<int32_t> positions, token_seq;
                for (size_t s = 0; s < seqs.size(); ++s)
                    for (int i = 0; i < seqs[s].n_query; ++i) {
                        positions.push_back(seqs[s].n_cached + i);
                        token_seq.push_back(int32_t(s));
                    }
                const int n_tokens = int(positions.size());
                const int64_t q_stride = width + 5, out_stride = width + 9;
                const std::vector<float> q = random_floats(size_t(n_tokens) * size_t(q_stride), 5u + uint32_t(D), 2.0f);
                AttentionShape shape;
                shape.n_heads = n_heads;
                shape.n_kv_heads = kv_heads;
                shape.head_dim = D;
                shape.scale = 1.0f / std::sqrt(float(D));
                const size_t row_bytes = Matmul::act_row_bytes(DType::Q8_K, width);
                std::vector<uint8_t> act;
                const std::vector<float> plain =
                    run_attention(attn, cache, cache.block_tables, positions, token_seq, q, q_stride, shape, out_stride);
                const std::vector<float> fused = run_attention(attn, cache, cache.block_tables, positions, token_seq,
                                                               q, q_stride, shape, out_stride, &act, row_bytes);
                SCOPED_TRACE(std::string(quant::type_name(type)) + " G " + std::to_string(G) + " D " +
                             std::to_string(D) + " tokens " + std::to_string(n_tokens));
                int bad_rows = 0, bad_q = 0;
                std::vector<uint8_t> want(row_bytes);
                for (int t = 0; t < n_tokens; ++t) {
                    const float* row = fused.data() + size_t(t) * size_t(out_stride);
                    if (std::memcmp(row, plain.data() + size_t(t) * size_t(out_stride), size_t(width) * sizeof(float)) != 0)
                        ++bad_rows;
                    quant::quantize_row_q8_k_ref(row, want.data(), width);
                    const size_t used = size_t(width / quant::QK_K) * sizeof(quant::BlockQ8_K);
                    if (std::memcmp(want.data(), act.data() + size_t(t) * row_bytes, used) != 0) ++bad_q;
                }
                EXPECT_EQ(bad_rows, 0) << "float rows differ from the plain launch";
                EXPECT_EQ(bad_q, 0) << "Q8_K rows differ from quantize_row_q8_k_ref of the float rows";
            }
}

// One token over a long context and a single KV head: the decode kernel's most splits (and empty ones for none).
TEST(CudaAttention, DecodeLongSingleSequence) {
    HOTROD_REQUIRE_GPU();
    Attention attn;
    for (DType type : kTypes) {
        Case c;
        c.type = type;
        c.n_kv_heads = 1;
        c.group = 8;
        c.seqs = {{4095, 1}};
        check_attention(attn, c);
        c.n_kv_heads = 3;  // SmolLM2: 9 heads over 3 KV heads of 64
        c.group = 3;
        c.head_dim = 64;
        c.seqs = {{1000, 1}, {0, 1}};
        check_attention(attn, c);
    }
}

// Enough sequences that the decode kernel takes one split, some with two to four tokens (still decode), some with
// five (tiled).
TEST(CudaAttention, DecodeManySequences) {
    HOTROD_REQUIRE_GPU();
    Attention attn;
    std::mt19937 rng(7);
    Case c;
    for (int s = 0; s < 300; ++s) c.seqs.push_back({int(rng() % 300), s % 50 == 7 ? 2 + (s / 50) % 4 : 1});
    for (DType type : kTypes) {
        c.type = type;
        check_attention(attn, c);
    }
}

// The same query row over the same cache through the tile kernel (its sequence has 11 query tokens) and through
// the decode kernel (a second "sequence" sharing the first one's block table, one query token): how far the two
// kernels' rows differ, at peaked scores (score_sigma 8) in SmolLM2's shape. Session 9 found SmolLM2's batched ==
// alone check off by 2.2e-2 of the largest logit where a row first meets this pair of kernels; this measures the
// attention part of it. Bound: each kernel is within 6e-4 * max|v| of double attention (check_attention), so
// within twice that of each other; the printed figure tells rounding noise (~1e-6) from a fault (>= 1e-3).
TEST(CudaAttention, TileRowEqualsDecodeRow) {
    HOTROD_REQUIRE_GPU();
    Attention attn;
    // bias 0: random rows; bias 60: a shared key component (see make_cache) and the same in q, so every raw score
    // carries ~2 * 60 * 60 = 7200 that cancels in the softmax: the sums' rounding at that magnitude is what
    // separates the kernels if they accumulate differently (tensor cores vs FMAs).
    for (const float bias : {0.0f, 60.0f})
    for (const int D : {64, 128, 256}) {
        const int n_kv = 3, group = 3, n_heads = n_kv * group, width = n_heads * D, n_prefill = 11, probe = 5;
        const HostCache cache = make_cache(DType::F16, n_kv, D, {{0, n_prefill}}, 91u, bias);
        std::vector<int32_t> positions, token_seq;
        for (int i = 0; i < n_prefill; ++i) positions.push_back(i), token_seq.push_back(0);
        positions.push_back(probe), token_seq.push_back(1);
        std::vector<int32_t> tables(size_t(2 * cache.stride));
        for (int b = 0; b < cache.stride; ++b)
            tables[size_t(b)] = tables[size_t(cache.stride + b)] = cache.block_tables[size_t(b)];
        const int n_tokens = n_prefill + 1;
        std::vector<float> q = random_floats(size_t(n_tokens) * size_t(width), 92u, 8.0f);
        for (int t = 0; t < n_tokens; ++t)
            for (int h = 0; h < n_heads; ++h) q[size_t(t * width + h * D)] += bias, q[size_t(t * width + h * D + 1)] += bias;
        std::copy_n(q.begin() + ptrdiff_t(probe) * width, width, q.begin() + ptrdiff_t(n_prefill) * width);

        AttentionShape shape;
        shape.n_heads = n_heads;
        shape.n_kv_heads = n_kv;
        shape.head_dim = D;
        shape.scale = 1.0f / std::sqrt(float(D));
        const std::vector<float> out = run_attention(attn, cache, tables, positions, token_seq, q, width, shape, width);
        double worst = 0;
        for (int i = 0; i < width; ++i) {
            const float tile = out[size_t(probe * width + i)], decode = out[size_t(n_prefill * width + i)];
            const bool finite = std::isfinite(tile) && std::isfinite(decode);
            worst = std::max(worst, finite ? double(std::fabs(tile - decode)) : INFINITY);
        }
        std::printf("  D %d, shared key component %.0f: tile row vs decode row, max |diff| / max|v| = %.3g\n", D, bias,
                    worst / cache.v_max);
        EXPECT_LE(worst, 1.2e-3 * cache.v_max) << "D " << D << " bias " << bias;
    }
}

struct Shape {
    DType type;
    int n_kv_heads, group, head_dim;
};
// SmolLM2 (3 x 3 of 64), Qwen3-like (2 x 4 of 128), Gemma 3 270M (1 x 4 of 256), a wide group at 256.
const Shape kPrefillShapes[] = {
    {DType::F16, 3, 3, 64}, {DType::Q8_0, 2, 4, 128}, {DType::F16, 1, 4, 256}, {DType::Q8_0, 1, 8, 256},
    {DType::Q8_0, 2, 1, 64}, {DType::F16, 2, 8, 128},
};

TEST(CudaAttention, PrefillFromPositionZero) {
    HOTROD_REQUIRE_GPU();
    Attention attn;
    for (const Shape& s : kPrefillShapes)
        for (int n : {1, 7, 64, 65, 300}) {
            Case c;
            c.type = s.type;
            c.n_kv_heads = s.n_kv_heads;
            c.group = s.group;
            c.head_dim = s.head_dim;
            c.seqs = {{0, n}};
            c.seed = uint32_t(n);
            check_attention(attn, c);
        }
}

TEST(CudaAttention, PrefillAfterCachedPrefix) {
    HOTROD_REQUIRE_GPU();
    Attention attn;
    for (const Shape& s : kPrefillShapes)
        for (int n : {1, 5, 100, 300}) {
            Case c;
            c.type = s.type;
            c.n_kv_heads = s.n_kv_heads;
            c.group = s.group;
            c.head_dim = s.head_dim;
            c.seqs = {{50, n}};
            c.seed = uint32_t(100 + n);
            check_attention(attn, c);
        }
}

// Long contexts with few query tiles: the tensor-core prefill cuts each tile's positions into ranges across blocks
// (attn::prefill_splits: 4 to 16 splits here on a 132-SM card) and the combine kernel merges them. Tiles whose range is shorter
// than a split's leave whole splits empty; decode tokens in the same batch keep their own split and combine.
TEST(CudaAttention, PrefillLongContextSplits) {
    HOTROD_REQUIRE_GPU();
    Attention attn;
    uint32_t seed = 700;
    const std::vector<std::vector<SeqSpec>> batches = {
        {{2000, 48}}, {{3000, 70}, {0, 30}, {700, 1}, {10, 9}}, {{1500, 5}, {4100, 17}}};
    for (int D : {64, 128, 256})
        for (int G : {1, 4, 8})
            for (const auto& seqs : batches) {
                Case c;
                c.type = DType::F16;
                c.n_kv_heads = D == 256 ? 1 : 2;
                c.group = G;
                c.head_dim = D;
                c.seqs = seqs;
                c.seed = seed++;
                check_attention(attn, c);
            }
}

// Prefill chunks, decode tokens and short runs in one batch, so tiles straddle sequence boundaries and both
// kernels share the batch.
const std::vector<SeqSpec> kMixed = {{0, 200}, {99, 1}, {2999, 1}, {50, 37}, {10, 3}, {0, 5}, {7, 2}, {0, 1}};

// The same batch with each token's kind said (Attention::plan's decode_tokens, batch invariance): the leading
// sequences' tokens decode (one token, or a forced run of several), each splitting its positions by its own length;
// the rest are prompt tokens on the tiled kernel, whose splits cover fixed spans of positions (contexts past a span).
const std::vector<std::pair<std::vector<SeqSpec>, int>> kKindBatches = {
    {{{99, 1}, {2999, 1}, {40, 6}, {7, 1}, {0, 200}, {50, 37}, {10, 3}, {0, 5}, {1500, 17}}, 9},
    {{{5000, 1}}, 1},
    {{{2100, 9}, {0, 1}}, 0},
};

TEST(CudaAttention, MixedBatch) {
    HOTROD_REQUIRE_GPU();
    Attention attn;
    uint32_t seed = 300;
    for (DType type : kTypes)
        for (int D : {64, 128, 256})
            for (int G : {1, 3, 4, 8}) {
                Case c;
                c.type = type;
                c.head_dim = D;
                c.group = G;
                c.seqs = kMixed;
                c.seed = seed++;
                check_attention(attn, c);
                c.n_kv_heads = D == 256 ? 1 : 2;
                for (const auto& [seqs, dec] : kKindBatches) {
                    c.seqs = seqs;
                    c.decode_tokens = dec;
                    c.seed = seed++;
                    check_attention(attn, c);
                }
            }
}

// Batch invariance: a token's output, bit for bit, does not depend on the batch around it. A decode token alone
// equals the same token beside a much longer decode token (more splits in the launch) and prompt tokens; a prompt's
// last 9 tokens run alone (a prefix-cache hit's tail) equal the same tokens inside the whole 40-token chunk beside
// other sequences (other tiles, other split counts), with and without a sliding window.
TEST(CudaAttention, TokenOutputIndependentOfItsBatch) {
    HOTROD_REQUIRE_GPU();
    Attention attn;
    uint32_t seed = 1400;
    for (DType type : kTypes)
        for (int D : {64, 128, 256})
            for (int window : {0, 300}) {
                const int G = 4, n_kv = D == 256 ? 1 : 2, n_heads = n_kv * G, width = n_heads * D;
                // seq 0: a decode token at 700; seq 1: a decode token at 6000; seq 2: a prompt chunk 1500..1539;
                // seq 3: a short prompt.
                const std::vector<SeqSpec> seqs = {{700, 1}, {6000, 1}, {1500, 40}, {0, 30}};
                const HostCache cache = make_cache(type, n_kv, D, seqs, seed++);
                std::vector<int32_t> positions, token_seq;
                for (size_t s = 0; s < seqs.size(); ++s)
                    for (int i = 0; i < seqs[s].n_query; ++i)
                        positions.push_back(seqs[s].n_cached + i), token_seq.push_back(int32_t(s));
                const int n_tokens = int(positions.size());
                const std::vector<float> q = random_floats(size_t(n_tokens) * size_t(width), seed++, 2.0f);
                AttentionShape shape;
                shape.n_heads = n_heads;
                shape.n_kv_heads = n_kv;
                shape.head_dim = D;
                shape.scale = 1.0f / std::sqrt(float(D));
                shape.window = window;
                const std::vector<float> all = run_attention(attn, cache, cache.block_tables, positions, token_seq, q,
                                                             width, shape, width, nullptr, 0, 2);
                // The tokens [first, first + count) (batch sequence s's) run as a batch of their own.
                const auto alone = [&](int s, int first, int count, int decode_tokens) {
                    const std::vector<int32_t> table(cache.block_tables.begin() + ptrdiff_t(s) * cache.stride,
                                                     cache.block_tables.begin() + ptrdiff_t(s + 1) * cache.stride);
                    const std::vector<int32_t> pos(positions.begin() + first, positions.begin() + first + count);
                    const std::vector<float> qs(q.begin() + ptrdiff_t(first) * width,
                                                q.begin() + ptrdiff_t(first + count) * width);
                    return run_attention(attn, cache, table, pos, std::vector<int32_t>(size_t(count), 0), qs, width,
                                         shape, width, nullptr, 0, decode_tokens);
                };
                const auto same = [&](const std::vector<float>& got, int first, int count, const char* what) {
                    EXPECT_EQ(std::memcmp(got.data(), all.data() + ptrdiff_t(first) * width,
                                          size_t(count) * size_t(width) * sizeof(float)),
                              0)
                        << what << ": " << quant::type_name(type) << " D " << D << " window " << window;
                };
                same(alone(0, 0, 1, 1), 0, 1, "a decode token alone");
                same(alone(2, 2 + 31, 9, 0), 2 + 31, 9, "a prompt's 9-token tail alone");
                same(alone(2, 2, 40, 0), 2, 40, "a prompt chunk alone");
            }
}

TEST(CudaAttention, SlidingWindow) {
    HOTROD_REQUIRE_GPU();
    Attention attn;
    for (DType type : kTypes) {
        Case c;
        c.type = type;
        c.n_kv_heads = 1;
        c.head_dim = 256;
        c.window = 512;
        c.seqs = {{0, 700}};  // prefill past the window
        check_attention(attn, c);
        c.seqs = {{699, 1}, {600, 100}, {1000, 1}, {3, 1}};  // decode past and inside the window, a chunk across it
        check_attention(attn, c);
        c.head_dim = 64;
        c.group = 3;
        c.n_kv_heads = 2;
        c.window = 20;  // shorter than a tile's reach: masks inside chunks from both ends
        c.seqs = {{0, 100}, {40, 1}, {5, 60}};
        check_attention(attn, c);
    }
}

// Soft-capping at 50 (Gemma 2) with scores spread wide enough (sigma 10) that tanh bends them.
TEST(CudaAttention, Softcap) {
    HOTROD_REQUIRE_GPU();
    Attention attn;
    for (DType type : kTypes)
        for (int D : {128, 256}) {
            Case c;
            c.type = type;
            c.head_dim = D;
            c.softcap = 50.0f;
            c.score_sigma = 10.0f;
            c.seqs = kMixed;
            check_attention(attn, c);
            c.window = 64;
            check_attention(attn, c);
        }
}

// Head sizes between the common ones (any multiple of 32 up to 256), and groups past the decode kernel's 8 (every
// token then goes through the tiled kernel).
TEST(CudaAttention, OtherHeadSizesAndGroups) {
    HOTROD_REQUIRE_GPU();
    Attention attn;
    const std::vector<SeqSpec> seqs = {{0, 70}, {300, 1}, {20, 3}, {0, 1}};
    for (DType type : kTypes) {
        for (int D : {32, 96, 160, 192, 224}) {
            Case c;
            c.type = type;
            c.head_dim = D;
            c.group = 3;
            c.seqs = seqs;
            check_attention(attn, c);
        }
        for (int G : {16, 32}) {
            Case c;
            c.type = type;
            c.head_dim = G == 32 ? 256 : 64;
            c.n_kv_heads = 1;
            c.group = G;
            c.seqs = seqs;
            check_attention(attn, c);
        }
    }
}

TEST(CudaAttention, RefusesUnsupportedShapes) {
    HOTROD_REQUIRE_GPU();
    Attention attn;
    DeviceKvCache dc;
    dc.n_kv_heads = 1;
    dc.head_dim = 80;
    DeviceKvLayout dl;
    dl.block_size = kBlockSize;
    AttentionShape shape;
    shape.n_heads = 2;
    shape.n_kv_heads = 1;
    shape.head_dim = 80;
    EXPECT_THROW(attn.run(nullptr, 0, dc, dl, shape, nullptr, 0, nullptr), std::invalid_argument);  // not % 32
    dc.head_dim = shape.head_dim = 64;
    shape.n_heads = 64;
    EXPECT_THROW(attn.run(nullptr, 0, dc, dl, shape, nullptr, 0, nullptr), std::invalid_argument);  // group 64
    shape.n_heads = 2;
    dc.type = DType::Q4_0;
    EXPECT_THROW(attn.run(nullptr, 0, dc, dl, shape, nullptr, 0, nullptr), std::invalid_argument);
}

// kv_store: tokens of three sequences at scattered slots; the whole cache buffer must equal the host's, which
// starts from the same random bytes and gets the CPU row store's rows at the same slots.
TEST(CudaKvStore, BitExactWithCpuRowStore) {
    HOTROD_REQUIRE_GPU();
    struct KvShape {
        int n_kv_heads, head_dim;
    };
    for (DType type : kTypes)
        for (KvShape ks : {KvShape{2, 64}, KvShape{1, 256}, KvShape{3, 96}, KvShape{8, 128}}) {
            SCOPED_TRACE(std::string(quant::type_name(type)) + " " + std::to_string(ks.n_kv_heads) + " x " +
                         std::to_string(ks.head_dim));
            const int width = ks.n_kv_heads * ks.head_dim;
            const size_t row_bytes = *quant::row_bytes(type, width);
            const std::vector<SeqSpec> seqs = {{0, 20}, {5, 1}, {40, 17}, {15, 2}};
            // The batch's positions: n_cached .. n_cached + n_query - 1 of each sequence, in shuffled blocks.
            std::mt19937 rng(uint32_t(width) + uint32_t(type == DType::F16));
            const PagedBatch pb = paged_batch(seqs, kBlockSize, 2, rng);
            const std::vector<int32_t>& tables = pb.tables;
            const std::vector<int32_t>& positions = pb.positions;
            const std::vector<int32_t>& token_seq = pb.token_seq;
            const int stride = pb.stride, total_blocks = pb.total_blocks;
            const int n_tokens = int(positions.size());
            const int64_t k_stride = width + 5, v_stride = width + 9;
            std::vector<float> k = random_floats(size_t(n_tokens) * size_t(k_stride), 11, 3.0f);
            std::vector<float> v = random_floats(size_t(n_tokens) * size_t(v_stride), 12, 0.5f);
            // Rounding corners in token 0's K row: Q8_0 ties (amax 127 makes the multiplier exactly 1, so x.5 is a
            // tie, to even), fp16 ties, overflow, subnormals and signed zero.
            const float q8_ties[] = {127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 1.5f, 3.5f, 126.5f, -126.5f, 0.0f};
            for (size_t i = 0; i < std::size(q8_ties); ++i) k[i] = q8_ties[i];
            const float f16_corners[] = {65504.0f, 65519.99f, 65520.0f, -65520.0f, 1e-7f, 2.9802322e-08f,
                                         2.9802326e-08f, 6.1035156e-05f, 6.1e-05f, -0.0f, 1.0009765625f,
                                         1.00048828125f, 1.00146484375f};
            for (size_t i = 0; i < std::size(f16_corners); ++i) k[32 + i] = f16_corners[i];

            const int64_t n_rows = int64_t(total_blocks) * kBlockSize;
            std::vector<uint8_t> k_cache(size_t(n_rows) * row_bytes), v_cache(k_cache.size());
            for (auto& b : k_cache) b = uint8_t(rng());
            for (auto& b : v_cache) b = uint8_t(rng());
            DeviceArray<uint8_t> k_d(k_cache), v_d(v_cache);
            const cpu::KvRowStoreFn store = cpu::find_kv_row_store(type, cpu::Isa::Scalar);
            for (int t = 0; t < n_tokens; ++t) {
                const int64_t slot = cpu::kv_slot(tables.data() + size_t(token_seq[size_t(t)]) * size_t(stride),
                                                  kBlockSize, positions[size_t(t)]);
                store(k.data() + size_t(t) * size_t(k_stride), k_cache.data() + size_t(slot) * row_bytes, width);
                store(v.data() + size_t(t) * size_t(v_stride), v_cache.data() + size_t(slot) * row_bytes, width);
            }

            DeviceArray<float> kf_d(k), vf_d(v);
            const DevicePagedBatch db(pb, kBlockSize);
            DeviceKvCache dc;
            dc.type = type;
            dc.k = k_d.get();
            dc.v = v_d.get();
            dc.n_kv_heads = ks.n_kv_heads;
            dc.head_dim = ks.head_dim;
            kv_store(dc, db.layout, kf_d.get(), k_stride, vf_d.get(), v_stride, nullptr);
            const std::vector<uint8_t> k_got = k_d.download(), v_got = v_d.download();
            size_t k_bad = 0, v_bad = 0, first_bad = k_got.size();
            for (size_t i = 0; i < k_got.size(); ++i) {
                if (k_got[i] != k_cache[i]) {
                    first_bad = std::min(first_bad, i);
                    ++k_bad;
                }
                if (v_got[i] != v_cache[i]) ++v_bad;
            }
            EXPECT_EQ(k_bad, 0u) << "first differing K byte " << first_bad << " (row " << first_bad / row_bytes
                                 << ", byte " << first_bad % row_bytes << ")";
            EXPECT_EQ(v_bad, 0u);
        }
}

}  // namespace
}  // namespace hotrod::cuda::test
