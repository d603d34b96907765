// Per-op wall time of the CPU backend, on when HOTROD_PROFILE=1: each op of CpuBackend opens an OpTimer, and the
// totals per op kind (matmuls also per weight type and shape, where decode time mostly goes) are printed to stderr
// when the process exits. Ops run on the calling thread (the pool joins before an op returns), so a scope's wall
// time is the op's time including its pool wake-up and join. Off: one branch per op.
#pragma once

#include <chrono>
#include <string>

namespace hotrod::cpu {

bool op_profile_enabled();

class OpTimer {
public:
    // `kind` must outlive the program (a string literal); `detail` (may be empty) refines it, e.g. "q4_1 576x1536".
    explicit OpTimer(const char* kind, const std::string& detail = {})
        : on_(op_profile_enabled()), kind_(kind), detail_(on_ ? detail : std::string()) {
        if (on_) t0_ = std::chrono::steady_clock::now();
    }
    ~OpTimer();
    OpTimer(const OpTimer&) = delete;
    OpTimer& operator=(const OpTimer&) = delete;

private:
    bool on_;
    const char* kind_;
    std::string detail_;
    std::chrono::steady_clock::time_point t0_;
};

}  // namespace hotrod::cpu
