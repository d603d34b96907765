// The chat and completions wire formats of a generation reply (see reply_format.h): SSE chunks ending in
// "data: [DONE]" when streaming, one chat.completion / text_completion body otherwise. The objects themselves are
// built by reply.cpp; this file decides which go out for each engine event.
#include "server/api_error.h"
#include "server/reply_format.h"

namespace hotrod::server {
namespace {

class ChatFormat final : public ReplyFormat {
public:
    ChatFormat(Endpoint endpoint, const ReplySetup& s)
        : endpoint_(endpoint),
          meta_(s.meta),
          streaming_(s.streaming),
          include_usage_(s.include_usage),
          logprobs_(s.logprobs),
          parallel_tool_calls_(s.parallel_tool_calls),
          tool_syntax_(s.tool_syntax),
          piece_(s.piece),
          splitter_(s.splitter()) {}

    std::string open() override {
        if (!streaming_ || endpoint_ != Endpoint::chat) return {};
        return sse_event(chat_chunk_json(meta_, {{"role", "assistant"}, {"content", ""}}, nullptr, nullptr));
    }

    ReplyBytes push(const engine::Event& e) override { return streaming_ ? stream_event(e) : collect_event(e); }

private:
    Endpoint endpoint_;
    ReplyMeta meta_;
    bool streaming_, include_usage_, logprobs_, parallel_tool_calls_;
    text::ToolSyntax tool_syntax_;
    PieceFn piece_;
    ReplySplitter splitter_;
    nlohmann::json tool_calls_ = nlohmann::json::array();  // the calls kept, with the ids given here
    std::string content_, reasoning_;
    std::vector<engine::TokenOut> tokens_;
    size_t text_bytes_ = 0;  // completions' text_offset

    static nlohmann::json error_body(const engine::Event& e) {
        return internal_error("generation failed: " + (e.error.empty() ? std::string("engine error") : e.error))
            .body();
    }

    // The calls of a delta that are kept (one in all without parallel_tool_calls), each with a new id; returns the
    // new entries, with their stream index.
    nlohmann::json take_calls(const std::vector<text::ToolCall>& calls) {
        nlohmann::json fresh = nlohmann::json::array();
        for (const auto& c : calls) {
            if (!parallel_tool_calls_ && !tool_calls_.empty()) break;
            const int index = int(tool_calls_.size());
            const std::string id = new_tool_call_id(tool_syntax_);
            tool_calls_.push_back(tool_call_json(c, id, index, false));
            fresh.push_back(tool_call_json(c, id, index, true));
        }
        return fresh;
    }
    const char* finish_reason(const engine::Event& e) const {
        return tool_calls_.empty() ? finish_reason_wire(e.finish) : "tool_calls";
    }

    ReplyBytes stream_event(const engine::Event& e) {
        ReplyDelta d = splitter_.push(e);
        const bool final = e.finish != engine::FinishReason::none;
        if (final && e.finish == engine::FinishReason::error) return {sse_event(error_body(e)), {}};
        ReplyBytes out;
        nlohmann::json lp = nullptr;
        if (logprobs_ && !d.tokens.empty())
            lp = endpoint_ == Endpoint::chat ? chat_logprobs_json(d.tokens, piece_)
                                             : completion_logprobs_json(d.tokens, piece_, text_bytes_);
        const bool has_text = !d.content.empty() || !d.reasoning.empty();
        if (has_text || !lp.is_null()) {
            nlohmann::json chunk;
            if (endpoint_ == Endpoint::chat) {
                nlohmann::json delta = nlohmann::json::object();
                if (!d.reasoning.empty()) delta["reasoning_content"] = d.reasoning;
                if (!d.content.empty() || d.reasoning.empty()) delta["content"] = d.content;
                chunk = chat_chunk_json(meta_, std::move(delta), nullptr, lp);
            } else {
                chunk = text_chunk_json(meta_, d.content, nullptr, lp);
            }
            for (const auto& t : d.tokens) text_bytes_ += piece_(t.id).size();
            out.body += sse_event(chunk);
        }
        // Each call in one chunk: its index, id, type and name, and the arguments whole (a client concatenates the
        // argument pieces of an index, so one piece is the same to it).
        for (auto& call : take_calls(d.calls))
            out.body += sse_event(
                chat_chunk_json(meta_, {{"tool_calls", nlohmann::json::array({call})}}, nullptr, nullptr));
        if (!final) return out;
        const char* reason = finish_reason(e);
        out.body += sse_event(endpoint_ == Endpoint::chat
                                  ? chat_chunk_json(meta_, nlohmann::json::object(), reason, nullptr)
                                  : text_chunk_json(meta_, "", reason, nullptr));
        if (include_usage_)
            out.body += sse_event(usage_chunk_json(
                meta_, endpoint_ == Endpoint::chat ? "chat.completion.chunk" : "text_completion", e.usage));
        out.end = std::string(kSseDone);
        return out;
    }

    ReplyBytes collect_event(const engine::Event& e) {
        ReplyDelta d = splitter_.push(e);
        content_ += d.content;
        reasoning_ += d.reasoning;
        take_calls(d.calls);
        if (logprobs_) tokens_.insert(tokens_.end(), d.tokens.begin(), d.tokens.end());
        if (e.finish == engine::FinishReason::none) return {};
        if (e.finish == engine::FinishReason::error) return {dump_json(error_body(e)), {}};
        const char* reason = finish_reason(e);
        nlohmann::json body;
        if (endpoint_ == Endpoint::chat) {
            body = chat_completion_json(meta_, content_, reasoning_, reason,
                                        logprobs_ ? chat_logprobs_json(tokens_, piece_) : nlohmann::json(nullptr),
                                        e.usage, tool_calls_);
        } else {
            body = text_completion_json(
                meta_, content_, reason,
                logprobs_ ? completion_logprobs_json(tokens_, piece_, 0) : nlohmann::json(nullptr), e.usage);
        }
        return {dump_json(body), {}};
    }
};

}  // namespace

std::unique_ptr<ReplyFormat> make_chat_format(Endpoint endpoint, const ReplySetup& setup) {
    return std::make_unique<ChatFormat>(endpoint, setup);
}

}  // namespace hotrod::server
