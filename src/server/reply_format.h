// How a generation reply turns engine events into the bytes of one wire format: chat and completions
// (chat_reply_format.cpp) or the Responses API (responses_reply.cpp). The transport around it (queueing,
// heartbeats, cancelling when the client leaves, /metrics) is generation_handler.cpp's and the same for all, so a
// format is a pure function of its events and is unit-tested without a model or a socket.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "server/generation_request.h"
#include "server/reply.h"

namespace hotrod::server {

struct ReplyBytes {
    std::string body;  // written as it comes
    std::string end;   // final event only: the end marker ("data: [DONE]", response.completed), written after the
                       // request is counted in /metrics, so a client that has seen the end finds it counted
};

class ReplyFormat {
public:
    virtual ~ReplyFormat() = default;
    // Streaming only: what goes out before the first event (chat's role chunk, Responses' response.created).
    virtual std::string open() { return {}; }
    // One engine event. Non-streamed formats return nothing until the final event, then the whole body.
    virtual ReplyBytes push(const engine::Event& e) = 0;
};

// What every format knows of the request it answers.
struct ReplySetup {
    ReplyMeta meta;
    bool streaming = false;
    bool include_usage = false;  // chat / completions: stream_options.include_usage
    bool logprobs = false;
    bool parallel_tool_calls = true;  // false: the first call only
    bool split_reasoning = false;     // route a <think> block to reasoning
    bool start_in_reasoning = false;  // the prompt opened it
    text::ToolSyntax tool_syntax = text::ToolSyntax::none;  // none: no tool-call parsing
    const nlohmann::ordered_json* tools = nullptr;           // chat-shaped; read while the format is built
    PieceFn piece;                                           // token bytes, for logprobs

    ReplySplitter splitter() const { return ReplySplitter(split_reasoning, start_in_reasoning, tool_syntax, tools); }
};

// /v1/chat/completions (Endpoint::chat) and /v1/completions.
std::unique_ptr<ReplyFormat> make_chat_format(Endpoint endpoint, const ReplySetup& setup);

}  // namespace hotrod::server
