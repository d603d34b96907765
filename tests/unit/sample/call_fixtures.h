// Fixtures the grammar tests share: a one-token-per-byte vocabulary (tests that drive accept_bytes need no real
// one) and the call syntaxes of the two template families the tool-call tests walk, written out by hand from the
// templates (tests/unit/server/test_tool_grammar.cpp checks the server's own against the templates' renders).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sample/grammar.h"

namespace hotrod::sample::test {

// Tokens 0..255: one byte each; 256: end of generation.
inline std::shared_ptr<const TokenIndex> byte_index() {
    std::vector<std::string> pieces;
    for (int b = 0; b < 256; ++b) pieces.emplace_back(1, static_cast<char>(b));
    pieces.emplace_back();
    return std::make_shared<TokenIndex>(std::move(pieces), std::vector<int32_t>{256});
}

// Qwen2.5 / Qwen3 / Hermes: <tool_call>\n{"name": N, "arguments": {...}}\n</tool_call>
inline CallSyntax hermes() {
    CallSyntax s;
    s.head = "<tool_call>\n{\"name\": ";
    s.mid = ", \"arguments\": ";
    s.close = "}\n</tool_call>";
    s.gap_ws = 2;
    s.trigger = "<tool_call>";
    return s;
}

// Qwen3-Coder / Qwen3.5: <tool_call>\n<function=N>\n<parameter=K>\nV\n</parameter>\n...</function>\n</tool_call>
inline CallSyntax xml() {
    CallSyntax s;
    s.head = "<tool_call>\n<function=";
    s.mid = ">\n";
    s.close = "</tool_call>";
    s.gap_ws = 2;
    s.trigger = "<tool_call>";
    s.xml_params = true;
    return s;
}

}  // namespace hotrod::sample::test
