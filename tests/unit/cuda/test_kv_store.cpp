// kv_store on the GPU bit for bit against the CPU backend's row store (cpu::find_kv_row_store: F16 round to
// nearest even, Q8_0 quantize_row_q8_0_act_ref) over the whole cache buffer, so a stray write shows too.
#include <gtest/gtest.h>

#include "attention_check.h"

namespace hotrod::cuda::test {
namespace {

using quant::DType;

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
