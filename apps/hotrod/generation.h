// What `hotrod run`, `chat`, `perf` and `perplexity` share: a model on the chosen backend (CPU or GPU) with its tokenizer and a one-sequence KV
// cache, the chat template choice, prompt encoding, chunked prefill and the sample-stream-feed loop. The loop is
// the engine's step loop for a single sequence; the server's scheduler does the same for many.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "device/device.h"
#include "model/model.h"
#include "sample/sampler.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace hotrod::app {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Held through pointers: the Model keeps a reference to the backend and the KvCache is not movable. Members are
// destroyed bottom-up, so the backend outlives everything that uses it.
struct Session {
    std::unique_ptr<backend::Backend> be;
    std::unique_ptr<model::Model> model;
    std::unique_ptr<text::Tokenizer> tok;
    std::unique_ptr<model::KvCache> kv;
    int32_t seq_id = -1;  // the one KV cache sequence
    double load_ms = 0;   // backend, model, tokenizer and cache

    int n_ctx() const { return kv->n_positions_total(); }
};

// The backend from `dev` (device/device.h), the model, its tokenizer and a one-sequence cache of n_ctx tokens.
// max_batch_tokens: the largest step (prefill chunk); max_logit_rows: logits rows one step may ask for (1 for
// sampling; perplexity scores many positions per step). Throws naming what failed.
Session load_session(const std::string& model_path, const device::DeviceOptions& dev, int n_ctx,
                     int max_batch_tokens = 512, int max_logit_rows = 1);

// The model's chat template (from its file, else a built-in); a fallback warning goes to stderr as "<who>: ...".
std::string chat_template_source(const gguf::File& f, std::string_view who);

// Inputs for a template render: add_generation_prompt and the BOS/EOS texts of the tokenizer, no messages yet.
text::ChatInputs chat_inputs(const text::Tokenizer& tok);

// Runs ids[first..] at positions first.. through the model in chunks of max_batch_tokens, leaving the logits of
// the last token in row 0. Positions [0, first) must already be in the cache.
void prefill(Session& s, std::span<const text::TokenId> ids, size_t first);

struct GenerateOptions {
    int n_max = 128;                       // tokens to sample at most
    bool reply = false;                    // text starts a new message (the space-prefix rule applies), else it
                                           // continues the prompt's text
    const std::atomic<bool>* stop = nullptr;  // checked before each token: set (by a signal handler) to stop early
};

struct GenerateResult {
    std::vector<text::TokenId> tokens;  // sampled and kept (no end-of-generation token)
    size_t n_fed = 0;                   // tokens[0, n_fed) are in the KV cache after the prompt
    bool hit_eog = false;               // the model ended its turn
    bool stopped = false;               // *stop was set
    double ms = 0;
};

// Samples from the last step's logits at position pos, writes each token's text to out as soon as it ends on a
// whole UTF-8 character, and feeds the token back, until end-of-generation, n_max tokens or *stop. Writes no
// trailing newline. Throws when sampling fails.
GenerateResult generate(Session& s, sample::Sampler& sampler, int32_t pos, const GenerateOptions& opt,
                        std::FILE* out);

}  // namespace hotrod::app
