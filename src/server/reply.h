// From engine::Event to the OpenAI wire format: ReplySplitter routes event text into content or
// reasoning_content (the `<think>` block, when reasoning is on), and the *_json functions build the objects the
// endpoints send (usage, logprobs, chat / completion bodies and stream chunks). Pure functions of their inputs,
// so the wire format is unit-tested without a model.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "text/reasoning.h"
#include "text/tool_calls.h"

namespace hotrod::server {

// Serialises with invalid UTF-8 replaced by U+FFFD (a token piece may hold part of a character), never throws.
std::string dump_json(const nlohmann::json& j);

struct ReplyDelta {
    std::string content;
    std::string reasoning;
    std::vector<text::ToolCall> calls;  // complete calls parsed out of the content
    std::vector<engine::TokenOut> tokens;
    bool empty() const { return content.empty() && reasoning.empty() && calls.empty() && tokens.empty(); }
};

class ReplySplitter {
public:
    // split_reasoning: route a leading <think> block to reasoning. start_in_reasoning: the prompt opened it.
    // tool_syntax: parse the content for tool calls in that syntax (none: content stays text); tools: the
    // request's tools (types for xml_function values), kept alive by the caller.
    ReplySplitter(bool split_reasoning, bool start_in_reasoning, text::ToolSyntax tool_syntax = text::ToolSyntax::none,
                  const nlohmann::ordered_json* tools = nullptr);
    // The event's text and tokens; on the final event (finish set) anything held back is released too.
    ReplyDelta push(const engine::Event& e);

private:
    bool split_;
    text::ReasoningSplitter splitter_;
    bool parse_tools_;
    text::ToolCallParser tools_;
};

// A new tool-call id: "call_" and 24 letters and digits (OpenAI's form), or 9 of them for the Mistral syntax (its
// templates refuse any other id when the conversation comes back).
std::string new_tool_call_id(text::ToolSyntax syntax);
// {"index", "id", "type": "function", "function": {"name", "arguments"}}: one entry of message.tool_calls (the
// index is kept in stream deltas only).
nlohmann::json tool_call_json(const text::ToolCall& c, const std::string& id, int index, bool with_index);

// "stop" / "length"; a request that ended in error or was cancelled reports "stop" on the wire (OpenAI has no
// other value for them), the log line says what really happened.
const char* finish_reason_wire(engine::FinishReason r);

nlohmann::json usage_json(const engine::Usage& u);

// The bytes of a token as the client sees it.
using PieceFn = std::function<std::string_view(int32_t)>;

// Chat: [{"token", "logprob", "bytes", "top_logprobs": [...]}, ...] (the "content" array of choice.logprobs).
// A token forced by the grammar has no sampled log-probability: its logprob is null.
nlohmann::json chat_logprobs_json(const std::vector<engine::TokenOut>& tokens, const PieceFn& piece);
// Legacy completions: {"tokens", "token_logprobs", "top_logprobs": [{piece: lp}], "text_offset"};
// text_offset counts bytes from the start of the completion, starting at offset0.
nlohmann::json completion_logprobs_json(const std::vector<engine::TokenOut>& tokens, const PieceFn& piece,
                                        size_t offset0);

struct ReplyMeta {
    std::string id;       // "chatcmpl-..." / "cmpl-..."
    std::string model;    // the name the client should see
    int64_t created = 0;  // unix seconds
};

// Non-streamed bodies. logprobs: null or the *_logprobs_json result.
// tool_calls: an array of tool_call_json entries (empty: no calls); with calls, content is null when empty.
nlohmann::json chat_completion_json(const ReplyMeta& m, const std::string& content, const std::string& reasoning,
                                    const char* finish_reason, const nlohmann::json& logprobs,
                                    const engine::Usage& u, const nlohmann::json& tool_calls = nlohmann::json::array());
nlohmann::json text_completion_json(const ReplyMeta& m, const std::string& text, const char* finish_reason,
                                    const nlohmann::json& logprobs, const engine::Usage& u);

// Stream chunks. delta: {"role"}, {"content"}, {"reasoning_content"}; finish_reason null until the last chunk.
nlohmann::json chat_chunk_json(const ReplyMeta& m, nlohmann::json delta, const char* finish_reason,
                               const nlohmann::json& logprobs);
nlohmann::json text_chunk_json(const ReplyMeta& m, const std::string& text, const char* finish_reason,
                               const nlohmann::json& logprobs);
// The usage chunk (stream_options.include_usage): empty choices, usage set.
nlohmann::json usage_chunk_json(const ReplyMeta& m, const char* object, const engine::Usage& u);

// One SSE event: "data: <json>\n\n".
std::string sse_event(const nlohmann::json& j);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

}  // namespace hotrod::server
