// The client side of the benchmark: one chat completion against one target, timed. Streams (SSE) when the
// body asks for it, so it sees the first token; talks only to the URL it is given; a whole-request timeout.
#pragma once

#include <string>

namespace hotrod::bench {

// "http://127.0.0.1:8091" or "http://host:port/prefix" (a trailing "/v1" or "/" is dropped): requests go to
// <prefix>/v1/chat/completions, /health and <prefix>/v1/models on exactly that host and port.
struct Endpoint {
    std::string scheme_host_port;  // "http://127.0.0.1:8091"
    std::string prefix;            // "" or "/proxy"
};
// Throws std::runtime_error naming the URL when it is not http(s)://host[:port][/path].
Endpoint parse_endpoint(const std::string& url);

struct Reply {
    int http_status = 0;        // 0: no HTTP response at all
    std::string error;          // transport failure ("connection refused", "timeout", "dropped after 120 bytes")
    double latency_ms = 0;      // request sent -> last byte received (or failure)
    double ttft_ms = -1;        // request sent -> first chunk carrying a token; -1 when not streamed
    double tokens_per_s = -1;   // decode rate: (n_tokens - 1) / (last token time - first token time); -1 if < 2
    bool streamed = false;      // the reply was an SSE stream
    std::string content;        // choices[0] message/delta content, concatenated
    std::string reasoning;      // reasoning_content, if the server split it off
    std::string finish_reason;
    int n_completion_tokens = -1;  // usage.completion_tokens; else, when streamed, the count of token chunks
    int n_prompt_tokens = -1;
    std::string raw_error_body;  // body of a non-200 reply (first 500 bytes)

    bool ok() const { return error.empty() && http_status == 200; }
};

class ChatClient {
public:
    ChatClient(Endpoint endpoint, int timeout_ms);
    Reply chat(const std::string& body_json);
    // GET path under the endpoint (e.g. "/health"); the status, 0 when unreachable; body into *body if given.
    int get(const std::string& path, std::string* body = nullptr, int timeout_ms = 2000);

private:
    Endpoint endpoint_;
    int timeout_ms_;
};

}  // namespace hotrod::bench
