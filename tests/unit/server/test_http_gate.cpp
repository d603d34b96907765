// The limits of the HTTP front (http_gate.h and server.cpp), over real sockets on a Server without a model:
// headers that dribble past --header-timeout get 408, headers over --max-header-bytes 431, a body late past
// --body-timeout 408, connections over --max-connections 503 with Retry-After; API keys (Bearer, x-api-key,
// several), /health and /metrics without a key, CORS off unless origins are listed. Timing bounds are
// liveness only.
#include <gtest/gtest.h>

#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/http_gate.h"
#include "server/server.h"

namespace hotrod::server {
namespace {

using namespace std::chrono_literals;

// A raw TCP client: what httplib's client cannot do (dribble, stall, send a body late).
class RawClient {
  public:
    explicit RawClient(int port) {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(uint16_t(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    ~RawClient() { close(fd_); }
    bool connected() const { return connected_; }
    bool send_text(const std::string& s) {
        return send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == ssize_t(s.size());
    }
    // Everything the server writes until it closes (or 30 s pass: a hung server).
    std::string read_all() {
        std::string out;
        char buf[4096];
        for (;;) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, 30000) <= 0) break;
            const ssize_t n = recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) break;
            out.append(buf, size_t(n));
        }
        return out;
    }

  private:
    int fd_ = -1;
    bool connected_ = false;
};

int status_of(const std::string& response) {
    if (!response.starts_with("HTTP/1.1 ") || response.size() < 12) return -1;
    return std::stoi(response.substr(9, 3));
}

std::string error_code_of(const std::string& response) {
    const size_t body = response.find("\r\n\r\n");
    if (body == std::string::npos) return {};
    const auto j = nlohmann::json::parse(response.substr(body + 4), nullptr, false);
    return j.is_object() && j.contains("error") && j["error"]["code"].is_string()
               ? j["error"]["code"].get<std::string>()
               : std::string();
}

class Gate : public ::testing::Test {
  protected:
    void start(ServeOptions o) {
        o.host = "127.0.0.1";
        o.port = 0;
        o.model_path = "/nonexistent/Some-Model.Q4_0.gguf";
        srv_ = std::make_unique<Server>(o);
        srv_->start();
        cli_ = std::make_unique<httplib::Client>("127.0.0.1", srv_->port());
    }
    void TearDown() override {
        if (srv_) srv_->shutdown(0ms);
    }
    int port() const { return srv_->port(); }

    std::unique_ptr<Server> srv_;
    std::unique_ptr<httplib::Client> cli_;
};

TEST_F(Gate, HeadersInTimeAreServedEvenWhenDribbled) {
    ServeOptions o;
    o.header_timeout_s = 10;
    start(o);
    RawClient c(port());
    ASSERT_TRUE(c.connected());
    for (char ch : std::string("GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")) {
        ASSERT_TRUE(c.send_text(std::string(1, ch)));
        std::this_thread::sleep_for(2ms);
    }
    EXPECT_EQ(status_of(c.read_all()), 200);
}

TEST_F(Gate, HeadersPastTheTimeoutGet408) {
    ServeOptions o;
    o.header_timeout_s = 1;
    start(o);
    RawClient c(port());
    ASSERT_TRUE(c.send_text("GET /v1/models HTTP/1.1\r\nHost: x\r\n"));  // and never the blank line
    const auto t0 = std::chrono::steady_clock::now();
    const std::string r = c.read_all();
    EXPECT_EQ(status_of(r), 408) << r;
    EXPECT_EQ(error_code_of(r), "request_timeout");
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);  // not before the timeout
    // An idle connection (not a byte sent) is answered the same way.
    RawClient idle(port());
    EXPECT_EQ(status_of(idle.read_all()), 408);
}

TEST_F(Gate, HeadersOverTheLimitGet431) {
    ServeOptions o;
    o.max_header_bytes = 1024;
    start(o);
    RawClient c(port());
    ASSERT_TRUE(
        c.send_text("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(2000, 'a') + "\r\n\r\n"));
    const std::string r = c.read_all();
    EXPECT_EQ(status_of(r), 431) << r;
    EXPECT_EQ(error_code_of(r), "headers_too_large");
    // Just under the limit passes.
    auto ok = cli_->Get("/v1/models", {{"X-Pad", std::string(800, 'a')}});
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
}

TEST_F(Gate, BodyPastTheTimeoutGets408AndOverTheLimit413) {
    ServeOptions o;
    o.body_timeout_s = 1;
    o.max_body_bytes = 4096;
    start(o);
    RawClient c(port());
    ASSERT_TRUE(
        c.send_text("POST /tokenize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: 100\r\n\r\n{\"content\":"));  // 89 bytes short, forever
    const std::string r = c.read_all();
    EXPECT_EQ(status_of(r), 408) << r;
    EXPECT_EQ(r.find("HTTP/1.1", 8), std::string::npos) << "a second answer followed: " << r;
    auto big = cli_->Post("/tokenize", std::string(5000, ' '), "application/json");
    ASSERT_TRUE(big);
    EXPECT_EQ(big->status, 413);
    auto m = cli_->Get("/metrics");
    ASSERT_TRUE(m);
    EXPECT_NE(m->body.find("hotrod_requests_total{endpoint=\"connection\",status=\"408\"} 1"),
              std::string::npos)
        << m->body;
    EXPECT_EQ(m->body.find("status=\"400\""), std::string::npos)
        << "the cut read was also counted: " << m->body;
}

TEST_F(Gate, ConnectionsOverTheBoundGet503WithRetryAfter) {
    ServeOptions o;
    o.n_http_threads = 2;
    o.max_connections = 3;
    o.header_timeout_s = 60;
    start(o);
    std::vector<std::unique_ptr<RawClient>> idle;
    for (int i = 0; i < 3; ++i)
        idle.push_back(std::make_unique<RawClient>(port()));  // accepted in this order
    RawClient extra(port());
    const std::string r = extra.read_all();
    EXPECT_EQ(status_of(r), 503) << r;
    EXPECT_NE(r.find("\r\nRetry-After: 1\r\n"), std::string::npos) << r;
    EXPECT_EQ(error_code_of(r), "too_many_connections");
    idle.clear();  // closed: the gate lets them go, and the server answers again
    bool answered = false;
    for (int i = 0; i < 100 && !answered; ++i) {
        auto h = cli_->Get("/v1/models");
        answered = h && h->status == 200;
        if (!answered) std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(answered);
}

TEST_F(Gate, LoadingAnswers503WithRetryAfter) {
    start({});
    auto r = cli_->Get("/health");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->get_header_value("Retry-After"), "1");
}

TEST_F(Gate, ApiKeysBearerOrXApiKeyAndPublicRoutes) {
    ServeOptions o;
    o.api_keys = {"first-key", "second"};
    start(o);
    auto status = [&](const char* path, httplib::Headers h) {
        auto r = cli_->Get(path, h);
        return r ? r->status : -1;
    };
    EXPECT_EQ(status("/v1/models", {}), 401);
    EXPECT_EQ(status("/v1/models", {{"Authorization", "Bearer first-key"}}), 200);
    EXPECT_EQ(status("/v1/models", {{"Authorization", "Bearer second"}}), 200);
    EXPECT_EQ(status("/v1/models", {{"x-api-key", "second"}}), 200);
    EXPECT_EQ(status("/v1/models", {{"X-Api-Key", "first-key"}}), 200);
    EXPECT_EQ(status("/v1/models", {{"x-api-key", "first-ke"}}), 401);
    EXPECT_EQ(status("/v1/models", {{"Authorization", "first-key"}}), 401);  // not "Bearer ..."
    EXPECT_EQ(status("/v1/models", {{"Authorization", "Bearer first-key2"}}), 401);
    EXPECT_EQ(status("/health", {}), 503);   // public (loading)
    EXPECT_EQ(status("/metrics", {}), 401);  // protected unless --metrics-public
    EXPECT_EQ(status("/metrics", {{"x-api-key", "first-key"}}), 200);
}

TEST_F(Gate, MetricsPublic) {
    ServeOptions o;
    o.api_keys = {"k"};
    o.metrics_public = true;
    start(o);
    auto r = cli_->Get("/metrics");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    r = cli_->Get("/v1/models");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
}

TEST_F(Gate, CorsOffByDefault) {
    start({});
    auto r = cli_->Get("/v1/models", {{"Origin", "http://site.example"}});
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->has_header("Access-Control-Allow-Origin"));
    r = cli_->Options("/v1/models",
                      {{"Origin", "http://site.example"}, {"Access-Control-Request-Method", "GET"}});
    ASSERT_TRUE(r);
    EXPECT_NE(r->status, 204);
    EXPECT_FALSE(r->has_header("Access-Control-Allow-Origin"));
}

TEST_F(Gate, CorsForListedOriginsOnly) {
    ServeOptions o;
    o.cors_origins = {"http://ok.example"};
    o.api_keys = {"k"};
    start(o);
    // The preflight needs no key; the actual request does, and its answer (a 401 too) carries the CORS
    // header.
    auto r = cli_->Options("/v1/chat/completions",
                           {{"Origin", "http://ok.example"},
                            {"Access-Control-Request-Method", "POST"},
                            {"Access-Control-Request-Headers", "authorization,content-type"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 204);
    EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "http://ok.example");
    EXPECT_NE(r->get_header_value("Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
    r = cli_->Get("/v1/models", {{"Origin", "http://ok.example"}, {"Authorization", "Bearer k"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "http://ok.example");
    EXPECT_EQ(r->get_header_value("Vary"), "Origin");
    r = cli_->Get("/v1/models", {{"Origin", "http://ok.example"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "http://ok.example");
    r = cli_->Get("/v1/models", {{"Origin", "http://evil.example"}, {"Authorization", "Bearer k"}});
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->has_header("Access-Control-Allow-Origin"));
    r = cli_->Options("/v1/models",
                      {{"Origin", "http://evil.example"}, {"Access-Control-Request-Method", "GET"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);  // not a preflight we answer: the key check applies
}

// client_gone() is how a non-streamed reply, which writes nothing until it is whole, notices a client that left: a
// look at the socket from the handler's thread, true once the client has closed, false while it is connected and
// on any thread that serves no connection.
TEST(GateClientGone, SeesTheClientCloseWithoutReadingOrWriting) {
    GatedHttpServer http(GateLimits{}, nullptr);
    std::atomic<int> first_look{-1};  // the handler's first client_gone(), as 0 or 1
    std::atomic<bool> gone{false}, done{false};
    http.Get("/wait", [&](const httplib::Request&, httplib::Response& res) {
        first_look = GatedHttpServer::client_gone() ? 1 : 0;
        const auto deadline = std::chrono::steady_clock::now() + 30s;  // liveness only
        while (!GatedHttpServer::client_gone() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(5ms);
        gone = GatedHttpServer::client_gone();
        res.set_content("too late", "text/plain");
        done = true;
    });
    const int port = http.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    std::thread listener([&] { http.listen_after_bind(); });
    const auto wait = [](const auto& condition) {
        for (int i = 0; i < 3000 && !condition(); ++i) std::this_thread::sleep_for(10ms);
        return condition();
    };
    {
        RawClient c(port);
        // EXPECT, not ASSERT: the listener thread must still be joined below.
        EXPECT_TRUE(c.connected());
        EXPECT_TRUE(c.send_text("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"));
        EXPECT_TRUE(wait([&] { return first_look.load() >= 0; }));
    }  // the client closes here
    EXPECT_TRUE(wait([&] { return done.load(); }));
    EXPECT_EQ(first_look.load(), 0);
    EXPECT_TRUE(gone.load());
    EXPECT_FALSE(GatedHttpServer::client_gone());  // this thread serves no connection
    http.stop_all();
    listener.join();
}

TEST(ServeOptionsDefaults, LoopbackAndDerivedLimits) {
    ServeOptions o;
    EXPECT_EQ(o.host, "127.0.0.1");  // reachable from this machine only unless --host says otherwise
    EXPECT_TRUE(o.api_keys.empty());
    EXPECT_TRUE(o.cors_origins.empty());
    EXPECT_FALSE(o.metrics_public);
    EXPECT_EQ(o.http_threads(), o.n_parallel + o.max_queue + 8);
    EXPECT_EQ(o.connections_max(), 2 * o.http_threads());
    o.max_queue = 1 << 20;
    EXPECT_EQ(o.http_threads(), 512);
}

}  // namespace
}  // namespace hotrod::server
