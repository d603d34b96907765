// model::Batch: the tokens of one forward step, from one or more sequences, as the paged KV layout needs them.
// Tokens of a sequence are contiguous and in position order; each batch sequence names the KV cache sequence
// it reads and writes. The vectors are reused step to step (clear() keeps capacity), so no allocation once warm.
#pragma once

#include <cstdint>
#include <vector>

namespace hotrod::model {

struct Batch {
    std::vector<int32_t> tokens;      // (n_tokens) token ids
    std::vector<int32_t> positions;   // (n_tokens) position of each token in its sequence
    std::vector<int32_t> token_seq;   // (n_tokens) index into seq_ids
    std::vector<int32_t> seq_ids;     // (n_seqs) KvCache sequence id of each batch sequence
    std::vector<int32_t> logit_rows;  // token indices whose logits are wanted, ascending; logits come in this order
    std::vector<int32_t> embd_rows;   // token indices whose final-normed hidden state is wanted (embeddings),
                                      // ascending; they come back in this order (Model::embedding_row)
    // Only each logits row's arg-max is wanted (every row's sampler is plain greedy): the model may return ids
    // (Model::greedy_ids_only, Model::greedy_id) instead of copying the rows to the host.
    bool greedy_only = false;
    // The first n_decode tokens continue a generation, the rest are prompt tokens (backend::StepIndex's
    // decode_tokens, which lets a GPU keep each kind on its own kernels); -1: not said.
    int32_t n_decode = -1;

    void clear() {
        tokens.clear();
        positions.clear();
        token_seq.clear();
        seq_ids.clear();
        logit_rows.clear();
        embd_rows.clear();
        greedy_only = false;
        n_decode = -1;
    }
    int n_tokens() const { return int(tokens.size()); }
    int n_seqs() const { return int(seq_ids.size()); }

    // Starts a new batch sequence reading and writing KV cache sequence kv_seq_id; returns its batch index.
    int add_sequence(int32_t kv_seq_id) {
        seq_ids.push_back(kv_seq_id);
        return int(seq_ids.size()) - 1;
    }
    // Appends a token of batch sequence seq (the last one added, so tokens stay contiguous).
    void add(int seq, int32_t token, int32_t position, bool want_logits, bool want_embd = false) {
        if (want_logits) logit_rows.push_back(int32_t(tokens.size()));
        if (want_embd) embd_rows.push_back(int32_t(tokens.size()));
        tokens.push_back(token);
        positions.push_back(position);
        token_seq.push_back(seq);
    }
};

}  // namespace hotrod::model
