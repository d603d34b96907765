// Tree-walking evaluator of the Jinja subset. Statements write into one output buffer (macros and
// block sets capture into their own); expressions follow Python semantics through jinja_value.cpp.
// A RuntimeError thrown deep inside an expression becomes a jinja::Error at the innermost node, so
// the message names the template line and column of the construct that failed.
#include "text/jinja_eval.h"

#include <cmath>
#include <cstdio>

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

int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

int64_t floor_mod(int64_t a, int64_t b) {
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}

bool contains(const Value& container, const Value& item) {
    switch (container.kind) {
        case Value::Kind::String:
            if (!item.is_string()) throw RuntimeError("'in <string>' requires string as left operand, not " + item.type_name());
            return container.s.find(item.s) != std::string::npos;
        case Value::Kind::List: case Value::Kind::Tuple:
            for (const auto& x : *container.list)
                if (values_equal(x, item)) return true;
            return false;
        case Value::Kind::Dict: case Value::Kind::Namespace: return container.dict->find(item) != nullptr;
        case Value::Kind::Undefined: return false;
        default: throw RuntimeError("argument of type '" + container.type_name() + "' is not iterable");
    }
}

// Python slice bounds for a sequence of n items.
std::vector<int64_t> slice_indices(int64_t n, const Value& start, const Value& stop, const Value& step_v) {
    int64_t step = step_v.is_none() || step_v.is_undefined() ? 1 : step_v.as_int();
    if (step == 0) throw RuntimeError("slice step cannot be zero");
    auto clamp = [&](const Value& v, int64_t def) -> int64_t {
        if (v.is_none() || v.is_undefined()) return def;
        if (!v.is_int()) throw RuntimeError("slice indices must be integers or None");
        int64_t x = v.as_int();
        if (x < 0) x += n;
        if (step > 0) return std::clamp<int64_t>(x, 0, n);
        return std::clamp<int64_t>(x, -1, n - 1);
    };
    int64_t lo = clamp(start, step > 0 ? 0 : n - 1);
    int64_t hi = clamp(stop, step > 0 ? n : -1);
    std::vector<int64_t> idx;
    if (step > 0)
        for (int64_t k = lo; k < hi; k += step) idx.push_back(k);
    else
        for (int64_t k = lo; k > hi; k += step) idx.push_back(k);
    return idx;
}

}  // namespace

int64_t py_float_to_int(double d) {
    if (std::isnan(d)) throw RuntimeError("cannot convert float NaN to integer");
    if (std::isinf(d)) throw RuntimeError("cannot convert float infinity to integer");
    // [-2^63, 2^63): both bounds are exact doubles.
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%g", d);
        throw RuntimeError(std::string("int(") + buf + ") does not fit in 64 bits");
    }
    return static_cast<int64_t>(d);
}

// Python's `str % args` for the conversions templates use: %s %r %d %i %f %%.
std::string percent_format(const std::string& fmt, const Value& args) {
    List items = args.kind == Value::Kind::Tuple ? *args.list : List{args};
    std::string out;
    size_t next = 0;
    for (size_t k = 0; k < fmt.size(); ++k) {
        if (fmt[k] != '%') {
            out += fmt[k];
            continue;
        }
        if (++k >= fmt.size()) throw RuntimeError("incomplete format");
        char c = fmt[k];
        if (c == '%') {
            out += '%';
            continue;
        }
        if (next >= items.size()) throw RuntimeError("not enough arguments for format string");
        const Value& v = items[next++];
        if (c == 's') out += v.str();
        else if (c == 'r') out += v.repr();
        else if (c == 'd' || c == 'i') {
            if (!v.is_number()) throw RuntimeError("%d format: a real number is required, not " + v.type_name());
            if (v.kind == Value::Kind::Float) {
                // Python prints the float's integer part exactly, however large (a big integer); %.0f of the
                // truncated value is that text. Adding 0.0 turns -0.0 into 0, which Python prints as "0".
                if (!std::isfinite(v.f)) (void)py_float_to_int(v.f);  // throws Python's error
                char buf[400];
                std::snprintf(buf, sizeof buf, "%.0f", std::trunc(v.f) + 0.0);
                out += buf;
            } else {
                out += std::to_string(v.as_int());
            }
        } else if (c == 'f') {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%f", v.as_double());
            out += buf;
        } else {
            throw RuntimeError(std::string("unsupported format character '") + c + "'");
        }
    }
    if (next < items.size()) throw RuntimeError("not all arguments converted during string formatting");
    return out;
}

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

Args Evaluator::eval_args(const Expr& e, size_t first) {
    Args a;
    for (size_t k = first; k < e.args.size(); ++k) a.pos.push_back(eval(*e.args[k]));
    for (const auto& [key, x] : e.kwargs) a.kw.emplace_back(key, eval(*x));
    return a;
}

Value Evaluator::call(const Value& callee, Args& args) {
    if (callee.is_undefined()) callee.throw_undefined();
    if (callee.kind != Value::Kind::Callable) throw RuntimeError("'" + callee.type_name() + "' object is not callable");
    return callee.fn->fn(args, *this);
}

Value Evaluator::apply_filter(const std::string& name, const Value& operand, Args& args) {
    FilterFn f = find_filter(name);
    if (!f) throw RuntimeError("unknown filter '" + name + "'");
    return f(operand, args, *this);
}

bool Evaluator::apply_test(const std::string& name, const Value& operand, Args& args) {
    TestFn t = find_test(name);
    if (!t) throw RuntimeError("unknown test '" + name + "'");
    return t(operand, args, *this);
}

Value Evaluator::get_attr(const Value& obj, const std::string& attr) {
    switch (obj.kind) {
        case Value::Kind::Undefined: obj.throw_undefined();
        case Value::Kind::Namespace: {
            const Value* v = obj.dict->find(attr);
            return v ? *v : Value::undefined("'Namespace' object has no attribute '" + attr + "'");
        }
        case Value::Kind::Dict: {
            Value m = find_method(obj, attr);
            if (!m.is_undefined()) return m;
            const Value* v = obj.dict->find(attr);
            return v ? *v : Value::undefined("'dict object' has no attribute '" + attr + "'");
        }
        case Value::Kind::None: return Value::undefined("'None' has no attribute '" + attr + "'");
        default: {
            Value m = find_method(obj, attr);
            if (!m.is_undefined()) return m;
            return Value::undefined("'" + obj.type_name() + " object' has no attribute '" + attr + "'");
        }
    }
}

Value Evaluator::get_item(const Value& obj, const Value& key) {
    switch (obj.kind) {
        case Value::Kind::Undefined: obj.throw_undefined();
        case Value::Kind::Dict: case Value::Kind::Namespace: {
            if (const Value* v = obj.dict->find(key)) return *v;
            if (key.is_string()) return get_attr(obj, key.s);
            return Value::undefined("'dict object' has no attribute " + key.repr());
        }
        case Value::Kind::List: case Value::Kind::Tuple: case Value::Kind::String: {
            if (key.is_string()) return get_attr(obj, key.s);
            if (!key.is_int()) throw RuntimeError(obj.type_name() + " indices must be integers or slices, not " + key.type_name());
            int64_t n = obj.length();
            int64_t k = key.as_int();
            if (k < 0) k += n;
            if (k < 0 || k >= n) return Value::undefined(obj.type_name() + " object has no element " + std::to_string(key.as_int()));
            if (obj.is_string()) {
                if (is_ascii(obj.s)) return Value::string(obj.s.substr(static_cast<size_t>(k), 1));
                return Value::string(utf8_encode(std::u32string(1, utf8_decode(obj.s)[static_cast<size_t>(k)])));
            }
            return (*obj.list)[static_cast<size_t>(k)];
        }
        case Value::Kind::None: return Value::undefined("None has no element " + key.str());
        default: return Value::undefined("'" + obj.type_name() + " object' has no attribute " + key.repr());
    }
}

Value Evaluator::eval_slice(const Value& obj, const Expr& e) {
    Value start = e.args[1] ? eval(*e.args[1]) : Value::none();
    Value stop = e.args[2] ? eval(*e.args[2]) : Value::none();
    Value step = e.args[3] ? eval(*e.args[3]) : Value::none();
    if (obj.is_undefined()) obj.throw_undefined();
    if (obj.is_string()) {
        std::u32string cps = utf8_decode(obj.s);
        std::u32string out;
        for (int64_t k : slice_indices(static_cast<int64_t>(cps.size()), start, stop, step)) out += cps[static_cast<size_t>(k)];
        return Value::string(utf8_encode(out));
    }
    if (obj.is_sequence()) {
        List out;
        for (int64_t k : slice_indices(static_cast<int64_t>(obj.list->size()), start, stop, step))
            out.push_back((*obj.list)[static_cast<size_t>(k)]);
        return obj.kind == Value::Kind::Tuple ? Value::make_tuple(std::move(out)) : Value::make_list(std::move(out));
    }
    throw RuntimeError("'" + obj.type_name() + "' object is not subscriptable");
}

Value Evaluator::eval(const Expr& e) {
    try {
        switch (e.kind) {
            case Expr::Kind::Literal: return e.literal;
            case Expr::Kind::Name: {
                Value* v = scope_->find(e.name);
                return v ? *v : Value::undefined("'" + e.name + "' is undefined");
            }
            case Expr::Kind::Attr: return get_attr(eval(*e.args[0]), e.name);
            case Expr::Kind::Item: {
                Value obj = eval(*e.args[0]);
                return get_item(obj, eval(*e.args[1]));
            }
            case Expr::Kind::Slice: return eval_slice(eval(*e.args[0]), e);
            case Expr::Kind::Call: {
                Value callee = eval(*e.args[0]);
                Args a = eval_args(e, 1);
                return call(callee, a);
            }
            case Expr::Kind::Filter: {
                Value operand = eval(*e.args[0]);
                Args a = eval_args(e, 1);
                return apply_filter(e.name, operand, a);
            }
            case Expr::Kind::Test: {
                Value operand = eval(*e.args[0]);
                Args a = eval_args(e, 1);
                return Value::boolean(apply_test(e.name, operand, a) != e.negate);
            }
            case Expr::Kind::Unary: {
                Value v = eval(*e.args[0]);
                if (e.name == "not") return Value::boolean(!v.truthy());
                if (v.is_undefined()) v.throw_undefined();
                if (!v.is_number()) throw RuntimeError("bad operand type for unary " + e.name + ": '" + v.type_name() + "'");
                if (e.name == "+") return v.kind == Value::Kind::Bool ? Value::integer(v.as_int()) : v;
                return v.kind == Value::Kind::Float ? Value::real(-v.f) : Value::integer(-v.as_int());
            }
            case Expr::Kind::Binary: return eval_binary(e);
            case Expr::Kind::Cond:
                if (eval(*e.args[0]).truthy()) return eval(*e.args[1]);
                return e.args[2] ? eval(*e.args[2]) : Value::undefined("the inline if-expression evaluated to false and no else section was defined");
            case Expr::Kind::List: case Expr::Kind::Tuple: {
                List items;
                for (const auto& x : e.args) items.push_back(eval(*x));
                return e.kind == Expr::Kind::List ? Value::make_list(std::move(items)) : Value::make_tuple(std::move(items));
            }
            case Expr::Kind::Dict: {
                Value d = Value::make_dict();
                for (size_t k = 0; k + 1 < e.args.size(); k += 2) d.dict->set(eval(*e.args[k]), eval(*e.args[k + 1]));
                return d;
            }
        }
    } catch (const RuntimeError& ex) {
        fail(e.line, e.col, ex.what());
    }
    return Value::undefined();
}

Value Evaluator::eval_binary(const Expr& e) {
    const std::string& op = e.name;
    Value a = eval(*e.args[0]);
    if (op == "and") return a.truthy() ? eval(*e.args[1]) : a;
    if (op == "or") return a.truthy() ? a : eval(*e.args[1]);
    Value b = eval(*e.args[1]);
    if (op == "~") {
        std::string s = a.str() + b.str();
        check_size(s.size());
        return Value::string(std::move(s));
    }
    if (op == "==") return Value::boolean(values_equal(a, b));
    if (op == "!=") return Value::boolean(!values_equal(a, b));
    if (op == "in") return Value::boolean(contains(b, a));
    if (op == "not in") return Value::boolean(!contains(b, a));
    if (a.is_undefined()) a.throw_undefined();
    if (b.is_undefined()) b.throw_undefined();
    if (op == "<") return Value::boolean(values_less(a, b));
    if (op == ">") return Value::boolean(values_less(b, a));
    if (op == "<=") return Value::boolean(!values_less(b, a));
    if (op == ">=") return Value::boolean(!values_less(a, b));
    auto unsupported = [&]() -> RuntimeError {
        if (op == "+" && a.is_string())
            return RuntimeError("can only concatenate str (not \"" + b.type_name() + "\") to str");
        if (op == "+" && a.kind == Value::Kind::List)
            return RuntimeError("can only concatenate list (not \"" + b.type_name() + "\") to list");
        return RuntimeError("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
    };
    if (a.is_number() && b.is_number()) {
        bool fl = a.kind == Value::Kind::Float || b.kind == Value::Kind::Float;
        int64_t x = a.as_int(), y = b.as_int(), r = 0;
        double fx = a.as_double(), fy = b.as_double();
        if (op == "+") {
            if (fl) return Value::real(fx + fy);
            if (__builtin_add_overflow(x, y, &r)) throw RuntimeError("integer overflow");
            return Value::integer(r);
        }
        if (op == "-") {
            if (fl) return Value::real(fx - fy);
            if (__builtin_sub_overflow(x, y, &r)) throw RuntimeError("integer overflow");
            return Value::integer(r);
        }
        if (op == "*") {
            if (fl) return Value::real(fx * fy);
            if (__builtin_mul_overflow(x, y, &r)) throw RuntimeError("integer overflow");
            return Value::integer(r);
        }
        if (op == "/") {
            if (fy == 0.0) throw RuntimeError("division by zero");
            return Value::real(fx / fy);
        }
        if (op == "//" || op == "%") {
            if (fy == 0.0) throw RuntimeError(op == "%" ? "modulo by zero" : "integer division or modulo by zero");
            if (!fl) {
                if (x == INT64_MIN && y == -1) throw RuntimeError("integer overflow");
                return Value::integer(op == "//" ? floor_div(x, y) : floor_mod(x, y));
            }
            double m = std::fmod(fx, fy);
            if (m != 0 && ((m < 0) != (fy < 0))) m += fy;
            return Value::real(op == "%" ? m : std::floor(fx / fy));
        }
        if (op == "**") {
            if (!fl && y >= 0) {
                int64_t acc = 1;
                for (int64_t k = 0; k < y; ++k) {
                    if (__builtin_mul_overflow(acc, x, &acc)) throw RuntimeError("integer overflow");
                    if (acc == 0 || acc == 1) break;
                }
                if (acc == 1 && x == -1 && y % 2 == 1) acc = -1;
                return Value::integer(acc);
            }
            return Value::real(std::pow(fx, fy));
        }
    }
    if (op == "+") {
        if (a.is_string() && b.is_string()) {
            check_size(a.s.size() + b.s.size());
            return Value::string(a.s + b.s);
        }
        if (a.is_sequence() && a.kind == b.kind) {
            List items = *a.list;
            items.insert(items.end(), b.list->begin(), b.list->end());
            return a.kind == Value::Kind::Tuple ? Value::make_tuple(std::move(items)) : Value::make_list(std::move(items));
        }
        throw unsupported();
    }
    if (op == "*") {
        const Value& seq = a.is_int() ? b : a;
        const Value& cnt = a.is_int() ? a : b;
        if (cnt.is_int() && (seq.is_string() || seq.is_sequence())) {
            int64_t n = std::max<int64_t>(0, cnt.as_int());
            size_t unit = seq.is_string() ? seq.s.size() : seq.list->size() * sizeof(Value);
            if (unit && static_cast<uint64_t>(n) > opts_.max_output_bytes / unit) throw RuntimeError("repeated sequence too large");
            if (seq.is_string()) {
                std::string s;
                for (int64_t k = 0; k < n; ++k) s += seq.s;
                return Value::string(std::move(s));
            }
            List items;
            for (int64_t k = 0; k < n; ++k) items.insert(items.end(), seq.list->begin(), seq.list->end());
            return Value::make_list(std::move(items));
        }
        throw unsupported();
    }
    if (op == "%" && a.is_string()) return Value::string(percent_format(a.s, b));
    throw unsupported();
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
