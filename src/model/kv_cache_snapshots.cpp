// KvCache's prefix cache for hybrid models: snapshots of the delta-net state at block boundaries, filed under the
// hash of the block they end, matched together with the K/V blocks (see kv_cache.h and docs/ARCHITECTURE.md).
#include <algorithm>
#include <string>

#include "model/kv_cache.h"

namespace hotrod::model {

int32_t KvCache::take_snapshot_row() {
    if (!snap_free_.empty()) {
        const int32_t r = snap_free_.back();
        snap_free_.pop_back();
        return r;
    }
    if (snap_index_.empty()) return -1;  // every row is a live sequence's pending snapshot or tail
    auto lru = snap_index_.begin();
    for (auto it = snap_index_.begin(); it != snap_index_.end(); ++it)
        if (it->second.last_used < lru->second.last_used) lru = it;
    const int32_t r = lru->second.row;
    snap_index_.erase(lru);
    return r;
}

bool KvCache::publish_snapshot(const Seq& s, Snapshot snap) {
    const size_t block = size_t(snap.position / block_size_);
    if (block == 0 || block > s.hashes.size()) return false;  // its block is not hashed (published) yet
    const auto [it, inserted] = snap_index_.try_emplace(s.hashes[block - 1], CachedSnapshot{snap.row, ++snap_clock_});
    if (!inserted) snap_free_.push_back(snap.row);  // the same prefix is filed already
    return true;
}

void KvCache::free_snapshots(Seq& s) {
    for (const Snapshot& snap : s.pending) snap_free_.push_back(snap.row);
    s.pending.clear();
    if (s.tail.row >= 0) snap_free_.push_back(s.tail.row);
    s.tail = {};
}

size_t KvCache::blocks_up_to_snapshot(const std::vector<std::pair<int32_t, uint64_t>>& found) const {
    size_t n = found.size();
    while (n > 0 && !snap_index_.contains(found[n - 1].second)) --n;
    return n;
}

void KvCache::resume_from_snapshot(int32_t seq_id, uint64_t block_hash) {
    CachedSnapshot& snap = snap_index_.at(block_hash);
    snap.last_used = ++snap_clock_;
    recurrent_->copy_row(snap.row, seq_id);  // the sequence's slot is its id
    Seq& s = seqs_[size_t(seq_id)];
    s.n_state = int(s.blocks.size()) * block_size_;
}

std::span<const backend::StateSnapshot> KvCache::plan_snapshots(const Batch& b) {
    snap_plan_.clear();
    snap_planned_.clear();
    if (!recurrent_) return {};
    for (int t0 = 0; t0 < b.n_tokens();) {
        const int bs = b.token_seq[size_t(t0)];
        int t1 = t0;
        while (t1 < b.n_tokens() && b.token_seq[size_t(t1)] == bs) ++t1;
        const int32_t id = b.seq_ids[size_t(bs)];
        Seq& s = seqs_.at(size_t(id));
        const int first = b.positions[size_t(t0)], end = first + (t1 - t0);  // state goes from first to end
        // A run of several tokens (a prefill chunk) keeps its last boundary at a multiple of snapshot_align_, where
        // a resumed prompt sums as its cold run did (prompt_align); a decode step's tail takes any block boundary:
        // generated tokens take the decode form, which a cold prompt does not, so nearer is all that helps there.
        const bool decode = t1 - t0 == 1;
        const int align = decode ? block_size_ : snapshot_align_;
        const int last_boundary = end / align * align;
        for (int q = (first / block_size_ + 1) * block_size_; q <= end; q += block_size_) {
            const bool on_interval = q % snapshot_interval_ == 0, is_last = q == last_boundary;
            if (!on_interval && !is_last) continue;
            Snapshot snap;
            if (on_interval || !decode) {  // kept for the prefix: published with its block
                snap = {take_snapshot_row(), q};
                if (snap.row < 0) continue;
                s.pending.push_back(snap);
            } else {  // a decode step's: the tail, overwritten as the sequence goes on
                if (s.tail.row < 0) s.tail.row = take_snapshot_row();
                if (s.tail.row < 0) continue;
                s.tail.position = q;
                snap = s.tail;
            }
            snap_plan_.push_back({bs, q, snap.row});
            snap_planned_.emplace_back(id, snap);
        }
        t0 = t1;
    }
    return snap_plan_;
}

void KvCache::cancel_snapshots() {
    for (const auto& [id, snap] : snap_planned_) {
        Seq& s = seqs_.at(size_t(id));
        std::erase_if(s.pending, [&](const Snapshot& p) { return p.row == snap.row; });
        if (s.tail.row == snap.row) s.tail = {};
        snap_free_.push_back(snap.row);
    }
    snap_plan_.clear();
    snap_planned_.clear();
}

}  // namespace hotrod::model
