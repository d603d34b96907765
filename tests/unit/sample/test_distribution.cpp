// The distribution each configuration samples from, against the full-sort double-precision reference, and the
// empirical distribution of 10k seeded draws against it by a chi-square test.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <string>
#include <vector>

#include "reference.h"
#include "sample/sampler.h"

namespace hotrod::sample {
namespace {

struct Config {
    std::string name;
    SamplingParams params;
};

SamplingParams make(float temperature, int32_t top_k, float top_p, float min_p) {
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.seed = 42;
    return p;
}

std::vector<Config> configs() {
    return {
        {"temperature 1", make(1.0f, 0, 1.0f, 0.0f)},
        {"temperature 0.7", make(0.7f, 0, 1.0f, 0.0f)},
        {"greedy", make(0.0f, 0, 1.0f, 0.0f)},
        {"top_k 1", make(1.0f, 1, 1.0f, 0.0f)},
        {"top_k 40", make(1.0f, 40, 1.0f, 0.0f)},
        {"top_p 0.95", make(1.0f, 0, 0.95f, 0.0f)},
        {"top_p 0.5 T 1.5", make(1.5f, 0, 0.5f, 0.0f)},
        {"min_p 0.05", make(1.0f, 0, 1.0f, 0.05f)},
        {"min_p 0.2 T 0.5", make(0.5f, 0, 1.0f, 0.2f)},
        {"top_p 0.9 min_p 0.1", make(1.0f, 0, 0.9f, 0.1f)},
        {"top_k 50 top_p 0.8 min_p 0.02", make(0.9f, 50, 0.8f, 0.02f)},
        {"top_k 500 top_p 0.99", make(1.2f, 500, 0.99f, 0.0f)},
    };
}

// Probabilities within 1e-6 absolute + 1e-5 relative: float weights (exp_nonpos 4e-7, argument rounding) against
// double. Tokens the reference gives below 1e-12 may be missing (our exp flushes below e^-86 of the top token).
void expect_same(std::span<const Candidate> got, const std::vector<std::pair<int32_t, double>>& want,
                 const std::string& what) {
    int32_t n_ids = 0;
    for (const auto& [id, p] : want) n_ids = std::max(n_ids, id + 1);
    for (const Candidate& c : got) n_ids = std::max(n_ids, c.id + 1);
    std::vector<double> want_p(n_ids, -1.0), got_p(n_ids, -1.0);  // -1: not a survivor
    for (const auto& [id, p] : want) want_p[id] = p;
    for (const Candidate& c : got) got_p[c.id] = c.weight;
    for (int32_t id = 0; id < n_ids; ++id) {
        if (got_p[id] >= 0.0) {
            ASSERT_GE(want_p[id], 0.0) << what << ": token " << id << " (p=" << got_p[id] << ") not in the reference";
            ASSERT_NEAR(got_p[id], want_p[id], 1e-6 + 1e-5 * want_p[id]) << what << ": token " << id;
        } else if (want_p[id] >= 1e-12) {
            FAIL() << what << ": token " << id << " (p=" << want_p[id] << ") missing";
        }
    }
    for (size_t i = 1; i < got.size(); ++i)
        ASSERT_GE(got[i - 1].logit, got[i].logit) << what << ": not sorted at " << i;
}

TEST(SampleDistribution, EveryStageMatchesReference) {
    for (const size_t n : {size_t{1}, size_t{2}, size_t{5}, size_t{100}, size_t{1000}, size_t{49152 + 17}}) {
        const std::vector<float> logits = ref::model_like_logits(n, n * 7 + 1);
        for (const Config& config : configs()) {
            Sampler sampler(static_cast<int32_t>(n), config.params);
            const auto want = ref::distribution(ref::process(logits, config.params, {}), config.params);
            expect_same(sampler.distribution(logits), want, config.name + " n=" + std::to_string(n));
        }
    }
}

// Near-flat rows (no peaks) make top-p need most of the vocabulary: the gather floors are not enough and the
// exact fallback must take over. Also the real vocabulary sizes.
TEST(SampleDistribution, LargeFlatVocabularies) {
    for (const size_t n : {size_t{49152}, size_t{262144}}) {
        const std::vector<float> flat = ref::model_like_logits(n, 5, 0.5f, 0);
        const std::vector<float> peaked = ref::model_like_logits(n, 6, 2.0f, 12);
        for (const auto* logits : {&flat, &peaked})
            for (const Config& config : configs()) {
                if (config.name.find("top_") == std::string::npos && config.name.find("min_p") == std::string::npos)
                    continue;
                Sampler sampler(static_cast<int32_t>(n), config.params);
                const auto want = ref::distribution(ref::process(*logits, config.params, {}), config.params);
                expect_same(sampler.distribution(*logits), want,
                            config.name + (logits == &flat ? " flat" : " peaked") + " n=" + std::to_string(n));
            }
    }
}

TEST(SampleDistribution, TiesKeepLowerIdsFirst) {
    const std::vector<float> equal(10, 1.5f);
    struct Case {
        SamplingParams params;
        std::vector<int32_t> ids;
    };
    const Case cases[] = {
        {make(1.0f, 0, 0.5f, 0.0f), {0, 1, 2, 3, 4}},
        {make(1.0f, 3, 1.0f, 0.0f), {0, 1, 2}},
        {make(1.0f, 0, 1.0f, 1.0f), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
        {make(0.0f, 0, 1.0f, 0.0f), {0}},
    };
    for (const Case& c : cases) {
        Sampler sampler(10, c.params);
        const auto got = sampler.distribution(equal);
        std::vector<int32_t> ids;
        for (const Candidate& cand : got) ids.push_back(cand.id);
        EXPECT_EQ(ids, c.ids);
    }
}

// Upper critical value of chi-square with `dof` degrees of freedom at significance 0.001 (z = 3.0902), by the
// Wilson-Hilferty cube approximation (within 1% of the exact quantile from 3 degrees of freedom up).
double chi_square_critical_001(int dof) {
    const double a = 2.0 / (9.0 * dof);
    const double c = 1.0 - a + 3.0902 * std::sqrt(a);
    return dof * c * c * c;
}

struct ChiSquare {
    double statistic = 0.0;
    double critical = 0.0;
    size_t n_bins = 0;
    int32_t outside_support = -1;  // a drawn token the distribution gives no mass, or -1
};

// Chi-square of draw counts against a distribution. Bins: tokens most likely first, merged until each
// expects at least 5 draws (a short last bin joins the one before).
ChiSquare chi_square(const std::vector<int>& counts, int n_draws, const std::vector<std::pair<int32_t, double>>& want) {
    ChiSquare out;
    std::vector<int64_t> bin_of(counts.size(), -1);
    std::vector<double> expected;
    bool open_bin = false;
    for (const auto& [id, p] : want) {
        if (!open_bin) expected.push_back(0.0);
        expected.back() += p * n_draws;
        bin_of[id] = static_cast<int64_t>(expected.size()) - 1;
        open_bin = expected.back() < 5.0;
    }
    if (expected.size() > 1 && expected.back() < 5.0) {
        for (int64_t& bin : bin_of)
            if (bin == static_cast<int64_t>(expected.size()) - 1) --bin;
        expected[expected.size() - 2] += expected.back();
        expected.pop_back();
    }
    std::vector<double> observed(expected.size(), 0.0);
    for (size_t id = 0; id < counts.size(); ++id) {
        if (counts[id] == 0) continue;
        if (bin_of[id] < 0) {
            out.outside_support = static_cast<int32_t>(id);
            return out;
        }
        observed[bin_of[id]] += counts[id];
    }
    for (size_t b = 0; b < expected.size(); ++b)
        out.statistic += (observed[b] - expected[b]) * (observed[b] - expected[b]) / expected[b];
    out.n_bins = expected.size();
    out.critical = out.n_bins > 1 ? chi_square_critical_001(static_cast<int>(out.n_bins) - 1) : 0.0;
    return out;
}

std::vector<int> draw_counts(Sampler& sampler, const std::vector<float>& logits, int n_draws) {
    std::vector<int> counts(logits.size(), 0);
    for (int i = 0; i < n_draws; ++i) {
        const SampleResult r = sampler.sample(logits);
        if (r.ok()) ++counts[r.token_id];
    }
    return counts;
}

// 10k draws with a fixed seed, so the test is deterministic; it would fail for a wrong distribution with
// overwhelming probability (see the control below) and for the right one with probability 0.001 per config.
TEST(SampleDistribution, DrawsMatchTruncatedSoftmaxChiSquare) {
    const size_t n = 1000;
    const int n_draws = 10000;
    const std::vector<float> logits = ref::model_like_logits(n, 77, 1.5f, 6);
    for (const Config& config : configs()) {
        if (config.params.greedy()) continue;
        Sampler sampler(static_cast<int32_t>(n), config.params);
        const auto want = ref::distribution(ref::process(logits, config.params, {}), config.params);
        const ChiSquare chi = chi_square(draw_counts(sampler, logits, n_draws), n_draws, want);
        ASSERT_EQ(chi.outside_support, -1) << config.name << ": drew a token outside the support";
        if (chi.n_bins < 2) continue;  // top_k 1: nothing to test beyond the support
        EXPECT_LT(chi.statistic, chi.critical) << config.name << ": " << chi.n_bins << " bins";
    }
}

// Control: the same test must reject a distribution that is slightly off (temperature 1.0 drawn, 1.15 expected),
// or it proves nothing.
TEST(SampleDistribution, ChiSquareRejectsAWrongDistribution) {
    const size_t n = 1000;
    const int n_draws = 10000;
    const std::vector<float> logits = ref::model_like_logits(n, 77, 1.5f, 6);
    for (const Config& config : configs()) {
        if (config.params.greedy() || config.params.top_k == 1) continue;
        Sampler sampler(static_cast<int32_t>(n), config.params);
        SamplingParams wrong = config.params;
        wrong.temperature *= 1.15f;
        wrong.top_p = 1.0f;  // keep the support a superset so only the shape differs
        wrong.min_p = 0.0f;
        wrong.top_k = 0;
        auto want = ref::distribution(ref::process(logits, wrong, {}), wrong);
        const ChiSquare chi = chi_square(draw_counts(sampler, logits, n_draws), n_draws, want);
        EXPECT_GT(chi.statistic, chi.critical) << config.name;
    }
}

}  // namespace
}  // namespace hotrod::sample
