// model::RecurrentState: what a hybrid model's delta-net layers carry from one step to the next instead of a KV
// cache, per sequence: the conv1d's last conv_kernel - 1 inputs and the delta rule's state (n_v_heads matrices of
// head_dim x head_dim). One fixed slot per live sequence (KvCache hands a sequence the slot of its id), all in one
// buffer allocated at load from the KV memory budget. Slots are never cleared: the backend ops start a sequence
// whose batch begins at position 0 from a zero state (backend::RecurrentLayout), so a reused slot needs no reset.
// Past the live slots, rows for snapshots of a state at a prefix's block boundary (KvCache's hybrid prefix cache):
// the ops copy a state there mid-step (backend::StateSnapshot), copy_row brings one back into a live slot.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "model/config.h"

namespace hotrod::model {

class RecurrentState {
public:
    RecurrentState(backend::Backend& be, const Config& c, int n_slots, int n_snapshot_rows = 0);

    // Bytes one sequence's slot takes over all delta-net layers (F32).
    static size_t slot_bytes(const Config& c);

    int n_slots() const { return n_slots_; }               // rows 0 .. n_slots - 1: one per live sequence
    int n_rows() const { return n_slots_ + n_snapshot_rows_; }  // then the snapshot rows
    // Row src of every delta-net layer's conv and state tensors into row dst (a snapshot restored into a slot).
    void copy_row(int src, int dst) const;
    size_t bytes() const { return bytes_; }
    // Layer il's (a delta-net layer) conv inputs: (n_rows, (conv_kernel - 1) * conv_channels), oldest first.
    backend::TensorView conv(int il) const;
    // Layer il's delta-rule states: (n_rows, n_v_heads * head_dim * head_dim), per head the key index contiguous.
    backend::TensorView state(int il) const;

private:
    backend::Backend& be_;
    int n_slots_, n_snapshot_rows_;
    size_t conv_row_bytes_, state_row_bytes_;
    std::vector<int> index_;  // layer -> its index among the delta-net layers, -1 for the others
    size_t bytes_ = 0;
    std::unique_ptr<backend::Buffer> buffer_;  // [delta-net layer][conv rows | state rows]
};

}  // namespace hotrod::model
