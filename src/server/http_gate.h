// GatedHttpServer: an httplib::Server that bounds what Debian 12's cpp-httplib (0.11) leaves open: how many
// connections are open (served by a worker thread, or waiting for one), how long and how large a request's
// headers may be, and how long its body may take. httplib 0.11 waits --timeout for each read, so a client
// that dribbles a byte now and then holds a thread forever, and it reads any number of header lines.
//
// Each accepted connection goes: over the connection bound → 503 with Retry-After, written at once by the
// accepting thread; else it waits for a worker, which peeks (MSG_PEEK, nothing consumed) until the headers'
// blank line is in the socket's buffer: too large → 431, not within the header timeout → 408, both written
// here; then httplib reads and answers it, while a watchdog shuts the socket down if the body has not arrived
// within the body timeout (the handler calls request_read() when it starts). One request per connection
// (keep-alive off, set by the caller), so every request passes the gate; a local connection costs well under
// a millisecond.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace hotrod::server {

class BodyWatchdog;  // http_gate.cpp

struct GateLimits {
    int n_threads = 8;                                // worker threads: connections served at once
    int max_connections = 16;                         // served + waiting for a worker (at least n_threads)
    size_t max_header_bytes = 16384;                  // request line, headers and the blank line
    std::chrono::milliseconds header_timeout{10000};  // from a worker taking the connection to the blank line
    std::chrono::milliseconds body_timeout{60000};    // from the blank line to the handler
};

class GatedHttpServer : public httplib::Server {
  public:
    // on_refusal(status): a connection the gate answered itself (503, 408, 431) or closed (body timeout:
    // 408).
    GatedHttpServer(GateLimits limits, std::function<void(int status)> on_refusal);
    ~GatedHttpServer() override;

    int n_connections() const { return n_open_.load(); }  // served + waiting for a worker
    int n_served() const { return n_served_.load(); }     // being served by a worker

    // Shutdown: connections still waiting or in the gate are closed, bodies still arriving are cut; then
    // httplib's stop() (the accept loop ends, the workers finish what they serve).
    void stop_all();

    // Called on the worker thread once its request has been read (a handler starts, a refusal is written):
    // the body timeout stops counting. Does nothing on other threads.
    static void request_read();
    // True on a worker thread whose request's body came too late: the gate answered 408 and cut the
    // connection (httplib's own answer to the failed read is not one to count).
    static bool request_cut();
    // True on a worker thread whose client has closed its end of the connection (or reset it); false elsewhere.
    // Looks at the socket without reading or writing, so a reply can be held back until it is whole (a
    // non-streamed reply: generation_handler.cpp) and still notice a client that left. A client that half-closes
    // (shutdown(SHUT_WR)) after its request counts as gone: no HTTP client or proxy we know does that.
    static bool client_gone();

  private:
    bool process_and_close_socket(
        socket_t sock) override;  // httplib's per-connection entry, on a worker thread

    GateLimits limits_;
    std::function<void(int)> on_refusal_;
    std::atomic<int> n_open_{0}, n_served_{0};
    std::atomic<bool> stopping_{false};
    std::unique_ptr<BodyWatchdog> watchdog_;
};

}  // namespace hotrod::server
