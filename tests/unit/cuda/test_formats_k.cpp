// The K weight formats on the GPU (formats_k.cuh, quantize_q8_k.cu) against the CPU references: the Q8_K activation
// quantizer bit for bit against quantize_row_q8_k_ref, then K-format matmul (decode and prefill paths) and the
// embedding lookup on super-blocks of random bytes, so every scale, min and code bit is exercised and Q3_K's signed
// scales, Q6_K's int8 scales and -32 offset hit their extremes, against dot_ref_q*_k and dequantize_row_q*_k_ref.
// test_matmul.cpp covers the same formats on weights the quantizers wrote.
// cuda_runtime.h (not only the _api header) for the typed cudaMalloc overload DeviceArray calls.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/matmul.h"
#include "cuda/quantize_act.h"
#include "gpu_test_util.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/dot_ref.h"
#include "quant/half.h"
#include "quant/quantize.h"

namespace hotrod::cuda::test {
namespace {

using quant::BlockQ8_K;
using quant::DType;
using quant::QK_K;

// Where the fields of a K super-block sit, and its scalar references.
struct KFormat {
    DType type;
    const char* name;
    size_t bytes;
    size_t scales_at, scales_len;  // packed sub-block scales (and mins)
    size_t codes_at, codes_len;    // the quantized values (qs with hmask / qh / ql)
    size_t d_at;
    int dmin_at;  // -1: the format has no dmin
    float (*dot)(int64_t, const void*, const void*);
    void (*dequant)(const void*, float*, int64_t);
};

const KFormat kFormats[] = {
    {DType::Q2_K, "Q2_K", sizeof(quant::BlockQ2_K), offsetof(quant::BlockQ2_K, scales), 16,
     offsetof(quant::BlockQ2_K, qs), 64, offsetof(quant::BlockQ2_K, d), int(offsetof(quant::BlockQ2_K, dmin)),
     quant::dot_ref_q2_k, quant::dequantize_row_q2_k_ref},
    {DType::Q3_K, "Q3_K", sizeof(quant::BlockQ3_K), offsetof(quant::BlockQ3_K, scales), 12,
     offsetof(quant::BlockQ3_K, hmask), 32 + 64, offsetof(quant::BlockQ3_K, d), -1, quant::dot_ref_q3_k,
     quant::dequantize_row_q3_k_ref},
    {DType::Q4_K, "Q4_K", sizeof(quant::BlockQ4_K), offsetof(quant::BlockQ4_K, scales), 12,
     offsetof(quant::BlockQ4_K, qs), 128, offsetof(quant::BlockQ4_K, d), int(offsetof(quant::BlockQ4_K, dmin)),
     quant::dot_ref_q4_k, quant::dequantize_row_q4_k_ref},
    {DType::Q5_K, "Q5_K", sizeof(quant::BlockQ5_K), offsetof(quant::BlockQ5_K, scales), 12,
     offsetof(quant::BlockQ5_K, qh), 32 + 128, offsetof(quant::BlockQ5_K, d), int(offsetof(quant::BlockQ5_K, dmin)),
     quant::dot_ref_q5_k, quant::dequantize_row_q5_k_ref},
    {DType::Q6_K, "Q6_K", sizeof(quant::BlockQ6_K), offsetof(quant::BlockQ6_K, scales), 16,
     offsetof(quant::BlockQ6_K, ql), 128 + 64, offsetof(quant::BlockQ6_K, d), -1, quant::dot_ref_q6_k,
     quant::dequantize_row_q6_k_ref},
};

void put_half(uint8_t* at, float v) {
    const uint16_t h = quant::fp32_to_fp16(v);
    std::memcpy(at, &h, sizeof(h));
}

// n_rows rows of n_blocks super-blocks of random bytes with fp16 scales of either sign near 2^-8. Super-block i of
// the matrix takes pattern i % 6: 0 as drawn; scale bytes all 0x00 (1: Q3_K scales -32, zero scales and mins),
// 0xFF (2: the largest scales and mins, Q6_K -1) or 0x80 (3: Q6_K -128); code bytes all 0x00 (4: Q3_K -4, Q6_K
// -32) or 0xFF (5: the largest codes, Q3_K 3, Q6_K 31).
std::vector<uint8_t> random_k_blocks(const KFormat& f, int64_t n_rows, int64_t n_blocks, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_real_distribution<float> magnitude(0.5f, 1.5f);
    auto scale = [&] { return (byte(rng) % 2 ? 1.0f : -1.0f) * magnitude(rng) * (1.0f / 256.0f); };
    std::vector<uint8_t> w(size_t(n_rows * n_blocks) * f.bytes);
    for (auto& b : w) b = uint8_t(byte(rng));
    for (int64_t i = 0; i < n_rows * n_blocks; ++i) {
        uint8_t* block = w.data() + size_t(i) * f.bytes;
        const int pattern = int(i % 6);
        if (pattern >= 1 && pattern <= 3)
            std::memset(block + f.scales_at, pattern == 1 ? 0x00 : pattern == 2 ? 0xFF : 0x80, f.scales_len);
        if (pattern >= 4) std::memset(block + f.codes_at, pattern == 4 ? 0x00 : 0xFF, f.codes_len);
        put_half(block + f.d_at, scale());
        if (f.dmin_at >= 0) put_half(block + f.dmin_at, scale());
    }
    return w;
}

// Activation rows (n_rows x n_cols, stride floats apart) with the cases quantize_row_q8_k_ref decides with care.
// Super-block k (row-major) takes case k % 5: 0 random with outliers; 1 all zero (an all-zero block); 2 the
// largest magnitude twice with opposite signs in different lanes (the first one sets the sign); 3 the same within
// one lane; 4 an extreme of -127, so iscale is exactly 1 and codes at .5 round to even.
std::vector<float> q8_k_input(int64_t n_rows, int64_t n_cols, int64_t stride, uint32_t seed) {
    std::vector<float> x = random_floats(size_t(n_rows * stride), seed);
    for (size_t i = 0; i < x.size(); i += 389) x[i] *= 50.0f;  // massive activations, as in real residual streams
    const int64_t n_blocks = n_cols / QK_K;
    for (int64_t k = 0; k < n_rows * n_blocks; ++k) {
        float* b = x.data() + (k / n_blocks) * stride + (k % n_blocks) * QK_K;
        for (int j = 0; j < QK_K; ++j) b[j] = std::fmin(std::fmax(b[j], -100.0f), 100.0f);
        switch (k % 5) {
            case 1: std::fill(b, b + QK_K, 0.0f); break;
            case 2: b[3] = 300.0f, b[250] = -300.0f; break;
            case 3: b[17] = -300.0f, b[22] = 300.0f; break;
            case 4:
                for (int j = 0; j < QK_K; ++j) b[j] = float(j % 61 - 30) + 0.5f;
                b[77] = -127.0f;
                break;
            default: break;
        }
    }
    return x;
}

std::string where(const char* what, int64_t a, int64_t b, int64_t c) {
    return std::string(what) + " " + std::to_string(a) + "x" + std::to_string(b) + "x" + std::to_string(c);
}

// Bit-exact: the GPU makes the same IEEE operations as the reference in the same order (one division for iscale,
// one product and round-to-even per code, one division for d), so any differing byte is a bug.
TEST(CudaFormatsK, QuantizeQ8KIsTheReferenceBitForBit) {
    HOTROD_REQUIRE_GPU();
    uint32_t seed = 1000;
    for (int64_t n_cols : {256, 2560, 9728}) {
        for (int64_t n_rows : {1, 3, 7}) {
            for (int64_t pad : {0, 3}) {  // pad 3: rows start off 16-byte alignment (the kernel's scalar loads)
                const int64_t stride = n_cols + pad, n_blocks = n_cols / QK_K;
                const std::vector<float> x = q8_k_input(n_rows, n_cols, stride, ++seed);
                // 8 bytes of slack between rows, which must come back untouched.
                const size_t row_bytes = size_t(n_blocks) * sizeof(BlockQ8_K) + 8;
                DeviceArray<float> dx(x);
                DeviceArray<uint8_t> dq(size_t(n_rows) * row_bytes);
                dq.poison(0x5a);
                quantize_rows_q8_k(dx.get(), stride, n_rows, n_cols, dq.get(), row_bytes, nullptr);
                const std::vector<uint8_t> got = dq.download();
                std::vector<uint8_t> ref(size_t(n_blocks) * sizeof(BlockQ8_K));
                const std::string at = where("Q8_K rows x cols x pad", n_rows, n_cols, pad);
                for (int64_t r = 0; r < n_rows; ++r) {
                    quant::quantize_row_q8_k_ref(x.data() + r * stride, ref.data(), n_cols);
                    const uint8_t* row = got.data() + size_t(r) * row_bytes;
                    for (size_t i = 0; i < ref.size(); ++i) {
                        const size_t in_block = i % sizeof(BlockQ8_K);
                        const char* field = in_block < 4 ? "d" : in_block < 4 + QK_K ? "qs" : "bsums";
                        ASSERT_EQ(row[i], ref[i]) << at << ": row " << r << " super-block " << i / sizeof(BlockQ8_K)
                                                  << " byte " << in_block << " (" << field << ")";
                    }
                    for (size_t i = ref.size(); i < row_bytes; ++i)
                        ASSERT_EQ(row[i], 0x5a) << at << ": row " << r << " slack byte " << i << " overwritten";
                }
            }
        }
    }
}

TEST(CudaFormatsK, QuantizeQ8KRejectsRaggedRows) {
    HOTROD_REQUIRE_GPU();
    DeviceArray<float> dx(300);
    DeviceArray<uint8_t> dq(sizeof(BlockQ8_K) * 2);
    EXPECT_THROW(quantize_rows_q8_k(dx.get(), 300, 1, 300, dq.get(), dq.size(), nullptr), std::invalid_argument);
    EXPECT_THROW(quantize_rows_q8_k(dx.get(), 256, 1, 256, dq.get(), sizeof(BlockQ8_K) - 4, nullptr),
                 std::invalid_argument);
}

// y = W x with random-byte K weights, through both paths (up to kMaxDecodeRows token rows: decode; more:
// prefill), against the CPU: x quantized by quantize_row_q8_k_ref (the GPU's Q8_K is bit-exact, tested above) and
// each weight row's dot_ref. Every super-block's term is the reference's bit for bit (exact integer sums, the
// same float combine without FMA); only the order of the float sum over super-blocks differs, and any order's
// error is at most (n - 1) 2^-24 sum_b |term_b|, so two orders differ by at most twice that. One super-block per
// row must match exactly. Q4_K / Q6_K prefill rows take the fp16 tensor-core path (matmul_mma_f16.cu), which reads
// x (first rounded to Q8_K's grid) and the weights as fp16: against the dequantized row (dequantize_row) times that
// x (quant::round_row_like_act_ref) in double, within 2e-3 of sum |w x| (test_matmul.cpp says why).
TEST(CudaFormatsK, MatmulRandomBlocksMatchesDotRef) {
    HOTROD_REQUIRE_GPU();
    struct Shape {
        int64_t n_blocks, n_out, n_tokens;
    };
    const Shape shapes[] = {{1, 7, 1}, {10, 37, 3}, {13, 61, kMaxDecodeRows}, {13, 29, kMaxDecodeRows + 1},
                            {10, 70, 40}, {3, 130, 5}, {1, 33, 23}};
    uint32_t seed = 2000;
    for (const KFormat& f : kFormats) {
        double worst = 0;  // |gpu - cpu| / sum_b |term_b| over every output
        for (const Shape& s : shapes) {
            const int64_t n_in = s.n_blocks * QK_K, x_stride = n_in + 5, y_stride = s.n_out + 3;
            const size_t row_bytes = size_t(s.n_blocks) * f.bytes;  // Q3_K / Q6_K rows of 13 blocks: 2-byte aligned
            const std::vector<uint8_t> w = random_k_blocks(f, s.n_out, s.n_blocks, ++seed);
            const std::vector<float> x = q8_k_input(s.n_tokens, n_in, x_stride, ++seed);
            DeviceArray<uint8_t> dw(w);
            DeviceArray<float> dx(x);
            DeviceArray<float> dy(size_t(s.n_tokens * y_stride));
            dy.poison(0xff);  // NaN
            Matmul mm;
            mm.run(DeviceWeight{f.type, dw.get(), s.n_out, n_in, row_bytes},
                   DeviceRows{dx.get(), s.n_tokens, n_in, x_stride}, DeviceRows{dy.get(), s.n_tokens, s.n_out, y_stride},
                   false, nullptr);
            const std::vector<float> got = dy.download();

            const std::string at = std::string(f.name) + where(" blocks x out x tokens", s.n_blocks, s.n_out, s.n_tokens);
            std::vector<BlockQ8_K> xq(size_t(s.n_blocks));
            if (s.n_tokens > kMaxDecodeRows && (f.type == DType::Q4_K || f.type == DType::Q6_K)) {
                std::vector<float> wd(static_cast<size_t>(n_in)), xr(size_t(s.n_tokens * n_in));
                for (int64_t t = 0; t < s.n_tokens; ++t)
                    quant::round_row_like_act_ref(DType::Q8_K, x.data() + t * x_stride, xr.data() + t * n_in, n_in);
                for (int64_t r = 0; r < s.n_out; ++r) {
                    quant::dequantize_row(f.type, w.data() + size_t(r) * row_bytes, wd.data(), n_in);
                    for (int64_t t = 0; t < s.n_tokens; ++t) {
                        double ref = 0, sum_abs = 0;
                        for (int64_t i = 0; i < n_in; ++i) {
                            const double term = double(wd[size_t(i)]) * double(xr[size_t(t * n_in + i)]);
                            ref += term;
                            sum_abs += std::fabs(term);
                        }
                        const float g = got[size_t(t * y_stride + r)];
                        const double err = std::fabs(double(g) - ref);
                        ASSERT_LE(err, 2e-3 * sum_abs) << at << " (fp16 path): token " << t << " row " << r << " got "
                                                       << g << " want " << ref;
                    }
                }
                continue;
            }
            for (int64_t t = 0; t < s.n_tokens; ++t) {
                quant::quantize_row_q8_k_ref(x.data() + t * x_stride, xq.data(), n_in);
                for (int64_t r = 0; r < s.n_out; ++r) {
                    const uint8_t* wr = w.data() + size_t(r) * row_bytes;
                    const float ref = f.dot(n_in, wr, xq.data());
                    double sum_abs = 0;
                    for (int64_t b = 0; b < s.n_blocks; ++b)
                        sum_abs += std::fabs(double(f.dot(QK_K, wr + size_t(b) * f.bytes, &xq[size_t(b)])));
                    const double bound = 2.0 * double(s.n_blocks - 1) * 0x1p-24 * sum_abs * 1.01;
                    const float g = got[size_t(t * y_stride + r)];
                    const double err = std::fabs(double(g) - double(ref));
                    ASSERT_LE(err, bound) << at << ": token " << t << " row " << r << " got " << g << " want " << ref;
                    if (sum_abs > 0) worst = std::max(worst, err / sum_abs);
                }
            }
        }
        std::printf("  %s: worst |err| / sum|terms| %.3g\n", f.name, worst);
    }
}

// out[t] = dequantize(row ids[t]) * scale. dequant_part makes the reference's roundings (dl = d * sub-block scale,
// ml = dmin * min, then dl * q - ml, each rounded once) and the kernel one product by `scale`: bit-exact.
TEST(CudaFormatsK, EmbedRandomBlocksIsDequantizeRef) {
    HOTROD_REQUIRE_GPU();
    const std::vector<int32_t> ids = {0, 22, 5, 5, 17, 3, 22, 11, 1};
    const int64_t n_vocab = 23;
    uint32_t seed = 3000;
    for (const KFormat& f : kFormats) {
        for (int64_t n_blocks : {1, 10, 13}) {
            for (float scale : {1.0f, 0.37f}) {
                const int64_t n_cols = n_blocks * QK_K, out_stride = n_cols + 5;
                const size_t row_bytes = size_t(n_blocks) * f.bytes;
                const std::vector<uint8_t> table = random_k_blocks(f, n_vocab, n_blocks, ++seed);
                DeviceArray<uint8_t> dtable(table);
                DeviceArray<int32_t> dids(ids);
                DeviceArray<float> dout(size_t(int64_t(ids.size()) * out_stride));
                dout.poison(0xff);  // NaN
                embed_rows(f.type, dtable.get(), row_bytes, n_cols, dids.get(), int64_t(ids.size()), scale, dout.get(),
                           out_stride, nullptr);
                const std::vector<float> got = dout.download();
                std::vector<float> row(static_cast<size_t>(n_cols));
                const std::string at = std::string(f.name) + " embed " + std::to_string(n_blocks) + " blocks, scale " +
                                       std::to_string(scale);
                for (size_t t = 0; t < ids.size(); ++t) {
                    f.dequant(table.data() + size_t(ids[t]) * row_bytes, row.data(), n_cols);
                    for (int64_t c = 0; c < n_cols; ++c) {
                        const float ref = row[size_t(c)] * scale;
                        const float g = got[t * size_t(out_stride) + size_t(c)];
                        ASSERT_EQ(std::memcmp(&g, &ref, sizeof(float)), 0)
                            << at << ": token " << t << " (id " << ids[t] << ") col " << c << " got " << g << " want "
                            << ref;
                    }
                }
            }
        }
    }
}

}  // namespace
}  // namespace hotrod::cuda::test
