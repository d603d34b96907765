// POST /v1/chat/completions and POST /v1/completions: validate, render the chat template, tokenize, build the
// constraint, submit to the engine, then answer from the request's engine::Stream — as SSE chunks when
// streaming, as one JSON body otherwise. Both replies go through a chunked content provider, so a client that
// goes away is noticed by a failed write and its request is cancelled (see the .cpp for the non-streamed case).
#pragma once

#include <httplib.h>

#include "server/generation_request.h"
#include "server/server_state.h"

namespace hotrod::server {

// Throws ApiError for anything refused before the request is queued. Once queued, the reply and its metrics
// record (status 200, or 499 when the client left) are the content provider's.
void handle_generation(SharedState& st, Endpoint endpoint, const httplib::Request& req, httplib::Response& res);

// The model, or 503 while loading, after a failed load and while shutting down.
std::shared_ptr<LoadedModel> require_model(SharedState& st);

// The client may name the model by its alias, its file name with or without .gguf, or not at all; else 404.
void check_model_name(const SharedState& st, const LoadedModel& m, const std::string& asked);

}  // namespace hotrod::server
