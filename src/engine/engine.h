// engine::Engine: the scheduler. One engine thread owns the Model and the KV cache and runs steps: each step
// gathers the pending tokens of every active sequence (one decode token per running sequence, runs of grammar-
// forced tokens, and bounded chunks of prompts being prefilled) into one Batch, runs Model::forward, masks and
// samples, detokenizes, applies stop strings and publishes Events to each request's Stream. Requests join and
// leave between steps (continuous batching); prompts reuse cached KV blocks of equal prefixes (prefix cache).
// The server talks to it through submit() and Stream only; it never sees the model.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "sample/grammar.h"
#include "sample/params.h"
#include "sample/sampler.h"

namespace hotrod::model {
class Model;
}
namespace hotrod::text {
class Tokenizer;
}

namespace hotrod::engine {

// submit() refuses: the waiting queue is full (503) or the engine is shutting down (503).
class QueueFullError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
class ShuttingDownError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class FinishReason : uint8_t { none, stop, length, cancelled, error };
const char* to_string(FinishReason r);  // "stop", "length", "cancelled", "error"

// How an embedding request turns its prompt's final-normed hidden rows into one vector (pooling.h).
// none: not an embedding request, the prompt is continued by sampling.
enum class Pooling : uint8_t { none, mean, cls, last };
const char* to_string(Pooling p);  // "none", "mean", "cls", "last"

struct Request {
    std::string id;                       // for log lines
    std::vector<int32_t> prompt;          // token ids, at least one; prompt.size() < Engine::max_context()
    sample::SamplingParams sampling;      // validated by the caller
    int32_t max_tokens = -1;              // generated tokens at most; <= 0: until the context is full
    bool ignore_eos = false;              // end-of-generation tokens are banned
    std::vector<std::string> stop;        // stop strings: generation ends before the first one, which is not shown
    std::shared_ptr<const sample::Grammar> grammar;  // null: free text
    // The prompt ends inside a reasoning block (`<think>` opened): the grammar applies only after the
    // reasoning close tag has been generated.
    bool start_in_reasoning = false;
    // Not none: an embedding request. The prompt is run through the same steps as any other (it shares them with
    // generation) but nothing is sampled: its final event carries the pooled, L2-normalised embedding.
    // prompt.size() <= Engine::max_context() (no room for generation is needed).
    Pooling pooling = Pooling::none;
};

struct TokenOut {
    int32_t id = -1;
    float logprob = 0.0f;  // NaN when not asked for, or when the token was forced by the grammar (not sampled)
    bool forced = false;   // appended by jump-forward, not sampled
    int32_t n_top = 0;
    std::array<sample::TokenLogprob, sample::kMaxTopLogprobs> top{};
};

struct Usage {
    int32_t prompt_tokens = 0;
    int32_t completion_tokens = 0;
    int32_t cached_tokens = 0;   // prompt tokens whose KV came from the prefix cache
    double queue_ms = 0;         // submit to first step that includes the request
    double ttft_ms = 0;          // submit to first generated token
    double total_ms = 0;         // submit to finish
};

struct Event {
    std::string text;              // newly visible text: whole UTF-8 characters, stop strings held back and cut
    std::vector<TokenOut> tokens;  // the tokens generated since the last event (logprobs filled when asked)
    FinishReason finish = FinishReason::none;  // set on the last event of a request, which also carries usage
    std::string error;             // finish == error: what went wrong
    Usage usage;
    std::vector<float> embedding;  // embedding requests, final event (finish stop): n_embd floats, unit L2 norm
};

// The server's handle on one request. The engine thread pushes; an HTTP thread waits and pops.
class Stream {
public:
    // Waits until an event is pending or the timeout passes; moves every pending event into out (appending).
    // Returns false on timeout with nothing new.
    bool wait(std::vector<Event>& out, std::chrono::milliseconds timeout);
    // Asks the engine to drop the request at its next step (a final event with finish cancelled follows).
    void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
    bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
    bool finished() const;  // the final event has been pushed

    // Engine side.
    void push(Event&& e);

private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Event> pending_;
    bool finished_ = false;
    std::atomic<bool> cancelled_{false};
};

struct EngineOptions {
    int n_parallel = 4;           // sequences decoded at once
    int max_queue = 64;           // requests waiting for a slot; beyond: QueueFullError
    int step_tokens = 256;        // tokens per forward step (decode tokens + prefill chunks), <= model's batch
    bool jump_forward = true;     // append grammar-forced runs in one step
    int n_threads = 0;            // informational (the backend owns the threads)
    size_t kv_bytes = 0;          // > 0: the KV cache's byte budget (a GPU's free memory), sizing it instead of
                                  // kv_positions; a hybrid model's recurrent state comes out of it first
};

// Counters for /metrics; a consistent snapshot taken by the engine thread after each step.
struct EngineStats {
    int queue_depth = 0;
    int busy_slots = 0;
    int kv_blocks_used = 0;      // held by live sequences
    int kv_blocks_cached = 0;    // kept for prefix reuse, evictable
    int kv_blocks_total = 0;
    uint64_t prompt_tokens = 0;      // total over finished and running requests
    uint64_t generated_tokens = 0;
    uint64_t cached_tokens = 0;      // prompt tokens served from the prefix cache
    uint64_t prefix_lookups = 0;     // prompt blocks looked up
    uint64_t prefix_hits = 0;        // of which found
    uint64_t steps = 0;
    uint64_t forced_tokens = 0;      // appended by jump-forward
    uint64_t preemptions = 0;        // sequences whose KV was dropped for room and recomputed
    // Wall time of the steps (admission, batch building, forward, sampling, events) and, of it, in the model's
    // forward (the device's work and the copy of the sampled rows included): their difference is the host's share,
    // the time a GPU waits between steps.
    double step_seconds = 0.0;
    double forward_seconds = 0.0;
    std::vector<backend::BackendCounter> backend_counters;  // rank 0's backend's (Backend::counters)
};

class Engine {
public:
    // The engine keeps references to model and tokenizer; kv_positions: KV cache size in tokens over all
    // sequences. Starts the engine thread.
    Engine(model::Model& model, const text::Tokenizer& tok, int kv_positions, const EngineOptions& opt);
    // The ranks of a tensor-parallel group (model/tensor_parallel.h, each loaded with its LoadOptions::tp on a
    // backend joined to the group), rank 0 first: every step runs on all of them at once, each with its own KV
    // cache of kv_positions; sampling reads rank 0's logits. One rank is the constructor above.
    Engine(std::span<model::Model* const> ranks, const text::Tokenizer& tok, int kv_positions, const EngineOptions& opt);
    ~Engine();  // shutdown(0) if not done

    // Queues a request. Throws QueueFullError, ShuttingDownError, std::invalid_argument (empty or too long prompt,
    // an embedding request to a model loaded without room for hidden rows).
    std::shared_ptr<Stream> submit(Request r);

    // Stops accepting; running and waiting requests may finish until the grace period ends, then are cancelled.
    // Returns when the engine thread has exited.
    void shutdown(std::chrono::milliseconds grace);

    // Longest prompt + generation one sequence can hold.
    int max_context() const;
    EngineStats stats() const;
    const sample::TokenIndex& token_index() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace hotrod::engine
