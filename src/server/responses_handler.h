// POST /v1/responses: the OpenAI Responses API (stateless subset). The body is translated into a chat
// GenerationRequest (responses_request.h) and served by the chat path (run_generation), answered in the Responses
// format (responses_reply.h).
#pragma once

#include <httplib.h>

#include "server/server_state.h"

namespace hotrod::server {

void handle_responses(SharedState& st, const httplib::Request& req, httplib::Response& res);

}  // namespace hotrod::server
