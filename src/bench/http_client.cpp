// One timed chat completion over cpp-httplib. Each call opens its own connection (a fresh httplib::Client),
// so concurrent workers share nothing and a dropped connection cannot poison the next call; the cost is one
// TCP handshake on loopback per call, the same for every target.
#include "bench/http_client.h"

#include <chrono>
#include <stdexcept>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "bench/sse.h"

namespace hotrod::bench {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string text_of(const nlohmann::json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string{};
}

void read_usage(const nlohmann::json& j, Reply& r) {
    if (!j.contains("usage") || !j["usage"].is_object()) return;
    const auto& u = j["usage"];
    if (u.contains("completion_tokens") && u["completion_tokens"].is_number_integer())
        r.n_completion_tokens = u["completion_tokens"].get<int>();
    if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number_integer())
        r.n_prompt_tokens = u["prompt_tokens"].get<int>();
}

}  // namespace

Endpoint parse_endpoint(const std::string& url) {
    const size_t scheme_end = url.find("://");
    if (scheme_end == std::string::npos || (url.compare(0, scheme_end, "http") != 0 && url.compare(0, scheme_end, "https") != 0))
        throw std::runtime_error("target URL '" + url + "': expected http://host:port[/path]");
    const size_t host_start = scheme_end + 3;
    const size_t path_start = url.find('/', host_start);
    Endpoint e;
    e.scheme_host_port = url.substr(0, path_start);
    if (e.scheme_host_port.size() <= host_start)
        throw std::runtime_error("target URL '" + url + "': no host");
    std::string path = path_start == std::string::npos ? "" : url.substr(path_start);
    while (!path.empty() && path.back() == '/') path.pop_back();
    if (path.size() >= 3 && path.compare(path.size() - 3, 3, "/v1") == 0) path.resize(path.size() - 3);
    e.prefix = path;
    return e;
}

ChatClient::ChatClient(Endpoint endpoint, int timeout_ms) : endpoint_(std::move(endpoint)), timeout_ms_(timeout_ms) {}

int ChatClient::get(const std::string& path, std::string* body, int timeout_ms) {
    httplib::Client cli(endpoint_.scheme_host_port);
    cli.set_connection_timeout(std::chrono::milliseconds(timeout_ms));
    cli.set_read_timeout(std::chrono::milliseconds(timeout_ms));
    auto res = cli.Get(endpoint_.prefix + path);
    if (!res) return 0;
    if (body) *body = res->body;
    return res->status;
}

Reply ChatClient::chat(const std::string& body_json) {
    Reply r;
    httplib::Client cli(endpoint_.scheme_host_port);
    cli.set_connection_timeout(std::chrono::milliseconds(std::min(timeout_ms_, 10'000)));
    cli.set_read_timeout(std::chrono::milliseconds(timeout_ms_));
    cli.set_write_timeout(std::chrono::milliseconds(timeout_ms_));

    httplib::Request req;
    req.method = "POST";
    req.path = endpoint_.prefix + "/v1/chat/completions";
    req.set_header("Content-Type", "application/json");
    req.set_header("Accept", "text/event-stream, application/json");
    req.body = body_json;

    std::string raw;  // non-streamed body
    size_t n_bytes = 0;
    bool timed_out = false;
    SseParser sse;
    double first_token_ms = -1, last_token_ms = -1;
    int n_token_chunks = 0;
    const auto t0 = Clock::now();

    auto on_event = [&](std::string_view data) {
        if (data == "[DONE]") return;
        nlohmann::json j = nlohmann::json::parse(data, nullptr, false);
        if (j.is_discarded() || !j.is_object()) return;
        read_usage(j, r);
        if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return;
        const auto& c = j["choices"][0];
        if (c.contains("finish_reason") && c["finish_reason"].is_string()) r.finish_reason = c["finish_reason"];
        if (!c.contains("delta") || !c["delta"].is_object()) return;
        const std::string piece = text_of(c["delta"], "content");
        const std::string thought = text_of(c["delta"], "reasoning_content");
        if (piece.empty() && thought.empty()) return;
        const double now = ms_since(t0);
        if (first_token_ms < 0) first_token_ms = now;
        last_token_ms = now;
        ++n_token_chunks;
        r.content += piece;
        r.reasoning += thought;
    };

    req.response_handler = [&](const httplib::Response& res) {
        r.http_status = res.status;
        r.streamed = res.get_header_value("Content-Type").find("text/event-stream") != std::string::npos;
        return true;
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        n_bytes += n;
        if (r.streamed && r.http_status == 200)
            sse.feed(std::string_view(data, n), on_event);
        else
            raw.append(data, n);
        if (ms_since(t0) > timeout_ms_) {
            timed_out = true;
            return false;
        }
        return true;
    };

    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    const bool sent = cli.send(req, res, err);
    r.latency_ms = ms_since(t0);
    if (!sent) {
        if (timed_out || (err == httplib::Error::Read && r.latency_ms >= timeout_ms_))
            r.error = "timeout after " + std::to_string(timeout_ms_) + " ms";
        else if (r.http_status != 0)
            r.error = "connection dropped after " + std::to_string(n_bytes) + " body bytes (" + httplib::to_string(err) + ")";
        else if (err == httplib::Error::Connection)
            r.error = "cannot connect (refused or unreachable)";
        else
            r.error = "no reply (" + httplib::to_string(err) + ")";
        return r;
    }
    r.http_status = res.status;
    if (r.http_status != 200) {
        r.raw_error_body = raw.substr(0, 500);
        return r;
    }
    if (r.streamed) {
        sse.finish(on_event);
        r.ttft_ms = first_token_ms;
        if (r.n_completion_tokens < 0) r.n_completion_tokens = n_token_chunks;
        const double span_ms = last_token_ms - first_token_ms;
        if (r.n_completion_tokens >= 2 && span_ms > 0) r.tokens_per_s = (r.n_completion_tokens - 1) * 1000.0 / span_ms;
        return r;
    }
    nlohmann::json j = nlohmann::json::parse(raw, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        r.error = "reply is not JSON";
        return r;
    }
    read_usage(j, r);
    if (j.contains("choices") && j["choices"].is_array() && !j["choices"].empty()) {
        const auto& c = j["choices"][0];
        if (c.contains("finish_reason") && c["finish_reason"].is_string()) r.finish_reason = c["finish_reason"];
        if (c.contains("message") && c["message"].is_object()) {
            r.content = text_of(c["message"], "content");
            r.reasoning = text_of(c["message"], "reasoning_content");
        }
    }
    return r;
}

}  // namespace hotrod::bench
