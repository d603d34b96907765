// A fake OpenAI chat server for the runner tests: an httplib::Server on an ephemeral loopback port whose
// replies are constructed so the expected statistics are known in advance. The user message names the
// payload ("small", "medium", "large"); per payload a call counter k picks the delay and the reply:
//   small : k == 0 (warm-up) 5 ms, then 10, 20, 30, 40 ms cycling; always valid
//   medium: 20 ms; always valid
//   large : 10 ms; replies cycle valid, not JSON, phase not allowed, missing key
// Every delay is multiplied by `scale`. When `drop_odd`, every odd call k of a payload drops the connection
// after the first SSE chunk. Streams when the body asks: the first content chunk comes at half the delay.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace hotrod::bench::testing {

class FakeServer {
public:
    explicit FakeServer(double scale = 1.0, bool drop_odd = false) : scale_(scale), drop_odd_(drop_odd) {
        svr_.Get("/health", [](const httplib::Request&, httplib::Response& res) { res.set_content("{\"status\":\"ok\"}", "application/json"); });
        svr_.Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(R"({"object":"list","data":[{"id":"fake-model","object":"model"}]})", "application/json");
        });
        svr_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) { chat(req, res); });
        port_ = svr_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { svr_.listen_after_bind(); });
        while (!svr_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~FakeServer() {
        svr_.stop();
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int n_calls(const std::string& payload) {
        std::lock_guard<std::mutex> lock(mu_);
        return counts_[payload];
    }
    nlohmann::json last_body() {
        std::lock_guard<std::mutex> lock(mu_);
        return last_body_;
    }

private:
    struct Plan {
        int delay_ms;
        std::string content;
        bool drop;
    };

    Plan plan(const std::string& payload, int k) const {
        const std::string ok = R"({"phase": "testing", "scope": "Check the JWT middleware"})";
        Plan p{20, ok, drop_odd_ && k % 2 == 1};
        if (payload == "small") p.delay_ms = k == 0 ? 5 : 10 * ((k - 1) % 4 + 1);
        if (payload == "large") {
            p.delay_ms = 10;
            const char* replies[] = {R"({"phase": "testing", "scope": "Run the suite"})", "Sure! The phase is testing.",
                                     R"({"phase": "coding", "scope": "Run the suite"})", R"({"phase": "testing"})"};
            p.content = replies[k % 4];
        }
        p.delay_ms = int(p.delay_ms * scale_);
        return p;
    }

    void chat(const httplib::Request& req, httplib::Response& res) {
        auto body = nlohmann::json::parse(req.body, nullptr, false);
        if (body.is_discarded()) {
            res.status = 400;
            return;
        }
        const std::string payload = body["messages"][1]["content"].get<std::string>();
        int k;
        {
            std::lock_guard<std::mutex> lock(mu_);
            k = counts_[payload]++;
            last_body_ = body;
        }
        const Plan p = plan(payload, k);
        const bool stream = body.value("stream", false);
        if (!stream) {
            std::this_thread::sleep_for(std::chrono::milliseconds(p.delay_ms));
            nlohmann::json reply = {{"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", p.content}}}, {"finish_reason", "stop"}}}},
                                    {"usage", {{"prompt_tokens", 30}, {"completion_tokens", 12}}}};
            res.set_content(reply.dump(), "application/json");
            return;
        }
        // Three content pieces: the first after half the delay, the rest after the other half.
        const size_t third = p.content.size() / 3;
        const std::vector<std::string> pieces = {p.content.substr(0, third), p.content.substr(third, third), p.content.substr(2 * third)};
        res.set_chunked_content_provider("text/event-stream", [p, pieces](size_t, httplib::DataSink& sink) {
            auto send = [&](const nlohmann::json& j) {
                const std::string line = "data: " + j.dump() + "\n\n";
                return sink.write(line.data(), line.size());
            };
            auto delta = [](const std::string& text) {
                return nlohmann::json{{"choices", {{{"index", 0}, {"delta", {{"content", text}}}, {"finish_reason", nullptr}}}}};
            };
            std::this_thread::sleep_for(std::chrono::milliseconds(p.delay_ms / 2));
            send(delta(pieces[0]));
            if (p.drop) return false;  // httplib closes the connection mid-stream
            std::this_thread::sleep_for(std::chrono::milliseconds(p.delay_ms - p.delay_ms / 2));
            send(delta(pieces[1]));
            send(delta(pieces[2]));
            send({{"choices", {{{"index", 0}, {"delta", nlohmann::json::object()}, {"finish_reason", "stop"}}}}});
            send({{"choices", nlohmann::json::array()}, {"usage", {{"prompt_tokens", 30}, {"completion_tokens", 12}}}});
            const std::string done = "data: [DONE]\n\n";
            sink.write(done.data(), done.size());
            sink.done();
            return true;
        });
    }

    httplib::Server svr_;
    std::thread thread_;
    int port_ = 0;
    double scale_;
    bool drop_odd_;
    std::mutex mu_;
    std::map<std::string, int> counts_;
    nlohmann::json last_body_;
};

// A loopback port with nothing listening: bound (never listened on) and held until destruction, so a connection
// is refused at once and no other process can take the number meanwhile (one released after bind could be).
class DeadPort {
public:
    DeadPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
    }
    ~DeadPort() { ::close(fd_); }
    DeadPort(const DeadPort&) = delete;
    DeadPort& operator=(const DeadPort&) = delete;
    int port() const { return port_; }

private:
    int fd_;
    int port_ = 0;
};

}  // namespace hotrod::bench::testing
