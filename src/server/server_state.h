// What every route handler shares: the options, the metrics, the lifecycle state and, once loaded, the model.
// The model pointer is set once by Server::set_model and read under a mutex; handlers keep their own
// shared_ptr for the whole request, so it outlives them however shutdown interleaves.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "server/loaded_model.h"
#include "server/metrics.h"
#include "server/serve_options.h"

namespace hotrod::server {

enum class ServerState { loading, ready, failed, shutting_down };

class GatedHttpServer;

struct SharedState {
    ServeOptions opt;
    Metrics metrics;
    const GatedHttpServer* http = nullptr;  // for /metrics' connection gauges
    std::atomic<ServerState> state{ServerState::loading};
    std::string load_error;               // state failed: why (set before state)
    std::atomic<uint64_t> next_request{1};

    std::shared_ptr<LoadedModel> model() const {
        std::lock_guard lock(mu);
        return loaded;
    }
    void set_model(std::shared_ptr<LoadedModel> m) {
        std::lock_guard lock(mu);
        loaded = std::move(m);
    }
    // The name clients see and send: the alias, else the file's name.
    std::string public_model_name(const LoadedModel& m) const { return opt.alias.empty() ? m.model_id : opt.alias; }

    // A unique request id: prefix + a counter and the start time, so ids do not repeat across restarts.
    std::string new_request_id(const char* prefix) {
        const uint64_t n = next_request.fetch_add(1);
        return std::string(prefix) + std::to_string(start_unix) + "-" + std::to_string(n);
    }
    int64_t start_unix = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();

private:
    mutable std::mutex mu;
    std::shared_ptr<LoadedModel> loaded;
};

}  // namespace hotrod::server
