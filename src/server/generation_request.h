// What a /v1/chat/completions or /v1/completions body asks for, read and validated without the model: the
// conversation (or prompt), sampling, limits, stop strings, output format, streaming and logprob options. Every
// malformed field is a 400 ApiError naming it; unknown fields are ignored, as OpenAI does. Rendering the template,
// tokenizing and compiling the response format happen later, with the model (see generation_handler.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sample/params.h"

namespace hotrod::server {

enum class Endpoint { chat, completion };

struct ResponseFormat {
    enum class Kind { text, json_object, json_schema };
    Kind kind = Kind::text;
    nlohmann::ordered_json schema;  // json_schema only
    bool strict = false;
};

// tool_choice: auto (the default with tools: the model may call), none (tools hidden from the template: it
// answers in text), required (it must call one), function (it must call `name`). required / function are
// enforced by the grammar where the template's call syntax can be forced (see tool_grammar.h).
struct ToolChoice {
    enum class Kind { auto_, none, required, function };
    Kind kind = Kind::auto_;
    std::string name;  // function only
};

struct GenerationRequest {
    Endpoint endpoint = Endpoint::chat;
    std::string model;  // as asked; empty when absent

    // chat: messages normalised for the template: content is a string (text parts joined), null only for an
    // assistant turn that carries tool_calls. Other fields (name, tool_calls, tool_call_id) pass through.
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    nlohmann::ordered_json tools;                                       // null when absent
    ToolChoice tool_choice;
    bool parallel_tool_calls = true;                                    // false: at most one call is returned
    nlohmann::ordered_json template_kwargs = nlohmann::ordered_json::object();  // chat_template_kwargs
    std::optional<bool> enable_thinking;                               // chat_template_kwargs.enable_thinking

    // completion: the prompt as text, or as token ids when prompt_is_ids.
    std::string prompt_text;
    std::vector<int32_t> prompt_ids;
    bool prompt_is_ids = false;

    sample::SamplingParams sampling;       // checked by sample::validate
    std::optional<int32_t> max_tokens;     // > 0 when set (max_completion_tokens wins over max_tokens)
    std::vector<std::string> stop;         // non-empty strings, at most 4
    bool ignore_eos = false;
    bool stream = false;
    bool include_usage = false;            // stream_options.include_usage
    ResponseFormat response_format;
};

inline constexpr int kMaxStopStrings = 4;

// n_vocab: token ids (logit_bias keys, prompt ids) must be below it. max_context: max_tokens above it is a 400.
GenerationRequest parse_chat_request(const nlohmann::ordered_json& body, int32_t n_vocab, int32_t max_context);
GenerationRequest parse_completion_request(const nlohmann::ordered_json& body, int32_t n_vocab, int32_t max_context);

}  // namespace hotrod::server
