// The Jinja parser's statements (jinja_parser.h): the template body and every {% ... %} tag, and parse().
#include "text/jinja_parse.h"

#include "text/jinja_parser.h"

namespace hotrod::text::jinja {

Body Parser::parse_body(std::initializer_list<const char*> ends, std::string& stop) {
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

std::unique_ptr<Node> Parser::parse_statement() {
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
Target Parser::parse_target(bool allow_attr) {
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

void Parser::parse_params(Node& n) {
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
ExprPtr Parser::parse_filter_chain() {
    ExprPtr node;
    if (is_op("|")) advance();
    node = parse_filter(nullptr);
    while (is_op("|")) {
        advance();
        node = parse_filter(std::move(node));
    }
    return node;
}

Body parse(const std::vector<Token>& tokens, const std::string& name) {
    return Parser(tokens, name).parse_template();
}

}  // namespace hotrod::text::jinja
