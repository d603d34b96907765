// The matmul's helpers on the GPU against their CPU references: the Q8_0 / Q8_1 activation quantizers
// (quantize_act.cu) bit for bit against quantize_row_q8_0_act_ref / quantize_row_q8_1_ref, and embed_rows
// (dequant.cu) for every weight type against dequantize_row then the CPU embed's scale multiply. Both are exact:
// the kernels do the references' float operations with the same roundings, so the tolerance is zero.
// cuda_runtime.h (not only the _api header) for the typed cudaMalloc overload DeviceArray calls.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "cuda/matmul.h"
#include "cuda/quantize_act.h"
#include "gpu_test_util.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/half.h"
#include "quant/quantize.h"
#include "quant/types.h"

namespace hotrod::cuda::test {
namespace {

using quant::DType;

// Activation rows with the cases the roundings hinge on, then random data: block 0 of row 0 all zeros (scale 0),
// block 1 exact halves after scaling (ties: amax 127 makes the multiplier exactly 1), block 2 tiny (d an fp16
// subnormal), block 3 large.
std::vector<float> activation_rows(int64_t n_rows, int64_t n_cols, int64_t stride, uint32_t seed) {
    std::vector<float> x = random_floats(size_t(n_rows * stride), seed, 2.0f);
    const int64_t blocks = n_cols / quant::QK;
    for (int j = 0; j < quant::QK; ++j) {
        x[size_t(j)] = 0.0f;
        if (blocks > 1) x[size_t(32 + j)] = j == 31 ? 127.0f : float(j - 16) + 0.5f;
        if (blocks > 2) x[size_t(64 + j)] *= 3e-5f;
        if (blocks > 3) x[size_t(96 + j)] *= 4e4f;
    }
    return x;
}

struct ActCase {
    const char* name;
    void (*gpu)(const float*, int64_t, int64_t, int64_t, void*, size_t, cudaStream_t);
    void (*ref)(const float*, void*, int64_t);
    size_t block_bytes;
};

TEST(CudaQuantizeAct, Q8_0AndQ8_1AreTheReferenceBitForBit) {
    HOTROD_REQUIRE_GPU();
    const ActCase cases[] = {
        {"Q8_0", quantize_rows_q8_0, quant::quantize_row_q8_0_act_ref, sizeof(quant::BlockQ8_0)},
        {"Q8_1", quantize_rows_q8_1, quant::quantize_row_q8_1_ref, sizeof(quant::BlockQ8_1)},
    };
    for (const ActCase& c : cases) {
        for (const int64_t n_cols : {int64_t(32), int64_t(288), int64_t(4096)}) {
            const int64_t n_rows = 5, stride = n_cols + 5;
            const size_t packed = size_t(n_cols / quant::QK) * c.block_bytes;
            const size_t out_row = packed + 12;  // padded rows: the kernel must step by out_row_bytes
            const std::vector<float> x = activation_rows(n_rows, n_cols, stride, uint32_t(n_cols));
            const DeviceArray<float> dx(x);
            DeviceArray<uint8_t> dout(size_t(n_rows) * out_row);
            dout.poison(0xcd);
            c.gpu(dx.get(), stride, n_rows, n_cols, dout.get(), out_row, nullptr);
            const std::vector<uint8_t> got = dout.download();
            std::vector<uint8_t> want(packed);
            for (int64_t t = 0; t < n_rows; ++t) {
                c.ref(x.data() + t * stride, want.data(), n_cols);
                EXPECT_EQ(std::memcmp(got.data() + size_t(t) * out_row, want.data(), packed), 0)
                    << c.name << " row " << t << " of " << n_cols << " columns differs from the reference";
            }
        }
    }
}

TEST(CudaQuantizeAct, RejectsRaggedRows) {
    HOTROD_REQUIRE_GPU();
    DeviceArray<float> x(64);
    DeviceArray<uint8_t> out(256);
    EXPECT_THROW(quantize_rows_q8_0(x.get(), 48, 1, 48, out.get(), 256, nullptr), std::invalid_argument);
    EXPECT_THROW(quantize_rows_q8_1(x.get(), 64, 1, 64, out.get(), 40, nullptr), std::invalid_argument);
}

// The fp16 prefill matmul's activations (convert_rows_f16) against quant::fp32_to_fp16 of the value clamped to
// +-65504, bit for bit: random rows at ragged widths and row counts, padded strides on both sides, and the values
// the clamp exists for (past fp16's range, including those that would round to infinity) and fp16 subnormals.
TEST(CudaQuantizeAct, ConvertRowsF16IsTheSaturatedReference) {
    HOTROD_REQUIRE_GPU();
    const float edge[] = {65504.0f, 65519.0f, 65520.0f, 7e4f, 3e38f, -65520.0f, -1e6f, 6e-8f, -3e-6f, 1e-9f};
    for (const int64_t n_cols : {int64_t(2), int64_t(26), int64_t(1030)}) {
        for (const int64_t n_rows : {int64_t(1), int64_t(7)}) {
            const int64_t stride = n_cols + 3;
            std::vector<float> x = random_floats(size_t(n_rows * stride), uint32_t(n_cols * 16 + n_rows), 3.0f);
            for (size_t i = 0; i < std::size(edge) && i < size_t(n_cols); ++i) x[i] = edge[i];
            const size_t out_row = size_t(n_cols) * 2 + 12;  // padded rows: the kernel must step by out_row_bytes
            const DeviceArray<float> dx(x);
            DeviceArray<uint8_t> dout(size_t(n_rows) * out_row);
            dout.poison(0xcd);
            convert_rows_f16(dx.get(), stride, n_rows, n_cols, dout.get(), out_row, nullptr);
            const std::vector<uint8_t> got = dout.download();
            int bad = 0;
            for (int64_t t = 0; t < n_rows; ++t) {
                for (int64_t i = 0; i < n_cols; ++i) {
                    const float v = std::min(std::max(x[size_t(t * stride + i)], -65504.0f), 65504.0f);
                    const uint16_t want = quant::fp32_to_fp16(v);
                    uint16_t h;
                    std::memcpy(&h, got.data() + size_t(t) * out_row + size_t(i) * 2, 2);
                    if (h != want && ++bad <= 3)
                        ADD_FAILURE() << "row " << t << " column " << i << " of " << n_cols << ": " << x[size_t(t * stride + i)]
                                      << " gave fp16 bits " << h << ", reference " << want;
                }
                for (size_t b = size_t(n_cols) * 2; b < out_row; ++b)  // the padding is not the kernel's to write
                    if (got[size_t(t) * out_row + b] != 0xcd && ++bad <= 3) ADD_FAILURE() << "row " << t << " padding written";
            }
        }
    }
    DeviceArray<float> x(64);
    DeviceArray<uint8_t> out(256);
    EXPECT_THROW(convert_rows_f16(x.get(), 64, 1, 63, out.get(), 256, nullptr), std::invalid_argument);  // odd width
    EXPECT_THROW(convert_rows_f16(x.get(), 64, 1, 64, out.get(), 64, nullptr), std::invalid_argument);   // row too short
}

// round_rows_f16 (the fp16 prefill's activations, x on an activation format's 8-bit grid first) against
// quant::round_row_like_act_ref then fp32_to_fp16, bit for bit: each format at ragged row counts and widths, padded
// strides (x rows not 16-byte aligned, so Q8_K's scalar loads run too), an all-zero block, ties and a value past
// fp16's range.
TEST(CudaQuantizeAct, RoundRowsF16IsTheRoundedReference) {
    HOTROD_REQUIRE_GPU();
    for (const DType like : {DType::Q8_0, DType::Q8_1, DType::Q8_K}) {
        const int64_t block = like == DType::Q8_K ? quant::QK_K : quant::QK;
        for (const int64_t n_blocks : {int64_t(1), int64_t(3), int64_t(10)}) {
            for (const int64_t n_rows : {int64_t(1), int64_t(17), int64_t(40)}) {
                const int64_t n_cols = n_blocks * block;
                for (const int64_t stride : {n_cols, n_cols + 3}) {
                    std::vector<float> x = random_floats(size_t(n_rows * stride), uint32_t(n_cols + n_rows + stride), 2.0f);
                    if (n_blocks > 1)
                        std::fill(x.begin() + block, x.begin() + 2 * block, 0.0f);  // row 0's second block: zeros
                    x[0] = 127.0f, x[1] = 0.5f, x[2] = -2.5f;                    // amax 127: ties at k + 0.5
                    if (n_rows > 1) x[size_t(stride)] = 9e4f;                     // rounds past fp16: saturates
                    const size_t out_row = size_t(n_cols) * 2 + 16;
                    const DeviceArray<float> dx(x);
                    DeviceArray<uint8_t> dout(size_t(n_rows) * out_row);
                    dout.poison(0xcd);
                    round_rows_f16(dx.get(), stride, n_rows, n_cols, like, dout.get(), out_row, nullptr);
                    const std::vector<uint8_t> got = dout.download();
                    std::vector<float> ref(static_cast<size_t>(n_cols));
                    int bad = 0;
                    for (int64_t t = 0; t < n_rows; ++t) {
                        quant::round_row_like_act_ref(like, x.data() + t * stride, ref.data(), n_cols);
                        for (int64_t i = 0; i < n_cols; ++i) {
                            const uint16_t want = quant::fp32_to_fp16(std::min(std::max(ref[size_t(i)], -65504.0f), 65504.0f));
                            uint16_t h;
                            std::memcpy(&h, got.data() + size_t(t) * out_row + size_t(i) * 2, 2);
                            if (h != want && ++bad <= 3)
                                ADD_FAILURE() << quant::type_name(like) << " " << n_rows << " x " << n_cols << " stride "
                                              << stride << ": row " << t << " column " << i << " gave fp16 bits " << h
                                              << ", reference " << want << " (x " << x[size_t(t * stride + i)] << ")";
                        }
                        for (size_t b = size_t(n_cols) * 2; b < out_row; ++b)
                            if (got[size_t(t) * out_row + b] != 0xcd && ++bad <= 3) ADD_FAILURE() << "row " << t << " padding written";
                    }
                }
            }
        }
    }
    DeviceArray<float> x(512);
    DeviceArray<uint8_t> out(1024);
    EXPECT_THROW(round_rows_f16(x.get(), 512, 1, 128, DType::Q8_K, out.get(), 512, nullptr), std::invalid_argument);  // not whole blocks
    EXPECT_THROW(round_rows_f16(x.get(), 64, 1, 64, DType::F16, out.get(), 256, nullptr), std::invalid_argument);   // no act format
    EXPECT_THROW(round_rows_f16(x.get(), 64, 1, 64, DType::Q8_0, out.get(), 136, nullptr), std::invalid_argument);  // rows not 16-aligned
}

struct EmbedCase {
    DType type;
    void (*quantize)(const float*, void*, int64_t);  // nullptr: F32, stored as is
    std::vector<int64_t> widths;
};

TEST(CudaEmbed, EveryTypeIsDequantizeTimesScale) {
    HOTROD_REQUIRE_GPU();
    using namespace quant;
    const EmbedCase cases[] = {
        {DType::F32, nullptr, {1, 37}},
        {DType::F16, quantize_row_f16_ref, {1, 37}},
        {DType::BF16, quantize_row_bf16_ref, {1, 37}},
        {DType::Q4_0, quantize_row_q4_0_ref, {32, 288}},
        {DType::Q4_1, quantize_row_q4_1_ref, {32, 288}},
        {DType::Q5_0, quantize_row_q5_0_ref, {32, 288}},
        {DType::Q5_1, quantize_row_q5_1_ref, {32, 288}},
        {DType::Q8_0, quantize_row_q8_0_ref, {32, 288}},
        {DType::Q2_K, quantize_row_q2_k_ref, {256, 2816}},
        {DType::Q3_K, quantize_row_q3_k_ref, {256, 2816}},
        {DType::Q4_K, quantize_row_q4_k_ref, {256, 2816}},
        {DType::Q5_K, quantize_row_q5_k_ref, {256, 2816}},
        {DType::Q6_K, quantize_row_q6_k_ref, {256, 2816}},
    };
    const std::vector<int32_t> ids = {0, 49, 3, 3, 17, 48, 1, 25, 0, 33, 12, 7, 49, 40, 2};
    const int64_t n_table = 50, n = int64_t(ids.size());
    const DeviceArray<int32_t> d_ids(ids);
    for (const EmbedCase& c : cases) {
        for (const int64_t n_cols : c.widths) {
            const size_t packed = row_bytes(c.type, n_cols).value();
            const size_t row = packed + 8;
            std::vector<uint8_t> table(size_t(n_table) * row, 0x5a);
            for (int64_t r = 0; r < n_table; ++r) {
                const std::vector<float> v = random_floats(size_t(n_cols), uint32_t(r) + 1000u * uint32_t(c.type), 0.8f);
                uint8_t* dst = table.data() + size_t(r) * row;
                if (c.quantize) c.quantize(v.data(), dst, n_cols);
                else std::memcpy(dst, v.data(), packed);
            }
            const DeviceArray<uint8_t> d_table(table);
            for (const float scale : {1.0f, 0.37f}) {
                const int64_t out_stride = n_cols + 3;
                DeviceArray<float> out(size_t(n * out_stride));
                out.poison(0xff);
                embed_rows(c.type, d_table.get(), row, n_cols, d_ids.get(), n, scale, out.get(), out_stride, nullptr);
                const std::vector<float> got = out.download();
                std::vector<float> want(static_cast<size_t>(n_cols));
                int bad = 0;
                for (int64_t t = 0; t < n; ++t) {
                    dequantize_row(c.type, table.data() + size_t(ids[size_t(t)]) * row, want.data(), n_cols);
                    if (scale != 1.0f)
                        for (float& v : want) v *= scale;  // as the CPU's embed_row
                    for (int64_t i = 0; i < n_cols; ++i) {
                        const float g = got[size_t(t * out_stride + i)];
                        if (std::memcmp(&g, &want[size_t(i)], sizeof g) != 0 && ++bad <= 3)
                            ADD_FAILURE() << type_name(c.type) << " width " << n_cols << " scale " << scale << ": out["
                                          << t << "][" << i << "] = " << g << ", reference " << want[size_t(i)];
                    }
                }
                EXPECT_EQ(bad, 0) << type_name(c.type) << " width " << n_cols << " scale " << scale;
            }
        }
    }
}

}  // namespace
}  // namespace hotrod::cuda::test
