// The paged KV cache: per layer, K and V rows for every cached position, stored in fixed-size blocks handed to
// sequences from a free list (BlockPool). A sequence's block table maps its logical blocks to physical ones,
// which is what backend::KvLayout carries. Full blocks can be shared between sequences with an equal token prefix
// (match_prefix / publish_prefix, on BlockPool's reference counts); shared blocks are never written again.
// A hybrid model (delta-net layers) keeps K and V for its attention layers only, and per live sequence a slot of
// recurrent state (RecurrentState) beside them, from the same budget. That state covers exactly the positions run
// so far: it cannot be cut back, so truncate resets such a sequence. Its prefix cache pairs the shared K/V blocks
// with snapshots of the state taken at block boundaries (plan_snapshots, docs/ARCHITECTURE.md says where and
// why): a new sequence resumes from the longest published snapshot its prompt's blocks reach.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "model/batch.h"
#include "model/block_pool.h"
#include "model/config.h"
#include "model/recurrent_state.h"

namespace hotrod::model {

// The cache cannot hold what a sequence asks for. The caller may free sequences and retry.
class KvFullError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct KvOptions {
    int block_size = 16;                   // tokens per block
    int n_ctx = 4096;                      // total cached tokens over all sequences (used when kv_bytes is 0)
    size_t kv_bytes = 0;                   // memory budget for K and V of all layers; 0: size from n_ctx
    quant::DType type = quant::DType::F16;  // F16 or Q8_0 (Q8_0 needs n_kv_heads * head_dim % 32 == 0)
    int n_seqs = 4;                        // hybrid models: recurrent-state slots = sequences alive at once
    int n_state_snapshots = 16;            // hybrid models: rows for prefix-cache snapshots of the state
    int snapshot_interval = 128;           // hybrid models: a snapshot every this many positions (a multiple of
                                           // block_size; rounded up to one of prompt_align), besides each prefill
                                           // chunk's last aligned boundary
};

class KvCache {
public:
    KvCache(backend::Backend& be, const Config& c, const KvOptions& opt);

    // A new empty sequence; returns its id (ids of removed sequences are reused).
    int32_t add_sequence();
    // Returns the sequence's blocks to the pool; its id may be handed out again.
    void remove_sequence(int32_t seq_id);
    // Drops cached positions >= n_positions (a shorter sequence keeps its first blocks). A kept partial block that
    // was published is unpublished first (it will be overwritten); one shared with another sequence is a logic_error.
    // Returns the positions kept: n_positions, or 0 for a hybrid model's sequence cut short of its state (which
    // holds every position run and cannot drop some), so the caller runs the sequence again from its start.
    int truncate(int32_t seq_id, int n_positions);
    // Makes room for positions [0, n_positions) of the sequence; throws KvFullError when the pool runs out
    // (the blocks already held stay held).
    void reserve(int32_t seq_id, int n_positions);

    // Prefix cache. For an empty sequence: takes shared references to the published blocks that hold the longest
    // prefix of tokens, leaving at least the last token to compute; returns the number of positions covered (a
    // multiple of block_size).
    int match_prefix(int32_t seq_id, std::span<const int32_t> tokens);
    // Publishes the sequence's full blocks among positions [0, n_computed) of tokens (its whole token list so far)
    // so later sequences can share them. Idempotent; cheap when nothing new is full.
    void publish_prefix(int32_t seq_id, std::span<const int32_t> tokens, int n_computed);

    const int32_t* block_table(int32_t seq_id) const { return seqs_.at(size_t(seq_id)).blocks.data(); }
    int capacity(int32_t seq_id) const { return int(seqs_.at(size_t(seq_id)).blocks.size()) * block_size_; }
    bool has_sequence(int32_t seq_id) const {
        return seq_id >= 0 && size_t(seq_id) < seqs_.size() && seqs_[size_t(seq_id)].live;
    }

    backend::KvLayerView layer(int il) const;  // an attention layer's K and V
    // Hybrid models: the delta-net layers' state (nullptr for other models); slot i belongs to sequence id i.
    const RecurrentState* recurrent() const { return recurrent_.get(); }
    // Positions the sequence's recurrent state covers (Model::forward advances it); a step must continue there
    // or start the sequence again at position 0.
    int state_positions(int32_t seq_id) const { return seqs_.at(size_t(seq_id)).n_state; }
    void set_state_positions(int32_t seq_id, int n) { seqs_.at(size_t(seq_id)).n_state = n; }
    // Hybrid models: the state snapshots a step takes (Model::forward hands them to the recurrent ops): at every
    // multiple of snapshot_interval a batch sequence passes, and at the last block boundary it passes (a prefill
    // chunk's: published with its block; a decode step's: the sequence's tail, published when it ends). Rows come
    // from the free ones, else the least recently used published snapshot; none left: that snapshot is skipped.
    std::span<const backend::StateSnapshot> plan_snapshots(const Batch& b);
    void cancel_snapshots();  // the planned step did not run: forget what it would have written
    int n_state_snapshots() const { return int(snap_index_.size()); }  // published, reusable
    int block_size() const { return block_size_; }
    // Hybrid models: where a prompt's prefill chunks should end (positions that are multiples of it) for its numbers
    // not to depend on how it was cut (Backend::recurrent_align); the prompt snapshots are taken at multiples of it
    // (and of block_size). 1 for other models and backends.
    int prompt_align() const { return prompt_align_; }
    int n_blocks() const { return pool_.n_blocks(); }
    int n_blocks_free() const { return pool_.n_free(); }
    int n_blocks_cached() const { return pool_.n_cached(); }        // parked for prefix reuse, evictable
    int n_blocks_available() const { return pool_.n_available(); }  // free + evictable
    uint64_t prefix_lookups() const { return lookups_; }            // blocks looked up by match_prefix
    uint64_t prefix_hits() const { return hits_; }
    int n_positions_total() const { return pool_.n_blocks() * block_size_; }
    size_t bytes() const { return bytes_; }
    quant::DType type() const { return type_; }

private:
    struct Snapshot {
        int32_t row = -1;
        int position = 0;
    };
    struct Seq {
        bool live = false;
        std::vector<int32_t> blocks;
        std::vector<uint64_t> hashes;  // chained prefix hash of blocks[0..hashes.size()), all full
        int n_state = 0;               // hybrid models: positions in the recurrent state
        std::vector<Snapshot> pending;  // taken, waiting for the hash of their block (publish_prefix)
        Snapshot tail;                 // the latest decode-step snapshot, published when the sequence ends
    };
    struct CachedSnapshot {
        int32_t row;
        uint64_t last_used;
    };
    // The published blocks (id, hash) holding the longest prefix of tokens' first max_blocks blocks.
    std::vector<std::pair<int32_t, uint64_t>> published_prefix(std::span<const int32_t> tokens, size_t max_blocks);
    // How many of them to take so the last ends at a state snapshot, and taking it: the state into the slot.
    size_t blocks_up_to_snapshot(const std::vector<std::pair<int32_t, uint64_t>>& found) const;
    void resume_from_snapshot(int32_t seq_id, uint64_t block_hash);
    int32_t take_snapshot_row();
    // Files the snapshot at `position` under the hash of the block ending there, if the sequence has that hash;
    // returns false (row untouched) if not. An equal key keeps the older entry and frees this row.
    bool publish_snapshot(const Seq& s, Snapshot snap);
    void free_snapshots(Seq& s);
    int n_layers_;
    int n_kv_heads_;
    int head_dim_;
    int block_size_;
    quant::DType type_;
    size_t layer_bytes_ = 0;  // bytes of K (or V) for one layer
    std::vector<int> kv_index_;  // layer -> its index among the layers with K and V, -1 for delta-net layers
    size_t bytes_ = 0;
    BlockPool pool_;
    std::unique_ptr<backend::Buffer> buffer_;  // [attention layer][K, V][n_blocks * block_size rows]
    std::unique_ptr<RecurrentState> recurrent_;
    int snapshot_interval_ = 0;
    int prompt_align_ = 1;
    int snapshot_align_ = 1;  // lcm(block_size, prompt_align)
    std::vector<int32_t> snap_free_;                            // snapshot rows holding nothing
    std::unordered_map<uint64_t, CachedSnapshot> snap_index_;   // block hash -> the state after that block
    uint64_t snap_clock_ = 0;
    std::vector<backend::StateSnapshot> snap_plan_;             // the last plan_snapshots
    std::vector<std::pair<int32_t, Snapshot>> snap_planned_;    // (sequence id, snapshot) of that plan
    std::vector<Seq> seqs_;
    uint64_t lookups_ = 0, hits_ = 0;
};

}  // namespace hotrod::model
