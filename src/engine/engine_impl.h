// Engine::Impl, shared by engine.cpp (threading, submit, shutdown) and scheduler_step.cpp (one step: admit,
// batch, forward, sample, publish). Private to the engine library.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/ranks.h"
#include "engine/sequence.h"
#include "model/batch.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "text/tokenizer.h"

namespace hotrod::engine {

struct Engine::Impl {
    // models: one, or a tensor-parallel group's ranks (rank 0 first).
    Impl(std::span<model::Model* const> models, const text::Tokenizer& t, int kv_positions, const EngineOptions& o);

    // Engine thread.
    void run();
    void step();
    void check_cancelled();
    void admit();
    bool start(Sequence& s);  // first admission: sampler, grammar, forced scaffolding; false when it finished
    void build_batch();
    bool forward_or_preempt();  // false when nothing could run
    void preempt(size_t running_index);
    void on_logits(Sequence& s, std::span<const float> logits);
    void on_sampled(Sequence& s, const sample::SampleResult& r);
    void finish_embedding(Sequence& s);
    void emit(Sequence& s, int32_t id, const TokenOut& t);
    void append_forced(Sequence& s);
    bool check_done(Sequence& s);  // finishes s when a stop condition holds
    void finish(Sequence& s, FinishReason why, std::string error = {});
    void flush_events();
    void update_stats();
    void cancel_everything(const char* why);

    model::Model& model;  // rank 0's: config, logits, ids and embeddings (every rank computes the same)
    const text::Tokenizer& tok;
    EngineOptions opt;
    std::unique_ptr<Ranks> ranks;  // every rank's model and KV cache: forward and the caches' bookkeeping
    std::shared_ptr<sample::TokenIndex> index;
    int n_vocab = 0;
    int max_ctx = 0;
    std::vector<int32_t> eog_ids;  // end-of-generation tokens inside the model's vocabulary (ignore_eos bans them)
    int32_t think_close = -1;  // "</think>" token: a grammar waits for it when the prompt opened reasoning

    // Shared with submit() / shutdown().
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::unique_ptr<Sequence>> incoming;
    std::atomic<int> n_queued{0};  // submitted, not yet admitted
    std::atomic<int> n_running{0};  // busy slots after the last step
    bool accepting = true;
    bool shutting_down = false;
    Clock::time_point deadline{};

    // Engine thread only.
    std::deque<std::unique_ptr<Sequence>> waiting;
    std::vector<std::unique_ptr<Sequence>> running;  // in admission order
    std::vector<std::unique_ptr<sample::Sampler>> spare_samplers;
    model::Batch batch;
    std::vector<Sequence*> batch_seqs;  // sequence of each batch sequence
    std::vector<Sequence*> row_seqs;    // sequence of each logits row
    std::vector<Sequence*> embd_seqs;   // sequence of each embedding row
    std::vector<uint64_t> mask;
    uint64_t next_order = 0;
    EngineStats totals;                 // counters kept by the engine thread

    mutable std::mutex stats_mu;
    EngineStats snapshot;

    std::thread thread;
};

}  // namespace hotrod::engine
