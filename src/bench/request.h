// The request body every target gets: the same JSON for all of them (system + payload messages, max_tokens,
// temperature, chat_template_kwargs {"enable_thinking": false}), plus the options of the run: a JSON-schema
// response_format built from the workload (--schema), ignore_eos (--fixed-length) and SSE streaming.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "bench/workload.h"

namespace hotrod::bench {

struct RequestOptions {
    bool schema = false;        // add response_format {type: json_schema} from the workload's keys and values
    bool fixed_length = false;  // add ignore_eos: a valid reply then has exactly max_tokens tokens
    bool stream = true;         // SSE, so the client can time the first token; usage asked for in the last chunk
    std::string model;          // "model" field; omitted when empty (llama-server and hotrod serve one model)
};

// The schema: an object with exactly the workload's keys, each enum-valued key as an enum of its allowed
// values, every other key a string of at most max_words * 12 characters (a "short string").
nlohmann::json response_schema(const Workload& w);

nlohmann::json chat_request(const Workload& w, const Payload& p, const RequestOptions& opt);

}  // namespace hotrod::bench
