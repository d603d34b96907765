// Perplexity of a model over a text, measured as llama.cpp's llama-perplexity measures it so the two figures
// can be put side by side: the text's tokens (BOS included when the tokenizer adds one) are cut into
// consecutive chunks of n_ctx tokens (a last partial chunk is dropped); each chunk runs as a fresh sequence
// from position 0 with its first token replaced by BOS (when the tokenizer adds BOS), and only its second
// half is scored: the logits at positions n_ctx/2 .. n_ctx-2 against the token that follows each, so every
// scored token has at least n_ctx/2 tokens of context. PPL = exp(mean negative log-likelihood).
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "model/kv_cache.h"
#include "model/model.h"
#include "text/vocab.h"

namespace hotrod::app {

struct PerplexityOptions {
    int n_ctx = 512;                        // tokens per chunk (llama-perplexity's -c)
    int n_chunks = -1;                      // chunks to score at most; -1: every whole chunk (--chunks)
    text::TokenId bos_id = text::kNoToken;  // written over each chunk's first token; kNoToken: the text's own
};

// Running sums of the scored tokens' negative log-likelihoods (natural log).
struct NllSums {
    int64_t n = 0;      // tokens scored
    double sum = 0;     // sum of nll
    double sum_sq = 0;  // sum of nll^2

    void add(double nll) {
        ++n;
        sum += nll;
        sum_sq += nll * nll;
    }
    double ppl() const;  // exp(mean nll)
    // Standard error of ppl: the mean's standard error sqrt(s^2 / n), s^2 the sample variance of the nll,
    // carried through exp by its derivative (d exp(m) = exp(m) dm). NaN below two tokens.
    double ppl_stderr() const;
};

// -log softmax(logits)[next], the sum over the vocabulary in double.
double token_nll(std::span<const float> logits, text::TokenId next);

// Logits rows one forward step asks for: the scored positions of a chunk that fit one step. Model::load needs
// max_logit_rows at least this.
int perplexity_logit_rows(int n_ctx, int max_batch_tokens);

// Whole chunks of n_ctx that `n_tokens` tokens give, capped by opt.n_chunks.
int perplexity_n_chunks(size_t n_tokens, const PerplexityOptions& opt);

// Scores the chunks of `tokens` (see the top of this file) through model m, each chunk in steps of the
// model's max_batch_tokens through one KV sequence that is removed afterwards; on_chunk (when set) sees the
// sums after each chunk, with its 0-based index. Throws std::invalid_argument for fewer than 2 * n_ctx tokens
// (as llama-perplexity refuses them), n_ctx below 3, or a model loaded with too few logits rows; model errors
// pass through.
NllSums perplexity(model::Model& m, model::KvCache& kv, std::span<const text::TokenId> tokens,
                   const PerplexityOptions& opt,
                   const std::function<void(int, const NllSums&)>& on_chunk = {});

}  // namespace hotrod::app
