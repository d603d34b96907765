// Lexer of the Jinja subset: template source -> tokens (text runs, tag delimiters, expression tokens).
// Whitespace control is applied here, as jinja2 does with trim_blocks and lstrip_blocks on (how Hugging
// Face renders chat templates): `{%-`/`-%}`/`{{-`/`-}}`/`{#-`/`-#}`, `{%+`, comments and `{% raw %}` blocks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hotrod::text::jinja {

enum class TokKind : uint8_t { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof };

struct Token {
    TokKind kind;
    std::string text;  // Text: the literal text; Name/Op: the spelling; String: the unescaped value
    int64_t i = 0;     // Int
    double f = 0.0;    // Float
    int line = 0, col = 0;
};

struct LexOptions {
    bool trim_blocks = true;
    bool lstrip_blocks = true;
};

// Throws jinja::Error naming `name`, line and column on an unterminated tag, comment or string.
std::vector<Token> lex(std::string_view source, const std::string& name, const LexOptions& opts = {});

}  // namespace hotrod::text::jinja
