// The grammar behind tool_choice and strict tools: the model's own call syntax (from its chat template) around
// each tool's parameters schema, so a call's arguments always parse and validate. required / a named function
// force a call from the first byte; auto is lazy: free text until the call's opening marker, then constrained.
#pragma once

#include <memory>
#include <optional>

#include "sample/grammar.h"
#include "server/generation_request.h"
#include "text/chat_template.h"
#include "text/tool_calls.h"

namespace hotrod::server {

// How a syntax is forced. Null for syntaxes the grammar does not write (none).
struct ForcedCallSyntax {
    sample::CallSyntax texts;
    bool lazy_ok = false;     // auto can be constrained from a trigger (the syntax has a marker the model emits)
    bool one_call = false;    // the template renders a single call (whole-reply JSON syntaxes)
};
std::optional<ForcedCallSyntax> forced_call_syntax(text::ToolSyntax syntax);

// Whether the template writes a call the way forced_call_syntax(syntax) forces it. One call is rendered through
// the template (an assistant turn after a user turn); the turn must hold, after at most whitespace and a think
// block, a text the grammar accepts to the call's end, then only the turn's end. Templates that share a marker
// with a syntax but not its form (GLM's `<tool_call>name<arg_key>...`, MiniMax's `<invoke>`) fail it: their
// calls are left unconstrained rather than forced into a form the model never saw. why: what did not match.
bool template_writes_forced_calls(const text::ChatTemplate& t, text::ToolSyntax syntax, std::string* why = nullptr);

// Most calls one reply may hold with parallel_tool_calls (each costs a frame of the grammar's state only).
inline constexpr uint32_t kMaxParallelCalls = 8;

// The grammar for the request's tools, or null when the reply is left free (no tools, tool_choice none,
// response_format given with auto, a syntax that cannot be forced). Throws a 400 ApiError: a strict tool whose
// schema cannot be enforced (naming tools[i].function.parameters and the schema path), or response_format
// together with tool_choice required / a named function (format_param names the format's field; schema_field
// follows "tools[i]" in a tool's schema path: ".function.parameters" on chat, ".parameters" on Responses).
std::shared_ptr<const sample::Grammar> build_tool_grammar(sample::GrammarCache& cache, text::ToolSyntax syntax,
                                                          const GenerationRequest& r, const char* format_param,
                                                          const char* schema_field = ".function.parameters");

}  // namespace hotrod::server
