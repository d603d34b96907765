// POST /v1/embeddings: validate, tokenize, submit each input to the engine as a prompt-only request (pooled there,
// in the same steps as generation), wait for all of them and answer in one JSON body.
#pragma once

#include <httplib.h>

#include "server/server_state.h"

namespace hotrod::server {

// Throws ApiError: 404 when the server was started without --embeddings (the route is not served: no change to
// the request can make it work, so not a 400), 400 for a bad body or an input longer than the context, 503 when
// busy, 500 when the engine fails an input.
void handle_embeddings(SharedState& st, const httplib::Request& req, httplib::Response& res);

}  // namespace hotrod::server
