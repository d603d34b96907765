// Sampler: one per sequence. The scheduler calls sample() once per step on that sequence's row of logits,
// then accept() with the token it keeps. Every buffer is sized in the constructor (33 bytes per vocabulary
// entry: 8.7 MB at 262144, 1.6 MB at 49152), so sample() never allocates. The stages and their order are
// documented on SamplingParams; the grammar engine's constraint arrives as a TokenMask.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include "sample/history.h"
#include "sample/kernels.h"
#include "sample/params.h"

namespace hotrod::sample {

// Tokens a constraint allows; every other token gets -inf before any other stage.
struct TokenMask {
    enum class Kind : uint8_t { bits, ids };
    Kind kind = Kind::bits;
    std::span<const uint64_t> bits;  // bit (i % 64) of word i / 64 set = token i allowed; covers n_vocab bits
    std::span<const int32_t> ids;    // the allowed ids, any order; an id outside the vocabulary is an error

    static TokenMask from_bits(std::span<const uint64_t> b) { return {Kind::bits, b, {}}; }
    static TokenMask from_ids(std::span<const int32_t> i) { return {Kind::ids, {}, i}; }
};

enum class SampleStatus : uint8_t {
    ok,
    no_candidates,  // every token is banned (mask, bias, or -inf/NaN logits): the sequence should end with an error
    bad_logits,     // the row's length is not n_vocab
    bad_mask,       // the bitset is shorter than n_vocab bits, or an allowed id is outside the vocabulary
};

const char* to_string(SampleStatus status);

struct TokenLogprob {
    int32_t token_id;
    float logprob;
};

struct SampleResult {
    SampleStatus status = SampleStatus::ok;
    int32_t token_id = -1;  // -1 unless status == ok
    float logprob = std::numeric_limits<float>::quiet_NaN();  // when params.logprobs: model's log p(token_id)
    int32_t n_top_logprobs = 0;                               // entries used in top_logprobs
    std::array<TokenLogprob, kMaxTopLogprobs> top_logprobs{};  // most likely first, lower id on ties

    bool ok() const { return status == SampleStatus::ok; }
};

// log(sum_i exp(logits[i])) with NaN as -inf: the model's log-normaliser, so log p(i) = logits[i] - it.
// -inf when no logit is finite; +inf when one is +inf (then the +inf tokens share all the mass).
double log_normalizer(std::span<const float> logits);

class Sampler {
public:
    // Throws std::invalid_argument with validate()'s message when params are unusable.
    Sampler(int32_t n_vocab, const SamplingParams& params);

    // Starts a new request on the same buffers: new params, empty history, RNG re-seeded.
    void reset(const SamplingParams& params);

    // Prompt tokens count for the repetition penalty only; generated tokens (accept) count for all penalties.
    void accept_prompt(std::span<const int32_t> token_ids);
    void accept(int32_t token_id);

    // Picks the next token from one row of logits (n_vocab floats). Never throws, never allocates; a row that
    // leaves no candidate gives status no_candidates. Uses exactly one random draw unless greedy.
    SampleResult sample(std::span<const float> logits, const TokenMask* mask = nullptr);

    // The distribution the next draw would use: the survivors with probabilities (in .weight) summing to 1,
    // most likely first. Greedy gives the one arg-max token. Empty on a bad row or when nothing survives.
    // For tests and debugging: it draws nothing, and the span lives until the next call.
    std::span<const Candidate> distribution(std::span<const float> logits, const TokenMask* mask = nullptr);

    // Whether sample() without a mask picks a row's first arg-max and needs nothing else of it (greedy, no
    // penalty, no bias, no logprobs): then the caller may pass that id to accept() without the row
    // (Batch::greedy_only: a GPU reads back 4 bytes a row instead of the vocabulary's logits).
    bool picks_raw_argmax() const;

    const SamplingParams& params() const { return params_; }
    int32_t n_vocab() const { return n_vocab_; }

private:
    // What the truncation stages leave: either a sparse list of candidates or the whole row of weights.
    struct Selection {
        SampleStatus status = SampleStatus::ok;
        int32_t greedy_id = -1;               // set when greedy
        const float* logits = nullptr;        // the row after mask, penalties and bias
        const Candidate* candidates = nullptr;  // sparse survivors, or
        size_t n_candidates = 0;
        const float* dense_weights = nullptr;   // weights for every token (temperature only)
        double total = 0.0;                     // sum of the survivors' weights
    };

    const float* prepare(std::span<const float> logits, const TokenMask* mask, SampleStatus& status);
    // The penalties the params ask for (prepare applies them once the history holds a token).
    bool window_penalty() const { return params_.repetition_penalty != 1.0f && params_.repeat_last_n != 0; }
    bool count_penalty() const { return params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f; }
    Selection select(std::span<const float> logits, const TokenMask* mask);
    Selection select_top_k(const float* src, float max, float inv_t);
    Selection select_top_p(const float* src, float max, float inv_t);
    Selection select_min_p(const float* src, float max, float inv_t);
    size_t truncate_sorted(Candidate* c, size_t n, double total) const;
    int32_t draw(const Selection& sel);
    void fill_logprobs(std::span<const float> logits, SampleResult& result);

    int32_t n_vocab_;
    SamplingParams params_;
    std::vector<std::pair<int32_t, float>> bias_;  // params_.logit_bias with duplicates summed, sorted by id
    std::mt19937_64 rng_;
    TokenHistory history_;
    std::vector<float> work_;         // [n_vocab] logits after mask, penalties and bias
    std::vector<float> weights_;      // [n_vocab] exp((logit - max) / T)
    std::vector<double> block_totals_;  // [ceil(n_vocab / kSumBlock)] sums of weights_ per block
    std::vector<Candidate> candidates_;  // [n_vocab]
};

}  // namespace hotrod::sample
