// The flags of `hotrod serve`, named as llama-server names them where it has them.
#pragma once

#include <cstddef>
#include <string>

#include "device/device.h"

namespace hotrod::server {

enum class ReasoningMode { on, off, auto_ };  // --reasoning: thinking templates render with thinking on / off /
                                              // as the template decides

struct ServeOptions {
    std::string model_path;
    std::string alias;               // --alias: the model name clients see (default: the file's name)
    std::string chat_template_file;  // --chat-template-file: a Jinja template used instead of the model's
    std::string host = "127.0.0.1";
    int port = 8080;
    int n_parallel = 4;              // --parallel: sequences decoded at once
    int n_ctx = 8192;                // -c: KV cache size in tokens, over all sequences
    bool n_ctx_given = false;        // -c was on the command line (on a GPU the cache is otherwise sized from the
                                     // memory left after weights and activations)
    int n_threads = 0;               // --threads: compute threads, 0 = every core
    device::DeviceOptions device;    // --device, -ngl, --main-gpu, --gpu-mem-fraction
    ReasoningMode reasoning = ReasoningMode::auto_;
    std::string api_key;             // --api-key: when set, every route but /health needs "Bearer <key>"
    int max_queue = 64;              // --max-queue: requests waiting for a slot; beyond: 503
    int timeout_s = 600;             // --timeout: socket read/write timeout
    size_t max_body_bytes = 8u << 20;  // request bodies above: 413
    int n_http_threads = 64;         // HTTP worker threads (connections served at once)
    int shutdown_grace_ms = 5000;
    int step_tokens = 256;           // --ubatch-size: tokens per engine step (decode tokens + prefill chunks)
    bool jump_forward = true;        // --no-jump-forward: sample grammar-forced tokens one by one (to measure)    // SIGINT/SIGTERM: running requests may finish this long, then are cancelled
};

}  // namespace hotrod::server
