// Constrained output: a Grammar (compiled once from `response_format`: any JSON object, or a JSON schema; or from
// the request's tools: calls in the chat template's syntax, each tool's arguments held to its schema) and a
// per-request Matcher that says which tokens may come next, over a TokenIndex of the vocabulary's byte strings.
// The engine calls fill_mask() before each sample, accept() after it, and forced_bytes() to append the run of
// bytes the grammar admits as the only continuation in one batched step (jump-forward).
//
// Contract (the engine and the server rely on it; the implementation lives in grammar_*.cpp / json_schema*.cpp):
// - compile_* never runs a model and costs time proportional to the schema; GrammarCache keys by schema text.
// - A schema feature that cannot be enforced is a SchemaError naming it ("unsupported schema keyword 'pattern'
//   at #/properties/x"), never a silently looser grammar.
// - Whitespace between JSON tokens is bounded (so a model cannot loop on spaces), numbers have bounded digits.
// - End-of-generation tokens are allowed only once the value is complete; control tokens (empty pieces) never.
// - Tool calls: the grammar writes only the call texts it is given (CallSyntax), so a marker that is a control
//   token in the vocabulary can only be spelled out; a user-defined token whose piece is its text (Qwen's
//   <tool_call>) is allowed and encoded as one token. Lazy mode is free text (any byte) until the trigger.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace hotrod::sample {

// A schema (or response_format) the grammar cannot enforce or that is invalid; the server answers 400 with it.
class SchemaError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

class Grammar;  // immutable once compiled; shared by every request that uses it, from any thread

// Any single JSON object (response_format {"type": "json_object"}).
std::shared_ptr<const Grammar> compile_json_object();
// A JSON schema (response_format {"type": "json_schema", "json_schema": {"schema": ...}}). Throws SchemaError.
std::shared_ptr<const Grammar> compile_json_schema(const nlohmann::json& schema);
// The same with properties in document order (nlohmann::json sorts object keys, so the overload above emits
// properties in name order). Parse the request with ordered_json to keep the schema's order.
std::shared_ptr<const Grammar> compile_json_schema(const nlohmann::ordered_json& schema);

// How a chat template writes tool calls: the texts around each call's JSON name and arguments. The server maps
// text::ToolSyntax onto this (sample knows no templates). Hermes: head "<tool_call>\n{\"name\": ",
// mid ", \"arguments\": ", close "}\n</tool_call>".
struct CallSyntax {
    std::string prefix;     // once before the first call ("[TOOL_CALLS][")
    std::string head;       // before the name, which is written as a JSON string
    std::string mid;        // between the name and the arguments
    std::string close;      // after the arguments; not empty
    std::string separator;  // between calls (", "); empty: calls are apart by up to gap_ws whitespace bytes
    std::string suffix;     // once after the last call ("]")
    uint32_t gap_ws = 0;    // whitespace allowed between calls without separator, and before the suffix
    std::string trigger;    // lazy mode: the text that starts a call; must begin prefix + head ("<tool_call>")
    bool anchored = false;  // lazy mode: the trigger counts only at the start of the reply (whole-reply JSON)
    // xml_function (Qwen3-Coder, Qwen3.5): the name is written raw, and the arguments are not a JSON object but
    // `<parameter=KEY>\nVALUE\n</parameter>\n` blocks in schema order, then `</function>\n` before close; a
    // "type": "string" property's VALUE is raw text, any other is JSON (as text::ToolCallParser reads them).
    bool xml_params = false;
};

struct ToolSpec {
    std::string name;
    nlohmann::ordered_json parameters;  // its arguments' JSON schema; null: any JSON object
    bool strict = false;    // an unenforceable schema is a SchemaError; otherwise the arguments are any object
    std::string where;      // names the schema in errors ("tools[1].function.parameters")
};

struct ToolCallOptions {
    bool lazy = false;       // free text until the trigger, then the calls (tool_choice auto)
    uint32_t max_calls = 1;  // parallel_tool_calls: more than one
};

// The output is one or more calls (up to max_calls) of the given tools in the given syntax, each tool's arguments
// valid for its schema; lazy: free text, or text up to the trigger and then calls. Whitespace and the end follow
// CallLayer's rules (grammar_nodes.h). Throws SchemaError naming the tool's schema path for a strict tool.
std::shared_ptr<const Grammar> compile_tool_calls(const CallSyntax& syntax, const std::vector<ToolSpec>& tools,
                                                  const ToolCallOptions& options);

// Compiled grammars by schema text, thread-safe; a schema is compiled once however many requests use it.
class GrammarCache {
public:
    GrammarCache();
    std::shared_ptr<const Grammar> json_object();
    std::shared_ptr<const Grammar> json_schema(const nlohmann::json& schema);  // throws SchemaError
    std::shared_ptr<const Grammar> json_schema(const nlohmann::ordered_json& schema);  // document order
    std::shared_ptr<const Grammar> tool_calls(const CallSyntax& syntax, const std::vector<ToolSpec>& tools,
                                              const ToolCallOptions& options);  // throws SchemaError
    size_t size() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
    Impl& impl();
};

// The vocabulary as the grammar sees it, built once per model: the bytes each token adds to the output.
class TokenIndex {
public:
    // pieces[i]: bytes token i adds when generated; an empty piece (control tokens) is never allowed by a mask.
    // eog_ids: end-of-generation tokens, allowed only when the grammar is complete.
    TokenIndex(std::vector<std::string> pieces, std::vector<int32_t> eog_ids);
    ~TokenIndex();
    int32_t n_vocab() const;

    struct Impl;
    const Impl& impl() const { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

// Where one request's output is in its grammar. Not thread-safe (one per sequence, used by the engine thread).
class Matcher {
public:
    Matcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenIndex> index);
    ~Matcher();
    Matcher(Matcher&&) noexcept;
    Matcher& operator=(Matcher&&) noexcept;

    // Sets mask to the tokens that may come next: bit (i % 64) of word i / 64 for token i; mask.size() must be
    // (n_vocab + 63) / 64. Every bit is written (allowed or not).
    void fill_mask(std::span<uint64_t> mask);
    // Advances by one token; false (and no change) when the token is not allowed. An EOG token is accepted
    // only when complete and changes nothing.
    bool accept(int32_t token_id);
    // Advances by raw bytes; false (and no change) when they are not a valid continuation.
    bool accept_bytes(std::string_view bytes);
    // The longest byte string every valid continuation starts with (empty when the next byte is a choice).
    std::string forced_bytes() const;
    // The output so far is a complete value.
    bool is_complete() const;
    // Complete and nothing more may follow (the engine can finish without sampling an EOG token).
    bool is_finished() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace hotrod::sample
