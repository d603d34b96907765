// Recursive-descent parser for the Jinja subset. Precedence, loosest first (as jinja2):
// `a if c else b` < or < and < not < comparisons/in < + - < ~ < * / // % < ** < unary - + < postfix
// (. [] ()) and filters/tests (| is), so `-x|abs` filters `-x` and `a ~ b|upper` filters only b.
#include "text/jinja_parse.h"

#include <initializer_list>

namespace hotrod::text::jinja {
namespace {

// Nesting bound: a pathological template must fail with an error, not overflow the stack.
constexpr int kMaxDepth = 200;

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
            if (++p.depth_ > kMaxDepth) p.fail(p.cur(), "nesting deeper than " + std::to_string(kMaxDepth));
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

    // ---- statements ----

    Body parse_body(std::initializer_list<const char*> ends, std::string& stop) {
        DepthGuard guard(*this);
        Body body;
        while (true) {
            const Token& tok = cur();
            if (tok.kind == TokKind::Eof) {
                if (ends.size() == 0) return body;
                fail(tok, std::string("unexpected end of template, expected '") + *(ends.end() - 1) + "'");
            }
            if (tok.kind == TokKind::Text) {
                auto n = std::make_unique<Node>();
                n->kind = Node::Kind::Text;
                n->text = tok.text;
                body.push_back(std::move(n));
                advance();
            } else if (tok.kind == TokKind::VarBegin) {
                auto n = std::make_unique<Node>();
                n->kind = Node::Kind::Output;
                n->line = tok.line;
                n->col = tok.col;
                advance();
                n->expr = parse_tuple(true);
                expect_kind(TokKind::VarEnd, "'}}'");
                body.push_back(std::move(n));
            } else if (tok.kind == TokKind::BlockBegin) {
                const Token& kw = peek();
                if (kw.kind != TokKind::Name) fail(kw, "expected a statement name, found " + describe(kw));
                for (const char* e : ends)
                    if (kw.text == e) {
                        advance();
                        stop = kw.text;
                        advance();
                        return body;
                    }
                advance();
                body.push_back(parse_statement());
            } else {
                fail(tok, "unexpected " + describe(tok));
            }
        }
    }

    std::unique_ptr<Node> new_node(Node::Kind kind, const Token& at) {
        auto n = std::make_unique<Node>();
        n->kind = kind;
        n->line = at.line;
        n->col = at.col;
        return n;
    }

    void end_tag() { expect_kind(TokKind::BlockEnd, "'%}'"); }

    std::unique_ptr<Node> parse_statement() {
        const Token kw = cur();
        advance();
        const std::string& k = kw.text;
        std::string stop;
        if (k == "if") {
            auto n = new_node(Node::Kind::If, kw);
            ExprPtr cond = parse_tuple(true);
            end_tag();
            while (true) {
                Body b = parse_body({"elif", "else", "endif"}, stop);
                n->branches.emplace_back(std::move(cond), std::move(b));
                if (stop == "elif") {
                    cond = parse_tuple(true);
                    end_tag();
                    continue;
                }
                if (stop == "else") {
                    end_tag();
                    n->else_body = parse_body({"endif"}, stop);
                }
                end_tag();
                return n;
            }
        }
        if (k == "for") {
            auto n = new_node(Node::Kind::For, kw);
            n->target = parse_target(false);
            if (!is_name("in")) fail(cur(), "expected 'in' in for loop, found " + describe(cur()));
            advance();
            n->expr = parse_tuple(false);
            if (is_name("if")) {
                advance();
                n->cond = parse_expression(true);
            }
            if (is_name("recursive")) {
                advance();
                n->recursive = true;
            }
            end_tag();
            n->body = parse_body({"else", "endfor"}, stop);
            if (stop == "else") {
                end_tag();
                n->else_body = parse_body({"endfor"}, stop);
            }
            end_tag();
            return n;
        }
        if (k == "set") {
            Target target = parse_target(true);
            if (is_op("=")) {
                advance();
                auto n = new_node(Node::Kind::Set, kw);
                n->target = std::move(target);
                n->expr = parse_tuple(true);
                end_tag();
                return n;
            }
            auto n = new_node(Node::Kind::SetBlock, kw);
            n->target = std::move(target);
            if (is_op("|")) n->filter = parse_filter_chain();
            end_tag();
            n->body = parse_body({"endset"}, stop);
            end_tag();
            return n;
        }
        if (k == "macro") {
            auto n = new_node(Node::Kind::Macro, kw);
            n->text = expect_name();
            parse_params(*n);
            end_tag();
            n->body = parse_body({"endmacro"}, stop);
            if (cur().kind == TokKind::Name) advance();  // `{% endmacro name %}`
            end_tag();
            return n;
        }
        if (k == "call") {
            auto n = new_node(Node::Kind::CallBlock, kw);
            if (is_op("(")) parse_params(*n);
            n->expr = parse_expression(true);
            if (n->expr->kind != Expr::Kind::Call) fail(kw, "call block needs a macro call");
            end_tag();
            n->body = parse_body({"endcall"}, stop);
            end_tag();
            return n;
        }
        if (k == "filter") {
            auto n = new_node(Node::Kind::FilterBlock, kw);
            n->filter = parse_filter_chain();
            end_tag();
            n->body = parse_body({"endfilter"}, stop);
            end_tag();
            return n;
        }
        if (k == "generation" || k == "with") {
            auto n = new_node(Node::Kind::Scope, kw);
            while (k == "with" && cur().kind == TokKind::Name) {
                Target t = parse_target(false);
                expect_op("=");
                n->with_vars.emplace_back(std::move(t), parse_expression(true));
                if (!is_op(",")) break;
                advance();
            }
            end_tag();
            n->body = parse_body({k == "with" ? "endwith" : "endgeneration"}, stop);
            end_tag();
            return n;
        }
        if (k == "break" || k == "continue") {
            auto n = new_node(k == "break" ? Node::Kind::Break : Node::Kind::Continue, kw);
            end_tag();
            return n;
        }
        if (k == "include" || k == "import" || k == "from" || k == "extends" || k == "block")
            fail(kw, "unsupported tag '" + k + "' (templates are rendered without a loader)");
        fail(kw, "unknown tag '" + k + "'");
    }

    // `x`, `k, v`, `(k, v)`, or (for set) `ns.attr`.
    Target parse_target(bool allow_attr) {
        Target t;
        bool paren = is_op("(");
        if (paren) advance();
        t.names.push_back(expect_name());
        if (allow_attr && is_op(".")) {
            advance();
            t.attr = expect_name();
            return t;
        }
        while (is_op(",")) {
            advance();
            if (cur().kind != TokKind::Name) break;
            t.names.push_back(expect_name());
        }
        if (paren) expect_op(")");
        return t;
    }

    void parse_params(Node& n) {
        expect_op("(");
        while (!is_op(")")) {
            std::string pname = expect_name();
            ExprPtr def;
            if (is_op("=")) {
                advance();
                def = parse_expression(true);
            }
            n.params.emplace_back(std::move(pname), std::move(def));
            if (!is_op(",")) break;
            advance();
        }
        expect_op(")");
    }

    // `| f(args) | g` with no operand (filter blocks and `set x | f %}`).
    ExprPtr parse_filter_chain() {
        ExprPtr node;
        if (is_op("|")) advance();
        node = parse_filter(nullptr);
        while (is_op("|")) {
            advance();
            node = parse_filter(std::move(node));
        }
        return node;
    }

    // ---- expressions ----

    ExprPtr parse_tuple(bool with_condexpr) {
        const Token at = cur();
        ExprPtr first = parse_expression(with_condexpr);
        if (!is_op(",")) return first;
        auto tup = make(Expr::Kind::Tuple, at);
        tup->args.push_back(std::move(first));
        while (is_op(",")) {
            advance();
            if (cur().kind == TokKind::VarEnd || cur().kind == TokKind::BlockEnd || is_op(")") || is_name("if")) break;
            tup->args.push_back(parse_expression(with_condexpr));
        }
        return tup;
    }

    ExprPtr parse_expression(bool with_condexpr) {
        DepthGuard guard(*this);
        ExprPtr e = parse_or();
        if (!with_condexpr) return e;
        while (is_name("if")) {
            const Token at = cur();
            advance();
            auto c = make(Expr::Kind::Cond, at);
            c->args.push_back(parse_or());
            c->args.insert(c->args.begin() + 1, std::move(e));
            if (is_name("else")) {
                advance();
                c->args.push_back(parse_expression(true));
            } else {
                c->args.push_back(nullptr);
            }
            e = std::move(c);
        }
        return e;
    }

    ExprPtr binary(const Token& at, std::string op, ExprPtr l, ExprPtr r) {
        auto b = make(Expr::Kind::Binary, at);
        b->name = std::move(op);
        b->args.push_back(std::move(l));
        b->args.push_back(std::move(r));
        return b;
    }

    ExprPtr parse_or() {
        ExprPtr l = parse_and();
        while (is_name("or")) {
            const Token at = cur();
            advance();
            l = binary(at, "or", std::move(l), parse_and());
        }
        return l;
    }

    ExprPtr parse_and() {
        ExprPtr l = parse_not();
        while (is_name("and")) {
            const Token at = cur();
            advance();
            l = binary(at, "and", std::move(l), parse_not());
        }
        return l;
    }

    ExprPtr parse_not() {
        if (is_name("not")) {
            DepthGuard guard(*this);
            const Token at = cur();
            advance();
            auto u = make(Expr::Kind::Unary, at);
            u->name = "not";
            u->args.push_back(parse_not());
            return u;
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        ExprPtr l = parse_math1();
        while (true) {
            const Token at = cur();
            if (at.kind == TokKind::Op && (at.text == "==" || at.text == "!=" || at.text == "<" || at.text == "<=" ||
                                           at.text == ">" || at.text == ">=")) {
                advance();
                l = binary(at, at.text, std::move(l), parse_math1());
            } else if (is_name("in")) {
                advance();
                l = binary(at, "in", std::move(l), parse_math1());
            } else if (is_name("not") && peek().kind == TokKind::Name && peek().text == "in") {
                advance();
                advance();
                l = binary(at, "not in", std::move(l), parse_math1());
            } else {
                return l;
            }
        }
    }

    ExprPtr parse_math1() {
        ExprPtr l = parse_concat();
        while (is_op("+") || is_op("-")) {
            const Token at = cur();
            advance();
            l = binary(at, at.text, std::move(l), parse_concat());
        }
        return l;
    }

    ExprPtr parse_concat() {
        ExprPtr l = parse_math2();
        while (is_op("~")) {
            const Token at = cur();
            advance();
            l = binary(at, "~", std::move(l), parse_math2());
        }
        return l;
    }

    ExprPtr parse_math2() {
        ExprPtr l = parse_pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            const Token at = cur();
            advance();
            l = binary(at, at.text, std::move(l), parse_pow());
        }
        return l;
    }

    ExprPtr parse_pow() {
        ExprPtr l = parse_unary(true);
        while (is_op("**")) {
            const Token at = cur();
            advance();
            l = binary(at, "**", std::move(l), parse_unary(true));
        }
        return l;
    }

    ExprPtr parse_unary(bool with_filter) {
        DepthGuard guard(*this);
        const Token at = cur();
        ExprPtr node;
        if (is_op("-") || is_op("+")) {
            advance();
            node = make(Expr::Kind::Unary, at);
            node->name = at.text;
            node->args.push_back(parse_unary(false));
        } else {
            node = parse_primary();
        }
        node = parse_postfix(std::move(node));
        if (with_filter) node = parse_filter_expr(std::move(node));
        return node;
    }

    ExprPtr parse_primary() {
        const Token at = cur();
        switch (at.kind) {
            case TokKind::Name: {
                advance();
                auto lit = make(Expr::Kind::Literal, at);
                if (at.text == "true" || at.text == "True") lit->literal = Value::boolean(true);
                else if (at.text == "false" || at.text == "False") lit->literal = Value::boolean(false);
                else if (at.text == "none" || at.text == "None") lit->literal = Value::none();
                else {
                    lit->kind = Expr::Kind::Name;
                    lit->name = at.text;
                }
                return lit;
            }
            case TokKind::String: {
                std::string s;
                while (cur().kind == TokKind::String) {  // adjacent literals concatenate
                    s += cur().text;
                    advance();
                }
                auto lit = make(Expr::Kind::Literal, at);
                lit->literal = Value::string(std::move(s));
                return lit;
            }
            case TokKind::Int: case TokKind::Float: {
                advance();
                auto lit = make(Expr::Kind::Literal, at);
                lit->literal = at.kind == TokKind::Int ? Value::integer(at.i) : Value::real(at.f);
                return lit;
            }
            case TokKind::Op:
                if (at.text == "(") {
                    advance();
                    if (is_op(")")) {
                        advance();
                        return make(Expr::Kind::Tuple, at);
                    }
                    ExprPtr inner = parse_expression(true);
                    if (is_op(",")) {
                        auto tup = make(Expr::Kind::Tuple, at);
                        tup->args.push_back(std::move(inner));
                        while (is_op(",")) {
                            advance();
                            if (is_op(")")) break;
                            tup->args.push_back(parse_expression(true));
                        }
                        inner = std::move(tup);
                    }
                    expect_op(")");
                    return inner;
                }
                if (at.text == "[") {
                    advance();
                    auto list = make(Expr::Kind::List, at);
                    while (!is_op("]")) {
                        list->args.push_back(parse_expression(true));
                        if (!is_op(",")) break;
                        advance();
                    }
                    expect_op("]");
                    return list;
                }
                if (at.text == "{") {
                    advance();
                    auto dict = make(Expr::Kind::Dict, at);
                    while (!is_op("}")) {
                        dict->args.push_back(parse_expression(true));
                        expect_op(":");
                        dict->args.push_back(parse_expression(true));
                        if (!is_op(",")) break;
                        advance();
                    }
                    expect_op("}");
                    return dict;
                }
                break;
            default: break;
        }
        fail(at, "unexpected " + describe(at) + " in expression");
    }

    ExprPtr parse_postfix(ExprPtr node) {
        while (true) {
            const Token at = cur();
            if (is_op(".")) {
                advance();
                if (cur().kind == TokKind::Int) {
                    auto item = make(Expr::Kind::Item, at);
                    item->args.push_back(std::move(node));
                    auto idx = make(Expr::Kind::Literal, cur());
                    idx->literal = Value::integer(cur().i);
                    item->args.push_back(std::move(idx));
                    advance();
                    node = std::move(item);
                } else {
                    auto attr = make(Expr::Kind::Attr, at);
                    attr->name = expect_name();
                    attr->args.push_back(std::move(node));
                    node = std::move(attr);
                }
            } else if (is_op("[")) {
                advance();
                node = parse_subscript(std::move(node), at);
            } else if (is_op("(")) {
                node = parse_call(std::move(node));
            } else {
                return node;
            }
        }
    }

    ExprPtr parse_subscript(ExprPtr obj, const Token& at) {
        ExprPtr parts[3];
        int n_colons = 0;
        for (int k = 0; k < 3; ++k) {
            if (!is_op(":") && !is_op("]")) parts[k] = parse_expression(true);
            if (k < 2 && is_op(":")) {
                advance();
                ++n_colons;
            } else {
                break;
            }
        }
        expect_op("]");
        if (n_colons == 0) {
            if (!parts[0]) fail(at, "empty subscript");
            auto item = make(Expr::Kind::Item, at);
            item->args.push_back(std::move(obj));
            item->args.push_back(std::move(parts[0]));
            return item;
        }
        auto slice = make(Expr::Kind::Slice, at);
        slice->args.push_back(std::move(obj));
        for (auto& p : parts) slice->args.push_back(std::move(p));
        return slice;
    }

    void parse_args(Expr& call) {
        expect_op("(");
        while (!is_op(")")) {
            if (cur().kind == TokKind::Name && peek().kind == TokKind::Op && peek().text == "=") {
                std::string key = cur().text;
                advance();
                advance();
                call.kwargs.emplace_back(std::move(key), parse_expression(true));
            } else {
                call.args.push_back(parse_expression(true));
            }
            if (!is_op(",")) break;
            advance();
        }
        expect_op(")");
    }

    ExprPtr parse_call(ExprPtr callee) {
        auto call = make(Expr::Kind::Call, cur());
        call->line = callee->line;  // errors of a call point at what is called
        call->col = callee->col;
        call->args.push_back(std::move(callee));
        parse_args(*call);
        return call;
    }

    ExprPtr parse_filter(ExprPtr operand) {
        const Token at = cur();
        auto f = make(Expr::Kind::Filter, at);
        f->name = expect_name();
        f->args.push_back(std::move(operand));
        if (is_op("(")) parse_args(*f);
        return f;
    }

    ExprPtr parse_filter_expr(ExprPtr node) {
        while (true) {
            if (is_op("|")) {
                advance();
                node = parse_filter(std::move(node));
            } else if (is_name("is")) {
                const Token at = cur();
                advance();
                auto test = make(Expr::Kind::Test, at);
                if (is_name("not")) {
                    advance();
                    test->negate = true;
                }
                test->name = expect_name();
                test->args.push_back(std::move(node));
                const Token& nx = cur();
                bool arg_start = nx.kind == TokKind::Name || nx.kind == TokKind::String || nx.kind == TokKind::Int ||
                                 nx.kind == TokKind::Float || (nx.kind == TokKind::Op && (nx.text == "[" || nx.text == "{"));
                if (is_op("(")) {
                    parse_args(*test);
                } else if (arg_start && !is_name("else") && !is_name("or") && !is_name("and")) {
                    test->args.push_back(parse_postfix(parse_primary()));
                }
                node = std::move(test);
            } else if (is_op("(")) {
                node = parse_call(std::move(node));
            } else {
                return node;
            }
        }
    }
};

}  // namespace

Body parse(const std::vector<Token>& tokens, const std::string& name) {
    return Parser(tokens, name).parse_template();
}

}  // namespace hotrod::text::jinja
