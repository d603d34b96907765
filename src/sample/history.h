// Token history of one sequence, as the penalties need it: how often each token occurs in the repetition
// window (the last repeat_last_n tokens, prompt included) and among the generated tokens. Dense counts give
// O(1) updates; a list of every token ever counted lets the sampler touch only those tokens, and lets reset
// clear the counts without a pass over the vocabulary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hotrod::sample {

class TokenHistory {
public:
    // Allocates the per-token counts: 9 bytes per vocabulary entry plus the id list (reserved up front so
    // adding a token never allocates).
    explicit TokenHistory(int32_t n_vocab);

    // Forgets every token; repeat_last_n as in SamplingParams (-1 all, 0 off, else the window size). The
    // window ring is reallocated only when it must grow.
    void reset(int32_t repeat_last_n);

    // Counts token_id (ignored when outside the vocabulary): in the window always, among the generated
    // tokens only when generated is true (prompt tokens are not counted by presence/frequency penalties).
    void add(int32_t token_id, bool generated);

    // True when no token has been counted since reset: the penalties have nothing to do.
    bool empty() const { return listed_ids_.empty(); }

    // Calls fn(token_id, n_in_window, n_generated) once for each distinct token counted since reset
    // (either count may have dropped back to 0 as the window moved).
    template <class Fn>
    void for_each(Fn&& fn) const {
        for (const int32_t id : listed_ids_) fn(id, window_count_[id], generated_count_[id]);
    }

private:
    int32_t n_vocab_;
    int32_t repeat_last_n_ = 0;
    std::vector<uint32_t> window_count_;     // [n_vocab]
    std::vector<uint32_t> generated_count_;  // [n_vocab]
    std::vector<uint8_t> listed_;            // [n_vocab]: 1 if the id is in listed_ids_
    std::vector<int32_t> listed_ids_;        // distinct ids counted since reset, capacity n_vocab
    std::vector<int32_t> ring_;              // the window when repeat_last_n > 0: oldest at ring_head_ once full
    std::size_t ring_head_ = 0;
    std::size_t ring_size_ = 0;
};

}  // namespace hotrod::sample
