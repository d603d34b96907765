// Paged attention on the GPU (src/cuda/attention.h) against plain double-precision attention over the same cache
// contents (Q8_0 rows dequantized by dequantize_row_q8_0_ref): random caches in shuffled physical blocks of 16,
// cache rows the batch may not see filled with NaN (a read of one poisons the output), outputs poisoned with NaN
// before the kernel (attention_check.h). Batch shapes: test_attention_batch.cpp; the cache write: test_kv_store.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "attention_check.h"

namespace hotrod::cuda::test {
namespace {

using quant::DType;

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
                check_attention(attn, attention_case(DType::F16, D == 256 ? 1 : 2, G, D, seqs, seed++));
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

}  // namespace
}  // namespace hotrod::cuda::test
