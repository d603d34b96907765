// The generation endpoints. Validation and prompt building happen on the HTTP thread before anything is
// queued; the engine thread never waits on a socket: it pushes events into the Stream and this side pops them.
//
// Streaming replies are chunked content providers: every chunk is a write, and a failed write cancels the
// request; while nothing is generated (queued, long prefill) an SSE comment (": keep-alive") is written every
// second, which clients ignore. Once the stream has begun its status is 200, and an engine failure arrives as an
// SSE event with "error".
//
// Non-streamed replies are written whole, status and headers included, when the final event comes: the handler
// thread waits for it, looking at the socket (GatedHttpServer::client_gone) to cancel for a client that left.
// Until then nothing has reached the client, so a proxy in front may still hand the request to another replica
// when this one dies or drains (nginx's proxy_next_upstream: deploy/nginx/hotrod.conf). A request the drain
// deadline cancels is answered 503 for that reason, and an engine failure 500 with the error object (which a
// stream sends as an SSE event under its 200).
//
// /metrics counts each request once, when its reply's content has been written (200, or 500 for an engine
// failure) or could not be (499, the client left), and only then drops it from the in-flight gauge. The count
// comes before the reply's end marker ("data: [DONE]", the last empty chunk): a client that has seen the end
// of its reply (the openai client stops reading at [DONE]) also finds it counted. A non-streamed reply is
// counted just before httplib writes it.
#include "server/generation_handler.h"

#include <chrono>
#include <cstdio>

#include "server/api_error.h"
#include "server/http_gate.h"
#include "server/json_fields.h"
#include "server/reply_format.h"
#include "server/tool_grammar.h"

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

Prompt build_chat_prompt(const SharedState& st, const LoadedModel& m, const GenerationRequest& r,
                         const char* param) {
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
        throw bad_request(std::string("the chat template refused the conversation: ") + e.what(), param);
    }
    Prompt p;
    p.ids = m.encode_prompt(rendered);
    p.split_reasoning = thinking.value_or(true);
    p.start_in_reasoning = p.split_reasoning && text::prompt_opens_reasoning(rendered);
    return p;
}

std::shared_ptr<const sample::Grammar> build_grammar(LoadedModel& m, const ResponseFormat& rf, const char* param) {
    try {
        switch (rf.kind) {
            case ResponseFormat::Kind::text: return nullptr;
            case ResponseFormat::Kind::json_object: return m.grammars.json_object();
            case ResponseFormat::Kind::json_schema: return m.grammars.json_schema(rf.schema);
        }
    } catch (const sample::SchemaError& e) {
        throw bad_request(std::string(param) + ": " + e.what(), param, "invalid_schema");
    }
    return nullptr;
}

// One queued request and its reply's transport; what the reply says is the format's. Shared by the content
// provider and its releaser.
struct Exchange {
    SharedState* st = nullptr;
    std::shared_ptr<LoadedModel> model;  // keeps tokenizer and engine alive for the reply
    std::shared_ptr<engine::Stream> stream;
    std::unique_ptr<ReplyFormat> format;
    std::string id;
    const char* route = "chat";  // in /metrics and the log
    Clock::time_point arrived, last_write;
    double prepare_ms = 0;  // arrival to submit: parsing, template, tokenizer, grammar (the engine times the rest)
    int32_t n_prompt = 0;

    bool opened = false;
    bool counted = false;   // recorded in /metrics (and no longer in flight): at the final event or on release
    bool released = false;  // httplib may copy a Response, and each copy calls the releaser

    void log_line(const engine::Event* last, bool delivered = true) const {
        if (last) {
            const engine::Usage& u = last->usage;
            std::fprintf(stderr,
                         "hotrod serve: %s %s prompt=%d completion=%d cached=%d prepare=%.1fms queue=%.0fms "
                         "ttft=%.0fms latency=%.0fms finish=%s%s%s%s\n",
                         id.c_str(), route, u.prompt_tokens, u.completion_tokens, u.cached_tokens, prepare_ms,
                         u.queue_ms, prepare_ms + u.ttft_ms, prepare_ms + u.total_ms,
                         engine::to_string(last->finish), delivered ? "" : " (client gone, reply not written)",
                         last->error.empty() ? "" : " error=", last->error.c_str());
        } else {
            std::fprintf(stderr, "hotrod serve: %s %s prompt=%d latency=%.0fms finish=cancelled (client gone)\n",
                         id.c_str(), route, n_prompt, ms_between(arrived, Clock::now()));
        }
    }

    // The request's one count and its in-flight slot back (see the top of this file).
    void count(int status) {
        if (counted) return;
        counted = true;
        st->metrics.record_request(route, status);
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
        if (data.empty()) return true;
        if (!sink.is_writable() || !sink.write(data.data(), data.size())) return false;
        last_write = Clock::now();
        return true;
    }

    // One call of the content provider: waits up to kPollInterval for events. False ends the reply (client gone).
    bool provide(httplib::DataSink& sink) {
        if (!opened) {
            opened = true;
            if (!write(sink, format->open())) return cancel();
        }
        std::vector<engine::Event> events;
        stream->wait(events, kPollInterval);
        for (const engine::Event& e : events) {
            ReplyBytes out = format->push(e);
            const bool ok = write(sink, out.body);
            if (e.finish == engine::FinishReason::none) {
                if (!ok) return cancel();
                continue;
            }
            on_final(e, ok);  // counted before the end marker
            if (!ok || !write(sink, out.end)) return false;
            sink.done();
            return true;
        }
        // Nothing written for a while (queued, prefilling): probe the socket so a client that left is noticed.
        if (Clock::now() - last_write < kHeartbeatInterval) return true;
        return write(sink, ": keep-alive\n\n") ? true : cancel();
    }

    bool cancel() {
        stream->cancel();
        return false;
    }

    // Out of the in-flight gauge without a count: the caller throws an ApiError, which wrap() counts.
    void uncount() {
        if (counted) return;
        counted = true;
        st->metrics.add_in_flight(-1);
    }

    // A non-streamed reply: waits for the final event and puts the whole reply into res (see the top of the
    // file). Returns with res untouched when the client left (the request cancelled, or finished, and counted
    // 499).
    void answer_whole(httplib::Response& res) {
        std::vector<engine::Event> events;
        for (;;) {
            events.clear();
            stream->wait(events, kPollInterval);
            for (const engine::Event& e : events) {
                ReplyBytes out = format->push(e);
                if (e.finish == engine::FinishReason::none) continue;
                if (e.finish == engine::FinishReason::error &&
                    st->state.load() == ServerState::shutting_down) {
                    log_line(&e);
                    uncount();
                    throw unavailable("the server shut down before the request finished; retry", "shutting_down");
                }
                // A client that left meanwhile gets nothing (499). One that leaves between here and httplib's
                // write is counted 200: the write's failure is not seen here.
                const bool delivered = !GatedHttpServer::client_gone();
                on_final(e, delivered);
                if (!delivered) return;
                res.status = e.finish == engine::FinishReason::error ? 500 : 200;  // the body says the same
                res.set_content(out.body + out.end, "application/json; charset=utf-8");
                return;
            }
            if (GatedHttpServer::client_gone()) return release();
        }
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

void run_generation(SharedState& st, const std::shared_ptr<LoadedModel>& m, const GenerationRequest& r,
                    const GenerationRoute& route, std::chrono::steady_clock::time_point arrived,
                    const FormatFactory& make_format, httplib::Response& res) {
    Prompt prompt;
    if (r.endpoint == Endpoint::chat) {
        prompt = build_chat_prompt(st, *m, r, route.prompt_param);
    } else {
        prompt.ids = r.prompt_is_ids ? r.prompt_ids : m->encode_prompt(r.prompt_text);
    }
    const char* prompt_param = route.prompt_param;
    const std::string max_param = route.max_tokens_param;
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
                              std::to_string(*r.max_tokens) + " in " + max_param + "); shorten the prompt or " +
                              max_param,
                          prompt_param, "context_length_exceeded");

    engine::Request er;
    er.id = st.new_request_id(route.id_prefix);
    er.prompt = std::move(prompt.ids);
    er.sampling = r.sampling;
    er.max_tokens = r.max_tokens.value_or(-1);
    er.ignore_eos = r.ignore_eos;
    er.stop = r.stop;
    // Tools constrain the reply where tool_choice or a strict tool asks for it (tool_grammar.h); otherwise
    // response_format does.
    const text::ToolSyntax forced_syntax = m->tool_calls_forced ? m->tool_syntax : text::ToolSyntax::none;
    er.grammar = build_tool_grammar(m->grammars, forced_syntax, r, route.format_param, route.tool_schema_field);
    if (!er.grammar) er.grammar = build_grammar(*m, r.response_format, route.format_param);
    er.start_in_reasoning = prompt.start_in_reasoning;

    ReplySetup setup;
    setup.meta = {er.id, r.model.empty() ? st.public_model_name(*m) : r.model,
                  std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count()};
    setup.streaming = r.stream;
    setup.include_usage = r.include_usage;
    setup.logprobs = r.sampling.logprobs;
    setup.parallel_tool_calls = r.parallel_tool_calls;
    setup.split_reasoning = prompt.split_reasoning && r.endpoint == Endpoint::chat;
    setup.start_in_reasoning = prompt.start_in_reasoning;
    // Tool calls are parsed when the request gives tools, lets the model call them, and the template teaches it a
    // syntax (a template that never shows tools gives the model nothing to call).
    const bool parse_tools = r.endpoint == Endpoint::chat && !r.tools.is_null() &&
                             r.tool_choice.kind != ToolChoice::Kind::none;
    setup.tool_syntax = parse_tools ? m->tool_syntax : text::ToolSyntax::none;
    setup.tools = parse_tools ? &r.tools : nullptr;
    const text::Tokenizer* tok = m->tok.get();
    setup.piece = [tok](int32_t id) { return tok->piece(id, true); };

    auto ex = std::make_shared<Exchange>();
    ex->st = &st;
    ex->model = m;
    ex->format = make_format(setup);
    ex->id = er.id;
    ex->route = route.name;
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
    if (r.stream) {
        auto provider = [ex](size_t, httplib::DataSink& sink) { return ex->provide(sink); };
        auto releaser = [ex](bool) { ex->release(); };
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Accel-Buffering", "no");  // nginx passes each event on, whatever its proxy_buffering
        res.set_chunked_content_provider("text/event-stream", provider, releaser);
    } else {
        try {
            ex->answer_whole(res);
        } catch (const ApiError&) {
            throw;  // counted by wrap()
        } catch (...) {
            ex->release();  // cancel and count the request, then let wrap() answer 500
            throw;
        }
    }
}

void handle_generation(SharedState& st, Endpoint endpoint, const httplib::Request& req, httplib::Response& res) {
    const Clock::time_point arrived = Clock::now();
    std::shared_ptr<LoadedModel> m = require_model(st);
    const auto body = parse_body(req.body);
    const GenerationRequest r = endpoint == Endpoint::chat
                                    ? parse_chat_request(body, m->n_vocab, m->max_context)
                                    : parse_completion_request(body, m->n_vocab, m->max_context);
    check_model_name(st, *m, r.model);
    const GenerationRoute route = endpoint == Endpoint::chat
                                      ? GenerationRoute{"chat", "chatcmpl-", "messages", "response_format", "max_tokens"}
                                      : GenerationRoute{"completions", "cmpl-", "prompt", "response_format", "max_tokens"};
    run_generation(st, m, r, route, arrived,
                   [endpoint](const ReplySetup& s) { return make_chat_format(endpoint, s); }, res);
}

}  // namespace hotrod::server
