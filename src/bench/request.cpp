// Request building. The body is a plain function of (workload, payload, options), so the report can state
// that every target got byte-identical requests.
#include "bench/request.h"

namespace hotrod::bench {

nlohmann::json response_schema(const Workload& w) {
    nlohmann::json props = nlohmann::json::object();
    for (const auto& key : w.keys) {
        auto it = w.allowed.find(key);
        if (it != w.allowed.end())
            props[key] = {{"type", "string"}, {"enum", it->second}};
        else  // 12 characters a word is generous for English; it only stops a runaway string
            props[key] = {{"type", "string"}, {"minLength", 1}, {"maxLength", w.max_words * 12}};
    }
    return {{"type", "object"},
            {"properties", props},
            {"required", w.keys},
            {"additionalProperties", false}};
}

nlohmann::json chat_request(const Workload& w, const Payload& p, const RequestOptions& opt) {
    nlohmann::json body = {
        {"messages", nlohmann::json::array({{{"role", "system"}, {"content", w.system}},
                                            {{"role", "user"}, {"content", p.text}}})},
        {"max_tokens", w.max_tokens},
        {"temperature", w.temperature},
        {"chat_template_kwargs", {{"enable_thinking", false}}},
    };
    if (!opt.model.empty()) body["model"] = opt.model;
    if (opt.stream) {
        body["stream"] = true;
        body["stream_options"] = {{"include_usage", true}};
    }
    if (opt.schema)
        body["response_format"] = {
            {"type", "json_schema"},
            {"json_schema", {{"name", w.name.empty() ? "reply" : w.name}, {"strict", true}, {"schema", response_schema(w)}}}};
    if (opt.fixed_length) body["ignore_eos"] = true;
    return body;
}

}  // namespace hotrod::bench
