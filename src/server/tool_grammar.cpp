// build_tool_grammar: tool_choice and strict tools onto sample::compile_tool_calls. The call texts below are
// the ones the chat templates in ../shared/templates render for an assistant's tool call (checked by rendering
// them in tests/unit/server/test_tool_grammar.cpp), so the forced text is what the model was trained on.
#include "server/tool_grammar.h"

#include "server/api_error.h"

namespace hotrod::server {

namespace {

sample::ToolSpec spec_of(const nlohmann::ordered_json& tool, size_t i, const char* schema_field) {
    const nlohmann::ordered_json& f = tool["function"];
    sample::ToolSpec s;
    s.name = f["name"].get<std::string>();
    if (auto p = f.find("parameters"); p != f.end()) s.parameters = *p;
    if (auto st = f.find("strict"); st != f.end() && st->is_boolean()) s.strict = st->get<bool>();
    s.where = "tools[" + std::to_string(i) + "]";
    s.where.append(schema_field);
    return s;
}

// A SchemaError from a strict tool starts with its `where`: that is the 400's param.
[[noreturn]] void schema_400(const sample::SchemaError& e) {
    const std::string message = e.what();
    const size_t colon = message.find(": ");
    std::string param = colon == std::string::npos ? std::string("tools") : message.substr(0, colon);
    throw bad_request("a strict tool's parameters cannot be enforced: " + message, std::move(param),
                      "invalid_schema");
}

}  // namespace

std::optional<ForcedCallSyntax> forced_call_syntax(text::ToolSyntax syntax) {
    ForcedCallSyntax f;
    sample::CallSyntax& t = f.texts;
    switch (syntax) {
        case text::ToolSyntax::hermes:
            // Qwen2.5 / Qwen3 / Hermes: `<tool_call>\n{"name": "N", "arguments": {...}}\n</tool_call>`, calls
            // apart by "\n".
            t.head = "<tool_call>\n{\"name\": ";
            t.mid = ", \"arguments\": ";
            t.close = "}\n</tool_call>";
            t.gap_ws = 2;
            t.trigger = "<tool_call>";
            f.lazy_ok = true;
            return f;
        case text::ToolSyntax::llama3_json:
            // Llama 3.1 / 3.2 / 3.3: the whole reply `{"name": "N", "parameters": {...}}`, one call per turn.
            t.head = "{\"name\": ";
            t.mid = ", \"parameters\": ";
            t.close.push_back('}');  // one-char literals trip GCC 12's -Wrestrict false positive
            t.trigger = t.head;
            t.anchored = true;
            f.lazy_ok = true;
            f.one_call = true;
            return f;
        case text::ToolSyntax::generic_json:
            t.head = "{\"name\": ";
            t.mid = ", \"arguments\": ";
            t.close.push_back('}');  // one-char literals trip GCC 12's -Wrestrict false positive
            t.trigger = t.head;
            t.anchored = true;
            f.lazy_ok = true;
            f.one_call = true;
            return f;
        case text::ToolSyntax::mistral:
            // Mistral Nemo's list form (its template adds an "id" per call; the parser needs none, so none is
            // forced). Not lazy: [TOOL_CALLS] is a control token in Mistral vocabularies, which a mask never allows
            // (grammar.h), so constraining auto would keep the model from calling at all.
            t.prefix = "[TOOL_CALLS][";
            t.head = "{\"name\": ";
            t.mid = ", \"arguments\": ";
            t.close.push_back('}');  // one-char literals trip GCC 12's -Wrestrict false positive
            t.separator = ", ";
            t.suffix.push_back(']');
            return f;
        case text::ToolSyntax::none:
        case text::ToolSyntax::xml_function:
            break;
    }
    return std::nullopt;
}

std::shared_ptr<const sample::Grammar> build_tool_grammar(sample::GrammarCache& cache, text::ToolSyntax syntax,
                                                          const GenerationRequest& r, const char* format_param,
                                                          const char* schema_field) {
    if (r.endpoint != Endpoint::chat || r.tools.is_null() || r.tool_choice.kind == ToolChoice::Kind::none)
        return nullptr;
    const bool forced = r.tool_choice.kind == ToolChoice::Kind::required ||
                        r.tool_choice.kind == ToolChoice::Kind::function;
    const bool has_format = r.response_format.kind != ResponseFormat::Kind::text;
    if (forced && has_format) {
        std::string message = "'";
        message.append(format_param);
        message.append("' cannot be combined with tool_choice \"required\" or a named function: the reply must "
                       "then be a tool call, which is not the format asked for");
        throw bad_request(std::move(message), format_param);
    }

    std::vector<sample::ToolSpec> specs;
    for (size_t i = 0; i < r.tools.size(); ++i) {
        if (r.tool_choice.kind == ToolChoice::Kind::function && r.tools[i]["function"]["name"] != r.tool_choice.name)
            continue;
        specs.push_back(spec_of(r.tools[i], i, schema_field));
    }
    const std::optional<ForcedCallSyntax> how = forced_call_syntax(syntax);
    // With auto, response_format wins (the reply is that format; the parser still reads a call out of it), and a
    // syntax without a trigger stays free. Unconstrained or not, a strict tool's schema must be one we could
    // enforce: fail closed, the same answer whatever the template.
    const bool constrain = how && !has_format && (forced || how->lazy_ok);
    if (!constrain) {
        for (const sample::ToolSpec& s : specs) {
            if (!s.strict || s.parameters.is_null()) continue;
            try {
                cache.json_schema(s.parameters);
            } catch (const sample::SchemaError& e) {
                schema_400(sample::SchemaError(s.where + ": " + e.what()));
            }
        }
        return nullptr;
    }
    sample::ToolCallOptions options;
    options.lazy = !forced;
    options.max_calls = how->one_call || !r.parallel_tool_calls ? 1 : kMaxParallelCalls;
    try {
        return cache.tool_calls(how->texts, specs, options);
    } catch (const sample::SchemaError& e) {
        schema_400(e);
    }
}

}  // namespace hotrod::server
