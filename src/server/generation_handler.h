// POST /v1/chat/completions and POST /v1/completions: validate, render the chat template, tokenize, build the
// constraint, submit to the engine, then answer from the request's engine::Stream — as SSE chunks when
// streaming, as one JSON body otherwise. Both replies go through a chunked content provider, so a client that
// goes away is noticed by a failed write and its request is cancelled (see the .cpp for the non-streamed case).
// run_generation is that path from a parsed GenerationRequest on; /v1/responses (responses_handler.cpp) takes it
// too, with its own reply format.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include <httplib.h>

#include "server/generation_request.h"
#include "server/reply_format.h"
#include "server/server_state.h"

namespace hotrod::server {

// Throws ApiError for anything refused before the request is queued. Once queued, the reply and its metrics
// record (status 200, or 499 when the client left) are the content provider's.
void handle_generation(SharedState& st, Endpoint endpoint, const httplib::Request& req, httplib::Response& res);

// The names one endpoint gives to what run_generation reports.
struct GenerationRoute {
    const char* name;              // in /metrics and the log: "chat", "completions", "responses"
    const char* id_prefix;         // of the request id: "chatcmpl-", "cmpl-", "resp_"
    const char* prompt_param;      // the field a prompt error names: "messages", "prompt", "input"
    const char* format_param;      // the field a schema error names: "response_format", "text.format"
    const char* max_tokens_param;  // the field a length error names: "max_tokens", "max_output_tokens"
    const char* tool_schema_field = ".function.parameters";  // after "tools[i]" where a tool's schema is named
};
using FormatFactory = std::function<std::unique_ptr<ReplyFormat>(const ReplySetup&)>;

// Renders the prompt (the template for Endpoint::chat), checks it against the context, builds the grammar, submits
// and answers through the format make_format returns. Throws ApiError for anything refused before queueing.
void run_generation(SharedState& st, const std::shared_ptr<LoadedModel>& m, const GenerationRequest& r,
                    const GenerationRoute& route, std::chrono::steady_clock::time_point arrived,
                    const FormatFactory& make_format, httplib::Response& res);

// The model, or 503 while loading, after a failed load and while shutting down.
std::shared_ptr<LoadedModel> require_model(SharedState& st);

// The client may name the model by its alias, its file name with or without .gguf, or not at all; else 404.
void check_model_name(const SharedState& st, const LoadedModel& m, const std::string& asked);

}  // namespace hotrod::server
