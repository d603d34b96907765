// Tool calls in generated text: which syntax a chat template teaches its model (detect_tool_syntax), and a parser
// that splits the model's output into content and calls, incrementally while streaming. The text of a call never
// reaches content: a marker cut across pieces is held back until it is decided, and a call's text is held until
// the call is complete. A call that does not parse (unterminated, bad JSON) comes back as content, as written.
//
// Syntaxes, by the template's own markers:
//   hermes        <tool_call>{"name": N, "arguments": {...}}</tool_call>       Qwen2.5, Qwen3, Hermes, ...
//   xml_function  <tool_call><function=N><parameter=K>V</parameter>...</function></tool_call>   Qwen3-Coder, Qwen3.5
//   mistral       [TOOL_CALLS][{"name": N, "arguments": {...}}, ...]  or  [TOOL_CALLS]N[CALL_ID]id[ARGS]{...}
//   llama3_json   {"name": N, "parameters": {...}} as the whole reply, optionally after <|python_tag|>
//   generic_json  a reply that is one JSON object {"name", "arguments"} (or a list of them): templates that render
//                 tools without a syntax of their own
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace hotrod::text {

enum class ToolSyntax { none, hermes, xml_function, mistral, llama3_json, generic_json };

// From the template source: the markers it renders assistant tool calls with. `none` when the template never
// mentions tools (such a model is not given them); generic_json when it renders tools without a known syntax.
ToolSyntax detect_tool_syntax(std::string_view template_source);
const char* tool_syntax_name(ToolSyntax s);

struct ToolCall {
    std::string name;
    std::string arguments;  // JSON text of an object, as OpenAI's function.arguments
};

struct ToolCallDelta {
    std::string content;
    std::vector<ToolCall> calls;
};

class ToolCallParser {
public:
    // tools: the request's tools (OpenAI form), used to type xml_function parameter values by their schema (a
    // "string" parameter stays a string even when it reads as a number); may be null.
    explicit ToolCallParser(ToolSyntax syntax, const nlohmann::ordered_json* tools = nullptr);

    ToolCallDelta push(std::string_view piece);
    // End of generation: a call still open is parsed as far as it goes (else it is content), held text released.
    ToolCallDelta flush();

private:
    enum class State { Start, Text, InCall, Whole };
    void step(ToolCallDelta& out, bool final);
    void end_call(ToolCallDelta& out, std::string_view body, bool closed);
    void emit_text(ToolCallDelta& out, std::string_view text);

    ToolSyntax syntax_;
    nlohmann::ordered_json param_types_;  // function name -> parameter -> JSON-schema type
    State state_ = State::Start;
    std::string pending_;   // received, not yet decided
    std::string held_ws_;   // whitespace held back: dropped when a call follows or ends the reply after a call
    bool any_call_ = false;
};

// One-shot: push(text) then flush().
ToolCallDelta parse_tool_calls(ToolSyntax syntax, std::string_view text, const nlohmann::ordered_json* tools = nullptr);

}  // namespace hotrod::text
