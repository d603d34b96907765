// The syntax tree of the Jinja subset: expressions (Expr) and statements (Node), produced by
// jinja_parse.cpp and walked by jinja_eval.cpp. Every node keeps its template line and column so a
// runtime error can point at the construct that failed.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja_value.h"

namespace hotrod::text::jinja {

struct Expr;
struct Node;
using ExprPtr = std::unique_ptr<Expr>;
using Body = std::vector<std::unique_ptr<Node>>;

struct Expr {
    enum class Kind {
        Literal,   // literal
        Name,      // name
        Attr,      // args[0].name
        Item,      // args[0][args[1]]
        Slice,     // args[0][args[1]:args[2]:args[3]] (null parts are omitted bounds)
        Call,      // args[0](args[1..], kwargs)
        Filter,    // args[0] | name(args[1..], kwargs); args[0] null inside a filter block
        Test,      // args[0] is [not] name(args[1..]); negate for `is not`
        Unary,     // name in {"-", "+", "not"} applied to args[0]
        Binary,    // args[0] name args[1]: + - * / // % ** ~ == != < <= > >= in "not in" and or
        Cond,      // args[1] if args[0] else args[2] (args[2] may be null: Undefined)
        List,      // [args...]
        Tuple,     // (args...)
        Dict,      // {args[0]: args[1], args[2]: args[3], ...}
    };
    Kind kind;
    int line = 0, col = 0;
    std::string name;
    Value literal;
    bool negate = false;
    std::vector<ExprPtr> args;
    std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

// The target of `set` or a for loop variable: a name, `ns.attr`, or a tuple of names.
struct Target {
    std::vector<std::string> names;  // one name, or several for unpacking `k, v`
    std::string attr;                // non-empty for `ns.attr = ...` (names holds the namespace)
};

struct Node {
    enum class Kind {
        Text,         // text
        Output,       // {{ expr }}
        If,           // branches (condition, body); else_body
        For,          // for target in expr [if cond] body [else else_body]; recursive
        Set,          // set target = expr
        SetBlock,     // set target %}body{% endset (optionally filtered by `filter`)
        Macro,        // macro name(params) body
        CallBlock,    // call(params) expr body: body becomes `caller`
        FilterBlock,  // filter expr (a Filter chain with null operand) body
        Scope,        // a body with its own scope (the HF `generation` tag, `with`)
        Break,
        Continue,
    };
    Kind kind;
    int line = 0, col = 0;
    std::string text;
    ExprPtr expr;
    ExprPtr cond;
    ExprPtr filter;
    Target target;
    std::vector<std::pair<ExprPtr, Body>> branches;
    Body body;
    Body else_body;
    std::vector<std::pair<std::string, ExprPtr>> params;  // macro/call parameters with defaults (null: none)
    std::vector<std::pair<Target, ExprPtr>> with_vars;    // `with a = 1, b = 2`
    bool recursive = false;
};

}  // namespace hotrod::text::jinja
