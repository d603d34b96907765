#include "cpu/host_group.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace hotrod::cpu {

HostGroup::HostGroup(int size)
    : size_(size > 0 ? size : throw std::invalid_argument("HostGroup: size " + std::to_string(size))),
      barrier_(size),
      parts_(size_t(size)),
      lengths_(size_t(size)) {}

void HostGroup::all_reduce(int rank, float* x, size_t n) {
    if (rank < 0 || rank >= size_) throw std::invalid_argument("HostGroup::all_reduce: rank " + std::to_string(rank));
    parts_[size_t(rank)] = x;
    lengths_[size_t(rank)] = n;
    if (rank == 0 && total_.size() < n) total_.resize(n);  // no rank touches total_ before the barrier
    barrier_.arrive_and_wait();
    // Every rank reads the same lengths, so all of them throw or none does (after leaving the barrier in step).
    const bool same = std::all_of(lengths_.begin(), lengths_.end(), [&](size_t m) { return m == n; });
    if (same) {
        const size_t lo = n * size_t(rank) / size_t(size_), hi = n * size_t(rank + 1) / size_t(size_);
        for (size_t i = lo; i < hi; ++i) {
            float s = parts_[0][i];
            for (int r = 1; r < size_; ++r) s += parts_[size_t(r)][i];
            total_[i] = s;
        }
    }
    barrier_.arrive_and_wait();
    if (same) std::memcpy(x, total_.data(), n * sizeof(float));
    barrier_.arrive_and_wait();  // parts_ and total_ are free for the next call
    if (!same) throw std::invalid_argument("HostGroup::all_reduce: the ranks passed different lengths");
}

}  // namespace hotrod::cpu
