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
        case text::ToolSyntax::generic_json:
            // The whole reply is one call: Llama 3.1 / 3.2 / 3.3 `{"name": "N", "parameters": {...}}`, the generic
            // form `{"name": "N", "arguments": {...}}`.
            t.head = "{\"name\": ";
            t.mid = syntax == text::ToolSyntax::llama3_json ? ", \"parameters\": " : ", \"arguments\": ";
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
        case text::ToolSyntax::xml_function:
            // Qwen3-Coder / Qwen3.5: `<tool_call>\n<function=N>\n<parameter=K>\nV\n</parameter>\n...</function>\n
            // </tool_call>`, string values raw; calls apart by "\n". `</function>\n` ends the parameter blocks.
            t.head = "<tool_call>\n<function=";
            t.mid = ">\n";
            t.close = "</tool_call>";
            t.gap_ws = 2;
            t.trigger = "<tool_call>";
            t.xml_params = true;
            f.lazy_ok = true;
            return f;
        case text::ToolSyntax::none:
            break;
    }
    return std::nullopt;
}

bool template_writes_forced_calls(const text::ChatTemplate& t, text::ToolSyntax syntax, std::string* why) {
    std::string ignored;
    std::string& reason = why ? *why : ignored;
    const std::optional<ForcedCallSyntax> how = forced_call_syntax(syntax);
    if (!how) {
        reason = std::string("the grammar does not write ") + text::tool_syntax_name(syntax) + " calls";
        return false;
    }
    constexpr std::string_view kProbeId = "abcdefghi";  // nine characters, as Mistral's templates insist
    const nlohmann::ordered_json params = {
        {"type", "object"}, {"properties", {{"city", {{"type", "string"}, {"description", "A city."}}}}}};
    text::ChatInputs in;
    in.bos_token = "<s>";
    in.eos_token = "</s>";
    in.tools = nlohmann::ordered_json::array(
        {{{"type", "function"},
          {"function", {{"name", "get_weather"}, {"description", "The weather."}, {"parameters", params}}}}});
    in.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", "Weather in Paris?"}}});
    std::string turn;
    try {
        in.add_generation_prompt = true;
        const std::string prompt = t.render(in);
        // Arguments as an object: templates write them with tojson (a string some would write raw).
        in.messages.push_back(
            {{"role", "assistant"}, {"content", ""},
             {"tool_calls", nlohmann::ordered_json::array({{{"id", kProbeId}, {"type", "function"},
                                                           {"function", {{"name", "get_weather"},
                                                                         {"arguments", {{"city", "Paris"}}}}}}})}});
        in.add_generation_prompt = false;
        const std::string full = t.render(in);
        // A generation prompt that ends with an open or empty think block (QwQ) has it where the finished turn
        // does not; the engine starts the grammar after the block anyway.
        std::string_view head = prompt;
        auto blank = [](std::string_view x) { return x.find_first_not_of(" \n") == std::string_view::npos; };
        if (const size_t think = head.rfind("<think>"); think != std::string_view::npos) {
            std::string_view after = head.substr(think + 7);
            if (!blank(after)) after.remove_prefix(after.find_first_not_of(" \n"));
            if (blank(after) || (after.starts_with("</think>") && blank(after.substr(8)))) head = head.substr(0, think);
        }
        if (full.compare(0, head.size(), head) != 0) {
            reason = "the assistant's turn does not continue the generation prompt";
            return false;
        }
        turn = full.substr(head.size());
    } catch (const std::exception& e) {
        reason = std::string("rendering a tool call failed: ") + e.what();
        return false;
    }
    // Mistral Nemo writes each call's id after its arguments; the grammar writes none (the parser needs none).
    const std::string id_field = std::string(", \"id\": \"") + std::string(kProbeId) + "\"";
    if (const size_t at = turn.find(id_field); at != std::string::npos) turn.erase(at, id_field.size());
    const std::string start = how->texts.prefix + how->texts.head;
    size_t at = turn.find(start);
    std::string_view preamble = std::string_view(turn).substr(0, at == std::string::npos ? 0 : at);
    if (const size_t think_end = preamble.rfind("</think>"); think_end != std::string_view::npos)
        preamble.remove_prefix(think_end + 8);  // the engine starts the grammar after the reasoning block
    if (at == std::string::npos || preamble.find_first_not_of(" \n") != std::string_view::npos) {
        reason = "the template's call does not begin with " + nlohmann::json(start).dump();
        return false;
    }
    const auto g = sample::compile_tool_calls(how->texts, {sample::ToolSpec{"get_weather", params, true, "probe"}},
                                              sample::ToolCallOptions{});
    std::vector<std::string> pieces;
    for (int b = 0; b < 256; ++b) pieces.emplace_back(1, static_cast<char>(b));
    sample::Matcher m(g, std::make_shared<sample::TokenIndex>(std::move(pieces), std::vector<int32_t>{}));
    while (at < turn.size() && !m.is_complete() && m.accept_bytes(std::string_view(turn).substr(at, 1))) ++at;
    std::string_view rest = std::string_view(turn).substr(at);
    while (!rest.empty() && (rest.front() == '\n' || rest.front() == ' ')) rest.remove_prefix(1);
    // What follows the call is the turn's end: an end-of-turn token or eos (all written as tags), or nothing.
    if (!m.is_complete() || !(rest.empty() || rest.front() == '<')) {
        reason = "the template writes " + nlohmann::json(turn).dump() + " for a call";
        return false;
    }
    return true;
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
