// Per-request sampling parameters (what an OpenAI request or a `hotrod run` flag asks for) and their
// validation. The server validates before queueing; the Sampler trusts validated params. The order in
// which the Sampler applies them is documented on SamplingParams.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hotrod::sample {

// OpenAI caps top_logprobs at 20; a fixed cap lets SampleResult carry them without allocating.
inline constexpr int kMaxTopLogprobs = 20;

// A logit_bias value at or below this bans the token outright (-inf), as OpenAI documents for -100.
inline constexpr float kBanBias = -100.0f;

// Order of application, each stage on the output of the one before:
//   1. constraint mask (grammar): disallowed tokens -> -inf; NaN logits -> -inf
//   2. repetition_penalty over the last repeat_last_n tokens seen (prompt + generated), llama.cpp style:
//      a positive logit is divided by the penalty, a negative one multiplied
//   3. presence / frequency penalties over the generated tokens only (OpenAI): l -= presence*[c>0] + frequency*c
//   4. logit_bias: added; a bias <= kBanBias bans the token
//   5. temperature (0 = greedy: argmax of the logits after 1-4, lowest id on ties, no random draw)
//   6. top_k, then top_p over the top-k renormalised distribution, then min_p (relative to the top token);
//      all three keep a prefix of the tokens sorted by probability (ties: lower id first)
//   7. one uniform draw from the renormalised survivors
// Log-probabilities are those of the model's own distribution: log_softmax of the raw logits (NaN as -inf),
// before mask, penalties, bias, temperature and truncation (vLLM's default "raw_logprobs"); so a banned or
// grammar-forced token still reports what the model thought of it.
struct SamplingParams {
    float temperature = 1.0f;         // >= 0; 0 = greedy
    int32_t top_k = 0;                // <= 0: off
    float top_p = 1.0f;               // (0, 1]; 1: off
    float min_p = 0.0f;               // [0, 1]; 0: off
    float repetition_penalty = 1.0f;  // > 0; 1: off
    int32_t repeat_last_n = 64;       // window of the repetition penalty; 0: off; -1: every token seen
    float presence_penalty = 0.0f;    // OpenAI range [-2, 2], finite is all we require
    float frequency_penalty = 0.0f;
    std::vector<std::pair<int32_t, float>> logit_bias;  // (token_id, bias); duplicates add up
    std::optional<uint64_t> seed;     // none: seeded from std::random_device
    bool logprobs = false;            // report the chosen token's log-probability
    int32_t n_top_logprobs = 0;       // [0, kMaxTopLogprobs]; needs logprobs

    bool greedy() const { return temperature == 0.0f; }
};

// Empty when params are usable with a vocabulary of n_vocab tokens, else a message naming the field,
// the value found and what was expected (the server returns it as a 400).
std::string validate(const SamplingParams& params, int32_t n_vocab);

}  // namespace hotrod::sample
