// The connection gate around httplib (see http_gate.h): a bounded worker pool, the header peek, the answers
// the gate writes itself, and the body watchdog.
#include "server/http_gate.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/api_error.h"
#include "server/reply.h"

namespace hotrod::server {

bool httplib_process_and_close_socket(httplib::Server& server, socket_t sock);  // httplib_access.cpp

namespace {

using Clock = std::chrono::steady_clock;

// Set while the accepting thread runs a connection it refuses (over the connection bound).
thread_local bool t_refuse_busy = false;

std::string seconds_text(std::chrono::milliseconds ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", double(ms.count()) / 1000.0);
    return buf;
}

// Reads and drops what the client sent, for up to wait (0: only what has arrived) and at most 1 MiB, so that
// closing the socket does not reset the connection before the client has read our answer.
void drain(int fd, std::chrono::milliseconds wait) {
    const Clock::time_point end = Clock::now() + wait;
    char buf[4096];
    size_t total = 0;
    while (total < (1u << 20)) {
        const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            total += size_t(n);
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return;  // EOF or error
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
        if (left <= 0) return;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, int(left)) <= 0) return;
    }
}

// A whole HTTP response carrying an OpenAI error body, for the answers the gate writes itself.
std::string error_response(const ApiError& e, const char* reason, bool retry_after) {
    const std::string body = dump_json(e.body());
    std::string head =
        "HTTP/1.1 " + std::to_string(e.status()) + " " + reason +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n";
    if (retry_after) head += "Retry-After: 1\r\n";
    return head + "\r\n" + body;
}

// An answer the gate writes itself (httplib never saw the request), then a lingering close.
void answer_and_close(int fd, const ApiError& e, const char* reason, bool retry_after,
                      std::chrono::milliseconds linger) {
    drain(fd, std::chrono::milliseconds(0));  // what was peeked, so the close below sends a FIN, not a reset
    const std::string msg = error_response(e, reason, retry_after);
    // Nothing was written to this connection yet, so its send buffer is empty: the answer (well under 1 KiB)
    // goes in one non-blocking send.
    if (send(fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT) == ssize_t(msg.size())) {
        shutdown(fd, SHUT_WR);
        drain(fd, linger);
    }
    close(fd);
}

enum class HeaderWait { complete, too_large, timed_out, closed, stopping };

// Waits until the request line and headers (through their blank line) are in the socket's receive buffer,
// peeking so that httplib later reads them as if nothing had happened. SO_RCVLOWAT makes poll wait for more
// bytes than are there already instead of reporting the same ones again.
HeaderWait wait_for_headers(int fd, size_t max_bytes, Clock::time_point deadline,
                            const std::atomic<bool>& stopping) {
    thread_local std::vector<char> buf;
    buf.resize(max_bytes + 1);
    size_t seen = 0;
    bool hung_up = false;  // the client shut its side down: what is there is all there will be
    HeaderWait result = HeaderWait::timed_out;
    for (;;) {
        const ssize_t n = recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            result = HeaderWait::closed;
            break;
        }
        if (n > 0) {
            const size_t have = size_t(n);
            const size_t from = seen > 3 ? seen - 3 : 0;  // the blank line may straddle the last peek's end
            if (std::string_view(buf.data(), std::min(have, max_bytes)).find("\r\n\r\n", from) !=
                std::string_view::npos) {
                result = HeaderWait::complete;
                break;
            }
            if (have > max_bytes) {
                result = HeaderWait::too_large;
                break;
            }
            seen = have;
        }
        if (hung_up) {
            result = HeaderWait::closed;
            break;
        }
        if (stopping.load()) {
            result = HeaderWait::stopping;
            break;
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            result = HeaderWait::timed_out;
            break;
        }
        const int lowat = int(seen + 1);
        setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat);
        pollfd p{fd, POLLIN | POLLRDHUP, 0};
        if (poll(&p, 1, int(std::min<long long>(left, 100))) > 0)  // in slices, to notice a shutdown
            hung_up = (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);  // httplib's reads take any byte again
    return result;
}

// httplib's ThreadPool with a bound: a connection beyond max_open is refused on the accepting thread (the job
// runs there at once with t_refuse_busy set), instead of waiting in an unbounded list with its socket open.
class WorkerPool : public httplib::TaskQueue {
  public:
    WorkerPool(int n_threads, int max_open, std::atomic<int>& n_open) : max_open_(max_open), n_open_(n_open) {
        for (int i = 0; i < n_threads; ++i) threads_.emplace_back([this] { work(); });
    }

    void enqueue(std::function<void()> fn) override {
        {
            std::lock_guard lock(mu_);
            if (n_open_.load() < max_open_) {
                ++n_open_;
                jobs_.push_back(std::move(fn));
                cv_.notify_one();
                return;
            }
        }
        t_refuse_busy = true;
        fn();
        t_refuse_busy = false;
    }

    // As httplib's: the jobs still queued run (the gate closes them at once while stopping), then the threads
    // end.
    void shutdown() override {
        {
            std::lock_guard lock(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        for (std::thread& t : threads_) t.join();
    }

  private:
    void work() {
        for (;;) {
            std::function<void()> fn;
            {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
                if (jobs_.empty()) return;  // stop_ and nothing left
                fn = std::move(jobs_.front());
                jobs_.pop_front();
            }
            fn();
            --n_open_;
        }
    }

    const int max_open_;
    std::atomic<int>& n_open_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    bool stop_ = false;
};

}  // namespace

// Answers 408 and shuts down the socket of a request whose body is late (httplib, blocked in a read, then
// sees the connection end, and its own answer fails to write). It holds a dup of each socket it watches, so
// the number it acts on is never a later connection's (httplib closes its own descriptor before the gate
// unregisters).
class BodyWatchdog {
  public:
    struct Entry {
        int fd = -1;
        Clock::time_point deadline;
        bool armed = true;
        bool fired = false;
    };
    using Ticket = std::list<Entry>::iterator;

    // on_fire: called (from the watchdog's thread) for each connection it cuts, before the answer goes out, so
    // whatever counts refusals has counted this one by the time the client reads its 408.
    BodyWatchdog(std::string answer, std::function<void()> on_fire)
        : answer_(std::move(answer)), on_fire_(std::move(on_fire)), thread_([this] { run(); }) {}
    ~BodyWatchdog() {
        {
            std::lock_guard lock(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

    Ticket arm(int sock, Clock::time_point deadline) {
        std::lock_guard lock(mu_);
        entries_.push_back({dup(sock), deadline});
        return std::prev(entries_.end());
    }
    void disarm(Ticket t) {
        std::lock_guard lock(mu_);
        t->armed = false;
    }
    bool fired(Ticket t) {
        std::lock_guard lock(mu_);
        return t->fired;
    }
    // True when the watchdog cut this connection.
    bool remove(Ticket t) {
        std::lock_guard lock(mu_);
        const bool fired = t->fired;
        if (t->fd >= 0) close(t->fd);
        entries_.erase(t);
        return fired;
    }
    // Shutdown: every body still arriving is cut now.
    void cut_all() {
        std::lock_guard lock(mu_);
        for (Entry& e : entries_)
            if (e.armed && e.fd >= 0) {
                ::shutdown(e.fd, SHUT_RDWR);
                e.armed = false;
            }
    }

  private:
    void run() {
        std::unique_lock lock(mu_);
        while (!stop_) {
            const Clock::time_point now = Clock::now();
            Clock::time_point next = now + std::chrono::milliseconds(250);
            for (Entry& e : entries_) {
                if (!e.armed) continue;
                if (e.deadline <= now) {
                    if (on_fire_) on_fire_();
                    if (e.fd >= 0) {
                        // httplib is reading, never writing, until the body is in: the answer goes out alone.
                        send(e.fd, answer_.data(), answer_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                        ::shutdown(e.fd, SHUT_RDWR);
                    }
                    e.armed = false;
                    e.fired = true;
                } else {
                    next = std::min(next, e.deadline);
                }
            }
            cv_.wait_until(lock, next);
        }
    }

    const std::string answer_;  // the whole 408 response
    const std::function<void()> on_fire_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::list<Entry> entries_;
    bool stop_ = false;
    std::thread thread_;  // last: starts once the members above exist
};

namespace {
// The connection the current worker thread serves past the gate (for request_read()).
thread_local BodyWatchdog* t_watchdog = nullptr;
thread_local BodyWatchdog::Ticket t_ticket;
thread_local socket_t t_socket = INVALID_SOCKET;  // for client_gone()
}  // namespace

GatedHttpServer::GatedHttpServer(GateLimits limits, std::function<void(int)> on_refusal)
    : limits_(limits), on_refusal_(std::move(on_refusal)) {
    watchdog_ = std::make_unique<BodyWatchdog>(
        error_response(ApiError(408,
                                "the request body did not arrive within " +
                                    seconds_text(limits_.body_timeout) + " s of its headers (--body-timeout)",
                                "invalid_request_error", {}, "request_timeout"),
                       "Request Timeout", false),
        [this] {
            if (on_refusal_) on_refusal_(408);
        });
    limits_.n_threads = std::max(1, limits_.n_threads);
    limits_.max_connections = std::max(limits_.max_connections, limits_.n_threads);
    new_task_queue = [this] { return new WorkerPool(limits_.n_threads, limits_.max_connections, n_open_); };
}

GatedHttpServer::~GatedHttpServer() = default;

void GatedHttpServer::stop_all() {
    stopping_.store(true);
    watchdog_->cut_all();
    stop();
}

void GatedHttpServer::request_read() {
    if (t_watchdog) t_watchdog->disarm(t_ticket);
}

bool GatedHttpServer::request_cut() {
    return t_watchdog && t_watchdog->fired(t_ticket);
}

bool GatedHttpServer::client_gone() {
    if (t_socket == INVALID_SOCKET) return false;
    pollfd p{t_socket, POLLIN | POLLRDHUP, 0};
    if (poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
    // Readable: end of stream (recv 0) or a reset (error), unless bytes wait (keep-alive is off: none should).
    char c;
    const ssize_t n = recv(t_socket, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

bool GatedHttpServer::process_and_close_socket(socket_t sock) {
    if (t_refuse_busy) {
        answer_and_close(sock,
                         unavailable("the server has " + std::to_string(limits_.max_connections) +
                                         " connections open (--max-connections); retry shortly",
                                     "too_many_connections"),
                         "Service Unavailable", true, std::chrono::milliseconds(0));
        if (on_refusal_) on_refusal_(503);
        return false;
    }
    ++n_served_;
    struct Served {
        std::atomic<int>& n;
        ~Served() { --n; }
    } served{n_served_};

    const Clock::time_point start = Clock::now();
    switch (wait_for_headers(sock, limits_.max_header_bytes, start + limits_.header_timeout, stopping_)) {
        case HeaderWait::complete:
            break;
        case HeaderWait::too_large:
            answer_and_close(
                sock,
                ApiError(431,
                         "the request line and headers are larger than " +
                             std::to_string(limits_.max_header_bytes) + " bytes (--max-header-bytes)",
                         "invalid_request_error", {}, "headers_too_large"),
                "Request Header Fields Too Large", false, std::chrono::milliseconds(1000));
            if (on_refusal_) on_refusal_(431);
            return false;
        case HeaderWait::timed_out:
            answer_and_close(sock,
                             ApiError(408,
                                      "the request headers did not arrive within " +
                                          seconds_text(limits_.header_timeout) + " s (--header-timeout)",
                                      "invalid_request_error", {}, "request_timeout"),
                             "Request Timeout", false, std::chrono::milliseconds(1000));
            if (on_refusal_) on_refusal_(408);
            return false;
        case HeaderWait::closed:
        case HeaderWait::stopping:
            close(sock);
            return false;
    }

    BodyWatchdog::Ticket ticket = watchdog_->arm(sock, Clock::now() + limits_.body_timeout);
    t_watchdog = watchdog_.get();
    t_ticket = ticket;
    t_socket = sock;
    const bool ok = httplib_process_and_close_socket(*this, sock);
    t_socket = INVALID_SOCKET;
    t_watchdog = nullptr;
    watchdog_->remove(ticket);  // a cut connection was counted when the watchdog fired
    return ok;
}

}  // namespace hotrod::server
