// The fused attention-input kernel (attention_inputs.cu: QK-norm, rope, K/V store in one launch) against
//  - the unfused GPU kernels it replaces (rms_norm_heads, rope_from_table, kv_store one after another): bit for bit,
//    q, k and both caches, which is what lets the fusion be switched on without moving any logit;
//  - the CPU scalar references (rms_norm_row_ref per head, rope_ref in double, the scalar K/V row store): q and k
//    within float rounding, the caches within one fp16 rounding or one Q8_0 code step.
// Random data at head sizes 64 / 128 / 256, full and partial rotary, NeoX and normal pairs, with and without norms,
// F16 and Q8_0 caches, ragged batches of several sequences whose blocks are shuffled.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "cpu/ops_kv.h"
#include "cpu/ops_norm.h"
#include "cpu/ops_rope.h"
#include "cuda/attention.h"
#include "cuda/ops.h"
#include "cuda/rope_tables.h"
#include "gpu_test_util.h"
#include "paged_batch.h"
#include "quant/dequantize.h"
#include "quant/types.h"

namespace hotrod::cuda::test {
namespace {

using quant::DType;

constexpr int kBlockSize = 16;

struct Case {
    DType type;
    int n_heads, n_kv_heads, head_dim, n_dims;
    bool neox, norms;
};

std::string describe(const Case& c) {
    return std::string(quant::type_name(c.type)) + " heads " + std::to_string(c.n_heads) + "/" +
           std::to_string(c.n_kv_heads) + " x " + std::to_string(c.head_dim) + " n_dims " + std::to_string(c.n_dims) +
           (c.neox ? " NeoX" : " normal") + (c.norms ? " with QK-norm" : " no norm");
}

void check_case(const Case& c, uint32_t seed) {
    SCOPED_TRACE(describe(c));
    const int D = c.head_dim, q_width = c.n_heads * D, kv_width = c.n_kv_heads * D;
    // Sequences (cached positions, new tokens): a prefill chunk, decode tokens, one across a block boundary.
    std::mt19937 rng(seed);
    const PagedBatch pb = paged_batch({{0, 21}, {70, 1}, {15, 2}, {4000, 3}}, kBlockSize, 1, rng);
    const std::vector<int32_t>& tables = pb.tables;
    const std::vector<int32_t>& positions = pb.positions;
    const std::vector<int32_t>& token_seq = pb.token_seq;
    const int stride = pb.stride, total_blocks = pb.total_blocks;
    const int n = int(positions.size());
    // Strides of whole float4s (the fused kernel's norm reads float4s, as rms_norm_heads does on such rows).
    const int64_t q_stride = q_width + 4, k_stride = kv_width + 8, v_stride = kv_width + 12;
    const std::vector<float> q = random_floats(size_t(n) * size_t(q_stride), seed + 1, 2.0f);
    const std::vector<float> k = random_floats(size_t(n) * size_t(k_stride), seed + 2, 2.0f);
    const std::vector<float> v = random_floats(size_t(n) * size_t(v_stride), seed + 3, 0.7f);
    const std::vector<float> qw = random_floats(size_t(D), seed + 4, 1.0f), kw = random_floats(size_t(D), seed + 5, 1.0f);
    const size_t row_bytes = *quant::row_bytes(c.type, kv_width);
    std::vector<uint8_t> cache_init(size_t(total_blocks) * kBlockSize * row_bytes);
    for (auto& b : cache_init) b = uint8_t(rng());
    const float eps = 1e-6f, base = 1000000.0f, freq_scale = 1.0f;

    const DevicePagedBatch db(pb, kBlockSize);
    const DeviceKvLayout& dl = db.layout;
    DeviceArray<float> qw_d(qw), kw_d(kw), v_d(v);
    RopeTables rope_tables;
    const float* table = rope_tables.get(c.n_dims, base, freq_scale, 4002, nullptr);
    struct Result {
        std::vector<float> q, k;
        std::vector<uint8_t> kc, vc;
    };
    const auto run = [&](bool fused) {
        DeviceArray<float> q_d(q), k_d(k);
        DeviceArray<uint8_t> kc_d(cache_init), vc_d(cache_init);
        DeviceKvCache dc;
        dc.type = c.type;
        dc.k = kc_d.get();
        dc.v = vc_d.get();
        dc.n_kv_heads = c.n_kv_heads;
        dc.head_dim = D;
        if (fused) {
            AttentionInputsArgs a{q_d.get(), q_stride, k_d.get(), k_stride, v_d.get(), v_stride,
                                  c.norms ? qw_d.get() : nullptr, c.norms ? kw_d.get() : nullptr, eps, c.n_heads, D,
                                  c.n_dims, c.neox, table, dc, dl};
            EXPECT_TRUE(attention_inputs_fit(a));
            attention_inputs(a, nullptr);
        } else {
            if (c.norms) {
                rms_norm_heads(q_d.get(), q_stride, qw_d.get(), D, eps, n, q_width, nullptr);
                rms_norm_heads(k_d.get(), k_stride, kw_d.get(), D, eps, n, kv_width, nullptr);
            }
            rope_from_table(q_d.get(), q_stride, n, c.n_heads, D, db.positions.get(), c.neox, c.n_dims, table, nullptr);
            rope_from_table(k_d.get(), k_stride, n, c.n_kv_heads, D, db.positions.get(), c.neox, c.n_dims, table, nullptr);
            kv_store(dc, dl, k_d.get(), k_stride, v_d.get(), v_stride, nullptr);
        }
        return Result{q_d.download(), k_d.download(), kc_d.download(), vc_d.download()};
    };
    const Result fused = run(true), plain = run(false);
    EXPECT_EQ(fused.q, plain.q) << "q differs from rms_norm_heads + rope_from_table";
    EXPECT_EQ(fused.k, plain.k) << "k differs from rms_norm_heads + rope_from_table";
    EXPECT_TRUE(fused.kc == plain.kc) << "K cache differs from kv_store's";
    EXPECT_TRUE(fused.vc == plain.vc) << "V cache differs from kv_store's";

    // The CPU scalar references.
    std::vector<float> q_ref = q, k_ref = k;
    backend::RopeParams rp;
    rp.kind = c.neox ? backend::RopeKind::NeoX : backend::RopeKind::Normal;
    rp.n_dims = c.n_dims;
    rp.freq_base = base;
    rp.freq_scale = freq_scale;
    for (int t = 0; t < n; ++t) {
        if (!c.norms) break;
        for (int h = 0; h < c.n_heads; ++h) {
            float* x = q_ref.data() + size_t(t) * size_t(q_stride) + size_t(h) * size_t(D);
            cpu::rms_norm_row_ref(x, qw.data(), eps, D, x);
        }
        for (int h = 0; h < c.n_kv_heads; ++h) {
            float* x = k_ref.data() + size_t(t) * size_t(k_stride) + size_t(h) * size_t(D);
            cpu::rms_norm_row_ref(x, kw.data(), eps, D, x);
        }
    }
    cpu::rope_ref(q_ref.data(), n, size_t(q_stride), c.n_heads, D, positions.data(), rp);
    cpu::rope_ref(k_ref.data(), n, size_t(k_stride), c.n_kv_heads, D, positions.data(), rp);
    const auto close = [](const std::vector<float>& got, const std::vector<float>& ref, const char* what) {
        const ErrorStats e = compare(got.data(), ref.data(), got.size());
        float scale = 0.0f;
        for (float r : ref) scale = std::max(scale, std::fabs(r));
        EXPECT_LE(e.max_abs, 2e-6 * scale) << what << " against the CPU references (nmse " << e.nmse << ")";
    };
    close(fused.q, q_ref, "q");
    close(fused.k, k_ref, "k");
    // The caches at each token's slot, dequantized, against the reference k / v rows.
    std::vector<float> got_row(static_cast<size_t>(kv_width));
    double worst = 0.0;
    for (int t = 0; t < n; ++t) {
        const int64_t slot = cpu::kv_slot(tables.data() + size_t(token_seq[size_t(t)]) * size_t(stride), kBlockSize,
                                          positions[size_t(t)]);
        for (int which = 0; which < 2; ++which) {
            const std::vector<uint8_t>& cache = which == 0 ? fused.kc : fused.vc;
            const float* ref = which == 0 ? k_ref.data() + size_t(t) * size_t(k_stride) : v.data() + size_t(t) * size_t(v_stride);
            quant::dequantize_row(c.type, cache.data() + size_t(slot) * row_bytes, got_row.data(), kv_width);
            for (int b = 0; b < kv_width / 32; ++b) {
                float amax = 0.0f;
                for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(ref[32 * b + i]));
                // One Q8_0 step (amax / 127, plus its fp16 rounding) or one fp16 rounding of the largest element.
                const double tol = c.type == DType::Q8_0 ? 1.01 * amax / 127.0 : 1e-3 * amax;
                for (int i = 0; i < 32; ++i)
                    worst = std::max(worst, std::fabs(double(got_row[size_t(32 * b + i)]) - ref[32 * b + i]) / tol);
            }
        }
    }
    EXPECT_LE(worst, 1.0) << "a cache element further than one rounding step from the reference";
}

TEST(CudaAttentionInputs, EqualsUnfusedKernelsAndCpuReferences) {
    HOTROD_REQUIRE_GPU();
    const Case cases[] = {
        {DType::F16, 9, 3, 64, 64, false, true},     // SmolLM2's shape (llama: no QK-norm below)
        {DType::F16, 9, 3, 64, 64, false, false},
        {DType::Q8_0, 32, 8, 128, 128, true, true},  // Qwen3-4B
        {DType::F16, 16, 4, 256, 64, true, true},    // Qwen3.5's attention layers: partial rotary
        {DType::Q8_0, 4, 1, 256, 256, true, true},   // Gemma 3 270M
        {DType::F16, 12, 12, 128, 96, false, true},  // no GQA, partial rotary with normal pairs
    };
    uint32_t seed = 7000;
    for (const Case& c : cases) check_case(c, seed += 10);
}

// Shapes the fused kernel does not take are refused (CudaBackend then issues the separate ops).
TEST(CudaAttentionInputs, RefusesWhatItDoesNotTake) {
    HOTROD_REQUIRE_GPU();
    DeviceArray<float> buf(4096);
    AttentionInputsArgs a;
    a.q = a.k = a.v = buf.get();
    a.q_stride = a.k_stride = a.v_stride = 256;
    a.n_heads = 2;
    a.head_dim = 96;  // fits: a multiple of 32
    a.n_dims = 96;
    a.cache.type = DType::F16;
    a.cache.n_kv_heads = 1;
    a.cache.head_dim = 96;
    EXPECT_TRUE(attention_inputs_fit(a));
    a.head_dim = a.cache.head_dim = a.n_dims = 80;  // not a multiple of 32
    EXPECT_FALSE(attention_inputs_fit(a));
    a.head_dim = a.cache.head_dim = a.n_dims = 512;  // wider than 256
    EXPECT_FALSE(attention_inputs_fit(a));
    a.head_dim = a.cache.head_dim = a.n_dims = 64;
    a.cache.type = DType::Q4_0;  // not a cache type
    EXPECT_FALSE(attention_inputs_fit(a));
    a.cache.type = DType::F16;
    a.q_norm = buf.get();
    a.q_stride = 66;  // a normalised row that is not 16-byte aligned
    EXPECT_FALSE(attention_inputs_fit(a));
    EXPECT_THROW(attention_inputs(a, nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace hotrod::cuda::test
