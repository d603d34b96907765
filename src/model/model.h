// model::Model: a loaded model (mapped file, Config, Weights, activation buffers sized once) and the batched
// forward step the engine calls: tokens of many sequences in, logits rows out. The KV cache is the caller's
// (kv_cache.h), so the scheduler decides which sequences live; the Model only reads and writes their blocks.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "backend/backend.h"
#include "gguf/reader.h"
#include "model/arch.h"
#include "model/batch.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/weights.h"

namespace hotrod::model {

struct LoadOptions {
    int max_batch_tokens = 512;  // tokens per forward step (prefill chunk + decode tokens)
    int max_logit_rows = 64;     // rows of logits per step (n_vocab floats each: 1 MB per row at 262144)
    int max_seqs = 256;          // sequences per step
    int max_embd_rows = 0;       // final-normed hidden rows per step (embeddings: every prompt row for mean
                                 // pooling, so up to max_batch_tokens); 0: none, no buffers for them
    // Called after each weight is made usable by the backend (uploaded, on a GPU) with bytes done and in all.
    std::function<void(size_t done, size_t total)> on_weight_progress;
    // Tensor parallelism: this model is rank tp.rank's slice (tensor_parallel.h), its backend the rank's member of
    // the group whose all_reduce adds the ranks' partial sums. size 1: the whole model.
    TensorParallel tp;
};

class Model {
public:
    // Opens the file, reads its Config, checks and maps every tensor, allocates activations. Throws Error
    // (or gguf::Error) naming the file and what is wrong.
    static std::unique_ptr<Model> load(const std::string& path, backend::Backend& be, const LoadOptions& opt = {});

    const Config& config() const { return config_; }
    const gguf::File& file() const { return file_; }
    const Weights& weights() const { return weights_; }
    const LoadOptions& options() const { return opt_; }
    backend::Backend& backend() const { return be_; }  // for the caller's KvCache
    size_t weight_bytes() const;  // bytes of every tensor the forward reads

    // One batched step. Checks the batch (std::invalid_argument naming the problem), reserves KV blocks for every
    // sequence up to its highest position (KvFullError when the pool runs out), runs the forward and waits for it.
    // Returns the number of logits rows (batch.logit_rows.size()).
    int forward(const Batch& batch, KvCache& kv);
    // Row i of the last step's logits (n_vocab floats), in host memory (copied from the device once per step on
    // a GPU, read in place on the CPU).
    std::span<const float> logits(int i) const;
    // Whether the last step returned only each logits row's arg-max (batch.greedy_only, on a model without a final
    // soft-cap, on a backend that prefers_argmax_rows): then logits() throws and greedy_id(i) is row i's pick (-1:
    // nothing above -inf).
    bool greedy_ids_only() const { return greedy_only_; }
    int32_t greedy_id(int i) const;
    // Row i of the last step's final-normed hidden states (n_embd floats), in the order of batch.embd_rows, in host
    // memory like logits.
    std::span<const float> embedding_row(int i) const;

    // Debug: called with every named intermediate (see Step::dump).
    void set_trace(std::function<void(std::string_view, int, const TensorView&)> fn) { trace_ = std::move(fn); }

private:
    Model(gguf::File file, backend::Backend& be);
    void check_batch(const Batch& batch, const KvCache& kv) const;

    gguf::File file_;
    backend::Backend& be_;
    const Arch* arch_ = nullptr;
    Config config_;
    Weights weights_;
    LoadOptions opt_;
    std::vector<std::unique_ptr<backend::Buffer>> buffers_;
    Activations act_;                            // full size
    std::vector<const int32_t*> block_tables_;   // (max_seqs) per step
    int n_logits_ = 0;
    std::unique_ptr<backend::Buffer> logits_host_;  // max_logit_rows x n_vocab, when the backend is not the host
    const float* logits_ = nullptr;                 // the last step's logits rows in host memory
    bool greedy_only_ = false;                      // the last step returned greedy_ids_ instead
    std::vector<int32_t> greedy_ids_;
    int n_embd_rows_ = 0;
    std::unique_ptr<backend::Buffer> embd_host_;    // max_embd_rows x n_embd, when the backend is not the host
    const float* embd_ = nullptr;                   // the last step's final-normed hidden rows in host memory
    std::function<void(std::string_view, int, const TensorView&)> trace_;
};

}  // namespace hotrod::model
