// The sampler's passes (kernels.h) against naive loops and std::exp, on random rows with NaN and -inf mixed
// in, at sizes that are and are not multiples of the 8-lane and 64-block widths.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "sample/kernels.h"
#include "reference.h"

namespace hotrod::sample {
namespace {

const size_t kSizes[] = {0, 1, 7, 8, 9, 63, 64, 65, 1000, 1025, 49152 + 17};

std::vector<float> noisy_row(size_t n, uint64_t seed) {
    std::vector<float> x = ref::model_like_logits(std::max<size_t>(n, 1), seed);
    x.resize(n);
    std::mt19937_64 rng(seed ^ 0x9e37);
    for (size_t i = 0; i < n; ++i) {
        const auto r = rng() % 50;
        if (r == 0) x[i] = std::numeric_limits<float>::quiet_NaN();
        if (r == 1) x[i] = -INFINITY;
        if (r == 2) x[i] = std::round(x[i]);  // ties
    }
    return x;
}

TEST(SampleKernels, ExpNonposMatchesStdExp) {
    // Tolerance 4e-7 relative: the Taylor tail is < 6e-9, the rest is a few float roundings (ulp = 1.2e-7).
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<float> u(-86.0f, 0.0f);
    double max_rel = 0.0;
    std::vector<float> xs = {0.0f, -0.0f, -1e-30f, -0.3465f, -0.3466f, -1.0f, -85.99f, -86.0f};
    for (int i = 0; i < 200000; ++i) xs.push_back(u(rng));
    for (const float x : xs) {
        const double want = std::exp(static_cast<double>(x));
        max_rel = std::max(max_rel, std::abs(exp_nonpos(x) - want) / want);
    }
    EXPECT_LT(max_rel, 4e-7) << "max relative error";
    EXPECT_EQ(exp_nonpos(0.0f), 1.0f);  // the top token's weight is exactly 1: min-p relies on it
    EXPECT_EQ(exp_nonpos(-86.5f), 0.0f);
    EXPECT_EQ(exp_nonpos(-INFINITY), 0.0f);
    EXPECT_EQ(exp_nonpos(std::numeric_limits<float>::quiet_NaN()), 0.0f);
}

TEST(SampleKernels, MaxAndFirstIndex) {
    for (const size_t n : kSizes) {
        const std::vector<float> x = noisy_row(n, n + 3);
        float want = -INFINITY;
        for (const float v : x)
            if (v > want) want = v;
        const float got = max_value(x.data(), n);
        EXPECT_EQ(got, want) << "n=" << n;
        size_t want_i = n;
        for (size_t i = 0; i < n; ++i)
            if (x[i] == want) {
                want_i = i;
                break;
            }
        EXPECT_EQ(first_index_of(x.data(), n, got), want_i) << "n=" << n;
    }
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> all_nan(100, nan);
    EXPECT_EQ(max_value(all_nan.data(), all_nan.size()), -INFINITY);
}

TEST(SampleKernels, ExpWeightsMatchDoubleSum) {
    // Per term: exp_nonpos's own 4e-7, plus the argument (x - max) / t rounded to float, whose absolute error
    // |arg| * 2^-23 (two roundings) becomes that relative error of the exp. Sum: 2e-6 relative, the terms' bound
    // at the |arg| of a few units where the mass is.
    for (const size_t n : kSizes) {
        const std::vector<float> x = noisy_row(n, n + 11);
        const float max = max_value(x.data(), n);
        if (max == -INFINITY) continue;
        for (const float t : {1.0f, 0.7f, 1.9f}) {
            std::vector<float> w(n);
            const double got = exp_weights(x.data(), n, max, 1.0f / t, w.data());
            double want = 0.0;
            for (size_t i = 0; i < n; ++i) {
                const double e = std::isnan(x[i]) ? 0.0 : std::exp((static_cast<double>(x[i]) - max) / t);
                want += e;
                if (e == 0.0) {
                    ASSERT_EQ(w[i], 0.0f);
                    continue;
                }
                const double arg = std::abs((static_cast<double>(x[i]) - max) / t);
                ASSERT_NEAR(w[i], e, (4e-7 + arg * 1.2e-7) * e + 1e-37) << "n=" << n << " i=" << i;
            }
            EXPECT_NEAR(got, want, 2e-6 * want) << "n=" << n;
            EXPECT_EQ(exp_weights(x.data(), n, max, 1.0f / t, nullptr), got);
        }
    }
}

TEST(SampleKernels, TopKMatchesFullSort) {
    for (const size_t n : kSizes) {
        const std::vector<float> x = noisy_row(n, n + 5);
        std::vector<double> xd(x.begin(), x.end());
        for (double& v : xd)
            if (std::isnan(v)) v = ref::kNegInf;
        const std::vector<int32_t> order = ref::sorted_ids(xd);
        size_t n_finite = 0;
        for (const double v : xd) n_finite += v != ref::kNegInf;
        for (const size_t k : {size_t{1}, size_t{5}, size_t{40}, size_t{1000}, n + 3}) {
            std::vector<Candidate> out(k);
            const size_t found = select_top_k(x.data(), n, k, out.data());
            ASSERT_EQ(found, std::min(k, n_finite)) << "n=" << n << " k=" << k;
            for (size_t i = 0; i < found; ++i) {
                ASSERT_EQ(out[i].id, order[i]) << "n=" << n << " k=" << k << " rank " << i;
                ASSERT_EQ(out[i].logit, x[order[i]]);
            }
        }
    }
}

TEST(SampleKernels, GatherMatchesNaive) {
    for (const size_t n : kSizes) {
        const std::vector<float> x = noisy_row(n, n + 7);
        for (const float threshold : {-2.0f, 3.0f, 9.0f, 1e9f}) {
            std::vector<Candidate> out(n);
            const size_t count = gather_at_least(x.data(), n, threshold, x.data(), false, out.data());
            std::vector<int32_t> want;
            for (size_t i = 0; i < n; ++i)
                if (x[i] >= threshold) want.push_back(static_cast<int32_t>(i));
            ASSERT_EQ(count, want.size()) << "n=" << n;
            for (size_t i = 0; i < count; ++i) ASSERT_EQ(out[i].id, want[i]);
        }
    }
}

}  // namespace
}  // namespace hotrod::sample

namespace hotrod::sample {
namespace {

// select_mass_prefix against a full sort and a running sum, with ties in the weights.
TEST(SampleKernels, MassPrefixMatchesSortedRunningSum) {
    for (const size_t n : {size_t{1}, size_t{2}, size_t{65}, size_t{1000}, size_t{20011}}) {
        std::mt19937_64 rng(n);
        std::vector<Candidate> c(n);
        for (size_t i = 0; i < n; ++i) {
            const float logit = static_cast<float>(static_cast<int>(rng() % 40)) * 0.25f;  // many ties
            c[i] = Candidate{static_cast<int32_t>(i * 3), logit, exp_nonpos(logit - 10.0f)};
        }
        std::vector<Candidate> sorted = c;
        sort_candidates(sorted.data(), n);
        double total = 0.0;
        for (const Candidate& x : c) total += x.weight;
        for (const double p : {0.01, 0.5, 0.9, 0.999, 1.5}) {
            size_t want = n;
            double cum = 0.0;
            for (size_t i = 0; i < n; ++i) {
                cum += sorted[i].weight;
                if (cum >= p * total) {
                    want = i + 1;
                    break;
                }
            }
            std::vector<Candidate> got = c;
            const size_t k = select_mass_prefix(got.data(), n, p * total);
            ASSERT_EQ(k, want) << "n=" << n << " p=" << p;
            sort_candidates(got.data(), k);
            for (size_t i = 0; i < k; ++i) ASSERT_EQ(got[i].id, sorted[i].id) << "n=" << n << " p=" << p;
        }
    }
}

}  // namespace
}  // namespace hotrod::sample
