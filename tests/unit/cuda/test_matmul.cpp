// Matmul on the GPU (matmul.cu, matmul_decode.cu, matmul_prefill.cu) against the CPU scalar references, for every
// weight type: weights written by quantize_row_*_ref, random activations quantized by the matching
// quantize_row_q8_*_ref, and y[t][r] = dot_ref_<type>(n_in, weight row r, x row t). Every block term is exact
// (integer sums, the reference's float roundings), so only the order of float additions differs.
// Tolerance: |gpu - ref| <= 1e-5 * sum of |terms| (per block for block formats, per element for float formats):
// reordering a float sum of n terms moves it by at most ~n * 2^-24 * sum |terms| (n <= 128 blocks here: 7.6e-6,
// and the typical random-walk error is far smaller); a wrong block, part or scale is off by whole terms.
// The prefill path of most block formats (matmul_mma_f16.cu, f16_prefill below) reads x and the weights as fp16
// instead, x first rounded to its activation format's 8-bit grid (round_rows_f16): its reference is the
// dequantized row (dequantize_row, the CPU scalar dequantizer) times that x (quant::round_row_like_act_ref) in
// double, within kF16Tol of sum |w x| (each weight and activation rounded to fp16: <= ~2^-10 a term at worst).
// cuda_runtime.h (not only the _api header) for the typed cudaMalloc overload DeviceArray calls.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cuda/matmul.h"
#include "cuda/matmul_kernels.h"
#include "cuda/quantize_act.h"
#include "gpu_test_util.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/dot_ref.h"
#include "quant/quantize.h"
#include "quant/types.h"

namespace hotrod::cuda::test {
namespace {

using quant::DType;

void copy_f32(const float* x, void* dst, int64_t n) { std::memcpy(dst, x, size_t(n) * sizeof(float)); }

// A weight type with its scalar references: how weights are written, how x is quantized, the dot product.
struct TypeCase {
    DType type;
    void (*quantize_w)(const float*, void*, int64_t);
    float (*dot)(int64_t, const void*, const void*);
    void (*quantize_x)(const float*, void*, int64_t);  // the activation format's reference quantizer
    size_t act_block_bytes;                             // sizeof its block (4: one float)
    int act_block_elems;                                // elements per activation block (1 for float weights)
    std::vector<int64_t> n_ins;                         // one block, a ragged count of blocks, model widths
};

const std::vector<TypeCase>& type_cases() {
    using namespace quant;
    static const std::vector<TypeCase> cases = {
        {DType::F32, copy_f32, dot_ref_f32, copy_f32, 4, 1, {5, 300, 4096}},
        {DType::F16, quantize_row_f16_ref, dot_ref_f16, copy_f32, 4, 1, {1, 37, 4096}},
        {DType::BF16, quantize_row_bf16_ref, dot_ref_bf16, copy_f32, 4, 1, {33, 288, 4096}},
        {DType::Q4_0, quantize_row_q4_0_ref, dot_ref_q4_0, quantize_row_q8_0_act_ref, sizeof(BlockQ8_0), QK, {32, 288, 576, 4096}},
        {DType::Q4_1, quantize_row_q4_1_ref, dot_ref_q4_1, quantize_row_q8_1_ref, sizeof(BlockQ8_1), QK, {32, 288, 576, 4096}},
        {DType::Q5_0, quantize_row_q5_0_ref, dot_ref_q5_0, quantize_row_q8_0_act_ref, sizeof(BlockQ8_0), QK, {32, 288, 576, 4096}},
        {DType::Q5_1, quantize_row_q5_1_ref, dot_ref_q5_1, quantize_row_q8_1_ref, sizeof(BlockQ8_1), QK, {32, 288, 576, 4096}},
        {DType::Q8_0, quantize_row_q8_0_ref, dot_ref_q8_0, quantize_row_q8_0_act_ref, sizeof(BlockQ8_0), QK, {32, 288, 576, 4096}},
        {DType::Q2_K, quantize_row_q2_k_ref, dot_ref_q2_k, quantize_row_q8_k_ref, sizeof(BlockQ8_K), QK_K, {256, 2816, 4096}},
        {DType::Q3_K, quantize_row_q3_k_ref, dot_ref_q3_k, quantize_row_q8_k_ref, sizeof(BlockQ8_K), QK_K, {256, 2816, 4096}},
        {DType::Q4_K, quantize_row_q4_k_ref, dot_ref_q4_k, quantize_row_q8_k_ref, sizeof(BlockQ8_K), QK_K, {256, 2816, 4096}},
        {DType::Q5_K, quantize_row_q5_k_ref, dot_ref_q5_k, quantize_row_q8_k_ref, sizeof(BlockQ8_K), QK_K, {256, 2816, 4096}},
        {DType::Q6_K, quantize_row_q6_k_ref, dot_ref_q6_k, quantize_row_q8_k_ref, sizeof(BlockQ8_K), QK_K, {256, 2816, 4096}},
    };
    return cases;
}

const TypeCase& type_case(DType type) {
    for (const TypeCase& c : type_cases())
        if (c.type == type) return c;
    throw std::invalid_argument("no test case for this type");
}

constexpr int64_t kMaxOut = 300;
const int64_t kOuts[] = {1, 7, 33, 300};
const int64_t kRows[] = {1, 2, 5, 16, 17, 40, 129};
constexpr float kRelTol = 1e-5f;  // of sum |terms|: see the file comment
constexpr float kF16Tol = 2e-3f;  // of sum |w x| on the fp16 prefill path: see the file comment

// The weights whose prefill rows (more than kMaxDecodeRows) take the fp16 tensor-core path: the K formats it has,
// and the 32-element formats at widths of whole 64-element steps (others take the dp4a tiles).
bool f16_prefill(DType type, int64_t n_in) {
    switch (type) {
        case DType::Q4_K: case DType::Q6_K: return true;
        case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q5_1: case DType::Q8_0: return n_in % 64 == 0;
        default: return false;
    }
}

// One weight matrix and one batch of activations on host and device, with the reference products of all of them.
struct Problem {
    const TypeCase& tc;
    int64_t n_in, n_out, n_rows;
    size_t w_row_bytes;         // padded past the packed row: the kernels must step by row_bytes, not by n_in
    int64_t x_stride;           // floats, > n_in
    std::vector<uint8_t> w;     // n_out rows
    std::vector<float> x;       // n_rows rows
    std::vector<float> ref;     // [t * n_out + r]
    std::vector<float> mag;     // sum of |block terms| of ref
    std::vector<float> ref_f;   // f16_prefill types: dequantized w times x on its act grid, [t * n_out + r]
    std::vector<float> mag_f;   // and sum |w x|

    Problem(const TypeCase& c, int64_t in, int64_t out, int64_t rows, uint32_t seed)
        : tc(c), n_in(in), n_out(out), n_rows(rows) {
        const size_t packed = quant::row_bytes(c.type, in).value();
        w_row_bytes = packed + 8;
        x_stride = in + 3;
        w.assign(size_t(out) * w_row_bytes, 0xa5);
        for (int64_t r = 0; r < out; ++r) {
            // Rows of different spread, so the scales differ from row to row.
            const std::vector<float> wf = random_floats(size_t(in), seed * 7919u + uint32_t(r), 0.5f + 0.01f * float(r % 97));
            c.quantize_w(wf.data(), w.data() + size_t(r) * w_row_bytes, in);
        }
        x = random_floats(size_t(rows) * size_t(x_stride), seed + 17u, 1.0f);

        const int64_t act_blocks = in / c.act_block_elems;
        const size_t act_row = size_t(act_blocks) * c.act_block_bytes;
        const size_t w_block = packed / size_t(act_blocks);
        std::vector<uint8_t> xq(act_row);
        ref.assign(size_t(rows * out), 0.0f);
        mag.assign(size_t(rows * out), 0.0f);
        for (int64_t t = 0; t < rows; ++t) {
            c.quantize_x(x.data() + t * x_stride, xq.data(), in);
            for (int64_t r = 0; r < out; ++r) {
                const uint8_t* wr = w.data() + size_t(r) * w_row_bytes;
                ref[size_t(t * out + r)] = c.dot(in, wr, xq.data());
                double m = 0;
                for (int64_t b = 0; b < act_blocks; ++b)
                    m += std::fabs(c.dot(c.act_block_elems, wr + size_t(b) * w_block, xq.data() + size_t(b) * c.act_block_bytes));
                mag[size_t(t * out + r)] = float(m);
            }
        }
        if (!f16_prefill(c.type, in)) return;
        ref_f.assign(size_t(rows * out), 0.0f);
        mag_f.assign(size_t(rows * out), 0.0f);
        std::vector<float> wd(static_cast<size_t>(in)), xr(size_t(rows * in));
        for (int64_t t = 0; t < rows; ++t)
            quant::round_row_like_act_ref(Matmul::act_type(c.type), x.data() + t * x_stride, xr.data() + t * in, in);
        for (int64_t r = 0; r < out; ++r) {
            quant::dequantize_row(c.type, w.data() + size_t(r) * w_row_bytes, wd.data(), in);
            for (int64_t t = 0; t < rows; ++t) {
                double sum = 0, m = 0;
                for (int64_t i = 0; i < in; ++i) {
                    const double term = double(wd[size_t(i)]) * double(xr[size_t(t * in + i)]);
                    sum += term;
                    m += std::fabs(term);
                }
                ref_f[size_t(t * out + r)] = float(sum);
                mag_f[size_t(t * out + r)] = float(m);
            }
        }
    }
};

// Runs the GPU matmul on the first n_out weight rows and first n_rows activation rows (starting at row `first`)
// and returns y as [t * n_out + r].
// decode_rows: Matmul::run's (-1: by row count).
std::vector<float> run_gpu(Matmul& mm, const Problem& p, const DeviceArray<uint8_t>& w, const DeviceArray<float>& x,
                           int64_t n_out, int64_t n_rows, int64_t first = 0, bool x_unchanged = false,
                           int64_t decode_rows = -1) {
    const int64_t y_stride = n_out + 5;
    DeviceArray<float> y(size_t(n_rows * y_stride));
    y.poison(0xff);  // NaN: an output never written fails every comparison
    const DeviceWeight dw{p.tc.type, w.get(), n_out, p.n_in, p.w_row_bytes};
    const DeviceRows dx{x.get() + first * p.x_stride, n_rows, p.n_in, p.x_stride};
    const DeviceRows dy{y.get(), n_rows, n_out, y_stride};
    mm.run(dw, dx, dy, x_unchanged, nullptr, decode_rows);
    const std::vector<float> yh = y.download();
    std::vector<float> out(size_t(n_rows * n_out));
    for (int64_t t = 0; t < n_rows; ++t)
        for (int64_t r = 0; r < n_out; ++r) out[size_t(t * n_out + r)] = yh[size_t(t * y_stride + r)];
    return out;
}

// Checks got[t * n_out + r] against the reference of activation row first + t; returns the worst |err| / sum|terms|.
// Rows that took the prefill path (`prefill`; -1: a call of more than kMaxDecodeRows rows) of an f16_prefill type
// are checked against ref_f within kF16Tol.
double check(const Problem& p, const std::vector<float>& got, int64_t n_out, int64_t n_rows, int64_t first,
             const std::string& what, float rel_tol = kRelTol, int prefill = -1) {
    const bool f16 = f16_prefill(p.tc.type, p.n_in) && (prefill < 0 ? n_rows > kMaxDecodeRows : prefill == 1);
    const std::vector<float>& want = f16 ? p.ref_f : p.ref;
    const std::vector<float>& mag = f16 ? p.mag_f : p.mag;
    if (f16) rel_tol = kF16Tol;
    double worst = 0;
    int bad = 0;
    for (int64_t t = 0; t < n_rows; ++t) {
        for (int64_t r = 0; r < n_out; ++r) {
            const size_t ri = size_t((first + t) * p.n_out + r);
            const float g = got[size_t(t * n_out + r)];
            const double err = std::fabs(double(g) - double(want[ri]));
            const double rel = err / std::max(double(mag[ri]), 1e-30);
            worst = std::max(worst, std::isfinite(g) ? rel : INFINITY);
            if (!(err <= rel_tol * mag[ri]) && ++bad <= 3)
                ADD_FAILURE() << what << ": y[" << first + t << "][" << r << "] = " << g << ", reference "
                              << want[ri] << " (sum |terms| " << mag[ri] << (f16 ? ", fp16 path)" : ")");
        }
    }
    EXPECT_EQ(bad, 0) << what << ": " << bad << " outputs off, worst |err| / sum|terms| = " << worst;
    return worst;
}

std::string label(const TypeCase& c, int64_t n_in, int64_t n_out, int64_t n_rows) {
    return std::string(quant::type_name(c.type)) + " n_in " + std::to_string(n_in) + " n_out " +
           std::to_string(n_out) + " rows " + std::to_string(n_rows);
}

class CudaMatmulType : public ::testing::TestWithParam<DType> {};

// Every shape of the grid: n_out in kOuts x rows in kRows (decode up to 16 rows, prefill past), three widths.
TEST_P(CudaMatmulType, MatchesDotRef) {
    HOTROD_REQUIRE_GPU();
    const TypeCase& c = type_case(GetParam());
    ASSERT_TRUE(matmul_supports(c.type)) << quant::type_name(c.type);
    for (const int64_t n_in : c.n_ins) {
        // The widest rows get 40 token rows, not 129, to keep the scalar reference quick.
        const int64_t max_rows = n_in >= 4096 ? 40 : 129;
        const Problem p(c, n_in, kMaxOut, max_rows, uint32_t(n_in) * 31u + uint32_t(c.type));
        const DeviceArray<uint8_t> w(p.w);
        const DeviceArray<float> x(p.x);
        Matmul mm;
        double worst = 0;
        for (const int64_t n_out : kOuts) {
            for (const int64_t n_rows : kRows) {
                if (n_rows > max_rows) continue;
                const std::vector<float> y = run_gpu(mm, p, w, x, n_out, n_rows);
                worst = std::max(worst, check(p, y, n_out, n_rows, 0, label(c, n_in, n_out, n_rows)));
            }
        }
        std::printf("  %s n_in %lld: worst |err| / sum|terms| %.3g\n", std::string(quant::type_name(c.type)).c_str(),
                    static_cast<long long>(n_in), worst);
    }
}

// The two paths agree: rows 0..15 and 16..31 as two decode calls against the same rows inside one 40-row prefill
// call (each path within kRelTol of the reference, so within twice that of each other; for the fp16 prefill types
// each within its own reference, and the two within 1% of sum |w x|: Q8_K's rounding of x, <= 1/254 of a block's
// largest activation a term).
TEST_P(CudaMatmulType, DecodeEqualsPrefill) {
    HOTROD_REQUIRE_GPU();
    const TypeCase& c = type_case(GetParam());
    const int64_t n_in = c.n_ins[1];
    const Problem p(c, n_in, 77, 40, 4242u + uint32_t(c.type));
    const DeviceArray<uint8_t> w(p.w);
    const DeviceArray<float> x(p.x);
    Matmul mm;
    const std::vector<float> pre = run_gpu(mm, p, w, x, p.n_out, 40);
    const bool f16 = f16_prefill(c.type, n_in);
    if (f16) check(p, pre, p.n_out, 40, 0, label(c, n_in, p.n_out, 40));
    for (const int64_t first : {int64_t(0), int64_t(16)}) {
        const std::vector<float> dec = run_gpu(mm, p, w, x, p.n_out, kMaxDecodeRows, first);
        if (f16) check(p, dec, p.n_out, kMaxDecodeRows, first, label(c, n_in, p.n_out, kMaxDecodeRows));
        int bad = 0;
        for (int64_t t = 0; t < kMaxDecodeRows; ++t) {
            for (int64_t r = 0; r < p.n_out; ++r) {
                const size_t i = size_t((first + t) * p.n_out + r);
                const float a = dec[size_t(t * p.n_out + r)], b = pre[i];
                const double tol = f16 ? 1e-2 * p.mag_f[i] : 2 * kRelTol * p.mag[i];
                if (!(std::fabs(a - b) <= tol) && ++bad <= 3)
                    ADD_FAILURE() << quant::type_name(c.type) << ": row " << first + t << " output " << r
                                  << ": decode " << a << ", prefill " << b;
            }
        }
        EXPECT_EQ(bad, 0);
    }
}

// A decode row's result does not depend on how many rows share the step: each of 16 rows computed alone (one-row
// launch: the Q4_K chunk kernel where it takes the launch) equals, bit for bit, the same row inside a 16-row launch,
// so a sequence decoded alone and batched with others gets the same logits from the matmuls.
TEST_P(CudaMatmulType, DecodeRowIndependentOfRowCount) {
    HOTROD_REQUIRE_GPU();
    const TypeCase& c = type_case(GetParam());
    const int64_t n_in = c.n_ins[1];
    const Problem p(c, n_in, 45, kMaxDecodeRows, 777u + uint32_t(c.type));
    const DeviceArray<uint8_t> w(p.w);
    const DeviceArray<float> x(p.x);
    Matmul mm;
    const std::vector<float> all = run_gpu(mm, p, w, x, p.n_out, kMaxDecodeRows);
    int bad = 0;
    for (int64_t t = 0; t < kMaxDecodeRows; ++t) {
        const std::vector<float> alone = run_gpu(mm, p, w, x, p.n_out, 1, t);
        if (std::memcmp(alone.data(), all.data() + size_t(t * p.n_out), size_t(p.n_out) * sizeof(float)) != 0 &&
            ++bad <= 3)
            ADD_FAILURE() << quant::type_name(c.type) << ": row " << t << " alone differs from the same row among 16";
    }
    EXPECT_EQ(bad, 0);
}

// Batch invariance (Matmul::run's decode_rows): a row's result depends on its kind and its own values only. A step
// of 21 decode rows (two decode launches: 16 + 5) and 19 prompt rows (the prefill path) gives, bit for bit, each
// decode row's one-row decode result and each prompt row's result among the prompt rows alone, alone as one row,
// and in a step of 40 prompt rows; every row also within tolerance of the reference for its path.
TEST_P(CudaMatmulType, RowsIndependentOfTheirStep) {
    HOTROD_REQUIRE_GPU();
    const TypeCase& c = type_case(GetParam());
    const int64_t n_in = c.n_ins[1], n = 40, d = 21;
    const Problem p(c, n_in, 45, n, 991u + uint32_t(c.type));
    const DeviceArray<uint8_t> w(p.w);
    const DeviceArray<float> x(p.x);
    Matmul mm;
    const std::string name(quant::type_name(c.type));
    const std::vector<float> mixed = run_gpu(mm, p, w, x, p.n_out, n, 0, false, d);
    const std::vector<float> all_prompt = run_gpu(mm, p, w, x, p.n_out, n, 0, false, 0);
    const std::vector<float> prompt_rows = run_gpu(mm, p, w, x, p.n_out, n - d, d, false, 0);
    check(p, std::vector<float>(mixed.begin(), mixed.begin() + d * p.n_out), p.n_out, d, 0, name + " decode rows",
          kRelTol, 0);
    check(p, prompt_rows, p.n_out, n - d, d, name + " prompt rows", kRelTol, 1);
    const auto row = [&](const std::vector<float>& v, int64_t t) { return v.data() + size_t(t * p.n_out); };
    const size_t row_bytes = size_t(p.n_out) * sizeof(float);
    int bad = 0;
    for (int64_t t = 0; t < n; ++t) {
        const bool dec = t < d;
        const std::vector<float> alone = run_gpu(mm, p, w, x, p.n_out, 1, t, false, dec ? 1 : 0);
        const char* why = nullptr;
        if (std::memcmp(alone.data(), row(mixed, t), row_bytes) != 0) why = "alone differs from the mixed step";
        else if (!dec && std::memcmp(row(prompt_rows, t - d), row(mixed, t), row_bytes) != 0)
            why = "the prompt rows alone differ from the mixed step";
        else if (!dec && std::memcmp(row(all_prompt, t), row(mixed, t), row_bytes) != 0)
            why = "a 40-row prompt step differs from the mixed step";
        if (why != nullptr && ++bad <= 3) ADD_FAILURE() << name << ": row " << t << (dec ? " (decode): " : " (prompt): ") << why;
    }
    EXPECT_EQ(bad, 0);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, CudaMatmulType,
                         ::testing::Values(DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                                           DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K, DType::Q4_K,
                                           DType::Q5_K, DType::Q6_K),
                         [](const ::testing::TestParamInfo<DType>& info) {
                             return std::string(quant::type_name(info.param));
                         });

// x_unchanged reuses the quantized x only when the scratch holds the format the next weight needs: the 32-element
// formats share Q8_1 activations (formats_q32.cuh), Q4_K needs Q8_K, Q6_K reuses it, then Q4_0 needs Q8_1 again.
// The tensor-core decode kernel (matmul_decode_mma.cu) called directly, with 4 and with 8 warps a block: Q4_K and
// Q6_K at 1-16 token rows against the reference (the decode path's tolerance: exact block sums, float order only),
// with one split bit for bit the dp4a decode kernel's outputs, a row's outputs bit for bit the same at every row
// count (1, 5, 9, 16), and y += W x.
// Block sizes and cluster splits the tests run the tensor-core decode with: {warps, splits}; splits > 1 only where
// the GPU has clusters (compute 9.0+). 3 splits: shares of the super-blocks that differ in size.
std::vector<std::pair<int, int>> decode_mma_blockings() {
    std::vector<std::pair<int, int>> b = {{4, 1}, {8, 1}};
    int device = 0, major = 0;
    HOTROD_CUDA_CHECK(cudaGetDevice(&device));
    HOTROD_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    if (major >= 9) b.insert(b.end(), {{4, 2}, {4, 3}, {4, 8}, {8, 4}});
    return b;
}

TEST(CudaMatmul, DecodeMmaMatchesTheReferenceAtAnyRowCount) {
    HOTROD_REQUIRE_GPU();
    for (const auto& [warps, splits] : decode_mma_blockings())
    for (const DType type : {DType::Q4_K, DType::Q6_K}) {
        const TypeCase& c = type_case(type);
        for (const int64_t n_in : c.n_ins) {
            const Problem p(c, n_in, 77, kMaxDecodeRows, 5150u + uint32_t(n_in) + uint32_t(type));
            const DeviceArray<uint8_t> w(p.w);
            const DeviceArray<float> x(p.x);
            const size_t rb = Matmul::act_row_bytes(DType::Q8_K, n_in);
            DeviceArray<uint8_t> xq(size_t(kMaxDecodeRows) * rb);
            quantize_rows_q8_k(x.get(), p.x_stride, kMaxDecodeRows, n_in, xq.get(), rb, nullptr);
            const DeviceWeight dw{type, w.get(), p.n_out, n_in, p.w_row_bytes};
            ASSERT_TRUE(detail::matmul_decode_mma_takes(dw)) << quant::type_name(type);
            // Rows [first, first + n) of x through the kernel; y as [t * n_out + r].
            const auto run = [&](int64_t first, int64_t n, const std::vector<float>* y0 = nullptr) {
                DeviceArray<float> y(size_t(n * p.n_out));
                if (y0) y.upload(*y0);
                else y.poison(0xff);
                DeviceRows dy{y.get(), n, p.n_out, p.n_out};
                dy.accumulate = y0 != nullptr;
                EXPECT_TRUE(detail::matmul_decode_mma(dw, xq.get() + first * rb, rb, n, dy, nullptr, warps, splits));
                return y.download();
            };
            const std::string what =
                label(c, n_in, p.n_out, kMaxDecodeRows) + " (decode mma, " + std::to_string(warps) + " warps, " +
                std::to_string(splits) + " splits)";
            const std::vector<float> all = run(0, kMaxDecodeRows);
            check(p, all, p.n_out, kMaxDecodeRows, 0, what, kRelTol, 0);
            if (splits == 1) {  // one split: the dp4a decode kernel's bits (=rows mixes the two by row count)
                DeviceArray<float> yq(size_t(kMaxDecodeRows * p.n_out));
                yq.poison(0xff);
                const DeviceRows dq{yq.get(), kMaxDecodeRows, p.n_out, p.n_out};
                detail::matmul_decode_quant({&dw, 1}, {&dq, 1}, xq.get(), rb, kMaxDecodeRows, nullptr);
                const std::vector<float> dp4a = yq.download();
                size_t differ = 0;
                for (size_t i = 0; i < all.size(); ++i) differ += std::memcmp(&all[i], &dp4a[i], sizeof(float)) != 0;
                EXPECT_EQ(differ, 0u) << what << ": outputs that differ from the dp4a decode kernel's";
            }
            int bad = 0;
            for (const int64_t n : {int64_t(1), int64_t(5), int64_t(9)}) {
                for (int64_t first = 0; first + n <= kMaxDecodeRows; first += n) {
                    const std::vector<float> part = run(first, n);
                    if (std::memcmp(part.data(), all.data() + first * p.n_out, size_t(n * p.n_out) * sizeof(float)) != 0 &&
                        ++bad <= 3)
                        ADD_FAILURE() << what << ": rows " << first << ".." << first + n - 1 << " in a launch of " << n
                                      << " differ from the same rows in a launch of 16";
                }
            }
            EXPECT_EQ(bad, 0);
            // y += W x: the same add as the decode epilogue's (y0 + product, one rounding).
            std::vector<float> y0(size_t(3 * p.n_out));
            for (size_t i = 0; i < y0.size(); ++i) y0[i] = float(int(i % 17) - 8) * 0.25f;
            const std::vector<float> acc = run(2, 3, &y0);
            for (size_t i = 0; i < y0.size(); ++i)
                if (acc[i] != y0[i] + all[size_t(2 * p.n_out) + i] && ++bad <= 3)
                    ADD_FAILURE() << what << ": accumulate at " << i << ": " << acc[i] << " vs "
                                  << y0[i] + all[size_t(2 * p.n_out) + i];
            EXPECT_EQ(bad, 0);
        }
    }
}

// Gate and up in one launch (two weights of one shape, blockIdx.y picking each): every product the same bits as
// in its own launch, at 1, 5 and 16 rows and both block sizes.
TEST(CudaMatmul, DecodeMmaSharedLaunchEqualsSeparate) {
    HOTROD_REQUIRE_GPU();
    for (const auto& [warps, splits] : decode_mma_blockings())
        for (const DType type : {DType::Q4_K, DType::Q6_K}) {
            const TypeCase& c = type_case(type);
            const int64_t n_in = c.n_ins.back();
            const Problem a(c, n_in, 77, kMaxDecodeRows, 7000u + uint32_t(type));
            const Problem b(c, n_in, 77, kMaxDecodeRows, 7100u + uint32_t(type));  // its weights only (the separate
            // launches, checked against the reference in the test above, are this one's reference)
            const DeviceArray<uint8_t> wa(a.w), wb(b.w);
            const DeviceArray<float> x(a.x);
            const size_t rb = Matmul::act_row_bytes(DType::Q8_K, n_in);
            DeviceArray<uint8_t> xq(size_t(kMaxDecodeRows) * rb);
            quantize_rows_q8_k(x.get(), a.x_stride, kMaxDecodeRows, n_in, xq.get(), rb, nullptr);
            const DeviceWeight ws[2] = {{type, wa.get(), a.n_out, n_in, a.w_row_bytes},
                                        {type, wb.get(), b.n_out, n_in, b.w_row_bytes}};
            for (const int64_t n : {int64_t(1), int64_t(5), int64_t(16)}) {
                const std::string what = label(c, n_in, a.n_out, n) + " (" + std::to_string(warps) + " warps, " +
                                         std::to_string(splits) + " splits)";
                DeviceArray<float> y0(size_t(n * a.n_out)), y1(size_t(n * a.n_out)), s0(size_t(n * a.n_out)),
                    s1(size_t(n * a.n_out));
                for (auto* y : {&y0, &y1, &s0, &s1}) y->poison(0xff);
                const DeviceRows ys[2] = {{y0.get(), n, a.n_out, a.n_out}, {y1.get(), n, a.n_out, a.n_out}};
                ASSERT_TRUE(detail::matmul_decode_mma(ws, ys, xq.get(), rb, n, nullptr, warps, splits)) << what;
                ASSERT_TRUE(detail::matmul_decode_mma(ws[0], xq.get(), rb, n, {s0.get(), n, a.n_out, a.n_out}, nullptr,
                                                      warps, splits));
                ASSERT_TRUE(detail::matmul_decode_mma(ws[1], xq.get(), rb, n, {s1.get(), n, a.n_out, a.n_out}, nullptr,
                                                      warps, splits));
                EXPECT_EQ(y0.download(), s0.download()) << what << ": the first product";
                EXPECT_EQ(y1.download(), s1.download()) << what << ": the second product";
            }
        }
}

TEST(CudaMatmul, XUnchangedReusesOnlyTheMatchingFormat) {
    HOTROD_REQUIRE_GPU();
    const int64_t n_in = 512, n_out = 45;
    for (const int64_t n_rows : {int64_t(3), int64_t(21)}) {
        Matmul mm;
        bool first = true;
        for (const DType type : {DType::Q4_0, DType::Q8_0, DType::Q4_1, DType::Q5_1, DType::Q4_K, DType::Q6_K, DType::Q4_0}) {
            const Problem p(type_case(type), n_in, n_out, n_rows, 99u);  // same seed: the same x every time
            const DeviceArray<uint8_t> w(p.w);
            const DeviceArray<float> x(p.x);
            const std::vector<float> y = run_gpu(mm, p, w, x, n_out, n_rows, 0, !first);
            check(p, y, n_out, n_rows, 0, label(p.tc, n_in, n_out, n_rows) + " after x_unchanged");
            first = false;
        }
    }
}

// run_shared (q/k/v, gate/up) gives each product bit for bit what run gives it alone: consecutive products of one
// type share a launch at decode sizes (Q4_K Q4_K Q6_K: the first two together, the third alone; three Q4_K: one
// launch), and every row count, decode and prefill, is checked against the reference too.
TEST(CudaMatmul, SharedEqualsSeparate) {
    HOTROD_REQUIRE_GPU();
    const int64_t n_in = 2816;
    const std::vector<std::vector<DType>> groups = {{DType::Q4_K, DType::Q4_K, DType::Q6_K},
                                                    {DType::Q4_K, DType::Q4_K, DType::Q4_K},
                                                    {DType::Q8_0, DType::Q8_0}};
    const int64_t outs[] = {77, 13, 40};
    for (const std::vector<DType>& types : groups) {
        for (const int64_t n_rows : {int64_t(1), int64_t(5), int64_t(16), int64_t(21)}) {
            std::vector<Problem> ps;
            ps.reserve(types.size());
            for (size_t i = 0; i < types.size(); ++i)
                ps.emplace_back(type_case(types[i]), n_in, outs[i], n_rows, 123u);  // one seed: one x for all
            std::vector<std::unique_ptr<DeviceArray<uint8_t>>> ws;
            std::vector<std::unique_ptr<DeviceArray<float>>> ys;
            for (const Problem& p : ps) {
                ws.push_back(std::make_unique<DeviceArray<uint8_t>>(p.w));
                ys.push_back(std::make_unique<DeviceArray<float>>(size_t(n_rows * p.n_out)));
                ys.back()->poison(0xff);
            }
            const DeviceArray<float> x(ps[0].x);
            SharedOuts so;
            for (size_t i = 0; i < ps.size(); ++i) {
                so.w[i] = DeviceWeight{ps[i].tc.type, ws[i]->get(), ps[i].n_out, n_in, ps[i].w_row_bytes};
                so.y[i] = DeviceRows{ys[i]->get(), n_rows, ps[i].n_out, ps[i].n_out};
            }
            so.n = int(ps.size());
            Matmul mm;
            mm.run_shared(so, DeviceRows{x.get(), n_rows, n_in, ps[0].x_stride}, false, nullptr);
            for (size_t i = 0; i < ps.size(); ++i) {
                const std::string what = label(ps[i].tc, n_in, ps[i].n_out, n_rows) + " product " + std::to_string(i);
                const std::vector<float> shared = ys[i]->download();
                check(ps[i], shared, ps[i].n_out, n_rows, 0, what + " (shared)");
                Matmul alone;
                const DeviceArray<float> x_alone(ps[i].x);
                const std::vector<float> single = run_gpu(alone, ps[i], *ws[i], x_alone, ps[i].n_out, n_rows);
                EXPECT_EQ(std::memcmp(shared.data(), single.data(), shared.size() * sizeof(float)), 0)
                    << what << ": shared and alone differ";
            }
        }
    }
}

// y += W x (DeviceRows::accumulate, the decode kernels' epilogue behind CudaBackend::matmul_residual) gives the bits
// of y + (W x) added on the host, for each block format's decode path (1 to 16 token rows, both decode kernels'
// formats: whole-word Q4_K/Q5_K and staged Q6_K/Q8_0/Q4_1); float weights and prefill rows refuse it.
TEST(CudaMatmul, AccumulateAddsTheProductToY) {
    HOTROD_REQUIRE_GPU();
    for (DType type : {DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_0, DType::Q4_1}) {
        for (const int64_t n_rows : {int64_t(1), int64_t(2), int64_t(7), int64_t(16)}) {
            const int64_t n_in = 2560, n_out = 93;
            const Problem p(type_case(type), n_in, n_out, n_rows, 321u);
            const DeviceArray<uint8_t> w(p.w);
            const DeviceArray<float> x(p.x);
            Matmul mm;
            const std::vector<float> product = run_gpu(mm, p, w, x, n_out, n_rows);
            const std::vector<float> residual = random_floats(size_t(n_rows * n_out), 99u, 3.0f);
            DeviceArray<float> y(residual);
            const DeviceWeight dw{type, w.get(), n_out, n_in, p.w_row_bytes};
            DeviceRows dy{y.get(), n_rows, n_out, n_out};
            dy.accumulate = true;
            Matmul acc;
            acc.run(dw, DeviceRows{x.get(), n_rows, n_in, p.x_stride}, dy, false, nullptr);
            const std::vector<float> got = y.download();
            for (size_t i = 0; i < got.size(); ++i)
                ASSERT_EQ(got[i], residual[i] + product[i]) << label(p.tc, n_in, n_out, n_rows) << " element " << i;
        }
    }
    const Problem p(type_case(DType::Q8_0), 256, 8, 17, 5u);
    const DeviceArray<uint8_t> w(p.w);
    const DeviceArray<float> x(p.x);
    DeviceArray<float> y(size_t(17 * 8));
    DeviceRows dy{y.get(), 17, 8, 8};
    dy.accumulate = true;
    Matmul mm;
    EXPECT_THROW(mm.run(DeviceWeight{DType::Q8_0, w.get(), 8, 256, p.w_row_bytes},
                        DeviceRows{x.get(), 17, 256, p.x_stride}, dy, false, nullptr),
                 std::invalid_argument);
}

// The fp16 prefill's two tile heights (64 and 128 tokens a block; Matmul::run picks one by the grid and the SM
// count, so the grids above may take only one): each against the dequantized reference, ragged rows and tokens.
TEST(CudaMatmul, F16PrefillBothTileHeights) {
    HOTROD_REQUIRE_GPU();
    const std::pair<DType, int64_t> cases[] = {{DType::Q4_K, 2816}, {DType::Q6_K, 2816}, {DType::Q5_0, 576},
                                               {DType::Q8_0, 576}};
    for (const auto& [type, n_in] : cases) {
        const int64_t n_out = 300, n_rows = 129;
        const Problem p(type_case(type), n_in, n_out, n_rows, 77u);
        const DeviceArray<uint8_t> w(p.w);
        const DeviceArray<float> x(p.x);
        const size_t x_row_bytes = Matmul::act_row_bytes(DType::F16, n_in);
        DeviceArray<uint8_t> xh(size_t(n_rows) * x_row_bytes);
        round_rows_f16(x.get(), p.x_stride, n_rows, n_in, Matmul::act_type(type), xh.get(), x_row_bytes, nullptr);
        std::vector<float> first;
        for (const int toks : {64, 128}) {
            DeviceArray<float> y(size_t(n_rows * n_out));
            y.poison(0xff);
            const DeviceWeight dw{type, w.get(), n_out, n_in, p.w_row_bytes};
            const DeviceRows dy{y.get(), n_rows, n_out, n_out};
            ASSERT_TRUE(detail::matmul_prefill_f16(dw, xh.get(), x_row_bytes, n_rows, dy, nullptr, toks));
            const std::vector<float> got = y.download();
            const double worst = check(p, got, n_out, n_rows, 0,
                                       label(p.tc, n_in, n_out, n_rows) + " tokens a block " + std::to_string(toks));
            std::printf("  %s %d tokens a block: worst |err| / sum|w x| %.3g\n",
                        std::string(quant::type_name(type)).c_str(), toks, worst);
            // The same MMAs in the same order at either height (and pipeline depth): the same bits, so a prompt
            // token's products do not depend on which variant its step's size picked.
            if (first.empty()) first = got;
            else EXPECT_EQ(std::memcmp(first.data(), got.data(), got.size() * sizeof(float)), 0)
                << quant::type_name(type) << ": 64- and 128-token blocks differ";
        }
    }
}

// A scratch reserved up front is enough: runs after reserve() allocate nothing (the pointer stays put is not
// observable, so this checks that results stay right when reserve() was called with the largest shape first).
TEST(CudaMatmul, ReserveThenRun) {
    HOTROD_REQUIRE_GPU();
    Matmul mm;
    mm.reserve(129, 4096);
    const Problem p(type_case(DType::Q5_0), 288, 33, 129, 5u);
    const DeviceArray<uint8_t> w(p.w);
    const DeviceArray<float> x(p.x);
    check(p, run_gpu(mm, p, w, x, 33, 129), 33, 129, 0, "Q5_0 after reserve");
    check(p, run_gpu(mm, p, w, x, 33, 7), 33, 7, 0, "Q5_0 after reserve");
}

TEST(CudaMatmul, RejectsMismatchedShapes) {
    HOTROD_REQUIRE_GPU();
    Matmul mm;
    DeviceArray<uint8_t> w(size_t(8) * 18 * 4);
    DeviceArray<float> x(64 * 4), y(64 * 4);
    const DeviceWeight dw{DType::Q4_0, w.get(), 8, 128, 18 * 4};
    const DeviceRows x_ok{x.get(), 2, 128, 128};
    const DeviceRows y_ok{y.get(), 2, 8, 8};
    EXPECT_THROW(mm.run(dw, DeviceRows{x.get(), 2, 96, 128}, y_ok, false, nullptr), std::invalid_argument);
    EXPECT_THROW(mm.run(dw, x_ok, DeviceRows{y.get(), 2, 9, 9}, false, nullptr), std::invalid_argument);
    EXPECT_THROW(mm.run(dw, x_ok, DeviceRows{y.get(), 3, 8, 8}, false, nullptr), std::invalid_argument);
    EXPECT_THROW(mm.run(dw, DeviceRows{x.get(), 2, 128, 100}, y_ok, false, nullptr), std::invalid_argument);
    // n_in not a whole number of blocks, a row_bytes shorter than a row, a type without a kernel.
    EXPECT_THROW(mm.run(DeviceWeight{DType::Q4_0, w.get(), 8, 100, 18 * 4}, DeviceRows{x.get(), 2, 100, 100}, y_ok,
                        false, nullptr),
                 std::invalid_argument);
    EXPECT_THROW(mm.run(DeviceWeight{DType::Q4_0, w.get(), 8, 128, 18 * 3}, x_ok, y_ok, false, nullptr),
                 std::invalid_argument);
    EXPECT_THROW(mm.run(DeviceWeight{DType::IQ4_NL, w.get(), 8, 128, 18 * 4}, x_ok, y_ok, false, nullptr),
                 std::invalid_argument);
    EXPECT_FALSE(matmul_supports(DType::IQ4_NL));
    try {
        mm.run(dw, DeviceRows{x.get(), 2, 96, 128}, y_ok, false, nullptr);
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("Q4_0 8x128"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace hotrod::cuda::test
