// A RecurrentLayout checked and cut into one run of tokens per batch sequence: what every backend's recurrent ops
// (conv1d_causal, gated_delta_rule) need before they launch, written once so the CPU and CUDA backends accept and
// refuse the same layouts with the same messages. Header-only: backend/ is an interface library.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace hotrod::backend {

// One batch sequence's tokens: [first_token, first_token + n_tokens) of the batch, its state row, whether it
// starts from zeros (its first position is 0), and its snapshots' range in the layout's list. Six int32s, so the
// CUDA backend uploads a vector of them as is.
struct SequenceRun {
    int32_t first_token = 0;
    int32_t n_tokens = 0;
    int32_t slot = 0;
    int32_t fresh = 0;
    int32_t snap_first = 0;
    int32_t snap_count = 0;
};
static_assert(sizeof(SequenceRun) == 6 * sizeof(int32_t));

// Checks `layout` against n_tokens tokens and n_slots state rows and fills runs (one per sequence, in sequence
// order). Throws std::invalid_argument("<backend><op>: ...") naming the first thing wrong: sequences not
// contiguous or not numbered from 0, a position that does not follow its sequence's previous one, a state slot
// out of range or shared, snapshots out of order, outside their sequence's run, or into a row the batch uses.
// scratch: reused between calls (the sorted slots).
inline void split_sequence_runs(const char* backend, const char* op, const RecurrentLayout& L, int64_t n_tokens,
                                int64_t n_slots, std::vector<SequenceRun>& runs, std::vector<int32_t>& scratch) {
    auto fail = [&](const std::string& what) {
        throw std::invalid_argument(std::string(backend) + op + ": " + what);
    };
    if (int64_t(L.positions.size()) != n_tokens || int64_t(L.token_seq.size()) != n_tokens)
        fail("layout has " + std::to_string(L.positions.size()) + " positions and " +
             std::to_string(L.token_seq.size()) + " sequence ids for " + std::to_string(n_tokens) + " tokens");
    const int64_t n_seqs = int64_t(L.state_slots.size());
    runs.assign(size_t(n_seqs), SequenceRun{});

    int64_t n_found = 0;
    for (int64_t t = 0; t < n_tokens; ++t) {
        const int32_t s = L.token_seq[size_t(t)];
        const int32_t prev = t == 0 ? -1 : L.token_seq[size_t(t - 1)];
        if (s != prev && s != prev + 1)
            fail("token " + std::to_string(t) + " of sequence " + std::to_string(s) +
                 ": the batch's sequences must be contiguous and numbered in order from 0");
        if (s == prev && L.positions[size_t(t)] != L.positions[size_t(t - 1)] + 1)
            fail("token " + std::to_string(t) + " at position " + std::to_string(L.positions[size_t(t)]) +
                 " does not follow its sequence's previous token");
        if (s != prev) {
            if (s >= n_seqs) break;  // reported below with the count
            runs[size_t(s)].first_token = int32_t(t);
            runs[size_t(s)].fresh = L.positions[size_t(t)] == 0;
            ++n_found;
        }
        ++runs[size_t(s)].n_tokens;
    }
    const int64_t n_in_batch = n_tokens == 0 ? 0 : int64_t(L.token_seq[size_t(n_tokens - 1)]) + 1;
    if (n_found != n_seqs || n_in_batch != n_seqs)
        fail("layout has " + std::to_string(n_seqs) + " state slots for " + std::to_string(n_in_batch) + " sequences");

    scratch.assign(L.state_slots.begin(), L.state_slots.end());
    for (int64_t s = 0; s < n_seqs; ++s) {
        const int32_t slot = L.state_slots[size_t(s)];
        if (slot < 0 || slot >= n_slots)
            fail("sequence " + std::to_string(s) + " has state slot " + std::to_string(slot) + " of " +
                 std::to_string(n_slots));
        runs[size_t(s)].slot = slot;
    }
    std::sort(scratch.begin(), scratch.end());
    if (const auto dup = std::adjacent_find(scratch.begin(), scratch.end()); dup != scratch.end())
        fail("two sequences share state slot " + std::to_string(*dup));

    const auto& snaps = L.snapshots;
    for (size_t i = 0; i < snaps.size(); ++i) {
        const StateSnapshot& sn = snaps[i];
        if (sn.seq < 0 || sn.seq >= n_seqs ||
            (i > 0 && (snaps[i - 1].seq > sn.seq || (snaps[i - 1].seq == sn.seq && snaps[i - 1].position >= sn.position))))
            fail("snapshot " + std::to_string(i) + ": the list must be ordered by sequence, then position");
        SequenceRun& run = runs[size_t(sn.seq)];
        const int32_t first = L.positions[size_t(run.first_token)];
        const int32_t end = first + run.n_tokens;
        if (sn.position <= first || sn.position > end)
            fail("snapshot " + std::to_string(i) + " at position " + std::to_string(sn.position) +
                 " outside its sequence's run (" + std::to_string(first) + ", " + std::to_string(end) + "]");
        if (sn.row < 0 || sn.row >= n_slots || std::binary_search(scratch.begin(), scratch.end(), sn.row))
            fail("snapshot " + std::to_string(i) + " into row " + std::to_string(sn.row) +
                 ", which is out of range or a batch sequence's slot");
        if (run.snap_count++ == 0) run.snap_first = int32_t(i);
    }
}

}  // namespace hotrod::backend
