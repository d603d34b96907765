// Sampler behaviour end to end: greedy, seeds and reproducibility, log-probabilities against a double
// reference, NaN / inf rows, all-banned rows and bad input (an error status, never a crash), validation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "reference.h"
#include "sample/sampler.h"

namespace hotrod::sample {
namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();

// Token ids most likely first, NaN as -inf (a NaN in a sort comparator would break its ordering).
std::vector<int32_t> ranked(const std::vector<float>& x) {
    std::vector<double> d(x.begin(), x.end());
    for (double& v : d)
        if (std::isnan(v)) v = ref::kNegInf;
    return ref::sorted_ids(d);
}

SamplingParams seeded(uint64_t seed, float temperature = 1.0f) {
    SamplingParams p;
    p.seed = seed;
    p.temperature = temperature;
    return p;
}

// A run of `steps` steps over fresh logits each step, feeding each token back, with penalties on so the
// history matters too.
std::vector<int32_t> run(Sampler& sampler, int steps, int32_t n_vocab) {
    std::vector<int32_t> tokens;
    for (int s = 0; s < steps; ++s) {
        const std::vector<float> logits = ref::model_like_logits(n_vocab, 1000 + s, 1.0f, 3);
        const SampleResult r = sampler.sample(logits);
        EXPECT_TRUE(r.ok());
        tokens.push_back(r.token_id);
        sampler.accept(r.token_id);
    }
    return tokens;
}

TEST(Sampler, GreedyIsArgmaxWithLowestIdOnTies) {
    std::vector<float> x = ref::model_like_logits(5000, 2);
    const int32_t want = ref::argmax(std::vector<double>(x.begin(), x.end()));
    Sampler a(5000, seeded(1, 0.0f)), b(5000, seeded(2, 0.0f));
    EXPECT_EQ(a.sample(x).token_id, want);
    EXPECT_EQ(b.sample(x).token_id, want);  // no random draw: the seed does not matter
    x[4000] = x[want];
    x[want + 1 < 5000 ? want + 1 : 0] = x[want];
    EXPECT_EQ(a.sample(x).token_id, std::min(want, want + 1 < 5000 ? want : 0));
}

// picks_raw_argmax (the engine's test for a greedy-only step): plain greedy only; any stage that reads the row
// beyond its arg-max (a penalty, a bias, logprobs) or a temperature rules it out.
TEST(Sampler, PicksRawArgmaxOnlyForPlainGreedy) {
    EXPECT_TRUE(Sampler(100, seeded(1, 0.0f)).picks_raw_argmax());
    EXPECT_FALSE(Sampler(100, seeded(1, 0.7f)).picks_raw_argmax());
    SamplingParams p = seeded(1, 0.0f);
    p.repetition_penalty = 1.1f;
    EXPECT_FALSE(Sampler(100, p).picks_raw_argmax());
    p.repeat_last_n = 0;  // a penalty over no window is none
    EXPECT_TRUE(Sampler(100, p).picks_raw_argmax());
    p = seeded(1, 0.0f);
    p.presence_penalty = 0.5f;
    EXPECT_FALSE(Sampler(100, p).picks_raw_argmax());
    p = seeded(1, 0.0f);
    p.frequency_penalty = -0.5f;
    EXPECT_FALSE(Sampler(100, p).picks_raw_argmax());
    p = seeded(1, 0.0f);
    p.logit_bias = {{3, 2.0f}};
    EXPECT_FALSE(Sampler(100, p).picks_raw_argmax());
    p = seeded(1, 0.0f);
    p.logprobs = true;
    EXPECT_FALSE(Sampler(100, p).picks_raw_argmax());
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferent) {
    const int32_t n = 2000;
    SamplingParams p = seeded(7);
    p.top_p = 0.98f;
    p.frequency_penalty = 0.3f;
    Sampler a(n, p), b(n, p);
    const std::vector<int32_t> first = run(a, 200, n);
    EXPECT_EQ(first, run(b, 200, n));
    a.reset(p);  // a new request with the same seed replays the same tokens
    EXPECT_EQ(first, run(a, 200, n));
    Sampler c(n, seeded(8));
    EXPECT_NE(first, run(c, 200, n));
    SamplingParams unseeded = p;
    unseeded.seed.reset();
    Sampler d(n, unseeded), e(n, unseeded);  // from std::random_device: equal runs have probability ~0
    EXPECT_NE(run(d, 200, n), run(e, 200, n));
}

TEST(Sampler, LogprobsAreTheModelsLogSoftmax) {
    const int32_t n = 49152 + 5;
    std::vector<float> x = ref::model_like_logits(n, 11);
    x[17] = kNaN;
    x[18] = -INFINITY;
    // The reference normaliser in double.
    double max = -INFINITY;
    for (const float v : x)
        if (v > max) max = v;
    double z = 0.0;
    for (const float v : x)
        if (!std::isnan(v)) z += std::exp(v - max);
    const double lse_ref = max + std::log(z);
    const double lse = log_normalizer(x);
    EXPECT_NEAR(lse, lse_ref, 1e-5);
    // Sum property: exp of every log-probability over the whole vocabulary sums to 1 (1e-5: float logits minus a
    // double normaliser, summed in double).
    double total = 0.0;
    for (const float v : x)
        if (!std::isnan(v)) total += std::exp(static_cast<double>(v) - lse);
    EXPECT_NEAR(total, 1.0, 1e-5);

    SamplingParams p = seeded(3);
    p.logprobs = true;
    p.n_top_logprobs = 5;
    p.top_k = 3;
    const std::vector<int32_t> order = ranked(x);
    p.logit_bias = {{order[0], -100.0f}};  // banned from sampling, still the model's most likely token
    Sampler sampler(n, p);
    for (int i = 0; i < 20; ++i) {
        const SampleResult r = sampler.sample(x);
        ASSERT_TRUE(r.ok());
        EXPECT_NE(r.token_id, order[0]);
        EXPECT_NEAR(r.logprob, x[r.token_id] - lse_ref, 1e-5);
        ASSERT_EQ(r.n_top_logprobs, 5);
        for (int k = 0; k < 5; ++k) {
            EXPECT_EQ(r.top_logprobs[k].token_id, order[k]);
            EXPECT_NEAR(r.top_logprobs[k].logprob, x[order[k]] - lse_ref, 1e-5);
        }
    }
    p.logprobs = false;
    Sampler quiet(n, p);
    const SampleResult r = quiet.sample(x);
    EXPECT_TRUE(std::isnan(r.logprob));
    EXPECT_EQ(r.n_top_logprobs, 0);
}

TEST(Sampler, NanIsMinusInfinityAndInfinityTakesAllTheMass) {
    const int32_t n = 300;
    std::vector<float> x = ref::model_like_logits(n, 4);
    const std::vector<int32_t> order = ranked(x);
    for (int i = 0; i < 5; ++i) x[order[i]] = kNaN;  // the five likeliest become NaN
    for (const float t : {0.0f, 0.7f, 1.0f}) {
        for (const int32_t top_k : {0, 10}) {
            SamplingParams p = seeded(5, t);
            p.top_k = top_k;
            p.top_p = top_k ? 1.0f : 0.9f;
            p.logprobs = true;
            p.n_top_logprobs = 3;
            Sampler sampler(n, p);
            for (int i = 0; i < 200; ++i) {
                const SampleResult r = sampler.sample(x);
                ASSERT_TRUE(r.ok());
                ASSERT_FALSE(std::isnan(x[r.token_id])) << "drew a NaN token";
                ASSERT_TRUE(std::isfinite(r.logprob));
                for (int k = 0; k < r.n_top_logprobs; ++k) ASSERT_FALSE(std::isnan(x[r.top_logprobs[k].token_id]));
            }
        }
    }
    std::vector<float> y = ref::model_like_logits(n, 6);
    y[40] = INFINITY;
    y[41] = kNaN;
    y[90] = INFINITY;
    SamplingParams p = seeded(9);
    p.logprobs = true;
    p.n_top_logprobs = 2;
    Sampler sampler(n, p);
    int n_40 = 0;
    for (int i = 0; i < 1000; ++i) {
        const SampleResult r = sampler.sample(y);
        ASSERT_TRUE(r.token_id == 40 || r.token_id == 90) << r.token_id;
        n_40 += r.token_id == 40;
        EXPECT_FLOAT_EQ(r.logprob, -std::log(2.0f));
    }
    EXPECT_NEAR(n_40, 500, 80);  // binomial(1000, 1/2): sd 16, so 5 sd
    Sampler greedy(n, seeded(9, 0.0f));
    EXPECT_EQ(greedy.sample(y).token_id, 40);
}

TEST(Sampler, AllBannedRowsAndBadInputGiveAnErrorStatus) {
    const int32_t n = 100;
    const std::vector<float> x = ref::model_like_logits(n, 8);
    for (const float t : {0.0f, 1.0f}) {
        for (const int32_t top_k : {0, 5}) {
            SamplingParams p = seeded(1, t);
            p.top_k = top_k;
            Sampler sampler(n, p);
            const std::vector<float> nan_row(n, kNaN), inf_row(n, -INFINITY);
            EXPECT_EQ(sampler.sample(nan_row).status, SampleStatus::no_candidates);
            EXPECT_EQ(sampler.sample(inf_row).status, SampleStatus::no_candidates);
            EXPECT_EQ(sampler.sample(std::span<const float>(x.data(), n - 1)).status, SampleStatus::bad_logits);
            EXPECT_EQ(sampler.sample({}).status, SampleStatus::bad_logits);
            const std::vector<uint64_t> no_bits(2, 0), short_bits(1, ~uint64_t{0});
            const TokenMask none = TokenMask::from_bits(no_bits), too_short = TokenMask::from_bits(short_bits);
            EXPECT_EQ(sampler.sample(x, &none).status, SampleStatus::no_candidates);
            EXPECT_EQ(sampler.sample(x, &too_short).status, SampleStatus::bad_mask);
            const TokenMask empty_ids = TokenMask::from_ids({});
            EXPECT_EQ(sampler.sample(x, &empty_ids).status, SampleStatus::no_candidates);
            const int32_t bad_ids[] = {3, n};
            const TokenMask bad = TokenMask::from_ids(bad_ids);
            const SampleResult r = sampler.sample(x, &bad);
            EXPECT_EQ(r.status, SampleStatus::bad_mask);
            EXPECT_EQ(r.token_id, -1);
            EXPECT_TRUE(sampler.distribution(x, &bad).empty());

            for (int32_t i = 0; i < n; ++i) p.logit_bias.push_back({i, -100.0f});
            Sampler banned(n, p);
            EXPECT_EQ(banned.sample(x).status, SampleStatus::no_candidates);
            EXPECT_STRNE(to_string(SampleStatus::no_candidates), "");
        }
    }
}

TEST(Sampler, ConstraintOnlyAllowsItsTokens) {
    const int32_t n = 1000;
    const std::vector<float> x = ref::model_like_logits(n, 12);
    const int32_t allowed[] = {500, 7, 999};
    const TokenMask mask = TokenMask::from_ids(allowed);
    Sampler sampler(n, seeded(4, 2.0f));
    for (int i = 0; i < 300; ++i) {
        const int32_t t = sampler.sample(x, &mask).token_id;
        ASSERT_TRUE(t == 500 || t == 7 || t == 999) << t;
    }
}

TEST(Sampler, ValidateNamesTheField) {
    struct Case {
        SamplingParams params;
        const char* field;
    };
    std::vector<Case> cases(9);
    cases[0].params.temperature = -1.0f, cases[0].field = "temperature";
    cases[1].params.temperature = INFINITY, cases[1].field = "temperature";
    cases[2].params.top_p = 0.0f, cases[2].field = "top_p";
    cases[3].params.min_p = 1.5f, cases[3].field = "min_p";
    cases[4].params.repetition_penalty = 0.0f, cases[4].field = "repetition_penalty";
    cases[5].params.repeat_last_n = -2, cases[5].field = "repeat_last_n";
    cases[6].params.n_top_logprobs = 21, cases[6].field = "n_top_logprobs";
    cases[7].params.logit_bias = {{100, 1.0f}}, cases[7].field = "logit_bias";
    cases[8].params.presence_penalty = kNaN, cases[8].field = "presence_penalty";
    for (const Case& c : cases) {
        const std::string error = validate(c.params, 100);
        EXPECT_NE(error.find(c.field), std::string::npos) << error;
        EXPECT_THROW(Sampler(100, c.params), std::invalid_argument);
    }
    EXPECT_EQ(validate(SamplingParams{}, 100), "");
    EXPECT_THROW(Sampler(0, SamplingParams{}), std::invalid_argument);
}

}  // namespace
}  // namespace hotrod::sample
