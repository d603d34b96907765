// engine::Sequence: everything the scheduler keeps for one request between submit and finish: its tokens (prompt,
// then every generated or grammar-forced token), how many of them have KV in the cache, its sampler and grammar
// state, the incremental detokenizer and stop-string matcher, and the event being filled this step.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "engine/engine.h"
#include "engine/stop_strings.h"
#include "sample/grammar.h"
#include "sample/sampler.h"
#include "text/detokenize.h"

namespace hotrod::engine {

using Clock = std::chrono::steady_clock;

struct Sequence {
    Sequence(const text::Tokenizer& tok, Request r, std::shared_ptr<Stream> s)
        : stream(std::move(s)), req(std::move(r)), decoder(tok), stops(req.stop) {}

    std::shared_ptr<Stream> stream;
    Request req;
    std::vector<int32_t> tokens;  // prompt + output; tokens[n_computed..] are still to be fed to the model
    int n_prompt = 0;
    int n_computed = 0;           // positions whose K/V are in the cache
    int n_feeding = 0;            // tokens of this sequence in the current step's batch
    bool waited_for_align = false;  // its prompt chunk skipped a step for want of a budget reaching prompt_align
    int n_generated = 0;          // output tokens (sampled or forced)
    int32_t kv_id = -1;           // KvCache sequence while admitted, -1 while waiting
    uint64_t order = 0;           // admission order of first admission (preemption takes the youngest)
    bool admitted_once = false;
    bool sampled_once = false;    // past the prompt: its pending tokens are decode tokens
    bool grammar_on = false;      // the matcher constrains the next token
    int cached_tokens = 0;        // prompt positions found in the prefix cache at first admission
    std::vector<double> embd_acc; // embedding requests: the pooled rows so far (pooling.h), reset at admission

    std::unique_ptr<sample::Sampler> sampler;
    std::optional<sample::Matcher> matcher;
    text::StreamDecoder decoder;
    StopStrings stops;
    Event out;                    // filled during a step, pushed at its end

    Clock::time_point t_submit{}, t_admit{}, t_first_token{};
    bool got_first_token = false;
    bool done = false;            // finished: the final event is pushed; the step removes it

    int pending() const { return int(tokens.size()) - n_computed; }
};

}  // namespace hotrod::engine
