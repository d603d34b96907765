// Reading a Responses API body (platform.openai.com/docs/api-reference/responses/create) into the chat body it
// means, then through parse_chat_request, so sampling, limits, tools and the output format are validated in one
// place for both endpoints. The Responses-only shapes (input items, flat tools, text.format) are checked here,
// with their own field names in the errors.
#include "server/responses_request.h"

#include "server/api_error.h"
#include "server/json_fields.h"

namespace hotrod::server {
namespace {

using json = nlohmann::ordered_json;

std::string at(const std::string& where, size_t i) { return where + "[" + std::to_string(i) + "]"; }

const json& require_string(const json& obj, const char* key, const std::string& where) {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string())
        throw bad_request("'" + where + "." + key + "' must be a string", where + "." + key);
    return *it;
}

// A message's content: a string, or text parts (input_text, output_text, text; a refusal's text) joined by
// newlines. Images, files and audio are refused rather than silently dropped.
std::string content_text(const json& content, const std::string& where) {
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array())
        throw bad_request("'" + where + "' must be a string or an array of content parts, got " +
                              json_type_name(content), where);
    std::string text;
    for (size_t i = 0; i < content.size(); ++i) {
        const json& part = content[i];
        const std::string pwhere = at(where, i);
        if (!part.is_object()) throw bad_request("'" + pwhere + "' must be an object", pwhere);
        const std::string type = require_string(part, "type", pwhere).get<std::string>();
        const char* key = type == "refusal" ? "refusal" : "text";
        if (type != "input_text" && type != "output_text" && type != "text" && type != "refusal")
            throw bad_request("content part type '" + type + "' is not supported (only input_text and output_text)",
                              pwhere + ".type");
        if (i > 0) text += "\n";
        text += require_string(part, key, pwhere).get<std::string>();
    }
    return text;
}

// The conversation as chat messages: instructions first (a system message), then the input items.
json read_input(const json& body) {
    json messages = json::array();
    if (auto instr = get_string(body, "instructions"); instr && !instr->empty())
        messages.push_back({{"role", "system"}, {"content", *instr}});

    auto it = body.find("input");
    if (it == body.end() || it->is_null()) throw bad_request("'input' is required", "input");
    if (it->is_string()) {
        messages.push_back({{"role", "user"}, {"content", *it}});
        return messages;
    }
    if (!it->is_array())
        throw bad_request(std::string("'input' must be a string or an array of items, got ") + json_type_name(*it),
                          "input");
    if (it->empty()) throw bad_request("'input' must not be empty", "input");

    json call_names = json::object();  // call_id -> function name, for the tool messages that answer them
    for (size_t i = 0; i < it->size(); ++i) {
        const json& item = (*it)[i];
        const std::string where = at("input", i);
        if (!item.is_object()) throw bad_request("'" + where + "' must be an object", where);
        std::string type = "message";  // an easy input message has a role and no type
        if (auto t = item.find("type"); t != item.end() && !t->is_null()) {
            if (!t->is_string()) throw bad_request("'" + where + ".type' must be a string", where + ".type");
            type = t->get<std::string>();
        }
        if (type == "message") {
            std::string role = require_string(item, "role", where).get<std::string>();
            if (role == "developer") role = "system";
            if (role != "user" && role != "system" && role != "assistant")
                throw bad_request("unknown role '" + role + "' in " + where +
                                      " (expected user, system, developer or assistant)",
                                  where + ".role");
            auto content = item.find("content");
            if (content == item.end() || content->is_null())
                throw bad_request("'" + where + ".content' is required", where + ".content");
            messages.push_back({{"role", role}, {"content", content_text(*content, where + ".content")}});
        } else if (type == "function_call") {
            const json& call_id = require_string(item, "call_id", where);
            const json& name = require_string(item, "name", where);
            const json& arguments = require_string(item, "arguments", where);
            json call = {{"id", call_id}, {"type", "function"}, {"function", {{"name", name}, {"arguments", arguments}}}};
            call_names[call_id.get<std::string>()] = name;
            // Calls that follow an assistant turn belong to it (its text, then its calls), as templates expect.
            if (messages.empty() || messages.back()["role"] != "assistant")
                messages.push_back({{"role", "assistant"}, {"content", nullptr}});
            json& turn = messages.back();
            if (!turn.contains("tool_calls")) turn["tool_calls"] = json::array();
            turn["tool_calls"].push_back(std::move(call));
        } else if (type == "function_call_output") {
            const json& call_id = require_string(item, "call_id", where);
            auto output = item.find("output");
            if (output == item.end() || output->is_null())
                throw bad_request("'" + where + ".output' is required", where + ".output");
            json msg = {{"role", "tool"}, {"tool_call_id", call_id}, {"content", content_text(*output, where + ".output")}};
            if (auto n = call_names.find(call_id.get<std::string>()); n != call_names.end()) msg["name"] = *n;
            messages.push_back(std::move(msg));
        } else if (type == "reasoning") {
            // A reasoning item sent back with the rest of a previous output: templates drop past reasoning, and
            // so does this translation.
        } else if (type == "item_reference") {
            throw bad_request("item references are not supported: this server keeps no responses (send the items "
                              "themselves)", where + ".type");
        } else {
            throw bad_request("input item type '" + type + "' is not supported (only message, function_call, "
                              "function_call_output and reasoning)", where + ".type");
        }
    }
    return messages;
}

// Responses' flat function tools → chat's {"type": "function", "function": {...}}. A tool already in the chat
// shape is taken as it is (clients moving from chat completions send those).
json read_tools(const json& body, ResponsesEcho& echo) {
    auto it = body.find("tools");
    if (it == body.end() || it->is_null()) return nullptr;
    if (!it->is_array()) throw bad_request("'tools' must be an array", "tools");
    echo.tools = *it;
    json tools = json::array();
    for (size_t i = 0; i < it->size(); ++i) {
        const json& t = (*it)[i];
        const std::string where = at("tools", i);
        if (!t.is_object()) throw bad_request("'" + where + "' must be an object", where);
        const std::string type = require_string(t, "type", where).get<std::string>();
        if (type != "function")
            throw bad_request("tool type '" + type + "' is not supported (only function tools)", where + ".type");
        if (t.contains("function") && t["function"].is_object()) {
            tools.push_back(t);
            continue;
        }
        json f = {{"name", require_string(t, "name", where)}};
        for (const char* key : {"description", "parameters", "strict"})
            if (auto v = t.find(key); v != t.end() && !v->is_null()) f[key] = *v;
        tools.push_back({{"type", "function"}, {"function", std::move(f)}});
    }
    return tools.empty() ? json(nullptr) : tools;
}

// "none" | "auto" | "required" | {"type": "function", "name": N} → chat's forms (the name is checked against the
// tools by parse_chat_request).
json read_tool_choice(const json& body, ResponsesEcho& echo) {
    auto it = body.find("tool_choice");
    if (it == body.end() || it->is_null()) return nullptr;
    echo.tool_choice = *it;
    if (it->is_string()) return *it;
    if (it->is_object() && it->value("type", "") == "function" && it->contains("name") && (*it)["name"].is_string())
        return {{"type", "function"}, {"function", {{"name", (*it)["name"]}}}};
    throw bad_request("'tool_choice' must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"name\": "
                      "...} (hosted tools, MCP and allowed_tools are not supported)",
                      "tool_choice");
}

// text.format → chat's response_format.
json read_text_format(const json& body, ResponsesEcho& echo) {
    const json* text = get_object(body, "text");
    if (!text) return nullptr;
    echo.text = *text;
    const json* f = get_object(*text, "format");
    if (!f) {
        echo.text["format"] = {{"type", "text"}};
        return nullptr;
    }
    const std::string type = get_string(*f, "type").value_or("");
    if (type == "text") return nullptr;
    if (type == "json_object") return {{"type", "json_object"}};
    if (type != "json_schema")
        throw bad_request("'text.format.type' must be text, json_object or json_schema, got '" + type + "'",
                          "text.format.type");
    auto schema = f->find("schema");
    if (schema == f->end() || !(schema->is_object() || schema->is_boolean()))
        throw bad_request("'text.format.schema' must be an object", "text.format.schema");
    json js = {{"name", get_string(*f, "name").value_or("response")}, {"schema", *schema}};
    if (auto strict = get_bool(*f, "strict")) js["strict"] = *strict;
    return {{"type", "json_schema"}, {"json_schema", std::move(js)}};
}

void read_metadata(const json& body, ResponsesEcho& echo) {
    const json* m = get_object(body, "metadata");
    if (!m) return;
    // OpenAI's limits: 16 pairs, keys up to 64 characters, string values up to 512.
    if (m->size() > 16) throw bad_request("'metadata' holds at most 16 pairs", "metadata");
    for (auto it = m->begin(); it != m->end(); ++it) {
        if (it.key().size() > 64) throw bad_request("'metadata' keys are at most 64 characters", "metadata");
        if (!it.value().is_string() || it.value().get<std::string>().size() > 512)
            throw bad_request("'metadata' values must be strings of at most 512 characters (key '" + it.key() + "')",
                              "metadata");
    }
    echo.metadata = *m;
}

// Fields that need a stored response or a feature hotrod lacks: OpenAI's code for a parameter a model does not
// take, so a client can tell them from malformed input.
void refuse_unsupported(const json& body) {
    auto refuse = [](const std::string& message, const char* param) {
        return bad_request(message, param, "unsupported_parameter");
    };
    if (auto v = body.find("previous_response_id"); v != body.end() && !v->is_null())
        throw refuse("'previous_response_id' is not supported: this server is stateless and keeps no responses; "
                     "send the whole conversation in 'input'",
                     "previous_response_id");
    if (get_bool(body, "store").value_or(false))
        throw refuse("'store': true is not supported: this server is stateless and keeps no responses", "store");
    if (get_bool(body, "background").value_or(false))
        throw refuse("'background': true is not supported", "background");
    for (const char* key : {"conversation", "prompt"})
        if (auto v = body.find(key); v != body.end() && !v->is_null())
            throw refuse(std::string("'") + key + "' is not supported: this server keeps no conversations or prompts",
                         key);
    if (get_int(body, "top_logprobs").value_or(0) > 0)
        throw refuse("'top_logprobs' is not supported on /v1/responses (use /v1/chat/completions)", "top_logprobs");
}

}  // namespace

std::optional<bool> thinking_for_effort(const std::string& effort) {
    if (effort == "none" || effort == "minimal") return false;
    if (effort == "low" || effort == "medium" || effort == "high" || effort == "xhigh") return true;
    return std::nullopt;
}

ResponsesRequest parse_responses_request(const json& body, int32_t n_vocab, int32_t max_context) {
    refuse_unsupported(body);
    ResponsesRequest out;
    ResponsesEcho& echo = out.echo;

    json chat = json::object();
    if (auto model = get_string(body, "model")) chat["model"] = *model;
    if (auto instr = get_string(body, "instructions")) echo.instructions = *instr;
    chat["messages"] = read_input(body);
    chat["tools"] = read_tools(body, echo);
    chat["tool_choice"] = read_tool_choice(body, echo);
    if (auto p = get_bool(body, "parallel_tool_calls")) chat["parallel_tool_calls"] = *p;
    chat["response_format"] = read_text_format(body, echo);
    if (auto v = get_int(body, "max_output_tokens")) {
        if (*v <= 0) throw bad_request("'max_output_tokens' must be at least 1", "max_output_tokens");
        if (*v > max_context)
            throw bad_request("'max_output_tokens' of " + std::to_string(*v) + " is larger than the context (" +
                                  std::to_string(max_context) + " tokens)",
                              "max_output_tokens");
        chat["max_tokens"] = *v;
        echo.max_output_tokens = *v;
    }
    if (auto s = get_bool(body, "stream")) chat["stream"] = *s;
    if (auto u = get_string(body, "user")) echo.user = *u;
    read_metadata(body, echo);

    // Sampling fields keep their chat names (llama-server's extras come through extra_body the same way).
    for (const char* key : {"temperature", "top_p", "top_k", "min_p", "seed", "presence_penalty", "frequency_penalty",
                            "repetition_penalty", "repeat_penalty", "repeat_last_n", "logit_bias", "ignore_eos", "stop",
                            "chat_template_kwargs"})
        if (auto v = body.find(key); v != body.end()) chat[key] = *v;

    std::optional<bool> thinking;
    if (const json* r = get_object(body, "reasoning")) {
        echo.reasoning = {{"effort", nullptr}, {"summary", nullptr}};
        if (auto effort = get_string(*r, "effort")) {
            thinking = thinking_for_effort(*effort);
            if (!thinking)
                throw bad_request("'reasoning.effort' must be none, minimal, low, medium, high or xhigh, got '" +
                                      *effort + "'",
                                  "reasoning.effort");
            echo.reasoning["effort"] = *effort;
        }
        if (auto summary = r->find("summary"); summary != r->end()) echo.reasoning["summary"] = *summary;
    }
    if (thinking) {
        // An explicit chat_template_kwargs.enable_thinking (llama-server's switch) wins; a malformed one is left
        // for parse_chat_request to refuse.
        json& kw = chat["chat_template_kwargs"];
        if (kw.is_null()) kw = json::object();
        if (kw.is_object() && !kw.contains("enable_thinking")) kw["enable_thinking"] = *thinking;
    }

    out.gen = parse_chat_request(chat, n_vocab, max_context);
    return out;
}

}  // namespace hotrod::server
