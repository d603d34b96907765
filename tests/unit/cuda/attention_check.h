// The CUDA attention tests' shared parts: a random paged cache on the host (HostCache), one attention call on
// the GPU over it (run_attention) and a case checked against plain double-precision attention (check_attention).
// test_attention.cpp says how the comparison works.
#pragma once

// cuda_runtime.h (not only the _api header) for the typed cudaMalloc overload DeviceArray calls.
#include <cuda_runtime.h>

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
#include <utility>
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

using quant::DType;

inline constexpr int kBlockSize = 16;

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

inline int width_of(const HostCache& c) { return c.n_kv_heads * c.head_dim; }

// Physical blocks shuffled over the sequences (plus spare blocks nobody owns); rows of a sequence's positions hold
// random K/V rows converted by the CPU's row store, every other row holds NaN (F16 0x7e00 halves; Q8_0 blocks
// with a NaN scale).
// k_bias is added to dims 0 and 1 of every KV head: a large component shared by every position, as real models'
// keys carry (their massive activations), which makes every raw score large while their differences stay small.
inline HostCache make_cache(DType type, int n_kv_heads, int head_dim, const std::vector<SeqSpec>& seqs, uint32_t seed,
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

// A case over `seqs` with the given cache type and heads (the rest as Case's defaults).
inline Case attention_case(DType type, int n_kv_heads, int group, int head_dim, std::vector<SeqSpec> seqs,
                           uint32_t seed) {
    Case c;
    c.type = type;
    c.n_kv_heads = n_kv_heads;
    c.group = group;
    c.head_dim = head_dim;
    c.seqs = std::move(seqs);
    c.seed = seed;
    return c;
}

inline std::string describe(const Case& c) {
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
inline std::vector<float> run_attention(Attention& attn, const HostCache& cache, const std::vector<int32_t>& tables,
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
inline void check_attention(Attention& attn, const Case& c) {
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

inline constexpr DType kTypes[] = {DType::F16, DType::Q8_0};

// Prefill chunks, decode tokens and short runs in one batch, so tiles straddle sequence boundaries and both
// kernels share the batch.
inline const std::vector<SeqSpec> kMixed = {{0, 200}, {99, 1}, {2999, 1}, {50, 37}, {10, 3}, {0, 5}, {7, 2}, {0, 1}};

}  // namespace hotrod::cuda::test
