// The flags of `hotrod serve`, named as llama-server names them where it has them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

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
    int tensor_parallel = 1;         // --tensor-parallel (-tp): ranks the model is cut across (CPU threads for now)
    device::DeviceOptions device;    // --device, -ngl, --main-gpu, --gpu-mem-fraction
    ReasoningMode reasoning = ReasoningMode::auto_;
    int max_queue = 64;              // --max-queue: requests waiting for a slot; beyond: 503 with Retry-After
    int shutdown_grace_ms = 5000;    // --drain-timeout: after SIGINT/SIGTERM running requests may finish this
                                     // long (new ones and /health get 503 meanwhile), then are cancelled
    int step_tokens = 256;           // --ubatch-size: tokens per engine step (decode tokens + prefill chunks)
    bool jump_forward = true;        // --no-jump-forward: sample grammar-forced tokens one by one (to measure)
    bool embeddings = false;         // --embeddings (or --pooling): POST /v1/embeddings is served
    std::string pooling;             // --pooling mean|cls|last: overrides the file's {arch}.pooling_type; empty:
                                     // the file's, which a decoder chat model does not have (see choose_pooling)

    // Access (server.cpp). Keys are compared in constant time; /health never needs one.
    std::vector<std::string> api_keys;  // --api-key (comma-separated), --api-key-file (one a line): when any,
                                        // "Authorization: Bearer KEY" or "x-api-key: KEY" on every other route
    bool metrics_public = false;        // --metrics-public: /metrics answers without a key too
    bool webui = true;                  // --no-webui: no chat page at / (the page itself needs no key; its API
                                        // calls do)
    std::vector<std::string> cors_origins;  // --cors-origin: origins sent CORS headers ("*": any); empty: CORS off

    // Connection limits (http_gate.h). One request per connection, so each one passes the gate.
    int n_http_threads = 0;          // --threads-http: connections served at once (a generation request holds its
                                     // thread until its reply ends); 0: parallel + max-queue + 8, at most 512
    int max_connections = 0;         // --max-connections: served + waiting for a thread; beyond: 503 at once;
                                     // 0: twice the HTTP threads
    size_t max_header_bytes = 16u << 10;  // --max-header-bytes: request line + headers; beyond: 431
    size_t max_body_bytes = 8u << 20;     // --max-body-bytes: request bodies above: 413
    int header_timeout_s = 10;       // --header-timeout: from a connection's first service to its headers' end: 408
    int body_timeout_s = 60;         // --body-timeout: from the headers' end to the whole body: connection closed
    int timeout_s = 600;             // --timeout: each socket read or write waits at most this long

    // The values the 0 defaults above stand for.
    int http_threads() const {
        if (n_http_threads > 0) return n_http_threads;
        const long n = long(n_parallel) + long(max_queue) + 8;
        return int(n < 512 ? n : 512);
    }
    int connections_max() const { return max_connections > 0 ? max_connections : 2 * http_threads(); }
};

}  // namespace hotrod::server
