// Stream: a mutex-guarded hand-off of events from the engine thread to the HTTP thread that serves the request.
// The engine only appends and notifies, never waits on the reader.
#include "engine/engine.h"

namespace hotrod::engine {

const char* to_string(FinishReason r) {
    switch (r) {
        case FinishReason::none: return "none";
        case FinishReason::stop: return "stop";
        case FinishReason::length: return "length";
        case FinishReason::cancelled: return "cancelled";
        case FinishReason::error: return "error";
    }
    return "?";
}

void Stream::push(Event&& e) {
    {
        std::lock_guard lock(mu_);
        if (e.finish != FinishReason::none) finished_ = true;
        pending_.push_back(std::move(e));
    }
    cv_.notify_all();
}

bool Stream::wait(std::vector<Event>& out, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !pending_.empty(); })) return false;
    for (auto& e : pending_) out.push_back(std::move(e));
    pending_.clear();
    return true;
}

bool Stream::finished() const {
    std::lock_guard lock(mu_);
    return finished_;
}

}  // namespace hotrod::engine
