// Parser of the Jinja subset: tokens from jinja_lex -> statement tree (jinja_ast.h). Operator
// precedence and the statement set follow jinja2 (if/for/set/macro/call/filter/with, loopcontrols,
// and Hugging Face's `generation` tag); include/import/extends are not supported (no loader).
#pragma once

#include <string>
#include <vector>

#include "text/jinja_ast.h"
#include "text/jinja_lex.h"

namespace hotrod::text::jinja {

// Throws jinja::Error("name:line:col: ...") on a syntax error, naming what was expected and found.
Body parse(const std::vector<Token>& tokens, const std::string& name);

}  // namespace hotrod::text::jinja
