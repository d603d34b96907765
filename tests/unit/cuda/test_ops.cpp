// The CUDA row ops (src/cuda/ops.h) against the CPU scalar references: rms_norm_row_ref, rope_table + rope_apply and
// rope_ref, swiglu_ref / geglu_ref (and the exact GELU in double), add_row, and a plain loop for gather_rows. Rows
// sit `stride` floats apart with random padding between them that must come back untouched; outputs are poisoned
// with NaN before each kernel so an unwritten element fails every bound.
// cuda_runtime.h (not only the _api one) for the typed cudaMalloc overload DeviceArray<T> calls.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/ops_act.h"
#include "cpu/ops_embed.h"
#include "cpu/ops_norm.h"
#include "cpu/ops_rope.h"
#include "cuda/ops.h"
#include "cuda/rope_tables.h"
#include "gpu_test_util.h"

namespace hotrod::cuda::test {
namespace {

// n_rows rows of n_cols floats, stride floats apart, starting `offset` floats into the buffer (offset 1 or 2 makes
// the rows misaligned for float4, forcing the scalar path).
struct Layout {
    int64_t n_rows, n_cols, stride, offset = 0;
    size_t size() const { return size_t(offset + n_rows * stride); }
    size_t at(int64_t r, int64_t c) const { return size_t(offset + r * stride + c); }
    std::string str() const {
        return std::to_string(n_rows) + "x" + std::to_string(n_cols) + " stride " + std::to_string(stride) +
               " offset " + std::to_string(offset);
    }
};

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

// Every element inside the rows within bound[i] of ref[i] (a NaN fails), every element outside them bit-equal to
// `before` (the buffer as it was before the kernel). Reports max abs error, NMSE and the first failure.
void expect_rows_near(const std::vector<float>& got, const std::vector<float>& ref, const std::vector<float>& bound,
                      const std::vector<float>& before, const Layout& l, const std::string& what) {
    ASSERT_EQ(got.size(), l.size());
    std::vector<char> inside(l.size(), 0);
    std::vector<float> got_rows, ref_rows;
    int64_t n_bad = 0;
    std::string first_bad;
    for (int64_t r = 0; r < l.n_rows; ++r) {
        for (int64_t c = 0; c < l.n_cols; ++c) {
            const size_t i = l.at(r, c);
            inside[i] = 1;
            got_rows.push_back(got[i]);
            ref_rows.push_back(ref[i]);
            const double d = std::fabs(double(got[i]) - double(ref[i]));
            if (!(d <= double(bound[i]))) {
                if (n_bad++ == 0) {
                    first_bad = "row " + std::to_string(r) + " col " + std::to_string(c) + ": got " +
                                std::to_string(got[i]) + " want " + std::to_string(ref[i]) + " (bound " +
                                std::to_string(bound[i]) + ")";
                }
            }
        }
    }
    int64_t n_touched = 0;
    for (size_t i = 0; i < l.size(); ++i) n_touched += !inside[i] && !same_bits(got[i], before[i]);
    const ErrorStats s = compare(got_rows.data(), ref_rows.data(), got_rows.size());
    EXPECT_EQ(n_bad, 0) << what << " " << l.str() << ": " << n_bad << " elements out of bounds, first " << first_bad
                        << "; max abs " << s.max_abs << " nmse " << s.nmse;
    EXPECT_EQ(n_touched, 0) << what << " " << l.str() << ": " << n_touched << " padding elements written";
}

// Relative bound with a floor for results that round to zero or sit in the subnormals.
std::vector<float> relative_bound(const std::vector<float>& ref, float rel) {
    std::vector<float> b(ref.size());
    for (size_t i = 0; i < ref.size(); ++i) b[i] = rel * std::fabs(ref[i]) + 1e-37f;
    return b;
}

// ---------------------------------------------------------------------------------------------------------------
// RMSNorm. Tolerance 1e-6 relative (about 8 float ulps): the kernel takes the reference's float steps exactly
// (float squares, double sum, float mean, 1 / sqrt, (x * inv_rms) * w), so only the order of the double sum
// differs; that moves the sum by ~1e-16 relative, which can flip the float mean's rounding by one ulp at most
// (2 ulps in the output). In practice the outputs are bit-identical.

struct NormCase {
    int64_t n_rows, n_cols, x_stride, out_stride, offset;
    bool in_place;
    float scale;
};

TEST(CudaOps, RmsNormMatchesReference) {
    HOTROD_REQUIRE_GPU();
    const NormCase cases[] = {
        {1, 1, 1, 1, 0, false, 1.0f},           {3, 31, 31, 31, 0, false, 1.0f},
        {16, 576, 576, 576, 0, false, 1.0f},    {5, 2560, 2564, 2568, 0, false, 3.0f},
        {7, 9221, 9224, 9228, 0, false, 1.0f},  {4096, 64, 64, 64, 0, false, 1.0f},
        {2, 1024, 1024, 1024, 0, true, 0.01f},  {9, 513, 520, 520, 0, true, 1.0f},
        {33, 100, 100, 100, 1, false, 1.0f},    {2, 5000, 5001, 5001, 2, true, 50.0f},
        {1, 2560, 2560, 2560, 0, true, 1.0f},   {300, 4096, 4096, 4100, 0, false, 1.0f},
    };
    uint32_t seed = 1;
    for (const NormCase& k : cases) {
        for (const float eps : {1e-6f, 1e-5f}) {
            const Layout xl{k.n_rows, k.n_cols, k.x_stride, k.offset};
            const Layout ol = k.in_place ? xl : Layout{k.n_rows, k.n_cols, k.out_stride, k.offset};
            const std::vector<float> x = random_floats(xl.size(), seed++, k.scale);
            const std::vector<float> w = random_floats(size_t(k.n_cols), seed++);
            DeviceArray<float> dx(x), dw(w), dout(k.in_place ? 1 : ol.size());
            if (!k.in_place) dout.poison(0xff);
            float* out = k.in_place ? dx.get() : dout.get();
            const std::vector<float> before = k.in_place ? x : dout.download();

            std::vector<float> ref = before;
            for (int64_t r = 0; r < k.n_rows; ++r)
                cpu::rms_norm_row_ref(&x[xl.at(r, 0)], w.data(), eps, k.n_cols, &ref[ol.at(r, 0)]);

            rms_norm(dx.get() + k.offset, k.x_stride, dw.get(), eps, k.n_rows, k.n_cols, out + k.offset,
                     ol.stride, nullptr);
            const std::vector<float> got = k.in_place ? dx.download() : dout.download();
            expect_rows_near(got, ref, relative_bound(ref, 1e-6f), before, ol,
                             std::string("rms_norm") + (k.in_place ? " in place" : "") + " eps " + std::to_string(eps));
        }
    }
}

// Same bound as rms_norm (the same kernel over head slices). head_dim 30 and 1026 miss float4 alignment of the
// slices (scalar path); 576 and 1024 take the block-per-slice path.
TEST(CudaOps, RmsNormHeadsMatchesReference) {
    HOTROD_REQUIRE_GPU();
    struct Case {
        int head_dim;
        int64_t n_heads, n_rows, pad;
    };
    const Case cases[] = {{64, 16, 300, 0}, {128, 8, 7, 4},  {256, 2, 1, 0},  {128, 32, 1024, 0},
                          {64, 1, 1, 3},    {30, 3, 5, 1},   {576, 3, 4, 0},  {1024, 2, 3, 4},
                          {1026, 2, 3, 0},  {256, 16, 16, 8}};
    uint32_t seed = 100;
    for (const Case& k : cases) {
        const int64_t n_cols = k.n_heads * k.head_dim;
        const Layout l{k.n_rows, n_cols, n_cols + k.pad};
        const std::vector<float> x = random_floats(l.size(), seed++, 2.0f);
        const std::vector<float> w = random_floats(size_t(k.head_dim), seed++);
        std::vector<float> ref = x;
        for (int64_t r = 0; r < k.n_rows; ++r)
            for (int64_t h = 0; h < k.n_heads; ++h)
                cpu::rms_norm_row_ref(&ref[l.at(r, h * k.head_dim)], w.data(), 1e-6f, k.head_dim,
                                      &ref[l.at(r, h * k.head_dim)]);
        DeviceArray<float> dx(x), dw(w);
        rms_norm_heads(dx.get(), l.stride, dw.get(), k.head_dim, 1e-6f, k.n_rows, n_cols, nullptr);
        expect_rows_near(dx.download(), ref, relative_bound(ref, 1e-6f), x, l,
                         "rms_norm_heads head_dim " + std::to_string(k.head_dim));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// RoPE. Bound per element: 5e-7 * (|a| + |b|) with (a, b) the input pair it came from. Against the CPU's fast path
// (double angle, float cos / sin, float rotation without FMA) the kernel takes the same steps; only CUDA's double
// pow / sincos may differ from glibc's in the last double bit, which moves theta by ~1e-16 relative (~1e-11 rad at
// position 131071) and so flips a float cos or sin by one ulp (<= 6e-8) in rare cases: <= ~1.2e-7 (|a| + |b|) with
// the output's rounding. Against the all-double rope_ref: float cos / sin (<= 3e-8 each), two rounded products and
// a rounded sum, and the reference's own final rounding: <= ~2.4e-7 (|a| + |b|). The angle's size does not enter
// (it is exact in double at any position here), which is why positions up to 131071 share the bound. Dimensions at
// or past n_dims must come back bit for bit.

// The partner of dimension d (< n_dims) in its rotated pair.
int pair_of(int d, int n_dims, bool neox) {
    if (!neox) return d ^ 1;
    return d < n_dims / 2 ? d + n_dims / 2 : d - n_dims / 2;
}

struct RopeCase {
    int head_dim, n_heads, n_dims;
    bool neox;
    float freq_base, freq_scale;
    std::vector<int32_t> positions;
    int64_t pad;
};

void check_rope(const RopeCase& k, uint32_t seed) {
    const int64_t n_rows = int64_t(k.positions.size());
    const int64_t n_cols = int64_t(k.n_heads) * k.head_dim;
    const Layout l{n_rows, n_cols, n_cols + k.pad};
    const std::vector<float> x = random_floats(l.size(), seed, 1.5f);
    const backend::RopeParams p{k.neox ? backend::RopeKind::NeoX : backend::RopeKind::Normal, k.n_dims, k.freq_base,
                                k.freq_scale};

    std::vector<float> fast = x, exact = x, table(size_t(n_rows) * size_t(k.n_dims));
    cpu::rope_table(k.positions.data(), n_rows, p, table.data());
    cpu::rope_apply(fast.data(), n_rows, size_t(l.stride), k.n_heads, k.head_dim, p.kind, k.n_dims, table.data());
    cpu::rope_ref(exact.data(), n_rows, size_t(l.stride), k.n_heads, k.head_dim, k.positions.data(), p);

    std::vector<float> bound(l.size(), 0.0f);
    for (int64_t r = 0; r < n_rows; ++r) {
        for (int h = 0; h < k.n_heads; ++h) {
            for (int d = 0; d < k.n_dims; ++d) {
                const size_t i = l.at(r, int64_t(h) * k.head_dim + d);
                const size_t j = l.at(r, int64_t(h) * k.head_dim + pair_of(d, k.n_dims, k.neox));
                bound[i] = 5e-7f * (std::fabs(x[i]) + std::fabs(x[j]));
            }
        }
    }

    DeviceArray<float> dx(x);
    DeviceArray<int32_t> dpos(k.positions);
    rope(dx.get(), l.stride, n_rows, k.n_heads, k.head_dim, dpos.get(), k.neox, k.n_dims, k.freq_base, k.freq_scale,
         nullptr);
    const std::vector<float> got = dx.download();
    const std::string what = std::string(k.neox ? "NeoX" : "Normal") + " head_dim " + std::to_string(k.head_dim) +
                             " n_dims " + std::to_string(k.n_dims) + " base " + std::to_string(k.freq_base) +
                             " scale " + std::to_string(k.freq_scale);
    expect_rows_near(got, fast, bound, x, l, "rope vs rope_apply " + what);
    expect_rows_near(got, exact, bound, x, l, "rope vs rope_ref " + what);
    int64_t n_moved = 0;  // dimensions past n_dims must be the input's bits, not merely within bound 0
    for (int64_t r = 0; r < n_rows; ++r)
        for (int h = 0; h < k.n_heads; ++h)
            for (int d = k.n_dims; d < k.head_dim; ++d) {
                const size_t i = l.at(r, int64_t(h) * k.head_dim + d);
                n_moved += !same_bits(got[i], x[i]);
            }
    EXPECT_EQ(n_moved, 0) << "rope " << what << ": dimensions past n_dims changed";
}

// The table path (ops.h rope_fill_table / rope_from_table, and RopeTables growing past its first 4096 positions)
// gives rope()'s bits: the same angle code, the same rotation.
TEST(CudaOps, RopeFromTableIsRopeBitForBit) {
    HOTROD_REQUIRE_GPU();
    const std::vector<int32_t> positions = {0, 1, 7, 4095, 4096, 9000, 12345, 7, 0};
    RopeTables tables;
    uint32_t seed = 900;
    for (const bool neox : {false, true}) {
        for (const auto& [head_dim, n_heads, n_dims, base, scale] :
             {std::tuple{128, 3, 128, 1000000.0f, 1.0f}, std::tuple{128, 5, 64, 10000.0f, 0.25f},
              std::tuple{64, 7, 32, 10000.0f, 1.0f}, std::tuple{256, 2, 256, 1000000.0f, 1.0f}}) {
            const int64_t n_rows = int64_t(positions.size()), n_cols = int64_t(n_heads) * head_dim;
            const Layout l{n_rows, n_cols, n_cols + 3};
            const std::vector<float> x = random_floats(l.size(), seed++, 1.5f);
            DeviceArray<float> direct(x), tabled(x);
            DeviceArray<int32_t> dpos(positions);
            rope(direct.get(), l.stride, n_rows, n_heads, head_dim, dpos.get(), neox, n_dims, base, scale, nullptr);
            const float* table = tables.get(n_dims, base, scale, 12345, nullptr);  // grows past 4096 on the way
            rope_from_table(tabled.get(), l.stride, n_rows, n_heads, head_dim, dpos.get(), neox, n_dims, table, nullptr);
            const std::vector<float> a = direct.download(), b = tabled.download();
            EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
                << (neox ? "NeoX" : "Normal") << " head_dim " << head_dim << " n_dims " << n_dims;
        }
    }
}

TEST(CudaOps, RopeMatchesReference) {
    HOTROD_REQUIRE_GPU();
    const std::vector<int32_t> positions = {0, 1, 7, 4095, 100000, 131071, 7, 0};
    uint32_t seed = 200;
    for (const bool neox : {false, true}) {
        for (const int n_dims : {128, 64}) {
            for (const float base : {10000.0f, 1000000.0f}) {
                for (const float scale : {1.0f, 0.25f}) {
                    check_rope({128, 3, n_dims, neox, base, scale, positions, 2}, seed++);
                }
            }
        }
        check_rope({64, 5, 64, neox, 10000.0f, 1.0f, positions, 0}, seed++);
        check_rope({64, 5, 32, neox, 1000000.0f, 0.25f, positions, 3}, seed++);
        check_rope({256, 2, 256, neox, 1000000.0f, 1.0f, positions, 0}, seed++);
        check_rope({96, 4, 2, neox, 10000.0f, 1.0f, positions, 1}, seed++);  // one pair per head
    }
    // A prefill-sized batch: 16 heads of 128 are 1024 pairs a row, four per thread.
    std::mt19937 rng(7);
    std::vector<int32_t> many(512);
    for (auto& pos : many) pos = int32_t(rng() % 131072);
    check_rope({128, 16, 128, true, 1000000.0f, 1.0f, many, 0}, seed++);
    check_rope({128, 16, 64, false, 10000.0f, 0.25f, many, 4}, seed++);
}

// ---------------------------------------------------------------------------------------------------------------
// Gated activations.

struct ActCase {
    int64_t n_rows, n_cols, gate_pad, up_pad, out_pad, offset;
    int alias;  // 0: separate out, 1: out == gate, 2: out == up
};

const ActCase kActCases[] = {
    {1, 1, 0, 0, 0, 0, 0},      {3, 31, 0, 0, 0, 0, 0},    {16, 9221, 3, 3, 3, 0, 0}, {4096, 64, 0, 0, 0, 0, 0},
    {7, 2560, 0, 0, 0, 0, 1},   {5, 577, 0, 0, 0, 1, 0},   {2, 100, 4, 8, 0, 0, 2},   {1, 9216, 0, 0, 0, 0, 0},
    {130, 33, 1, 2, 3, 0, 0},
};

// Runs gate/up -> out for one case through `gpu`, and checks against ref_fn with bound_fn(g, up, ref).
template <class Gpu, class Ref, class Bound>
void check_act(const ActCase& k, uint32_t seed, const std::string& what, Gpu gpu, Ref ref_fn, Bound bound_fn) {
    const Layout gl{k.n_rows, k.n_cols, k.n_cols + k.gate_pad, k.offset};
    const Layout ul{k.n_rows, k.n_cols, k.n_cols + k.up_pad, k.offset};
    std::vector<float> gate = random_floats(gl.size(), seed, 3.0f);
    const std::vector<float> up = random_floats(ul.size(), seed + 1);
    // The tails of the functions: saturation, the CPU's +-10 cut-offs, exp overflow.
    const float extremes[] = {-100.0f, -90.0f, -87.0f, -20.0f, -10.0f, -9.99f, 9.99f, 10.0f, 20.0f, 100.0f};
    for (size_t e = 0; e < std::size(extremes) && e < size_t(k.n_cols); ++e) gate[gl.at(0, int64_t(e))] = extremes[e];

    DeviceArray<float> dgate(gate), dup(up);
    const Layout ol = k.alias == 1 ? gl : k.alias == 2 ? ul : Layout{k.n_rows, k.n_cols, k.n_cols + k.out_pad, k.offset};
    DeviceArray<float> dout(k.alias ? 1 : ol.size());
    if (!k.alias) dout.poison(0xff);
    float* out = k.alias == 1 ? dgate.get() : k.alias == 2 ? dup.get() : dout.get();
    const std::vector<float> before = k.alias == 1 ? gate : k.alias == 2 ? up : dout.download();

    std::vector<float> ref = before, bound(ol.size(), 0.0f);
    for (int64_t r = 0; r < k.n_rows; ++r) {
        for (int64_t c = 0; c < k.n_cols; ++c) {
            const float g = gate[gl.at(r, c)], u = up[ul.at(r, c)];
            ref[ol.at(r, c)] = ref_fn(g, u);
            bound[ol.at(r, c)] = bound_fn(g, u, ref[ol.at(r, c)]);
        }
    }
    gpu(dgate.get() + k.offset, gl.stride, dup.get() + k.offset, ul.stride, out + k.offset, ol.stride, k.n_rows,
        k.n_cols, nullptr);
    const std::vector<float> got = k.alias == 1 ? dgate.download() : k.alias == 2 ? dup.download() : dout.download();
    expect_rows_near(got, ref, bound, before, ol, what + (k.alias ? " aliased" : ""));
}

// SwiGLU against swiglu_ref: the same float formula; CUDA's expf is within 2 ulps (glibc's within 1) and the
// division and product are correctly rounded on both, so <= ~5 ulps relative: bound 1e-6 relative.
TEST(CudaOps, SwigluMatchesReference) {
    HOTROD_REQUIRE_GPU();
    uint32_t seed = 300;
    for (const ActCase& k : kActCases) {
        check_act(
            k, seed += 2, "swiglu", swiglu,
            [](float g, float u) {
                float out = 0;
                cpu::swiglu_ref(&g, &u, &out, 1);
                return out;
            },
            [](float, float, float ref) { return 1e-6f * std::fabs(ref) + 1e-37f; });
    }
}

double gelu_tanh_exact(double x) {
    const double k = std::sqrt(2.0 / std::numbers::pi);
    return 0.5 * x * (1.0 + std::tanh(k * x * (1.0 + 0.044715 * x * x)));
}

// GeGLU against the exact tanh-form GELU in double: bound 1e-6 * |g * up|. In float, 1 + tanh(u) carries an
// absolute error of ~3e-7 (tanhf's 2 ulps, the rounded argument through tanh' <= 1, the rounded sum); times
// 0.5 |g| that is ~1.6e-7 |g|, relative error of the products adding a few 1e-8. Relative to the result it would
// be unbounded where 1 + tanh cancels (g around -5), hence a bound in |g * up|.
TEST(CudaOps, GegluMatchesExactGelu) {
    HOTROD_REQUIRE_GPU();
    uint32_t seed = 400;
    for (const ActCase& k : kActCases) {
        check_act(
            k, seed += 2, "geglu vs exact", geglu,
            [](float g, float u) { return float(gelu_tanh_exact(g) * double(u)); },
            [](float g, float u, float) { return 1e-6f * std::fabs(g * u) + 1e-37f; });
    }
}

// GeGLU against the CPU's geglu_ref, which rounds the gate and the GELU to fp16 (llama.cpp's table) while the GPU
// does not: bound 2e-3 * |g * up| + 1e-7 * |up|. fp16 keeps 11 bits: rounding g moves GELU by <= max|GELU'|
// (1.13) * 2^-11 |g| = 5.5e-4 |g|, rounding the GELU by <= 2^-11 |GELU| <= 4.9e-4 |g|; fp16 subnormals (|g| <
// 6.1e-5) round by up to 3e-8 absolute each, the 1e-7 * |up| term.
TEST(CudaOps, GegluNearCpuReference) {
    HOTROD_REQUIRE_GPU();
    uint32_t seed = 500;
    for (const ActCase& k : kActCases) {
        check_act(
            k, seed += 2, "geglu vs geglu_ref", geglu,
            [](float g, float u) {
                float out = 0;
                cpu::geglu_ref(&g, &u, &out, 1);
                return out;
            },
            [](float g, float u, float) { return 2e-3f * std::fabs(g * u) + 1e-7f * std::fabs(u) + 1e-37f; });
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Residual add and row gather: one float add or a copy, so bit for bit (bound 0).

TEST(CudaOps, AddIsExact) {
    HOTROD_REQUIRE_GPU();
    struct Case {
        int64_t n_rows, n_cols, x_pad, y_pad, offset;
    };
    const Case cases[] = {{1, 1, 0, 0, 0},    {3, 31, 0, 0, 0},   {4096, 31, 1, 0, 0}, {16, 2560, 4, 8, 0},
                          {7, 9221, 3, 7, 0}, {5, 577, 0, 0, 1},  {1, 9216, 0, 0, 0},  {4096, 576, 0, 0, 0}};
    uint32_t seed = 600;
    for (const Case& k : cases) {
        const Layout xl{k.n_rows, k.n_cols, k.n_cols + k.x_pad, k.offset};
        const Layout yl{k.n_rows, k.n_cols, k.n_cols + k.y_pad, k.offset};
        const std::vector<float> x = random_floats(xl.size(), seed++), y = random_floats(yl.size(), seed++, 10.0f);
        std::vector<float> ref = x;
        for (int64_t r = 0; r < k.n_rows; ++r) cpu::add_row(&ref[xl.at(r, 0)], &y[yl.at(r, 0)], k.n_cols);
        DeviceArray<float> dx(x), dy(y);
        add(dx.get() + k.offset, xl.stride, dy.get() + k.offset, yl.stride, k.n_rows, k.n_cols, nullptr);
        expect_rows_near(dx.download(), ref, std::vector<float>(xl.size(), 0.0f), x, xl, "add");
    }
}

// argmax_rows (greedy-only steps) against Backend::argmax_rows's reference, the CPU backend's: random rows of
// vocabulary widths and ragged ones, padded strides, rows with planted ties across threads and warps (the lowest
// index must win), NaN before the maximum, a row of -inf (-1) and one with +inf.
TEST(CudaOps, ArgmaxRowsIsTheReference) {
    HOTROD_REQUIRE_GPU();
    std::mt19937 rng(21);
    for (const int64_t n_cols : {int64_t(1), int64_t(7), int64_t(513), int64_t(49152), int64_t(151936)}) {
        const int64_t n_rows = 9, stride = n_cols + 3;
        std::vector<float> x = random_floats(size_t(n_rows * stride), uint32_t(n_cols), 4.0f);
        float* r = x.data();
        auto at = [&](int64_t row, int64_t i) -> float& { return r[row * stride + std::min(i, n_cols - 1)]; };
        at(1, n_cols / 2) = 100.0f, at(1, n_cols - 1) = 100.0f, at(1, n_cols / 3) = 100.0f;  // ties: the first
        at(2, 0) = std::numeric_limits<float>::quiet_NaN(), at(2, n_cols / 2) = 50.0f;
        for (int64_t i = 0; i < n_cols; ++i) at(3, i) = -std::numeric_limits<float>::infinity();
        at(4, n_cols - 1) = std::numeric_limits<float>::infinity();
        at(5, 511) = 77.0f, at(5, 512) = 77.0f;  // neighbours in different threads (and warps at 32 x 16)
        std::vector<int32_t> want(static_cast<size_t>(n_rows));
        cpu::CpuBackend ref(1);
        ref.argmax_rows(backend::TensorView{quant::DType::F32, x.data(), n_rows, n_cols, size_t(stride) * 4}, want.data());
        DeviceArray<float> dx(x);
        DeviceArray<int32_t> ids(static_cast<size_t>(n_rows));
        argmax_rows(dx.get(), stride, n_rows, n_cols, ids.get(), nullptr);
        EXPECT_EQ(ids.download(), want) << n_cols << " columns";
    }
}

TEST(CudaOps, GatherRowsIsExact) {
    HOTROD_REQUIRE_GPU();
    struct Case {
        int64_t x_rows, n_cols, x_pad, out_pad, offset;
        std::vector<int32_t> rows;
    };
    std::mt19937 rng(11);
    std::vector<int32_t> many(300);
    for (auto& r : many) r = int32_t(rng() % 4096);
    const Case cases[] = {
        {10, 31, 2, 0, 0, {3, 0, 3, 9, 1, 1, 7}},  // repeated and out of order
        {1, 1, 0, 0, 0, {0}},
        {8, 2560, 4, 0, 0, {7, 6, 5, 4, 3, 2, 1, 0}},
        {6, 577, 0, 3, 1, {5, 5, 5}},
        {4096, 2560, 0, 0, 0, many},
        {20, 9221, 3, 3, 0, {19, 0, 10}},
    };
    uint32_t seed = 700;
    for (const Case& k : cases) {
        const Layout xl{k.x_rows, k.n_cols, k.n_cols + k.x_pad, k.offset};
        const Layout ol{int64_t(k.rows.size()), k.n_cols, k.n_cols + k.out_pad, k.offset};
        const std::vector<float> x = random_floats(xl.size(), seed++);
        DeviceArray<float> dx(x), dout(ol.size());
        DeviceArray<int32_t> drows(k.rows);
        dout.poison(0xff);
        const std::vector<float> before = dout.download();
        std::vector<float> ref = before;
        for (int64_t i = 0; i < ol.n_rows; ++i)
            for (int64_t c = 0; c < k.n_cols; ++c) ref[ol.at(i, c)] = x[xl.at(k.rows[size_t(i)], c)];
        gather_rows(dx.get() + k.offset, xl.stride, drows.get(), ol.n_rows, k.n_cols, dout.get() + k.offset,
                    ol.stride, nullptr);
        expect_rows_near(dout.download(), ref, std::vector<float>(ol.size(), 0.0f), before, ol, "gather_rows");
    }
}

}  // namespace
}  // namespace hotrod::cuda::test
