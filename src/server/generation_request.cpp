// Reading an OpenAI request body into a GenerationRequest. Field names and ranges follow the OpenAI API;
// repeat_penalty / repeat_last_n / top_k / min_p / ignore_eos follow llama-server, which OpenAI clients send
// through extra_body.
#include "server/generation_request.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "server/api_error.h"
#include "server/json_fields.h"

namespace hotrod::server {
namespace {

// Content as a string: a string, or an array of {"type": "text", "text": ...} parts joined by newlines. Other
// part types (images, audio) are refused rather than silently dropped.
std::string message_text(const nlohmann::ordered_json& content, size_t index) {
    const std::string where = "messages[" + std::to_string(index) + "].content";
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array())
        throw bad_request("'" + where + "' must be a string or an array of text parts, got " +
                              json_type_name(content), where);
    std::string text;
    for (size_t i = 0; i < content.size(); ++i) {
        const nlohmann::ordered_json& part = content[i];
        const std::string pwhere = where + "[" + std::to_string(i) + "]";
        if (!part.is_object()) throw bad_request("'" + pwhere + "' must be an object", pwhere);
        auto type = part.find("type");
        if (type == part.end() || !type->is_string())
            throw bad_request("'" + pwhere + ".type' must be a string", pwhere + ".type");
        if (*type != "text")
            throw bad_request("content part type '" + type->get<std::string>() +
                                  "' is not supported (only 'text')", pwhere + ".type");
        auto t = part.find("text");
        if (t == part.end() || !t->is_string())
            throw bad_request("'" + pwhere + ".text' must be a string", pwhere + ".text");
        if (i > 0) text += "\n";
        text += t->get<std::string>();
    }
    return text;
}

nlohmann::ordered_json read_messages(const nlohmann::ordered_json& body) {
    auto it = body.find("messages");
    if (it == body.end() || it->is_null()) throw bad_request("'messages' is required", "messages");
    if (!it->is_array())
        throw bad_request(std::string("'messages' must be an array, got ") + json_type_name(*it), "messages");
    if (it->empty()) throw bad_request("'messages' must not be empty", "messages");
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (size_t i = 0; i < it->size(); ++i) {
        const nlohmann::ordered_json& m = (*it)[i];
        const std::string where = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) throw bad_request("'" + where + "' must be an object", where);
        auto role = m.find("role");
        if (role == m.end() || !role->is_string())
            throw bad_request("'" + where + ".role' must be a string", where + ".role");
        std::string r = role->get<std::string>();
        if (r == "developer") r = "system";  // OpenAI's newer name for the system role
        if (r != "system" && r != "user" && r != "assistant" && r != "tool")
            throw bad_request("unknown role '" + r + "' in " + where +
                                  " (expected system, developer, user, assistant or tool)", where + ".role");
        nlohmann::ordered_json msg = nlohmann::ordered_json::object();
        msg["role"] = r;
        auto content = m.find("content");
        const bool has_tool_calls = m.contains("tool_calls") && m["tool_calls"].is_array();
        if (content == m.end() || content->is_null()) {
            if (!(r == "assistant" && has_tool_calls))
                throw bad_request("'" + where + ".content' is required", where + ".content");
            msg["content"] = nullptr;
        } else {
            msg["content"] = message_text(*content, i);
        }
        for (const char* key : {"name", "tool_call_id"})
            if (auto v = m.find(key); v != m.end() && v->is_string()) msg[key] = *v;
        if (has_tool_calls) msg["tool_calls"] = m["tool_calls"];
        out.push_back(std::move(msg));
    }
    return out;
}

std::vector<std::string> read_stop(const nlohmann::ordered_json& body) {
    auto it = body.find("stop");
    std::vector<std::string> stop;
    if (it == body.end() || it->is_null()) return stop;
    if (it->is_string()) {
        if (!it->get<std::string>().empty()) stop.push_back(it->get<std::string>());
        return stop;
    }
    if (!it->is_array())
        throw bad_request(std::string("'stop' must be a string or an array of strings, got ") +
                              json_type_name(*it), "stop");
    if (it->size() > size_t(kMaxStopStrings))
        throw bad_request("'stop' holds " + std::to_string(it->size()) + " strings; at most " +
                              std::to_string(kMaxStopStrings) + " are allowed", "stop");
    for (const auto& s : *it) {
        if (!s.is_string()) throw bad_request("'stop' must hold only strings", "stop");
        if (!s.get<std::string>().empty()) stop.push_back(s.get<std::string>());
    }
    return stop;
}

std::vector<std::pair<int32_t, float>> read_logit_bias(const nlohmann::ordered_json& body) {
    std::vector<std::pair<int32_t, float>> out;
    const nlohmann::ordered_json* lb = get_object(body, "logit_bias");
    if (!lb) return out;
    for (auto it = lb->begin(); it != lb->end(); ++it) {
        const std::string& key = it.key();
        int32_t id = -1;
        auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
        if (ec != std::errc() || end != key.data() + key.size() || id < 0)
            throw bad_request("'logit_bias' keys must be token ids, got '" + key + "'", "logit_bias");
        if (!it.value().is_number() || !std::isfinite(it.value().get<double>()))
            throw bad_request("'logit_bias' values must be numbers (key '" + key + "')", "logit_bias");
        const double bias = it.value().get<double>();
        if (bias < -100.0 || bias > 100.0)
            throw bad_request("'logit_bias' values must be in [-100, 100] (key '" + key + "')", "logit_bias");
        out.emplace_back(id, float(bias));
    }
    return out;
}

ResponseFormat read_response_format(const nlohmann::ordered_json& body) {
    ResponseFormat rf;
    const nlohmann::ordered_json* f = get_object(body, "response_format");
    if (!f) return rf;
    const std::string type = get_string(*f, "type").value_or("");
    if (type == "text") return rf;
    if (type == "json_object") {
        rf.kind = ResponseFormat::Kind::json_object;
        return rf;
    }
    if (type != "json_schema")
        throw bad_request("'response_format.type' must be text, json_object or json_schema, got '" + type + "'",
                          "response_format");
    rf.kind = ResponseFormat::Kind::json_schema;
    const nlohmann::ordered_json* js = get_object(*f, "json_schema");
    if (!js) throw bad_request("'response_format.json_schema' is required for type json_schema", "response_format");
    auto schema = js->find("schema");
    if (schema == js->end() || schema->is_null())
        throw bad_request("'response_format.json_schema.schema' is required", "response_format");
    if (!schema->is_object() && !schema->is_boolean())
        throw bad_request("'response_format.json_schema.schema' must be an object", "response_format");
    rf.schema = *schema;
    rf.strict = get_bool(*js, "strict").value_or(false);
    return rf;
}

// Fields both endpoints share.
void read_common(const nlohmann::ordered_json& body, GenerationRequest& r, int32_t max_context) {
    r.model = get_string(body, "model").value_or("");
    if (auto n = get_int(body, "n"); n && *n != 1)
        throw bad_request("only n=1 is supported, got n=" + std::to_string(*n), "n");

    for (const char* key : {"max_tokens", "max_completion_tokens"}) {
        if (auto v = get_int(body, key)) {
            if (*v <= 0) throw bad_request(std::string("'") + key + "' must be at least 1", key);
            if (*v > max_context)
                throw bad_request(std::string("'") + key + "' of " + std::to_string(*v) +
                                      " is larger than the context (" + std::to_string(max_context) + " tokens)",
                                  key);
            r.max_tokens = int32_t(*v);  // max_completion_tokens comes second, so it wins
        }
    }

    sample::SamplingParams& sp = r.sampling;
    if (auto v = get_number(body, "temperature")) sp.temperature = float(*v);
    if (auto v = get_number(body, "top_p")) sp.top_p = float(*v);
    if (auto v = get_int(body, "top_k")) sp.top_k = int32_t(std::clamp<int64_t>(*v, -1, INT32_MAX));
    if (auto v = get_number(body, "min_p")) sp.min_p = float(*v);
    if (auto v = get_number(body, "presence_penalty")) sp.presence_penalty = float(*v);
    if (auto v = get_number(body, "frequency_penalty")) sp.frequency_penalty = float(*v);
    if (auto v = get_number(body, "repetition_penalty")) sp.repetition_penalty = float(*v);
    if (auto v = get_number(body, "repeat_penalty")) sp.repetition_penalty = float(*v);
    if (auto v = get_int(body, "repeat_last_n")) {
        if (*v < -1 || *v > INT32_MAX) throw bad_request("'repeat_last_n' must be -1 or more", "repeat_last_n");
        sp.repeat_last_n = int32_t(*v);
    }
    if (auto v = get_int(body, "seed")) sp.seed = uint64_t(*v);
    sp.logit_bias = read_logit_bias(body);

    r.stop = read_stop(body);
    r.ignore_eos = get_bool(body, "ignore_eos").value_or(false);
    r.stream = get_bool(body, "stream").value_or(false);
    if (const nlohmann::ordered_json* so = get_object(body, "stream_options"))
        r.include_usage = get_bool(*so, "include_usage").value_or(false);
    r.response_format = read_response_format(body);
}

void check_sampling(const sample::SamplingParams& sp, int32_t n_vocab) {
    std::string err = sample::validate(sp, n_vocab);
    if (err.empty()) return;
    // validate() says "sampling: <field> ...": that field is the param, under its wire name.
    std::string field = err.starts_with("sampling: ") ? err.substr(10) : err;
    field = field.substr(0, field.find(' '));
    if (field == "n_top_logprobs") field = "top_logprobs";
    throw bad_request(err, field);
}

// "none" | "auto" | "required" | {"type": "function", "function": {"name": N}}, N among the tools.
ToolChoice read_tool_choice(const nlohmann::ordered_json& body, const nlohmann::ordered_json& tools) {
    ToolChoice c;
    auto it = body.find("tool_choice");
    if (it == body.end() || it->is_null()) return c;
    if (tools.is_null() && !(it->is_string() && *it == "none"))
        throw bad_request("'tool_choice' is only allowed when 'tools' are given", "tool_choice");
    if (it->is_string()) {
        const std::string v = it->get<std::string>();
        if (v == "none") c.kind = ToolChoice::Kind::none;
        else if (v == "auto") c.kind = ToolChoice::Kind::auto_;
        else if (v == "required") c.kind = ToolChoice::Kind::required;
        else throw bad_request("'tool_choice' must be \"none\", \"auto\", \"required\" or a function", "tool_choice");
        return c;
    }
    if (!it->is_object() || it->value("type", "") != "function" || !it->contains("function") ||
        !(*it)["function"].is_object() || !(*it)["function"].contains("name") || !(*it)["function"]["name"].is_string())
        throw bad_request("'tool_choice' must be \"none\", \"auto\", \"required\" or "
                          "{\"type\": \"function\", \"function\": {\"name\": ...}}",
                          "tool_choice");
    c.kind = ToolChoice::Kind::function;
    c.name = (*it)["function"]["name"].get<std::string>();
    for (const auto& t : tools)
        if (t["function"]["name"] == c.name) return c;
    throw bad_request("'tool_choice' names the function '" + c.name + "', which is not among the tools",
                      "tool_choice");
}

}  // namespace

GenerationRequest parse_chat_request(const nlohmann::ordered_json& body, int32_t n_vocab, int32_t max_context) {
    GenerationRequest r;
    r.endpoint = Endpoint::chat;
    r.messages = read_messages(body);
    if (auto it = body.find("tools"); it != body.end() && !it->is_null()) {
        if (!it->is_array()) throw bad_request("'tools' must be an array", "tools");
        for (size_t i = 0; i < it->size(); ++i) {
            const auto& t = (*it)[i];
            const std::string where = "tools[" + std::to_string(i) + "]";
            if (!t.is_object() || !t.contains("function") || !t["function"].is_object() ||
                !t["function"].contains("name") || !t["function"]["name"].is_string())
                throw bad_request("'" + where + "' must be {\"type\": \"function\", \"function\": {\"name\": ...}}",
                                  where);
            if (t.contains("type") && t["type"] != "function")
                throw bad_request("'" + where + ".type' must be \"function\"", where + ".type");
        }
        if (!it->empty()) r.tools = *it;
    }
    r.tool_choice = read_tool_choice(body, r.tools);
    if (auto p = get_bool(body, "parallel_tool_calls")) r.parallel_tool_calls = *p;
    if (const nlohmann::ordered_json* kw = get_object(body, "chat_template_kwargs")) {
        r.template_kwargs = *kw;
        r.enable_thinking = get_bool(*kw, "enable_thinking");
    }
    read_common(body, r, max_context);
    if (auto lp = get_bool(body, "logprobs")) r.sampling.logprobs = *lp;
    if (auto top = get_int(body, "top_logprobs")) {
        if (*top < 0 || *top > sample::kMaxTopLogprobs)
            throw bad_request("'top_logprobs' must be in [0, " + std::to_string(sample::kMaxTopLogprobs) + "]",
                              "top_logprobs");
        if (*top > 0 && !r.sampling.logprobs)
            throw bad_request("'top_logprobs' needs 'logprobs' set to true", "top_logprobs");
        r.sampling.n_top_logprobs = int32_t(*top);
    }
    check_sampling(r.sampling, n_vocab);
    return r;
}

GenerationRequest parse_completion_request(const nlohmann::ordered_json& body, int32_t n_vocab, int32_t max_context) {
    GenerationRequest r;
    r.endpoint = Endpoint::completion;
    auto it = body.find("prompt");
    if (it == body.end() || it->is_null()) throw bad_request("'prompt' is required", "prompt");
    const nlohmann::ordered_json* p = &*it;
    // A batch of one prompt is the same as the prompt; a batch of several is not supported (n=1 only).
    if (p->is_array() && p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) p = &(*p)[0];
    if (p->is_string()) {
        r.prompt_text = p->get<std::string>();
        if (r.prompt_text.empty()) throw bad_request("'prompt' must not be empty", "prompt");
    } else if (p->is_array()) {
        if (p->empty()) throw bad_request("'prompt' must not be empty", "prompt");
        r.prompt_is_ids = true;
        for (const auto& v : *p) {
            if (!v.is_number_integer())
                throw bad_request("'prompt' must be a string or an array of token ids", "prompt");
            const int64_t id = v.get<int64_t>();
            if (id < 0 || id >= n_vocab)
                throw bad_request("'prompt' token id " + std::to_string(id) + " is outside the vocabulary (" +
                                      std::to_string(n_vocab) + " tokens)", "prompt");
            r.prompt_ids.push_back(int32_t(id));
        }
    } else {
        throw bad_request(std::string("'prompt' must be a string or an array of token ids, got ") +
                              json_type_name(*p), "prompt");
    }
    read_common(body, r, max_context);
    // Legacy completions: logprobs is the number of alternatives per token (0 = the chosen token only).
    if (auto it_lp = body.find("logprobs"); it_lp != body.end() && !it_lp->is_null()) {
        if (it_lp->is_boolean()) {
            r.sampling.logprobs = it_lp->get<bool>();
        } else {
            const int64_t n = *get_int(body, "logprobs");
            if (n < 0 || n > sample::kMaxTopLogprobs)
                throw bad_request("'logprobs' must be in [0, " + std::to_string(sample::kMaxTopLogprobs) + "]",
                                  "logprobs");
            r.sampling.logprobs = true;
            r.sampling.n_top_logprobs = int32_t(n);
        }
    }
    check_sampling(r.sampling, n_vocab);
    return r;
}

}  // namespace hotrod::server
