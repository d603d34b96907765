// The Response object and stream events (platform.openai.com/docs/api-reference/responses/object and
// .../responses-streaming). One state machine serves both modes: an output item opens when its kind of text first
// arrives (reasoning, message text, a tool call) and closes when another kind arrives or the reply ends; streaming
// writes the events of each step, the non-streamed body is the final Response alone.
#include "server/responses_reply.h"

#include <algorithm>

#include "server/api_error.h"

namespace hotrod::server {
namespace {

using json = nlohmann::json;

bool all_space(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; });
}

class ResponsesFormat final : public ReplyFormat {
public:
    ResponsesFormat(const ReplySetup& s, const ResponsesEcho& echo, const sample::SamplingParams& sampling)
        : meta_(s.meta),
          streaming_(s.streaming),
          parallel_tool_calls_(s.parallel_tool_calls),
          tool_syntax_(s.tool_syntax),
          splitter_(s.splitter()),
          echo_(echo),
          temperature_(sampling.temperature),
          top_p_(sampling.top_p) {
        // Item ids share the response's own suffix ("resp_<start>-<n>" → "msg_<start>-<n>_0"), so they are unique
        // across the server's requests.
        const std::string& id = meta_.id;
        suffix_ = id.substr(id.find('_') == std::string::npos ? 0 : id.find('_') + 1);
    }

    std::string open() override {
        if (!streaming_) return {};
        std::string out;
        const json r = response_json("in_progress", nullptr);
        emit(out, "response.created", {{"response", r}});
        emit(out, "response.in_progress", {{"response", r}});
        return out;
    }

    ReplyBytes push(const engine::Event& e) override {
        ReplyDelta d = splitter_.push(e);
        const bool final = e.finish != engine::FinishReason::none;
        ReplyBytes out;
        if (final && e.finish == engine::FinishReason::error) return fail(e);
        if (!d.reasoning.empty() && d.content.empty() && d.calls.empty()) n_reasoning_tokens_ += int(d.tokens.size());
        if (!d.reasoning.empty()) add_text(out.body, Open::reasoning, d.reasoning);
        if (!d.content.empty()) add_content(out.body, d.content);
        for (const text::ToolCall& c : d.calls) add_call(out.body, c);
        if (!final) return out;

        // Whitespace held back stays out of the output, unless it is all the model said: a reply always has an item.
        if (output_.empty() && open_ == Open::none) add_text(out.body, Open::message, held_space_);
        close_item(out.body, e.finish == engine::FinishReason::length ? "incomplete" : "completed");
        const bool complete = e.finish != engine::FinishReason::length;
        const json r = response_json(complete ? "completed" : "incomplete", usage(e.usage));
        if (!streaming_) return {dump_json(r), {}};
        emit(out.end, complete ? "response.completed" : "response.incomplete", {{"response", r}});
        return out;
    }

private:
    enum class Open { none, reasoning, message };

    ReplyMeta meta_;
    bool streaming_, parallel_tool_calls_;
    text::ToolSyntax tool_syntax_;
    ReplySplitter splitter_;
    ResponsesEcho echo_;
    float temperature_, top_p_;
    std::string suffix_;

    json output_ = json::array();  // the items closed so far, in their final form
    int seq_ = 0;
    int n_calls_ = 0;
    int n_reasoning_tokens_ = 0;  // tokens of events that held reasoning text only (close to, not exactly, the count)
    Open open_ = Open::none;
    std::string open_id_, open_text_;
    std::string held_space_;  // message text that is whitespace so far (between reasoning and a call, say)

    int index() const { return int(output_.size()); }  // the open item's output_index

    // One event: "event: <type>" and its data with the type and the next sequence number.
    void emit(std::string& out, const char* type, json fields) {
        fields["type"] = type;
        fields["sequence_number"] = seq_++;
        if (streaming_) out += std::string("event: ") + type + "\n" + sse_event(fields);
    }

    json usage(const engine::Usage& u) const {
        return {{"input_tokens", u.prompt_tokens},
                {"input_tokens_details", {{"cached_tokens", u.cached_tokens}}},
                {"output_tokens", u.completion_tokens},
                {"output_tokens_details", {{"reasoning_tokens", std::min(n_reasoning_tokens_, u.completion_tokens)}}},
                {"total_tokens", u.prompt_tokens + u.completion_tokens}};
    }

    json response_json(const char* status, json usage) const {
        json r = {{"id", meta_.id},
                  {"object", "response"},
                  {"created_at", meta_.created},
                  {"status", status},
                  {"background", false},
                  {"error", nullptr},
                  {"incomplete_details", nullptr},
                  {"instructions", echo_.instructions},
                  {"max_output_tokens", echo_.max_output_tokens},
                  {"metadata", echo_.metadata},
                  {"model", meta_.model},
                  {"output", output_},
                  {"parallel_tool_calls", parallel_tool_calls_},
                  {"previous_response_id", nullptr},
                  {"reasoning", echo_.reasoning},
                  {"store", false},
                  {"temperature", temperature_},
                  {"text", echo_.text},
                  {"tool_choice", echo_.tool_choice},
                  {"tools", echo_.tools},
                  {"top_p", top_p_},
                  {"truncation", "disabled"},
                  {"usage", std::move(usage)},
                  {"user", echo_.user}};
        if (std::string_view(status) == "incomplete") r["incomplete_details"] = {{"reason", "max_output_tokens"}};
        return r;
    }

    static json text_part(Open kind, const std::string& text) {
        if (kind == Open::reasoning) return {{"type", "reasoning_text"}, {"text", text}};
        return {{"type", "output_text"}, {"text", text}, {"annotations", json::array()}, {"logprobs", json::array()}};
    }

    json item(Open kind, const char* status) const {
        const json content = open_text_.empty() && std::string_view(status) == "in_progress"
                                 ? json::array()
                                 : json::array({text_part(kind, open_text_)});
        if (kind == Open::reasoning)
            return {{"type", "reasoning"}, {"id", open_id_}, {"summary", json::array()}, {"content", content},
                    {"status", status}};
        return {{"type", "message"}, {"id", open_id_},          {"status", status},
                {"role", "assistant"}, {"content", content}};
    }

    // Text of one kind: opens its item (closing another) and adds a delta.
    void add_text(std::string& out, Open kind, const std::string& text) {
        if (open_ != kind) {
            close_item(out, "completed");
            open_ = kind;
            open_id_ = (kind == Open::reasoning ? "rs_" : "msg_") + suffix_ + "_" + std::to_string(index());
            open_text_.clear();
            emit(out, "response.output_item.added", {{"output_index", index()}, {"item", item(kind, "in_progress")}});
            emit(out, "response.content_part.added", {{"item_id", open_id_}, {"output_index", index()},
                                                      {"content_index", 0}, {"part", text_part(kind, "")}});
        }
        if (text.empty()) return;
        open_text_ += text;
        json delta = {{"item_id", open_id_}, {"output_index", index()}, {"content_index", 0}, {"delta", text}};
        if (kind == Open::message) {
            delta["logprobs"] = json::array();
            emit(out, "response.output_text.delta", std::move(delta));
        } else {
            emit(out, "response.reasoning_text.delta", std::move(delta));
        }
    }

    void add_content(std::string& out, const std::string& text) {
        if (open_ != Open::message && all_space(held_space_ + text)) {
            held_space_ += text;
            return;
        }
        add_text(out, Open::message, held_space_ + text);
        held_space_.clear();
    }

    void close_item(std::string& out, const char* status) {
        if (open_ == Open::none) return;
        const Open kind = open_;
        open_ = Open::none;
        json done = {{"item_id", open_id_}, {"output_index", index()}, {"content_index", 0}, {"text", open_text_}};
        if (kind == Open::message) {
            done["logprobs"] = json::array();
            emit(out, "response.output_text.done", std::move(done));
        } else {
            emit(out, "response.reasoning_text.done", std::move(done));
        }
        emit(out, "response.content_part.done", {{"item_id", open_id_}, {"output_index", index()},
                                                 {"content_index", 0}, {"part", text_part(kind, open_text_)}});
        json it = item(kind, status);
        emit(out, "response.output_item.done", {{"output_index", index()}, {"item", it}});
        output_.push_back(std::move(it));
    }

    // A parsed tool call: a function_call item whose arguments come in one delta (clients concatenate deltas).
    void add_call(std::string& out, const text::ToolCall& c) {
        if (!parallel_tool_calls_ && n_calls_ > 0) return;
        close_item(out, "completed");
        held_space_.clear();
        ++n_calls_;
        const std::string id = "fc_" + suffix_ + "_" + std::to_string(index());
        json call = {{"type", "function_call"}, {"id", id},          {"call_id", new_tool_call_id(tool_syntax_)},
                     {"name", c.name},          {"arguments", ""}, {"status", "in_progress"}};
        emit(out, "response.output_item.added", {{"output_index", index()}, {"item", call}});
        emit(out, "response.function_call_arguments.delta",
             {{"item_id", id}, {"output_index", index()}, {"delta", c.arguments}});
        emit(out, "response.function_call_arguments.done",
             {{"item_id", id}, {"output_index", index()}, {"name", c.name}, {"arguments", c.arguments}});
        call["arguments"] = c.arguments;
        call["status"] = "completed";
        emit(out, "response.output_item.done", {{"output_index", index()}, {"item", call}});
        output_.push_back(std::move(call));
    }

    // The engine failed the request: response.failed when streaming, else the error object (as chat does: the
    // status line went out as 200 when the request was queued).
    ReplyBytes fail(const engine::Event& e) {
        const std::string message = "generation failed: " + (e.error.empty() ? std::string("engine error") : e.error);
        if (!streaming_) return {dump_json(internal_error(message).body()), {}};
        ReplyBytes out;
        close_item(out.body, "incomplete");
        json r = response_json("failed", usage(e.usage));
        r["error"] = {{"code", "server_error"}, {"message", message}};
        emit(out.body, "response.failed", {{"response", std::move(r)}});
        return out;
    }
};

}  // namespace

std::unique_ptr<ReplyFormat> make_responses_format(const ReplySetup& setup, const ResponsesEcho& echo,
                                                   const sample::SamplingParams& sampling) {
    return std::make_unique<ResponsesFormat>(setup, echo, sampling);
}

}  // namespace hotrod::server
