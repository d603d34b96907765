// The Jinja subset's recursive-descent parser class, shared by its two halves: statements (jinja_parse.cpp) and
// expressions (jinja_parse_expr.cpp). Internal to src/text: callers use jinja_parse.h's parse(). Precedence, loosest
// first (as jinja2): `a if c else b` < or < and < not < comparisons/in < + - < ~ < * / // % < ** < unary - + <
// postfix (. [] ()) and filters/tests (| is), so `-x|abs` filters `-x` and `a ~ b|upper` filters only b.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "text/jinja_ast.h"
#include "text/jinja_lex.h"

namespace hotrod::text::jinja {

// Nesting bound: a pathological template must fail with an error, not overflow the stack.
constexpr int kMaxParseDepth = 200;

class Parser {
public:
    Parser(const std::vector<Token>& toks, const std::string& name) : t_(toks), name_(name) {}

    Body parse_template() {
        std::string stop;
        Body body = parse_body({}, stop);
        return body;
    }

private:
    const std::vector<Token>& t_;
    const std::string& name_;
    size_t p_ = 0;
    int depth_ = 0;

    struct DepthGuard {
        Parser& p;
        explicit DepthGuard(Parser& parser) : p(parser) {
            if (++p.depth_ > kMaxParseDepth) p.fail(p.cur(), "nesting deeper than " + std::to_string(kMaxParseDepth));
        }
        ~DepthGuard() { --p.depth_; }
    };

    const Token& cur() const { return t_[p_]; }
    const Token& peek(size_t n = 1) const { return t_[std::min(p_ + n, t_.size() - 1)]; }
    void advance() {
        if (p_ + 1 < t_.size()) ++p_;
    }

    static std::string describe(const Token& t) {
        switch (t.kind) {
            case TokKind::Text: return "text";
            case TokKind::VarBegin: return "'{{'";
            case TokKind::VarEnd: return "end of print statement '}}'";
            case TokKind::BlockBegin: return "'{%'";
            case TokKind::BlockEnd: return "end of statement '%}'";
            case TokKind::Name: return "name '" + t.text + "'";
            case TokKind::String: return "string";
            case TokKind::Int: case TokKind::Float: return "number " + t.text;
            case TokKind::Op: return "'" + t.text + "'";
            case TokKind::Eof: return "end of template";
        }
        return "?";
    }

    [[noreturn]] void fail(const Token& t, const std::string& msg) const { throw Error(name_, t.line, t.col, msg); }

    bool is_op(const char* op) const { return cur().kind == TokKind::Op && cur().text == op; }
    bool is_name(const char* n) const { return cur().kind == TokKind::Name && cur().text == n; }
    void expect_op(const char* op) {
        if (!is_op(op)) fail(cur(), std::string("expected '") + op + "', found " + describe(cur()));
        advance();
    }
    void expect_kind(TokKind k, const char* what) {
        if (cur().kind != k) fail(cur(), std::string("expected ") + what + ", found " + describe(cur()));
        advance();
    }
    std::string expect_name() {
        if (cur().kind != TokKind::Name) fail(cur(), "expected a name, found " + describe(cur()));
        std::string n = cur().text;
        advance();
        return n;
    }

    ExprPtr make(Expr::Kind kind, const Token& at) {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->line = at.line;
        e->col = at.col;
        return e;
    }

    std::unique_ptr<Node> new_node(Node::Kind kind, const Token& at) {
        auto n = std::make_unique<Node>();
        n->kind = kind;
        n->line = at.line;
        n->col = at.col;
        return n;
    }
    void end_tag() { expect_kind(TokKind::BlockEnd, "'%}'"); }

    // Statements (jinja_parse.cpp) and expressions (jinja_parse_expr.cpp).
    Body parse_body(std::initializer_list<const char*> ends, std::string& stop);
    std::unique_ptr<Node> parse_statement();
    // `x`, `k, v`, `(k, v)`, or (for set) `ns.attr`.
    Target parse_target(bool allow_attr);
    void parse_params(Node& n);
    // `| f(args) | g` with no operand (filter blocks and `set x | f %}`).
    ExprPtr parse_filter_chain();
    ExprPtr parse_tuple(bool with_condexpr);
    ExprPtr parse_expression(bool with_condexpr);
    ExprPtr binary(const Token& at, std::string op, ExprPtr l, ExprPtr r);
    ExprPtr parse_or();
    ExprPtr parse_and();
    ExprPtr parse_not();
    ExprPtr parse_compare();
    ExprPtr parse_math1();
    ExprPtr parse_concat();
    ExprPtr parse_math2();
    ExprPtr parse_pow();
    ExprPtr parse_unary(bool with_filter);
    ExprPtr parse_primary();
    ExprPtr parse_postfix(ExprPtr node);
    ExprPtr parse_subscript(ExprPtr obj, const Token& at);
    void parse_args(Expr& call);
    ExprPtr parse_call(ExprPtr callee);
    ExprPtr parse_filter(ExprPtr operand);
    ExprPtr parse_filter_expr(ExprPtr node);
};

}  // namespace hotrod::text::jinja
