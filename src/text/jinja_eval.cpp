// Tree-walking evaluator of the Jinja subset, its statements: render, output, if/for/set/macro/call/filter/with
// blocks and assignment, writing into one output buffer (macros and block sets capture into their own). The
// expressions are jinja_eval_expr.cpp's. A RuntimeError thrown deep inside an expression becomes a jinja::Error at
// the innermost node, so the message names the template line and column of the construct that failed.
#include "text/jinja_eval.h"

#include "text/jinja_lex.h"
#include "text/jinja_parse.h"

namespace hotrod::text::jinja {
namespace {

// Restores the innermost scope when a block ends, also on the way out of an error.
struct ScopeGuard {
    Evaluator::Scope*& slot;
    Evaluator::Scope* saved;
    ScopeGuard(Evaluator::Scope*& s, Evaluator::Scope* next) : slot(s), saved(s) { slot = next; }
    ~ScopeGuard() { slot = saved; }
};

}  // namespace

Value* Evaluator::Scope::find(const std::string& name) {
    for (Scope* s = this; s; s = s->parent) {
        auto it = s->vars.find(name);
        if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
}

Evaluator::Evaluator(const std::string& name, const RenderOptions& opts) : name_(name), opts_(opts) {
    add_builtin_globals(globals_.vars);
}

void Evaluator::fail(int line, int col, const std::string& msg) const { throw Error(name_, line, col, msg); }

void Evaluator::count_iterations(int64_t n) {
    n_iterations_ += n;
    if (n_iterations_ > opts_.max_loop_iterations)
        throw RuntimeError("loop iteration limit of " + std::to_string(opts_.max_loop_iterations) + " exceeded");
}

void Evaluator::check_size(size_t n_bytes) const {
    if (n_bytes > opts_.max_output_bytes)
        throw RuntimeError("output larger than the limit of " + std::to_string(opts_.max_output_bytes) + " bytes");
}

std::string Evaluator::render(const Body& body, const Value& context) {
    Scope top;
    top.parent = &globals_;
    if (context.is_mapping())
        for (const auto& [k, v] : context.dict->items) top.vars[k.str()] = v;
    std::string out;
    top_ = scope_ = &top;
    out_ = &out;
    exec_body(body);
    top_ = scope_ = nullptr;
    out_ = nullptr;
    return out;
}

Evaluator::Flow Evaluator::exec_body(const Body& body) {
    for (const auto& n : body) {
        Flow f = exec(*n);
        if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
}

std::string Evaluator::capture(const Body& body, Scope* parent) {
    std::string buf;
    std::string* saved = out_;
    out_ = &buf;
    Scope s;
    s.parent = parent;
    {
        ScopeGuard g(scope_, &s);
        try {
            exec_body(body);
        } catch (...) {
            out_ = saved;
            throw;
        }
    }
    out_ = saved;
    return buf;
}

Evaluator::Flow Evaluator::exec(const Node& n) {
    try {
        switch (n.kind) {
            case Node::Kind::Text:
                *out_ += n.text;
                check_size(out_->size());
                return Flow::Normal;
            case Node::Kind::Output:
                *out_ += eval(*n.expr).str();
                check_size(out_->size());
                return Flow::Normal;
            case Node::Kind::If:
                for (const auto& [cond, body] : n.branches)
                    if (eval(*cond).truthy()) return exec_body(body);
                return exec_body(n.else_body);
            case Node::Kind::For: return exec_for(n);
            case Node::Kind::Set: assign(n.target, eval(*n.expr), n.line, n.col); return Flow::Normal;
            case Node::Kind::SetBlock: {
                Value v = Value::string(capture(n.body, scope_));
                if (n.filter) {
                    Expr holder;
                    holder.kind = Expr::Kind::Literal;
                    holder.literal = v;
                    // Apply the operand-less filter chain to the captured text.
                    std::vector<const Expr*> chain;
                    for (const Expr* f = n.filter.get(); f; f = f->args[0].get()) chain.push_back(f);
                    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
                        Args a = eval_args(**it, 1);
                        v = apply_filter((*it)->name, v, a);
                    }
                }
                assign(n.target, v, n.line, n.col);
                return Flow::Normal;
            }
            case Node::Kind::Macro: scope_->vars[n.text] = make_macro(n, top_, nullptr); return Flow::Normal;
            case Node::Kind::CallBlock: {
                Value caller = make_macro(n, scope_, &n);
                const Expr& call = *n.expr;
                Value callee = eval(*call.args[0]);
                Args a = eval_args(call, 1);
                a.kw.emplace_back("caller", caller);
                *out_ += this->call(callee, a).str();
                return Flow::Normal;
            }
            case Node::Kind::FilterBlock: {
                Value v = Value::string(capture(n.body, scope_));
                std::vector<const Expr*> chain;
                for (const Expr* f = n.filter.get(); f; f = f->args[0].get()) chain.push_back(f);
                for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
                    Args a = eval_args(**it, 1);
                    v = apply_filter((*it)->name, v, a);
                }
                *out_ += v.str();
                return Flow::Normal;
            }
            case Node::Kind::Scope: {
                Scope s;
                s.parent = scope_;
                for (const auto& [t, e] : n.with_vars) {
                    Value v = eval(*e);
                    ScopeGuard g(scope_, &s);
                    assign(t, v, n.line, n.col);
                }
                ScopeGuard g(scope_, &s);
                return exec_body(n.body);
            }
            case Node::Kind::Break: return Flow::Break;
            case Node::Kind::Continue: return Flow::Continue;
        }
    } catch (const RuntimeError& e) {
        fail(n.line, n.col, e.what());
    }
    return Flow::Normal;
}

void Evaluator::assign(const Target& t, const Value& v, int line, int col) {
    if (!t.attr.empty()) {
        Value* ns = scope_->find(t.names[0]);
        if (!ns || ns->kind != Value::Kind::Namespace)
            fail(line, col, "cannot assign attribute '" + t.attr + "' on non-namespace object '" + t.names[0] + "'");
        ns->dict->set(Value::string(t.attr), v);
        return;
    }
    if (t.names.size() == 1) {
        scope_->vars[t.names[0]] = v;
        return;
    }
    List items = v.iterate();
    if (items.size() != t.names.size())
        fail(line, col, "cannot unpack " + std::to_string(items.size()) + " values into " + std::to_string(t.names.size()) + " names");
    for (size_t k = 0; k < items.size(); ++k) scope_->vars[t.names[k]] = items[k];
}

Evaluator::Flow Evaluator::exec_for(const Node& n) {
    Value seq = eval(*n.expr);
    List items = seq.iterate();
    Scope* outer = scope_;
    if (n.cond) {
        List kept;
        for (const auto& item : items) {
            Scope s;
            s.parent = outer;
            ScopeGuard g(scope_, &s);
            assign(n.target, item, n.line, n.col);
            if (eval(*n.cond).truthy()) kept.push_back(item);
        }
        items = std::move(kept);
    }
    if (items.empty()) {
        Scope s;
        s.parent = outer;
        ScopeGuard g(scope_, &s);
        exec_body(n.else_body);
        return Flow::Normal;
    }
    const int64_t n_items = static_cast<int64_t>(items.size());
    for (int64_t k = 0; k < n_items; ++k) {
        count_iterations(1);
        Scope s;
        s.parent = outer;
        ScopeGuard g(scope_, &s);
        assign(n.target, items[k], n.line, n.col);
        Value loop = Value::make_dict();
        Dict& d = *loop.dict;
        d.set(Value::string("index"), Value::integer(k + 1));
        d.set(Value::string("index0"), Value::integer(k));
        d.set(Value::string("revindex"), Value::integer(n_items - k));
        d.set(Value::string("revindex0"), Value::integer(n_items - k - 1));
        d.set(Value::string("first"), Value::boolean(k == 0));
        d.set(Value::string("last"), Value::boolean(k == n_items - 1));
        d.set(Value::string("length"), Value::integer(n_items));
        d.set(Value::string("depth"), Value::integer(1));
        d.set(Value::string("depth0"), Value::integer(0));
        if (k > 0) d.set(Value::string("previtem"), items[k - 1]);
        if (k + 1 < n_items) d.set(Value::string("nextitem"), items[k + 1]);
        d.set(Value::string("cycle"), Value::callable("cycle", [k](Args& a, Evaluator&) {
                  if (a.pos.empty()) throw RuntimeError("no items for cycling given");
                  return a.pos[static_cast<size_t>(k) % a.pos.size()];
              }));
        s.vars["loop"] = loop;
        Flow f = exec_body(n.body);
        if (f == Flow::Break) break;
    }
    return Flow::Normal;
}

Value Evaluator::make_macro(const Node& n, Scope* defining, const Node* call_body) {
    const Node* node = &n;
    return Value::callable(call_body ? "caller" : n.text, [node, defining, call_body](Args& args, Evaluator& ev) {
        if (++ev.call_depth_ > ev.opts_.max_call_depth) {
            --ev.call_depth_;
            throw RuntimeError("macro call depth limit of " + std::to_string(ev.opts_.max_call_depth) + " exceeded");
        }
        Scope s;
        s.parent = defining;
        List varargs;
        Value kwargs = Value::make_dict();
        for (size_t k = 0; k < args.pos.size(); ++k) {
            if (k < node->params.size()) s.vars[node->params[k].first] = args.pos[k];
            else varargs.push_back(args.pos[k]);
        }
        for (const auto& [key, v] : args.kw) {
            bool is_param = false;
            for (const auto& p : node->params) is_param |= p.first == key;
            if (is_param || key == "caller") s.vars[key] = v;
            else kwargs.dict->set(Value::string(key), v);
        }
        std::string out;
        {
            ScopeGuard g(ev.scope_, &s);
            for (size_t k = args.pos.size(); k < node->params.size(); ++k) {
                const auto& [pname, def] = node->params[k];
                if (s.vars.count(pname)) continue;
                s.vars[pname] = def ? ev.eval(*def) : Value::undefined("parameter '" + pname + "' was not provided");
            }
            s.vars["varargs"] = Value::make_list(std::move(varargs));
            s.vars["kwargs"] = kwargs;
            std::string* saved = ev.out_;
            ev.out_ = &out;
            try {
                ev.exec_body(node->body);
            } catch (...) {
                ev.out_ = saved;
                --ev.call_depth_;
                throw;
            }
            ev.out_ = saved;
        }
        --ev.call_depth_;
        return Value::string(std::move(out));
    });
}

Template::Template(std::string_view source, std::string name) : name_(std::move(name)) {
    body_ = parse(lex(source, name_), name_);
}

std::string Template::render(const Value& context, const RenderOptions& opts) const {
    Evaluator ev(name_, opts);
    return ev.render(body_, context);
}

std::string Template::render(const nlohmann::ordered_json& context, const RenderOptions& opts) const {
    return render(from_json(context), opts);
}

}  // namespace hotrod::text::jinja
