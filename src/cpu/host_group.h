// The ranks of a tensor-parallel group inside one process, each driven by its own thread with its own CpuBackend:
// the CPU's stand-in for NCCL, so the tensor-parallel cut of a model (model/tensor_parallel.h) runs and is tested
// here. all_reduce adds the ranks' vectors element by element in rank order (0, 1, ...), so every rank ends with
// the same bits whatever the thread timing; each rank adds a 1/N share of the elements, then copies the total back.
#pragma once

#include <barrier>
#include <cstddef>
#include <vector>

namespace hotrod::cpu {

class HostGroup {
public:
    explicit HostGroup(int size);
    HostGroup(const HostGroup&) = delete;
    HostGroup& operator=(const HostGroup&) = delete;

    int size() const { return size_; }
    // Called by every rank with its own x of the same n: x becomes the sum over the ranks. Blocks until all ranks
    // have called it (a rank that never calls leaves the others waiting: the caller runs every rank's step to the
    // end, or none). Throws std::invalid_argument on every rank when their n differ.
    void all_reduce(int rank, float* x, size_t n);

private:
    int size_;
    std::barrier<> barrier_;
    std::vector<float*> parts_;
    std::vector<size_t> lengths_;
    std::vector<float> total_;  // grows to the largest n once, then reused
};

}  // namespace hotrod::cpu
