// Validation of SamplingParams: every field range in one place, with messages that name field and value.
#include "sample/params.h"

#include <cmath>
#include <string>

namespace hotrod::sample {

namespace {

std::string bad(const char* field, double found, const char* expected) {
    return std::string("sampling: ") + field + " = " + std::to_string(found) + ", expected " + expected;
}

}  // namespace

std::string validate(const SamplingParams& p, int32_t n_vocab) {
    if (n_vocab <= 0) return bad("n_vocab", n_vocab, "> 0");
    if (!std::isfinite(p.temperature) || p.temperature < 0.0f)
        return bad("temperature", p.temperature, "a finite value >= 0");
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) return bad("top_p", p.top_p, "a value in (0, 1]");
    if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) return bad("min_p", p.min_p, "a value in [0, 1]");
    if (!std::isfinite(p.repetition_penalty) || p.repetition_penalty <= 0.0f)
        return bad("repetition_penalty", p.repetition_penalty, "a finite value > 0");
    if (p.repeat_last_n < -1) return bad("repeat_last_n", p.repeat_last_n, "-1 (all), 0 (off) or a window size");
    if (!std::isfinite(p.presence_penalty)) return bad("presence_penalty", p.presence_penalty, "a finite value");
    if (!std::isfinite(p.frequency_penalty)) return bad("frequency_penalty", p.frequency_penalty, "a finite value");
    if (p.n_top_logprobs < 0 || p.n_top_logprobs > kMaxTopLogprobs)
        return bad("n_top_logprobs", p.n_top_logprobs, "a value in [0, 20]");
    for (const auto& [token_id, bias] : p.logit_bias) {
        if (token_id < 0 || token_id >= n_vocab)
            return "sampling: logit_bias token id " + std::to_string(token_id) + " outside the vocabulary [0, " +
                   std::to_string(n_vocab) + ")";
        if (std::isnan(bias) || bias == INFINITY)
            return "sampling: logit_bias for token " + std::to_string(token_id) + " is " + std::to_string(bias) +
                   ", expected a number or -inf";
    }
    return {};
}

}  // namespace hotrod::sample
