// The chunked perplexity measurement of `hotrod perplexity` (see perplexity.h).
#include "perplexity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace hotrod::app {

double NllSums::ppl() const {
    return std::exp(sum / double(n));
}

double NllSums::ppl_stderr() const {
    if (n < 2) return std::numeric_limits<double>::quiet_NaN();
    const double mean = sum / double(n);
    // Sample variance from the two sums; rounding can push a near-zero variance below zero.
    const double var = std::max(0.0, (sum_sq - double(n) * mean * mean) / double(n - 1));
    return std::exp(mean) * std::sqrt(var / double(n));
}

double token_nll(std::span<const float> logits, text::TokenId next) {
    if (next < 0 || size_t(next) >= logits.size())
        throw std::out_of_range("token_nll: token " + std::to_string(next) + " outside the logits row");
    // Shifted by the row's maximum so no exp overflows; the float exp of each term loses nothing that matters
    // next to the double sum over up to 262144 terms.
    const float top = *std::max_element(logits.begin(), logits.end());
    double sum_exp = 0.0;
    for (const float l : logits) sum_exp += std::exp(l - top);
    return std::log(sum_exp) - double(logits[size_t(next)] - top);
}

int perplexity_logit_rows(int n_ctx, int max_batch_tokens) {
    return std::max(1, std::min(max_batch_tokens, n_ctx - 1 - n_ctx / 2));
}

int perplexity_n_chunks(size_t n_tokens, const PerplexityOptions& opt) {
    const int whole = opt.n_ctx > 0 ? int(n_tokens / size_t(opt.n_ctx)) : 0;
    return opt.n_chunks < 0 ? whole : std::min(opt.n_chunks, whole);
}

NllSums perplexity(model::Model& m, model::KvCache& kv, std::span<const text::TokenId> tokens,
                   const PerplexityOptions& opt, const std::function<void(int, const NllSums&)>& on_chunk) {
    const int n_ctx = opt.n_ctx;
    if (n_ctx < 3)
        throw std::invalid_argument("a chunk of " + std::to_string(n_ctx) +
                                    " tokens scores nothing (at least 3)");
    if (tokens.size() < 2 * size_t(n_ctx))
        throw std::invalid_argument("the text has " + std::to_string(tokens.size()) +
                                    " tokens; a chunk size of " + std::to_string(n_ctx) + " needs at least " +
                                    std::to_string(2 * n_ctx));
    const int step_tokens = m.options().max_batch_tokens;
    if (m.options().max_logit_rows < perplexity_logit_rows(n_ctx, step_tokens))
        throw std::invalid_argument("the model was loaded with " +
                                    std::to_string(m.options().max_logit_rows) + " logits rows per step; " +
                                    std::to_string(perplexity_logit_rows(n_ctx, step_tokens)) +
                                    " are needed");
    // Scored positions: first .. n_ctx-2. The last position's next token belongs to the following chunk, and
    // llama-perplexity leaves it out too.
    const int first = n_ctx / 2;
    const int n_chunks = perplexity_n_chunks(tokens.size(), opt);

    NllSums sums;
    model::Batch batch;
    for (int c = 0; c < n_chunks; ++c) {
        const std::span<const text::TokenId> chunk = tokens.subspan(size_t(c) * size_t(n_ctx), size_t(n_ctx));
        const int32_t seq = kv.add_sequence();
        try {
            for (int start = 0; start < n_ctx; start += step_tokens) {
                const int end = std::min(n_ctx, start + step_tokens);
                batch.clear();
                const int b = batch.add_sequence(seq);
                for (int p = start; p < end; ++p) {
                    // Every chunk starts as a prompt would: with BOS in place of the token that was there.
                    const text::TokenId id =
                        p == 0 && opt.bos_id != text::kNoToken ? opt.bos_id : chunk[size_t(p)];
                    batch.add(b, id, p, p >= first && p <= n_ctx - 2);
                }
                batch.n_decode = 0;  // prompt tokens, whatever the chunk's length
                const int n_rows = m.forward(batch, kv);
                // Rows come in position order: row r is position max(start, first) + r.
                const int row0 = std::max(start, first);
                for (int r = 0; r < n_rows; ++r)
                    sums.add(token_nll(m.logits(r), chunk[size_t(row0 + r + 1)]));
            }
        } catch (...) {
            kv.remove_sequence(seq);
            throw;
        }
        kv.remove_sequence(seq);
        if (on_chunk) on_chunk(c, sums);
    }
    return sums;
}

}  // namespace hotrod::app
