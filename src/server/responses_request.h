// What a /v1/responses body (the OpenAI Responses API, stateless subset) asks for, translated onto the chat
// machinery: `instructions` and `input` become chat messages (function_call items an assistant turn's tool_calls,
// function_call_output items tool messages), the flat function tools and tool_choice their chat forms,
// `text.format` the response_format, `reasoning.effort` the thinking switch and `max_output_tokens` max_tokens;
// the result is validated by parse_chat_request like any chat body. What the Response object echoes back is kept
// as sent. Every malformed or unsupported field is a 400 naming it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "server/generation_request.h"

namespace hotrod::server {

// The request fields a Response object repeats, in their Responses form.
struct ResponsesEcho {
    nlohmann::ordered_json instructions;                                // string, or null
    nlohmann::ordered_json metadata = nlohmann::ordered_json::object();  // string values
    nlohmann::ordered_json tools = nlohmann::ordered_json::array();     // as sent
    nlohmann::ordered_json tool_choice = "auto";                       // as sent
    nlohmann::ordered_json text = {{"format", {{"type", "text"}}}};     // as sent
    nlohmann::ordered_json reasoning = {{"effort", nullptr}, {"summary", nullptr}};
    nlohmann::ordered_json max_output_tokens;                           // integer, or null
    nlohmann::ordered_json user;                                        // string, or null
};

struct ResponsesRequest {
    GenerationRequest gen;  // endpoint chat
    ResponsesEcho echo;
};

// reasoning.effort → the template's thinking switch: "none" and "minimal" turn it off, "low", "medium", "high"
// and "xhigh" on (hotrod has no token budget between the two); absent or null leaves the server's default.
std::optional<bool> thinking_for_effort(const std::string& effort);

// Stateless: previous_response_id, store: true, background: true, conversation and prompt are refused (400
// naming the field), since no response is kept to refer back to.
ResponsesRequest parse_responses_request(const nlohmann::ordered_json& body, int32_t n_vocab, int32_t max_context);

}  // namespace hotrod::server
