// The generation endpoints. Validation and prompt building happen on the HTTP thread before anything is
// queued; the engine thread never waits on a socket: it pushes events into the Stream and this side pops them.
//
// Client disconnects: httplib 0.11 gives a handler no socket, so both replies are chunked content providers.
// Streaming: every chunk is a write, and a failed write cancels the request; while nothing is generated (queued,
// long prefill) an SSE comment (": keep-alive") is written every second, which clients ignore. Non-streamed:
// while waiting, one space is written every second (JSON allows leading whitespace) so a closed socket makes a
// write fail; replies faster than a second carry no padding. A consequence: once queued, the status is 200,
// and an engine failure arrives as an error object in the body (streaming: an SSE event with "error").
//
// /metrics counts each request once, when its reply's content has been written (200, or 500 for an engine
// failure) or could not be (499, the client left), and only then drops it from the in-flight gauge. The count
// comes before the reply's end marker ("data: [DONE]", the last empty chunk): a client that has seen the end
// of its reply (the openai client stops reading at [DONE]) also finds it counted.
#include "server/generation_handler.h"

#include <chrono>
#include <cstdio>

#include "server/api_error.h"
#include "server/json_fields.h"
#include "server/reply.h"

namespace hotrod::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(250);
constexpr auto kHeartbeatInterval = std::chrono::milliseconds(1000);

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}


struct Prompt {
    std::vector<int32_t> ids;
    bool split_reasoning = false;
    bool start_in_reasoning = false;
};

Prompt build_chat_prompt(const SharedState& st, const LoadedModel& m, const GenerationRequest& r) {
    text::ChatInputs in;
    in.add_generation_prompt = true;
    if (m.tok->bos_id() != text::kNoToken) in.bos_token = std::string(m.tok->piece(m.tok->bos_id(), true));
    if (m.tok->eos_id() != text::kNoToken) in.eos_token = std::string(m.tok->piece(m.tok->eos_id(), true));
    in.messages = r.messages;
    // tool_choice none: the template does not show the tools, so the model answers in text.
    if (r.tool_choice.kind != ToolChoice::Kind::none) in.tools = r.tools;
    in.extra = r.template_kwargs;
    // The server default applies unless the request says; "auto" leaves the template's own default.
    std::optional<bool> thinking = r.enable_thinking;
    if (!thinking && st.opt.reasoning != ReasoningMode::auto_) thinking = st.opt.reasoning == ReasoningMode::on;
    if (thinking && m.template_knows_thinking) in.extra["enable_thinking"] = *thinking;

    std::string rendered;
    try {
        rendered = m.chat_template->render(in);
    } catch (const std::exception& e) {
        // Templates raise on conversations they do not accept (roles out of order, a missing user turn).
        throw bad_request(std::string("the chat template refused the conversation: ") + e.what(), "messages");
    }
    Prompt p;
    p.ids = m.encode_prompt(rendered);
    p.split_reasoning = thinking.value_or(true);
    p.start_in_reasoning = p.split_reasoning && text::prompt_opens_reasoning(rendered);
    return p;
}

std::shared_ptr<const sample::Grammar> build_grammar(LoadedModel& m, const ResponseFormat& rf) {
    try {
        switch (rf.kind) {
            case ResponseFormat::Kind::text: return nullptr;
            case ResponseFormat::Kind::json_object: return m.grammars.json_object();
            case ResponseFormat::Kind::json_schema: return m.grammars.json_schema(rf.schema);
        }
    } catch (const sample::SchemaError& e) {
        throw bad_request(std::string("response_format: ") + e.what(), "response_format", "invalid_schema");
    }
    return nullptr;
}

// One queued request and what its reply has accumulated; shared by the content provider and its releaser.
struct Exchange {
    SharedState* st = nullptr;
    std::shared_ptr<LoadedModel> model;  // keeps tokenizer and engine alive for the reply
    std::shared_ptr<engine::Stream> stream;
    Endpoint endpoint = Endpoint::chat;
    bool streaming = false, include_usage = false, logprobs = false;
    ReplyMeta meta;
    ReplySplitter splitter{false, false};
    Clock::time_point arrived, last_write;
    double prepare_ms = 0;  // arrival to submit: parsing, template, tokenizer, grammar (the engine times the rest)
    int32_t n_prompt = 0;

    // Tool calls parsed from the reply (tool_calls.h): their JSON entries with the ids given here.
    text::ToolSyntax tool_syntax = text::ToolSyntax::none;
    bool parallel_tool_calls = true;
    nlohmann::json tool_calls = nlohmann::json::array();

    bool role_sent = false;
    bool counted = false;   // recorded in /metrics (and no longer in flight): at the final event or on release
    bool released = false;  // httplib may copy a Response, and each copy calls the releaser
    std::string content, reasoning;
    std::vector<engine::TokenOut> tokens;
    size_t text_bytes = 0;  // completions' text_offset

    PieceFn piece() const {
        const text::Tokenizer* tok = model->tok.get();
        return [tok](int32_t id) { return tok->piece(id, true); };
    }
    const char* endpoint_name() const { return endpoint == Endpoint::chat ? "chat" : "completions"; }

    void log_line(const engine::Event* last, bool delivered = true) const {
        if (last) {
            const engine::Usage& u = last->usage;
            std::fprintf(stderr,
                         "hotrod serve: %s %s prompt=%d completion=%d cached=%d prepare=%.1fms queue=%.0fms "
                         "ttft=%.0fms latency=%.0fms finish=%s%s%s%s\n",
                         meta.id.c_str(), endpoint_name(), u.prompt_tokens, u.completion_tokens, u.cached_tokens,
                         prepare_ms, u.queue_ms, prepare_ms + u.ttft_ms, prepare_ms + u.total_ms,
                         engine::to_string(last->finish), delivered ? "" : " (client gone, reply not written)",
                         last->error.empty() ? "" : " error=", last->error.c_str());
        } else {
            std::fprintf(stderr, "hotrod serve: %s %s prompt=%d latency=%.0fms finish=cancelled (client gone)\n",
                         meta.id.c_str(), endpoint_name(), n_prompt, ms_between(arrived, Clock::now()));
        }
    }

    // The request's one count and its in-flight slot back (see the top of this file).
    void count(int status) {
        if (counted) return;
        counted = true;
        st->metrics.record_request(endpoint_name(), status);
        st->metrics.add_in_flight(-1);
    }

    // The final event, after its content was written (delivered) or its write failed (the client is gone: 499,
    // as for a client that leaves earlier; an engine failure stays a 500 either way).
    void on_final(const engine::Event& e, bool delivered) {
        if (e.usage.completion_tokens > 0) st->metrics.record_ttft(prepare_ms + e.usage.ttft_ms);
        st->metrics.record_latency(prepare_ms + e.usage.total_ms);
        count(e.finish == engine::FinishReason::error ? 500 : delivered ? 200 : 499);
        log_line(&e, delivered);
    }

    bool write(httplib::DataSink& sink, std::string_view data) {
        if (!sink.is_writable() || !sink.write(data.data(), data.size())) return false;
        last_write = Clock::now();
        return true;
    }

    nlohmann::json error_body(const engine::Event& e) const {
        return internal_error("generation failed: " + (e.error.empty() ? std::string("engine error") : e.error))
            .body();
    }

    // The calls of a delta that are kept (one in all without parallel_tool_calls), each with a new id; returns the
    // new entries, with their stream index.
    nlohmann::json take_calls(const std::vector<text::ToolCall>& calls) {
        nlohmann::json fresh = nlohmann::json::array();
        for (const auto& c : calls) {
            if (!parallel_tool_calls && !tool_calls.empty()) break;
            const int index = int(tool_calls.size());
            const std::string id = new_tool_call_id(tool_syntax);
            tool_calls.push_back(tool_call_json(c, id, index, false));
            fresh.push_back(tool_call_json(c, id, index, true));
        }
        return fresh;
    }
    const char* finish_reason(const engine::Event& e) const {
        return tool_calls.empty() ? finish_reason_wire(e.finish) : "tool_calls";
    }

    // Streaming: the SSE chunks of one event ([DONE] is left to provide). False when the client is gone.
    bool stream_event(httplib::DataSink& sink, const engine::Event& e) {
        ReplyDelta d = splitter.push(e);
        const bool final = e.finish != engine::FinishReason::none;
        if (final && e.finish == engine::FinishReason::error) return write(sink, sse_event(error_body(e)));
        nlohmann::json lp = nullptr;
        if (logprobs && !d.tokens.empty())
            lp = endpoint == Endpoint::chat ? chat_logprobs_json(d.tokens, piece())
                                            : completion_logprobs_json(d.tokens, piece(), text_bytes);
        const bool has_text = !d.content.empty() || !d.reasoning.empty();
        if (has_text || !lp.is_null()) {
            nlohmann::json chunk;
            if (endpoint == Endpoint::chat) {
                nlohmann::json delta = nlohmann::json::object();
                if (!d.reasoning.empty()) delta["reasoning_content"] = d.reasoning;
                if (!d.content.empty() || d.reasoning.empty()) delta["content"] = d.content;
                chunk = chat_chunk_json(meta, std::move(delta), nullptr, lp);
            } else {
                chunk = text_chunk_json(meta, d.content, nullptr, lp);
            }
            for (const auto& t : d.tokens) text_bytes += piece()(t.id).size();
            if (!write(sink, sse_event(chunk))) return false;
        }
        // Each call in one chunk: its index, id, type and name, and the arguments whole (a client concatenates the
        // argument pieces of an index, so one piece is the same to it).
        for (auto& call : take_calls(d.calls))
            if (!write(sink, sse_event(chat_chunk_json(meta, {{"tool_calls", nlohmann::json::array({call})}}, nullptr,
                                                       nullptr))))
                return false;
        if (!final) return true;
        const char* reason = finish_reason(e);
        const nlohmann::json last = endpoint == Endpoint::chat
                                        ? chat_chunk_json(meta, nlohmann::json::object(), reason, nullptr)
                                        : text_chunk_json(meta, "", reason, nullptr);
        if (!write(sink, sse_event(last))) return false;
        return !include_usage ||
               write(sink, sse_event(usage_chunk_json(
                               meta, endpoint == Endpoint::chat ? "chat.completion.chunk" : "text_completion",
                               e.usage)));
    }

    // Non-streamed: accumulate; the body once the final event arrives. False when the client is gone.
    bool collect_event(httplib::DataSink& sink, const engine::Event& e) {
        ReplyDelta d = splitter.push(e);
        content += d.content;
        reasoning += d.reasoning;
        take_calls(d.calls);
        if (logprobs) tokens.insert(tokens.end(), d.tokens.begin(), d.tokens.end());
        if (e.finish == engine::FinishReason::none) return true;
        if (e.finish == engine::FinishReason::error) return write(sink, dump_json(error_body(e)));
        const char* reason = finish_reason(e);
        nlohmann::json body;
        if (endpoint == Endpoint::chat) {
            body = chat_completion_json(meta, content, reasoning, reason,
                                        logprobs ? chat_logprobs_json(tokens, piece()) : nlohmann::json(nullptr),
                                        e.usage, tool_calls);
        } else {
            body = text_completion_json(meta, content, reason,
                                        logprobs ? completion_logprobs_json(tokens, piece(), 0)
                                                 : nlohmann::json(nullptr),
                                        e.usage);
        }
        return write(sink, dump_json(body));
    }

    // One call of the content provider: waits up to kPollInterval for events. False ends the reply (client gone).
    bool provide(httplib::DataSink& sink) {
        if (streaming && endpoint == Endpoint::chat && !role_sent) {
            role_sent = true;
            if (!write(sink, sse_event(chat_chunk_json(meta, {{"role", "assistant"}, {"content", ""}}, nullptr,
                                                       nullptr))))
                return cancel();
        }
        std::vector<engine::Event> events;
        stream->wait(events, kPollInterval);
        for (const engine::Event& e : events) {
            const bool ok = streaming ? stream_event(sink, e) : collect_event(sink, e);
            if (e.finish == engine::FinishReason::none) {
                if (!ok) return cancel();
                continue;
            }
            on_final(e, ok);  // counted before the end marker below
            if (!ok || (streaming && !write(sink, kSseDone))) return false;
            sink.done();
            return true;
        }
        // Nothing written for a while (queued, prefilling, or a non-streamed reply still generating): probe the
        // socket so a client that left is noticed.
        if (Clock::now() - last_write < kHeartbeatInterval) return true;
        return write(sink, streaming ? std::string_view(": keep-alive\n\n") : std::string_view(" ")) ? true
                                                                                                     : cancel();
    }

    bool cancel() {
        stream->cancel();
        return false;
    }

    // The reply ended, normally or not (write failure, server stopping): a request still running is cancelled.
    void release() {
        if (released) return;
        released = true;
        if (counted) return;
        stream->cancel();
        count(499);  // nginx's "client closed request"
        log_line(nullptr);
    }
};

}  // namespace

void check_model_name(const SharedState& st, const LoadedModel& m, const std::string& asked) {
    if (asked.empty() || asked == st.public_model_name(m) || asked == m.model_id || asked == m.model_id + ".gguf")
        return;
    throw not_found("the model '" + asked + "' does not exist; this server serves '" + st.public_model_name(m) +
                        "'", "model", "model_not_found");
}

std::shared_ptr<LoadedModel> require_model(SharedState& st) {
    switch (st.state.load()) {
        case ServerState::loading: throw unavailable("the model is loading", "model_loading");
        case ServerState::failed: throw unavailable("the model failed to load: " + st.load_error, "model_load_failed");
        case ServerState::shutting_down: throw unavailable("the server is shutting down", "shutting_down");
        case ServerState::ready: break;
    }
    std::shared_ptr<LoadedModel> m = st.model();
    if (!m) throw unavailable("the model is loading", "model_loading");
    return m;
}

void handle_generation(SharedState& st, Endpoint endpoint, const httplib::Request& req, httplib::Response& res) {
    const Clock::time_point arrived = Clock::now();
    std::shared_ptr<LoadedModel> m = require_model(st);
    const auto body = parse_body(req.body);
    GenerationRequest r = endpoint == Endpoint::chat ? parse_chat_request(body, m->n_vocab, m->max_context)
                                                     : parse_completion_request(body, m->n_vocab, m->max_context);
    check_model_name(st, *m, r.model);

    Prompt prompt;
    if (endpoint == Endpoint::chat) {
        prompt = build_chat_prompt(st, *m, r);
    } else {
        prompt.ids = r.prompt_is_ids ? r.prompt_ids : m->encode_prompt(r.prompt_text);
    }
    const char* prompt_param = endpoint == Endpoint::chat ? "messages" : "prompt";
    if (prompt.ids.empty()) throw bad_request("the prompt has no tokens", prompt_param);
    if (int64_t(prompt.ids.size()) >= m->max_context)
        throw bad_request("the prompt has " + std::to_string(prompt.ids.size()) +
                              " tokens; the context holds " + std::to_string(m->max_context) +
                              " (prompt and generated tokens together)",
                          prompt_param, "context_length_exceeded");
    // As OpenAI: a max_tokens the context cannot hold after the prompt is refused, not silently cut short (without
    // one, generation runs until the context is full and ends with finish_reason "length").
    if (r.max_tokens && int64_t(prompt.ids.size()) + *r.max_tokens > m->max_context)
        throw bad_request("the context holds " + std::to_string(m->max_context) + " tokens, but " +
                              std::to_string(prompt.ids.size() + size_t(*r.max_tokens)) + " were asked for (" +
                              std::to_string(prompt.ids.size()) + " in the prompt, " +
                              std::to_string(*r.max_tokens) + " in max_tokens); shorten the prompt or max_tokens",
                          prompt_param, "context_length_exceeded");

    engine::Request er;
    er.id = st.new_request_id(endpoint == Endpoint::chat ? "chatcmpl-" : "cmpl-");
    er.prompt = std::move(prompt.ids);
    er.sampling = r.sampling;
    er.max_tokens = r.max_tokens.value_or(-1);
    er.ignore_eos = r.ignore_eos;
    er.stop = r.stop;
    er.grammar = build_grammar(*m, r.response_format);
    er.start_in_reasoning = prompt.start_in_reasoning;

    auto ex = std::make_shared<Exchange>();
    ex->st = &st;
    ex->model = m;
    ex->endpoint = endpoint;
    ex->streaming = r.stream;
    ex->include_usage = r.include_usage;
    ex->logprobs = r.sampling.logprobs;
    ex->meta = {er.id, r.model.empty() ? st.public_model_name(*m) : r.model,
                std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count()};
    // Tool calls are parsed when the request gives tools, lets the model call them, and the template teaches it a
    // syntax (a template that never shows tools gives the model nothing to call).
    const bool parse_tools = endpoint == Endpoint::chat && !r.tools.is_null() &&
                             r.tool_choice.kind != ToolChoice::Kind::none;
    ex->tool_syntax = parse_tools ? m->tool_syntax : text::ToolSyntax::none;
    ex->parallel_tool_calls = r.parallel_tool_calls;
    ex->splitter = ReplySplitter(prompt.split_reasoning && endpoint == Endpoint::chat, prompt.start_in_reasoning,
                                 ex->tool_syntax, parse_tools ? &r.tools : nullptr);
    ex->arrived = arrived;
    ex->last_write = Clock::now();
    ex->n_prompt = int32_t(er.prompt.size());
    try {
        ex->stream = m->engine->submit(std::move(er));
    } catch (const engine::QueueFullError& e) {
        throw unavailable(std::string("the server is busy: ") + e.what(), "queue_full");
    } catch (const engine::ShuttingDownError&) {
        throw unavailable("the server is shutting down", "shutting_down");
    } catch (const std::invalid_argument& e) {
        throw bad_request(e.what(), prompt_param);
    }
    ex->prepare_ms = ms_between(arrived, Clock::now());
    st.metrics.add_in_flight(1);
    auto provider = [ex](size_t, httplib::DataSink& sink) { return ex->provide(sink); };
    auto releaser = [ex](bool) { ex->release(); };
    if (r.stream) {
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider("text/event-stream", provider, releaser);
    } else {
        // With "; charset=utf-8" httplib 0.11 does not gzip the reply: compression would hold the one-space
        // heartbeats in zlib's buffer, and a closed socket would go unnoticed.
        res.set_chunked_content_provider("application/json; charset=utf-8", provider, releaser);
    }
}

}  // namespace hotrod::server
