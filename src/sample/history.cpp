// TokenHistory: the repetition window as a ring of the last repeat_last_n ids plus dense counts.
#include "sample/history.h"

namespace hotrod::sample {

TokenHistory::TokenHistory(int32_t n_vocab)
    : n_vocab_(n_vocab), window_count_(n_vocab, 0), generated_count_(n_vocab, 0), listed_(n_vocab, 0) {
    listed_ids_.reserve(n_vocab);
}

void TokenHistory::reset(int32_t repeat_last_n) {
    for (const int32_t id : listed_ids_) {
        window_count_[id] = 0;
        generated_count_[id] = 0;
        listed_[id] = 0;
    }
    listed_ids_.clear();
    repeat_last_n_ = repeat_last_n;
    if (repeat_last_n > 0 && ring_.size() < static_cast<size_t>(repeat_last_n)) ring_.resize(repeat_last_n);
    ring_head_ = 0;
    ring_size_ = 0;
}

void TokenHistory::add(int32_t token_id, bool generated) {
    if (token_id < 0 || token_id >= n_vocab_) return;
    if (repeat_last_n_ == 0 && !generated) return;
    if (!listed_[token_id]) {
        listed_[token_id] = 1;
        listed_ids_.push_back(token_id);
    }
    if (generated) ++generated_count_[token_id];
    if (repeat_last_n_ < 0) {
        ++window_count_[token_id];
    } else if (repeat_last_n_ > 0) {
        const size_t cap = static_cast<size_t>(repeat_last_n_);
        if (ring_size_ == cap) {  // full: the oldest token leaves the window
            --window_count_[ring_[ring_head_]];
            ring_[ring_head_] = token_id;
            ring_head_ = (ring_head_ + 1) % cap;
        } else {
            ring_[(ring_head_ + ring_size_) % cap] = token_id;
            ++ring_size_;
        }
        ++window_count_[token_id];
    }
}

}  // namespace hotrod::sample
