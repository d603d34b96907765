// Penalties, logit bias and the constraint mask change exactly the tokens they should, by exactly the amount
// the reference computes, and nothing else. The processed logits are read back through distribution() at
// temperature 1 without truncation, where every token that is not banned survives with its logit.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "reference.h"
#include "sample/sampler.h"

namespace hotrod::sample {
namespace {

constexpr int32_t kVocab = 200;

SamplingParams plain() {
    SamplingParams p;
    p.seed = 1;
    p.repeat_last_n = 0;
    return p;
}

// The logit every token has after mask, penalties and bias; -inf for a banned token.
std::vector<float> processed(Sampler& sampler, const std::vector<float>& logits, const TokenMask* mask = nullptr) {
    std::vector<float> out(logits.size(), -INFINITY);
    for (const Candidate& c : sampler.distribution(logits, mask)) out[c.id] = c.logit;
    return out;
}

std::vector<float> logits_with_signs() {
    std::vector<float> x = ref::model_like_logits(kVocab, 3, 2.0f, 0);
    x[5] = 2.5f;  // positive: the repetition penalty divides
    x[8] = -1.5f;  // negative: it multiplies
    x[9] = 0.75f;
    return x;
}

void expect_only_changed(const std::vector<float>& got, const std::vector<float>& raw, const std::vector<double>& want,
                         const std::vector<int32_t>& changed) {
    for (int32_t i = 0; i < kVocab; ++i) {
        EXPECT_EQ(static_cast<double>(got[i]), want[i]) << "token " << i;
        const bool expect_change = std::find(changed.begin(), changed.end(), i) != changed.end();
        EXPECT_EQ(got[i] != raw[i], expect_change) << "token " << i;
    }
}

TEST(SamplePenalties, RepetitionPenaltyCoversTheLastNTokensOnly) {
    const std::vector<float> raw = logits_with_signs();
    SamplingParams p = plain();
    p.repetition_penalty = 1.3f;
    p.repeat_last_n = 4;
    Sampler sampler(kVocab, p);
    const ref::History h{{5, 6, 7, 5}, {8, 9, 8}};
    sampler.accept_prompt(h.prompt);
    for (const int32_t t : h.generated) sampler.accept(t);
    // window = the last 4 of 5 6 7 5 8 9 8 = {5, 8, 9}: 6 and 7 have slid out
    expect_only_changed(processed(sampler, raw), raw, ref::process(raw, p, h), {5, 8, 9});
    EXPECT_FLOAT_EQ(processed(sampler, raw)[5], 2.5f / 1.3f);
    EXPECT_FLOAT_EQ(processed(sampler, raw)[8], -1.5f * 1.3f);
}

TEST(SamplePenalties, RepeatLastNAllAndOff) {
    const std::vector<float> raw = logits_with_signs();
    const ref::History h{{5, 6, 7}, {8}};
    for (const int32_t last_n : {-1, 0}) {
        SamplingParams p = plain();
        p.repetition_penalty = 0.8f;  // < 1 rewards repetition; still a plain multiply/divide
        p.repeat_last_n = last_n;
        Sampler sampler(kVocab, p);
        sampler.accept_prompt(h.prompt);
        sampler.accept(h.generated[0]);
        const std::vector<int32_t> changed = last_n < 0 ? std::vector<int32_t>{5, 6, 7, 8} : std::vector<int32_t>{};
        expect_only_changed(processed(sampler, raw), raw, ref::process(raw, p, h), changed);
    }
}

TEST(SamplePenalties, PresenceAndFrequencyCountGeneratedTokensOnly) {
    const std::vector<float> raw = logits_with_signs();
    SamplingParams p = plain();
    p.presence_penalty = 0.5f;
    p.frequency_penalty = 0.25f;
    Sampler sampler(kVocab, p);
    const ref::History h{{3, 3, 3}, {4, 4, 10}};
    sampler.accept_prompt(h.prompt);
    for (const int32_t t : h.generated) sampler.accept(t);
    const std::vector<float> got = processed(sampler, raw);
    expect_only_changed(got, raw, ref::process(raw, p, h), {4, 10});
    EXPECT_FLOAT_EQ(got[4], raw[4] - 1.0f);   // 0.5 + 2 * 0.25
    EXPECT_FLOAT_EQ(got[10], raw[10] - 0.75f);  // 0.5 + 1 * 0.25
}

TEST(SamplePenalties, ResetForgetsTheHistory) {
    const std::vector<float> raw = logits_with_signs();
    SamplingParams p = plain();
    p.frequency_penalty = 1.0f;
    p.repetition_penalty = 1.5f;
    p.repeat_last_n = 8;
    Sampler sampler(kVocab, p);
    sampler.accept(4);
    sampler.accept(300);  // outside the vocabulary: ignored, never a crash
    sampler.accept(-1);
    EXPECT_NE(processed(sampler, raw)[4], raw[4]);
    sampler.reset(p);
    EXPECT_EQ(processed(sampler, raw), raw);
}

TEST(SamplePenalties, LogitBiasAddsAndBans) {
    const std::vector<float> raw = logits_with_signs();
    SamplingParams p = plain();
    p.logit_bias = {{7, 2.5f}, {11, -100.0f}, {7, 0.5f}, {12, -INFINITY}, {13, -99.0f}};
    Sampler sampler(kVocab, p);
    const std::vector<float> got = processed(sampler, raw);
    std::vector<double> want = ref::process(raw, p, {});
    want[13] = -INFINITY;  // see below
    expect_only_changed(got, raw, want, {7, 11, 12, 13});
    EXPECT_FLOAT_EQ(got[7], raw[7] + 3.0f);  // duplicates add up
    EXPECT_EQ(got[11], -INFINITY);            // -100 bans
    EXPECT_EQ(got[12], -INFINITY);
    EXPECT_EQ(got[13], -INFINITY);  // not banned, but e^-99 below the top token: distribution() flushes it
    // -99 is only a bias: with 13 the one allowed token it is still there, with its biased logit.
    const int32_t only[] = {13};
    const TokenMask mask = TokenMask::from_ids(only);
    const auto alone = sampler.distribution(raw, &mask);
    ASSERT_EQ(alone.size(), 1u);
    EXPECT_FLOAT_EQ(alone[0].logit, raw[13] - 99.0f);
}

TEST(SamplePenalties, MaskBansBeforeEverythingElse) {
    const std::vector<float> raw = logits_with_signs();
    SamplingParams p = plain();
    p.logit_bias = {{20, 50.0f}, {21, 1.0f}};
    p.frequency_penalty = 0.5f;
    std::vector<bool> allowed(kVocab, false);
    std::vector<uint64_t> bits((kVocab + 63) / 64, 0);
    std::vector<int32_t> ids;
    for (int32_t i = 0; i < kVocab; i += 3) {
        allowed[i] = true;
        bits[i / 64] |= uint64_t{1} << (i % 64);
        ids.push_back(i);
    }
    // 20 is disallowed (20 % 3 != 0) with a huge bias; 21 is allowed, biased and penalised.
    Sampler sampler(kVocab, p);
    sampler.accept(20);
    sampler.accept(21);
    const ref::History h{{}, {20, 21}};
    const std::vector<double> want = ref::process(raw, p, h, allowed);
    for (const TokenMask mask : {TokenMask::from_bits(bits), TokenMask::from_ids(ids)}) {
        const std::vector<float> got = processed(sampler, raw, &mask);
        for (int32_t i = 0; i < kVocab; ++i) EXPECT_EQ(static_cast<double>(got[i]), want[i]) << "token " << i;
        EXPECT_EQ(got[20], -INFINITY);
        EXPECT_FLOAT_EQ(got[21], raw[21] - 0.5f + 1.0f);
    }
}

TEST(SamplePenalties, WholeChainMatchesReference) {
    const int32_t n = 49152 + 9;
    const std::vector<float> raw = ref::model_like_logits(n, 99);
    SamplingParams p;
    p.seed = 3;
    p.temperature = 0.8f;
    p.top_k = 100;
    p.top_p = 0.9f;
    p.min_p = 0.01f;
    p.repetition_penalty = 1.2f;
    p.repeat_last_n = 16;
    p.presence_penalty = 0.3f;
    p.frequency_penalty = 0.2f;
    ref::History h;
    std::mt19937_64 rng(5);
    for (int i = 0; i < 40; ++i) h.prompt.push_back(static_cast<int32_t>(rng() % n));
    std::vector<int32_t> order = ref::sorted_ids(std::vector<double>(raw.begin(), raw.end()));
    for (int i = 0; i < 12; ++i) h.generated.push_back(order[i % 6]);  // penalise the likeliest tokens
    p.logit_bias = {{order[6], -100.0f}, {order[50], 4.0f}};
    Sampler sampler(n, p);
    sampler.accept_prompt(h.prompt);
    for (const int32_t t : h.generated) sampler.accept(t);
    const auto want = ref::distribution(ref::process(raw, p, h), p);
    const auto got = sampler.distribution(raw);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].id, want[i].first) << "rank " << i;
        EXPECT_NEAR(got[i].weight, want[i].second, 1e-6 + 1e-5 * want[i].second) << "rank " << i;
    }
}

}  // namespace
}  // namespace hotrod::sample
