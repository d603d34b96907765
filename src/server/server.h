// Server: `hotrod serve`'s HTTP front. It listens before the model loads (GET /health answers 503 until
// set_model), routes the OpenAI endpoints plus /health, /metrics, /tokenize and /detokenize, checks the API key,
// answers CORS, bounds connections, headers, bodies and slow clients (http_gate.h), and turns every refusal into
// an OpenAI error body in one place. Shutdown: refuse new work, let the engine finish or cancel what runs within a
// grace period, then stop the HTTP threads.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "server/serve_options.h"

namespace hotrod::server {

class GatedHttpServer;
struct SharedState;
struct LoadedModel;

class Server {
public:
    explicit Server(ServeOptions opt);
    ~Server();  // shutdown(0) if still running

    // Binds opt.host:opt.port (port 0: any free port) and answers from a background thread. Throws
    // std::runtime_error when the address cannot be bound.
    void start();
    int port() const { return port_; }

    // The model is ready: generation endpoints open.
    void set_model(std::unique_ptr<LoadedModel> m);
    // The load failed: /health and generation endpoints answer 503 with the reason.
    void set_load_failed(const std::string& why);

    // Stops accepting work (503), lets the engine run requests for up to grace, then stops listening and waits
    // for the HTTP threads. Idempotent.
    void shutdown(std::chrono::milliseconds grace);

private:
    void install_routes();

    std::unique_ptr<SharedState> st_;
    std::unique_ptr<GatedHttpServer> http_;
    std::thread listen_thread_;
    int port_ = 0;
    bool stopped_ = false;
};

}  // namespace hotrod::server
