// Row kernels: RMSNorm, SwiGLU / GeGLU, F16 KV row conversion, RoPE and embedding rows. Every SIMD kernel
// equals its scalar reference on random data at ragged sizes, at every ISA this machine runs; the references
// are checked against the formulas in double written here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/ops_act.h"
#include "cpu/ops_embed.h"
#include "cpu/ops_kv.h"
#include "cpu/ops_norm.h"
#include "cpu/ops_rope.h"
#include "quant/dequantize.h"
#include "quant/half.h"
#include "quant/quantize.h"

namespace hotrod::cpu {
namespace {

std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

const int64_t kSizes[] = {1, 7, 16, 31, 64, 100, 576, 640, 1023, 2048};

TEST(OpsNorm, RefMatchesDoubleFormula) {
    for (int64_t n : kSizes) {
        auto x = random_floats(size_t(n), -3, 3, 1), w = random_floats(size_t(n), 0.5, 1.5, 2);
        std::vector<float> y(static_cast<size_t>(n));
        rms_norm_row_ref(x.data(), w.data(), 1e-6f, n, y.data());
        double ss = 0;
        for (float v : x) ss += double(v) * v;
        const double inv = 1.0 / std::sqrt(ss / double(n) + 1e-6);
        for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(y[i], x[i] * inv * w[i], 1e-6 * std::fabs(x[i] * inv * w[i]) + 1e-7);
    }
}

TEST(OpsNorm, SimdMatchesRef) {
    for (int isa = 0; isa < n_supported_isas(); ++isa) {
        const RmsNormRowFn fn = find_rms_norm_row(Isa(isa));
        for (int64_t n : kSizes) {
            auto x = random_floats(size_t(n), -3, 3, uint32_t(n)), w = random_floats(size_t(n), 0.5, 1.5, 7);
            std::vector<float> ref(static_cast<size_t>(n)), got(x);
            rms_norm_row_ref(x.data(), w.data(), 1e-5f, n, ref.data());
            fn(got.data(), w.data(), 1e-5f, n, got.data());  // in place
            // Float sum of squares against the double reference: relative error of 1/rms ~ n * 2^-24 / 2 at
            // worst (n = 2048: 6e-5), ~1e-6 in practice with several accumulators; 2e-5 allows the worst.
            for (int64_t i = 0; i < n; ++i) {
                ASSERT_NEAR(got[i], ref[i], 2e-5 * std::fabs(ref[i]) + 1e-7) << isa_name(Isa(isa)) << " n=" << n << " i=" << i;
            }
        }
    }
}

double fp16_round(double v) { return quant::fp16_to_fp32(quant::fp32_to_fp16(float(v))); }

TEST(OpsAct, RefsMatchDoubleFormulas) {
    auto g = random_floats(1000, -12, 12, 3), u = random_floats(1000, -2, 2, 4);
    g[0] = -10.0f, g[1] = 10.0f, g[2] = 10.3f, g[3] = -10.3f, g[4] = 9.999f, g[5] = 0.0f;  // 10.3 is not an fp16
    const std::vector<float> ones(1000, 1.0f);
    std::vector<float> s(1000), ge(1000), h(1000);
    swiglu_ref(g.data(), u.data(), s.data(), 1000);
    geglu_ref(g.data(), u.data(), ge.data(), 1000);
    geglu_ref(g.data(), ones.data(), h.data(), 1000);  // the GELU factor alone
    for (int i = 0; i < 1000; ++i) {
        const double silu = g[i] / (1 + std::exp(-double(g[i]))) * u[i];
        EXPECT_NEAR(s[i], silu, 1e-5 * std::fabs(silu) + 1e-6);
        // GeGLU as llama.cpp defines it: gate rounded to fp16, tanh GELU of it rounded to fp16, times up in float;
        // gates <= -10 give 0, >= 10 pass through unrounded.
        ASSERT_EQ(ge[i], h[i] * u[i]) << "g=" << g[i];
        if (g[i] <= -10.0f) { EXPECT_EQ(h[i], 0.0f) << "g=" << g[i]; continue; }
        if (g[i] >= 10.0f) { EXPECT_EQ(h[i], g[i]) << "g=" << g[i]; continue; }
        const double x = fp16_round(g[i]);
        const double gelu = 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * x * (1 + 0.044715 * x * x)));
        EXPECT_EQ(double(h[i]), fp16_round(h[i])) << "g=" << g[i] << ": GELU not an fp16 value";
        // The float evaluation is within ~4e-7 of 1 + tanh (tanhf near +-1, then the add) and ~3e-7 relative
        // elsewhere; the result must be the fp16 rounding of some value that close to the double GELU.
        const double err = 1e-6 * std::fabs(x) + 1e-6 * std::fabs(gelu);
        EXPECT_GE(double(h[i]), fp16_round(gelu - err)) << "g=" << g[i] << " gelu=" << gelu;
        EXPECT_LE(double(h[i]), fp16_round(gelu + err)) << "g=" << g[i] << " gelu=" << gelu;
    }
}

TEST(OpsAct, SimdMatchesRef) {
    for (int isa = 0; isa < n_supported_isas(); ++isa) {
        for (int64_t n : kSizes) {
            auto g = random_floats(size_t(n), -12, 12, uint32_t(n) + 11), u = random_floats(size_t(n), -2, 2, 5);
            if (n > 8) g[3] = -100.0f, g[5] = 95.0f, g[7] = 1e-4f;  // saturation and the tanh cancellation
            if (n > 12) g[9] = -10.0f, g[10] = 10.0f, g[11] = 10.3f, g[12] = 9.999f;  // GeGLU's +-10 cut-offs
            for (bool gelu : {false, true}) {
                std::vector<float> ref(static_cast<size_t>(n)), got(static_cast<size_t>(n));
                (gelu ? geglu_ref : swiglu_ref)(g.data(), u.data(), ref.data(), n);
                (gelu ? find_geglu(Isa(isa)) : find_swiglu(Isa(isa)))(g.data(), u.data(), got.data(), n);
                // Polynomial exp: < 2e-7 relative; the division and tanh's 1 - 2/(1+e) form add ~2e-7 absolute
                // to tanh, times |0.5 g u| <= 12: 1e-5 relative plus 3e-6 absolute covers both. GeGLU rounds its
                // GELU to fp16, so that small difference can flip the rounding to the neighbouring fp16 value
                // (<= 2^-10 relative, so 1e-3): allowed, but only on a few elements (about 2e-4 expected).
                int64_t n_flips = 0;
                for (int64_t i = 0; i < n; ++i) {
                    const double tol = 1e-5 * std::fabs(ref[i]) + 3e-6;
                    if (gelu && std::fabs(got[i] - ref[i]) > tol) ++n_flips;
                    ASSERT_NEAR(got[i], ref[i], gelu ? 1e-3 * std::fabs(ref[i]) + 3e-6 : tol)
                        << isa_name(Isa(isa)) << (gelu ? " geglu" : " swiglu") << " n=" << n << " g=" << g[i];
                }
                EXPECT_LE(n_flips, 1 + n / 100) << isa_name(Isa(isa)) << " n=" << n;
            }
        }
    }
}

TEST(OpsKv, F16RowBitIdenticalToRef) {
    for (int isa = 0; isa < n_supported_isas(); ++isa) {
        const KvRowStoreFn fn = find_kv_row_store(quant::DType::F16, Isa(isa));
        ASSERT_NE(fn, nullptr);
        for (int64_t n : kSizes) {
            auto x = random_floats(size_t(n), -4, 4, uint32_t(n) + 21);
            if (n > 10) x[1] = 3e-6f, x[2] = -7e-8f, x[3] = 70000.0f, x[4] = 65519.0f, x[5] = 2.0009765625f;  // subnormal, overflow, tie
            std::vector<uint16_t> ref(static_cast<size_t>(n)), got(size_t(n) + 1, 0xabcd);
            kv_row_store_f16_ref(x.data(), ref.data(), n);
            fn(x.data(), got.data(), n);
            ASSERT_EQ(std::memcmp(ref.data(), got.data(), size_t(n) * 2), 0) << isa_name(Isa(isa)) << " n=" << n;
            ASSERT_EQ(got[size_t(n)], 0xabcd) << "wrote past the row";
        }
    }
    EXPECT_EQ(find_kv_row_store(quant::DType::Q4_0, Isa::Scalar), nullptr);
}

TEST(OpsKv, Q8_0RowEqualsQuantRef) {
    for (int isa = 0; isa < n_supported_isas(); ++isa) {
        auto x = random_floats(256, -4, 4, 31);
        std::vector<uint8_t> ref(8 * 34), got(8 * 34);
        quant::quantize_row_q8_0_ref(x.data(), ref.data(), 256);
        find_kv_row_store(quant::DType::Q8_0, Isa(isa))(x.data(), got.data(), 256);
        EXPECT_EQ(ref, got) << isa_name(Isa(isa));
    }
}

TEST(OpsKv, SlotFollowsBlockTable) {
    const int32_t table[] = {7, 2, 9};
    EXPECT_EQ(kv_slot(table, 16, 0), 7 * 16);
    EXPECT_EQ(kv_slot(table, 16, 17), 2 * 16 + 1);
    EXPECT_EQ(kv_slot(table, 16, 47), 9 * 16 + 15);
}

// The formula in double: pairs (2i, 2i+1) or (i, i + n_dims/2), theta = pos * scale * base^(-2i/n_dims).
void rope_double(std::vector<double>& x, int n_heads, int head_dim, int32_t pos, const backend::RopeParams& p) {
    for (int h = 0; h < n_heads; ++h) {
        double* v = x.data() + h * head_dim;
        for (int i = 0; i < p.n_dims / 2; ++i) {
            const int a = p.kind == backend::RopeKind::Normal ? 2 * i : i;
            const int b = p.kind == backend::RopeKind::Normal ? 2 * i + 1 : i + p.n_dims / 2;
            const double th = double(pos) * double(p.freq_scale) * std::pow(double(p.freq_base), -2.0 * i / p.n_dims);
            const double va = v[a], vb = v[b];
            v[a] = va * std::cos(th) - vb * std::sin(th);
            v[b] = va * std::sin(th) + vb * std::cos(th);
        }
    }
}

TEST(OpsRope, TableAndRefMatchDoubleFormula) {
    struct Case { backend::RopeKind kind; int n_heads, head_dim, n_dims; float base, scale; };
    const Case cases[] = {
        {backend::RopeKind::Normal, 9, 64, 64, 10000.0f, 1.0f},
        {backend::RopeKind::NeoX, 4, 256, 256, 1000000.0f, 1.0f},
        {backend::RopeKind::NeoX, 3, 64, 32, 10000.0f, 0.25f},   // partial rotation, linear scaling
        {backend::RopeKind::Normal, 5, 48, 40, 500000.0f, 0.125f},
    };
    const std::vector<int32_t> positions = {0, 1, 5, 37, 1000, 4097, 32767, 131071};
    for (const Case& c : cases) {
        const backend::RopeParams p{c.kind, c.n_dims, c.base, c.scale};
        const int width = c.n_heads * c.head_dim;
        const size_t stride = size_t(width) + 3;  // rows not densely packed
        auto x = random_floats(positions.size() * stride, -1, 1, uint32_t(c.head_dim));
        std::vector<float> fast(x), ref(x), table(positions.size() * size_t(c.n_dims));
        rope_table(positions.data(), int64_t(positions.size()), p, table.data());
        rope_apply(fast.data(), int64_t(positions.size()), stride, c.n_heads, c.head_dim, c.kind, c.n_dims, table.data());
        rope_ref(ref.data(), int64_t(positions.size()), stride, c.n_heads, c.head_dim, positions.data(), p);
        for (size_t t = 0; t < positions.size(); ++t) {
            std::vector<double> want(x.begin() + t * stride, x.begin() + t * stride + width);
            rope_double(want, c.n_heads, c.head_dim, positions[t], p);
            for (int i = 0; i < width; ++i) {
                // ref: one float rounding of a double result. table path: cos/sin rounded to float (2^-24
                // relative) and a float rotation of two products: a few 1e-7 for |x| <= 1.
                ASSERT_NEAR(ref[t * stride + i], want[size_t(i)], 1e-7) << "pos " << positions[t];
                ASSERT_NEAR(fast[t * stride + i], want[size_t(i)], 5e-7) << "pos " << positions[t] << " i " << i;
            }
            for (size_t i = size_t(width); i < stride; ++i) ASSERT_EQ(fast[t * stride + i], x[t * stride + i]);
        }
    }
}

TEST(OpsEmbed, RowIsDequantizedTimesScale) {
    auto w = random_floats(3 * 64, -1, 1, 41);
    std::vector<uint8_t> q(3 * 2 * 34);
    for (int r = 0; r < 3; ++r) quant::quantize_row(quant::DType::Q8_0, w.data() + r * 64, q.data() + r * 68, 64);
    std::vector<float> want(64), got(64);
    quant::dequantize_row(quant::DType::Q8_0, q.data() + 68, want.data(), 64);
    embed_row(quant::DType::Q8_0, q.data() + 68, 64, 8.0f, got.data());
    for (int i = 0; i < 64; ++i) EXPECT_EQ(got[i], want[i] * 8.0f);
    EXPECT_THROW(embed_row(quant::DType::Q8_0, q.data(), 50, 1.0f, got.data()), std::invalid_argument);
}

TEST(OpsAdd, AddsRows) {
    auto x = random_floats(37, -1, 1, 51), y = random_floats(37, -1, 1, 52);
    auto z = x;
    add_row(z.data(), y.data(), 37);
    for (int i = 0; i < 37; ++i) EXPECT_EQ(z[i], x[i] + y[i]);
}

}  // namespace
}  // namespace hotrod::cpu
