// The Jinja parser's expressions (jinja_parser.h): conditional, boolean, comparison and arithmetic levels, unary,
// primaries, postfix (attribute, subscript, call) and filters/tests.
#include "text/jinja_parser.h"

namespace hotrod::text::jinja {

ExprPtr Parser::parse_tuple(bool with_condexpr) {
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

ExprPtr Parser::parse_expression(bool with_condexpr) {
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

ExprPtr Parser::binary(const Token& at, std::string op, ExprPtr l, ExprPtr r) {
    auto b = make(Expr::Kind::Binary, at);
    b->name = std::move(op);
    b->args.push_back(std::move(l));
    b->args.push_back(std::move(r));
    return b;
}

ExprPtr Parser::parse_or() {
    ExprPtr l = parse_and();
    while (is_name("or")) {
        const Token at = cur();
        advance();
        l = binary(at, "or", std::move(l), parse_and());
    }
    return l;
}

ExprPtr Parser::parse_and() {
    ExprPtr l = parse_not();
    while (is_name("and")) {
        const Token at = cur();
        advance();
        l = binary(at, "and", std::move(l), parse_not());
    }
    return l;
}

ExprPtr Parser::parse_not() {
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

ExprPtr Parser::parse_compare() {
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

ExprPtr Parser::parse_math1() {
    ExprPtr l = parse_concat();
    while (is_op("+") || is_op("-")) {
        const Token at = cur();
        advance();
        l = binary(at, at.text, std::move(l), parse_concat());
    }
    return l;
}

ExprPtr Parser::parse_concat() {
    ExprPtr l = parse_math2();
    while (is_op("~")) {
        const Token at = cur();
        advance();
        l = binary(at, "~", std::move(l), parse_math2());
    }
    return l;
}

ExprPtr Parser::parse_math2() {
    ExprPtr l = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
        const Token at = cur();
        advance();
        l = binary(at, at.text, std::move(l), parse_pow());
    }
    return l;
}

ExprPtr Parser::parse_pow() {
    ExprPtr l = parse_unary(true);
    while (is_op("**")) {
        const Token at = cur();
        advance();
        l = binary(at, "**", std::move(l), parse_unary(true));
    }
    return l;
}

ExprPtr Parser::parse_unary(bool with_filter) {
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

ExprPtr Parser::parse_primary() {
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

ExprPtr Parser::parse_postfix(ExprPtr node) {
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

ExprPtr Parser::parse_subscript(ExprPtr obj, const Token& at) {
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

void Parser::parse_args(Expr& call) {
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

ExprPtr Parser::parse_call(ExprPtr callee) {
    auto call = make(Expr::Kind::Call, cur());
    call->line = callee->line;  // errors of a call point at what is called
    call->col = callee->col;
    call->args.push_back(std::move(callee));
    parse_args(*call);
    return call;
}

ExprPtr Parser::parse_filter(ExprPtr operand) {
    const Token at = cur();
    auto f = make(Expr::Kind::Filter, at);
    f->name = expect_name();
    f->args.push_back(std::move(operand));
    if (is_op("(")) parse_args(*f);
    return f;
}

ExprPtr Parser::parse_filter_expr(ExprPtr node) {
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

}  // namespace hotrod::text::jinja
