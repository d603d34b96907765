// Tree-walking evaluator of the Jinja subset, its expressions: names, literals, attributes and items, slices,
// calls, filters and tests, and the operators with Python semantics (through jinja_value.cpp).
#include "text/jinja_eval.h"

#include <cmath>
#include <cstdio>

namespace hotrod::text::jinja {
namespace {

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

// "'<type> object' has no attribute <what>", appended piece by piece: GCC 12 reports a false -Wrestrict overlap
// for the chain of string literals and temporaries this was written as, once inlined here.
std::string no_attribute(const std::string& type, const std::string& what) {
    std::string m = "'";
    m += type;
    m += " object' has no attribute ";
    m += what;
    return m;
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
            return Value::undefined(no_attribute(obj.type_name(), "'" + attr + "'"));
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
        default: return Value::undefined(no_attribute(obj.type_name(), key.repr()));
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

}  // namespace hotrod::text::jinja
