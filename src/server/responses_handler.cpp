// The Responses route: parse and translate, then the shared generation path with the Responses reply format.
#include "server/responses_handler.h"

#include "server/generation_handler.h"
#include "server/json_fields.h"
#include "server/responses_reply.h"
#include "server/responses_request.h"

namespace hotrod::server {

void handle_responses(SharedState& st, const httplib::Request& req, httplib::Response& res) {
    const auto arrived = std::chrono::steady_clock::now();
    std::shared_ptr<LoadedModel> m = require_model(st);
    const ResponsesRequest r = parse_responses_request(parse_body(req.body), m->n_vocab, m->max_context);
    check_model_name(st, *m, r.gen.model);
    const GenerationRoute route{"responses", "resp_", "input", "text.format", "max_output_tokens",
                                ".parameters"};
    run_generation(st, m, r.gen, route, arrived,
                   [&r](const ReplySetup& s) { return make_responses_format(s, r.echo, r.gen.sampling); }, res);
}

}  // namespace hotrod::server
