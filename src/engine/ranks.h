// The model ranks an engine drives: one Model (the usual case) or the N tensor-parallel ranks of one model
// (model/tensor_parallel.h), each a Model on its own backend of one group, with its own KV cache holding its KV
// heads. Every rank computes the same logits (the output head is replicated, the residual stream all-reduced), so
// the engine reads rank 0's. What changes a KV cache's bookkeeping is done on every rank's cache in the same order,
// so their sequences, block tables and prefix caches stay the same (checked: a rank that answers differently is a
// logic_error). A step runs every rank's forward at once, ranks 1..N-1 on worker threads of their own, since the
// group's all-reduce waits for all of them.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "model/batch.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace hotrod::engine {

class Ranks {
public:
    // models: rank 0 first; one KV cache each, sized by ko on the rank's backend.
    Ranks(std::span<model::Model* const> models, const model::KvOptions& ko);
    ~Ranks();
    Ranks(const Ranks&) = delete;
    Ranks& operator=(const Ranks&) = delete;

    int size() const { return int(models_.size()); }
    model::Model& model() { return *models_[0]; }  // logits, ids, embeddings, config: rank 0's
    const model::Model& model() const { return *models_[0]; }
    const model::KvCache& kv() const { return *kvs_[0]; }  // sizes and counters: rank 0's

    // KvCache's operations, on every rank's cache.
    int32_t add_sequence();
    void remove_sequence(int32_t seq_id);
    int match_prefix(int32_t seq_id, std::span<const int32_t> tokens);
    void publish_prefix(int32_t seq_id, std::span<const int32_t> tokens, int n_computed);

    // Every rank's Model::forward of the batch at once. Rethrows rank 0's failure, else the first other rank's.
    // The checks that can fail a step (the batch's shape, KV blocks running out) come before the first all-reduce
    // and see the same state on every rank, so every rank fails alike; a rank failing past them would leave the
    // others waiting in the all-reduce (cpu::HostGroup's contract).
    void forward(const model::Batch& batch);

private:
    void work(int rank);

    std::vector<model::Model*> models_;
    std::vector<std::unique_ptr<model::KvCache>> kvs_;

    // Ranks 1..N-1's workers: a step is handed over by bumping step_, and each worker counts pending_ down.
    std::mutex mu_;
    std::condition_variable start_, done_;
    const model::Batch* batch_ = nullptr;
    uint64_t step_ = 0;
    int pending_ = 0;
    bool stop_ = false;
    std::vector<std::exception_ptr> errors_;
    std::vector<std::thread> workers_;
};

}  // namespace hotrod::engine
