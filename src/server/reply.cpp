// The OpenAI response objects (platform.openai.com/docs/api-reference/chat/object and .../chat/streaming).
#include "server/reply.h"

#include <cmath>
#include <random>

namespace hotrod::server {

std::string dump_json(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ReplySplitter::ReplySplitter(bool split_reasoning, bool start_in_reasoning, text::ToolSyntax tool_syntax,
                             const nlohmann::ordered_json* tools)
    : split_(split_reasoning),
      splitter_(start_in_reasoning),
      parse_tools_(tool_syntax != text::ToolSyntax::none),
      tools_(tool_syntax, tools) {}

ReplyDelta ReplySplitter::push(const engine::Event& e) {
    ReplyDelta d;
    d.tokens = e.tokens;
    const bool final = e.finish != engine::FinishReason::none;
    if (!split_) {
        d.content = e.text;
    } else {
        text::ReasoningDelta r = splitter_.push(e.text);
        if (final) {
            text::ReasoningDelta tail = splitter_.flush();
            r.reasoning += tail.reasoning;
            r.content += tail.content;
        }
        d.content = std::move(r.content);
        d.reasoning = std::move(r.reasoning);
    }
    if (parse_tools_) {  // the content (after any reasoning) may hold tool calls
        text::ToolCallDelta t = tools_.push(d.content);
        if (final) {
            text::ToolCallDelta tail = tools_.flush();
            t.content += tail.content;
            for (auto& c : tail.calls) t.calls.push_back(std::move(c));
        }
        d.content = std::move(t.content);
        d.calls = std::move(t.calls);
    }
    return d;
}

std::string new_tool_call_id(text::ToolSyntax syntax) {
    static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const int n = syntax == text::ToolSyntax::mistral ? 9 : 24;
    std::string id = syntax == text::ToolSyntax::mistral ? "" : "call_";
    for (int i = 0; i < n; ++i) id += kAlnum[rng() % (sizeof(kAlnum) - 1)];
    return id;
}

nlohmann::json tool_call_json(const text::ToolCall& c, const std::string& id, int index, bool with_index) {
    nlohmann::json j = nlohmann::json::object();
    if (with_index) j["index"] = index;
    j["id"] = id;
    j["type"] = "function";
    j["function"] = {{"name", c.name}, {"arguments", c.arguments}};
    return j;
}

const char* finish_reason_wire(engine::FinishReason r) {
    return r == engine::FinishReason::length ? "length" : "stop";
}

nlohmann::json usage_json(const engine::Usage& u) {
    return {{"prompt_tokens", u.prompt_tokens},
            {"completion_tokens", u.completion_tokens},
            {"total_tokens", u.prompt_tokens + u.completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

namespace {

nlohmann::json bytes_of(std::string_view s) {
    nlohmann::json b = nlohmann::json::array();
    for (unsigned char c : s) b.push_back(int(c));
    return b;
}

nlohmann::json logprob_value(float lp) {
    if (std::isnan(lp)) return nullptr;
    // -inf is not JSON; the model gave the token no probability at all.
    if (std::isinf(lp)) return -9999.0;
    return lp;
}

}  // namespace

nlohmann::json chat_logprobs_json(const std::vector<engine::TokenOut>& tokens, const PieceFn& piece) {
    nlohmann::json out = nlohmann::json::array();
    for (const engine::TokenOut& t : tokens) {
        const std::string_view p = piece(t.id);
        nlohmann::json top = nlohmann::json::array();
        for (int i = 0; i < t.n_top; ++i) {
            const std::string_view tp = piece(t.top[i].token_id);
            top.push_back({{"token", std::string(tp)}, {"logprob", logprob_value(t.top[i].logprob)},
                           {"bytes", bytes_of(tp)}});
        }
        out.push_back({{"token", std::string(p)}, {"logprob", logprob_value(t.logprob)}, {"bytes", bytes_of(p)},
                       {"top_logprobs", std::move(top)}});
    }
    return out;
}

nlohmann::json completion_logprobs_json(const std::vector<engine::TokenOut>& tokens, const PieceFn& piece,
                                        size_t offset0) {
    nlohmann::json toks = nlohmann::json::array(), lps = nlohmann::json::array(),
                   tops = nlohmann::json::array(), offsets = nlohmann::json::array();
    size_t offset = offset0;
    for (const engine::TokenOut& t : tokens) {
        const std::string_view p = piece(t.id);
        toks.push_back(std::string(p));
        lps.push_back(logprob_value(t.logprob));
        nlohmann::json top = nlohmann::json::object();
        for (int i = 0; i < t.n_top; ++i) top[std::string(piece(t.top[i].token_id))] = logprob_value(t.top[i].logprob);
        tops.push_back(std::move(top));
        offsets.push_back(offset);
        offset += p.size();
    }
    return {{"tokens", std::move(toks)},
            {"token_logprobs", std::move(lps)},
            {"top_logprobs", std::move(tops)},
            {"text_offset", std::move(offsets)}};
}

nlohmann::json chat_completion_json(const ReplyMeta& m, const std::string& content, const std::string& reasoning,
                                    const char* finish_reason, const nlohmann::json& logprobs,
                                    const engine::Usage& u, const nlohmann::json& tool_calls) {
    const bool calls = tool_calls.is_array() && !tool_calls.empty();
    nlohmann::json message = {{"role", "assistant"},
                              {"content", calls && content.empty() ? nlohmann::json(nullptr) : nlohmann::json(content)}};
    if (!reasoning.empty()) message["reasoning_content"] = reasoning;
    if (calls) message["tool_calls"] = tool_calls;
    nlohmann::json choice = {{"index", 0}, {"message", std::move(message)}, {"finish_reason", finish_reason}};
    choice["logprobs"] = logprobs.is_null() ? nlohmann::json(nullptr) : nlohmann::json{{"content", logprobs}};
    return {{"id", m.id},           {"object", "chat.completion"},
            {"created", m.created}, {"model", m.model},
            {"choices", nlohmann::json::array({std::move(choice)})}, {"usage", usage_json(u)}};
}

nlohmann::json text_completion_json(const ReplyMeta& m, const std::string& text, const char* finish_reason,
                                    const nlohmann::json& logprobs, const engine::Usage& u) {
    nlohmann::json choice = {{"index", 0}, {"text", text}, {"finish_reason", finish_reason}, {"logprobs", logprobs}};
    return {{"id", m.id},           {"object", "text_completion"},
            {"created", m.created}, {"model", m.model},
            {"choices", nlohmann::json::array({std::move(choice)})}, {"usage", usage_json(u)}};
}

nlohmann::json chat_chunk_json(const ReplyMeta& m, nlohmann::json delta, const char* finish_reason,
                               const nlohmann::json& logprobs) {
    nlohmann::json choice = {{"index", 0}, {"delta", std::move(delta)}};
    choice["finish_reason"] = finish_reason ? nlohmann::json(finish_reason) : nlohmann::json(nullptr);
    choice["logprobs"] = logprobs.is_null() ? nlohmann::json(nullptr) : nlohmann::json{{"content", logprobs}};
    return {{"id", m.id},           {"object", "chat.completion.chunk"},
            {"created", m.created}, {"model", m.model},
            {"choices", nlohmann::json::array({std::move(choice)})}};
}

nlohmann::json text_chunk_json(const ReplyMeta& m, const std::string& text, const char* finish_reason,
                               const nlohmann::json& logprobs) {
    nlohmann::json choice = {{"index", 0}, {"text", text}, {"logprobs", logprobs}};
    choice["finish_reason"] = finish_reason ? nlohmann::json(finish_reason) : nlohmann::json(nullptr);
    return {{"id", m.id},           {"object", "text_completion"},
            {"created", m.created}, {"model", m.model},
            {"choices", nlohmann::json::array({std::move(choice)})}};
}

nlohmann::json usage_chunk_json(const ReplyMeta& m, const char* object, const engine::Usage& u) {
    return {{"id", m.id},          {"object", object},     {"created", m.created},
            {"model", m.model},    {"choices", nlohmann::json::array()}, {"usage", usage_json(u)}};
}

std::string sse_event(const nlohmann::json& j) {
    return "data: " + dump_json(j) + "\n\n";
}

}  // namespace hotrod::server
