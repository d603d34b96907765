// Built-in filters, tests and globals of the Jinja subset, with jinja2's argument names and defaults.
// tojson is Hugging Face's version (json.dumps with ensure_ascii=False, no key sorting, no HTML
// escaping), not jinja2's own. Globals: range, dict, namespace, raise_exception, strftime_now.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "text/jinja_eval.h"

namespace hotrod::text::jinja {
namespace {

bool arg_bool(const Args& a, size_t idx, const char* name, bool def) {
    Value v = a.get(idx, name);
    return v.is_undefined() ? def : v.truthy();
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&#34;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

// jinja2's attribute getter: "a.b.0" walks items (ints for digit parts), then attributes.
Value get_path(Evaluator& ev, const Value& obj, const Value& path) {
    if (path.is_int()) return ev.get_item(obj, path);
    std::string p = path.str();
    Value cur = obj;
    size_t pos = 0;
    while (true) {
        size_t dot = p.find('.', pos);
        std::string part = p.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
        bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
        cur = ev.get_item(cur, digits ? Value::integer(std::stoll(part)) : Value::string(part));
        if (dot == std::string::npos) return cur;
        pos = dot + 1;
    }
}

// Key used by sort/unique/dictsort: strings lowercased unless case_sensitive.
Value sort_key(const Value& v, bool case_sensitive) {
    if (!case_sensitive && v.is_string()) return Value::string(py_lower(v.s));
    return v;
}

List sorted(List items, bool reverse, const std::function<Value(const Value&)>& key) {
    std::vector<std::pair<Value, Value>> keyed;
    for (auto& x : items) keyed.emplace_back(key(x), x);
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
        return reverse ? values_less(b.first, a.first) : values_less(a.first, b.first);
    });
    List out;
    for (auto& kv : keyed) out.push_back(kv.second);
    return out;
}

// Shared by select/reject/selectattr/rejectattr: args from `first` on are the test name and its args.
// jinja2's select/reject/map start with `if value:`: a false value (none, 0, '', undefined) is an empty sequence,
// where iterating it would raise. Templates rely on it (`tools` set to none, piped through selectattr).
List items_or_empty(const Value& v) { return v.truthy() ? v.iterate() : List{}; }

Value select_impl(const Value& v, Args& a, Evaluator& ev, bool want, bool by_attr) {
    Value attr = by_attr ? a.get(0, "attribute") : Value::undefined();
    size_t first = by_attr ? 1 : 0;
    List out;
    for (const auto& item : items_or_empty(v)) {
        Value x = by_attr ? get_path(ev, item, attr) : item;
        bool ok;
        if (a.pos.size() <= first) {
            ok = x.truthy();
        } else {
            Args targs;
            targs.pos.assign(a.pos.begin() + static_cast<long>(first) + 1, a.pos.end());
            ok = ev.apply_test(a.pos[first].str(), x, targs);
        }
        if (ok == want) out.push_back(item);
    }
    return Value::make_list(std::move(out));
}

// jinja2's title filter (do_title), which is not str.title: the text splits at runs of '-', whitespace, '(', '{',
// '[' and '<' (kept), and each other piece gets its first character upper-cased and the rest lower-cased, so
// "'a': 1" stays as it is (str.title would give "'A': 1").
std::string jinja_title(const std::string& s) {
    auto sep = [](char c) { return c == '-' || c == ' ' || (c >= '\t' && c <= '\r') || c == '(' || c == '{' || c == '[' || c == '<'; };
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
        size_t j = i;
        const bool is_sep = sep(s[i]);
        while (j < s.size() && sep(s[j]) == is_sep) ++j;
        std::string piece = s.substr(i, j - i);
        if (!is_sep) {
            // First code point upper (ASCII only, as the engine's upper), the rest lower.
            size_t first_len = 1;
            while (first_len < piece.size() && (static_cast<unsigned char>(piece[first_len]) & 0xC0) == 0x80) ++first_len;
            piece = py_upper(piece.substr(0, first_len)) + py_lower(piece.substr(first_len));
        }
        out += piece;
        i = j;
    }
    return out;
}

Value f_tojson(const Value& v, Args& a, Evaluator&) {
    DumpOptions o;
    o.ensure_ascii = arg_bool(a, 0, "ensure_ascii", false);
    Value indent = a.get(1, "indent");
    if (indent.is_int()) o.indent = static_cast<int>(std::clamp<int64_t>(indent.as_int(), 0, 64));
    else if (!indent.is_undefined() && !indent.is_none()) throw RuntimeError("tojson: indent must be an integer");
    if (o.indent >= 0) o.item_sep = ",";
    Value seps = a.get(2, "separators");
    if (seps.is_sequence() && seps.list->size() == 2) {
        o.item_sep = (*seps.list)[0].str();
        o.key_sep = (*seps.list)[1].str();
    }
    o.sort_keys = arg_bool(a, 3, "sort_keys", false);
    return Value::string(to_json_text(v, o));
}

Value f_default(const Value& v, Args& a, Evaluator&) {
    bool boolean = arg_bool(a, 1, "boolean", false);
    if (v.is_undefined() || (boolean && !v.truthy())) {
        Value d = a.get(0, "default_value");
        return d.is_undefined() ? Value::string("") : d;
    }
    return v;
}

Value f_first(const Value& v, Args&, Evaluator&) {
    List items = v.iterate();
    return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}

Value f_last(const Value& v, Args&, Evaluator&) {
    List items = v.iterate();
    return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

Value f_join(const Value& v, Args& a, Evaluator& ev) {
    Value sep = a.get(0, "d");
    Value attr = a.get(1, "attribute");
    std::string out;
    bool first = true;
    for (const auto& item : v.iterate()) {
        if (!first) out += sep.is_undefined() ? "" : sep.str();
        out += (attr.is_undefined() ? item : get_path(ev, item, attr)).str();
        first = false;
    }
    return Value::string(std::move(out));
}

Value f_map(const Value& v, Args& a, Evaluator& ev) {
    List out;
    if (a.pos.empty()) {
        Value attr = a.get(SIZE_MAX, "attribute");
        if (attr.is_undefined()) throw RuntimeError("map: needs a filter name or attribute=");
        Value def = a.get(SIZE_MAX, "default");
        for (const auto& item : items_or_empty(v)) {
            Value x = get_path(ev, item, attr);
            out.push_back(x.is_undefined() && !def.is_undefined() ? def : x);
        }
    } else {
        std::string name = a.pos[0].str();
        for (const auto& item : items_or_empty(v)) {
            Args fargs;
            fargs.pos.assign(a.pos.begin() + 1, a.pos.end());
            fargs.kw = a.kw;
            out.push_back(ev.apply_filter(name, item, fargs));
        }
    }
    return Value::make_list(std::move(out));
}

Value f_items(const Value& v, Args&, Evaluator&) {
    if (v.is_undefined()) return Value::make_list();
    if (!v.is_mapping()) throw RuntimeError("Can only get item pairs from a mapping.");
    List out;
    for (const auto& [k, x] : v.dict->items) out.push_back(Value::make_tuple({k, x}));
    return Value::make_list(std::move(out));
}

Value f_dictsort(const Value& v, Args& a, Evaluator& ev) {
    if (v.is_undefined()) v.throw_undefined();  // jinja2 calls value.items()
    bool cs = arg_bool(a, 0, "case_sensitive", false);
    Value by = a.get(1, "by");
    bool by_value = by.is_string() && by.s == "value";
    List items = f_items(v, a, ev).list ? *f_items(v, a, ev).list : List{};
    return Value::make_list(sorted(std::move(items), arg_bool(a, 2, "reverse", false),
                                   [&](const Value& kv) { return sort_key((*kv.list)[by_value ? 1 : 0], cs); }));
}

Value f_sort(const Value& v, Args& a, Evaluator& ev) {
    bool reverse = arg_bool(a, 0, "reverse", false);
    bool cs = arg_bool(a, 1, "case_sensitive", false);
    Value attr = a.get(2, "attribute");
    return Value::make_list(sorted(v.iterate(), reverse, [&](const Value& x) {
        return sort_key(attr.is_undefined() ? x : get_path(ev, x, attr), cs);
    }));
}

Value f_unique(const Value& v, Args& a, Evaluator& ev) {
    bool cs = arg_bool(a, 0, "case_sensitive", false);
    Value attr = a.get(1, "attribute");
    List out, seen;
    for (const auto& x : v.iterate()) {
        Value k = sort_key(attr.is_undefined() ? x : get_path(ev, x, attr), cs);
        if (k.is_mapping() || k.kind == Value::Kind::List)  // jinja2 keeps a set of the keys
            throw RuntimeError("unhashable type: '" + k.type_name() + "'");
        bool dup = false;
        for (const auto& s : seen) dup |= values_equal(s, k);
        if (!dup) {
            seen.push_back(k);
            out.push_back(x);
        }
    }
    return Value::make_list(std::move(out));
}

Value f_indent(const Value& v, Args& a, Evaluator&) {
    if (v.is_undefined()) v.throw_undefined();
    if (!v.is_string()) throw RuntimeError("indent: expected a string, got " + v.type_name());  // as jinja2's s += "\n"
    Value w = a.get(0, "width");
    std::string pad = w.is_string() ? w.s : std::string(static_cast<size_t>(std::clamp<int64_t>(w.is_undefined() ? 4 : w.as_int(), 0, 1024)), ' ');
    bool first = arg_bool(a, 1, "first", false), blank = arg_bool(a, 2, "blank", false);
    std::string s = v.str() + "\n";
    List lines = py_split(s, Value::string("\n"), -1, false);
    lines.pop_back();  // the piece after the added newline
    std::string out;
    for (size_t k = 0; k < lines.size(); ++k) {
        const std::string& line = lines[k].s;
        if (k == 0) out += line;
        else out += "\n" + ((blank || !line.empty()) ? pad + line : line);
    }
    return Value::string(first ? pad + out : out);
}

Value f_int(const Value& v, Args& a, Evaluator&) {
    if (v.is_undefined()) v.throw_undefined();  // int(Undefined) raises in jinja2, before the default applies
    Value def = a.get(0, "default");
    // NaN gives the default, as in jinja2 (int(nan) is a ValueError, which do_int catches).
    if (v.kind == Value::Kind::Float && !std::isnan(v.f)) return Value::integer(py_float_to_int(v.f));
    if (v.is_int()) return Value::integer(v.as_int());
    if (v.is_string()) {
        std::string t = py_strip(v.s, Value::none(), true, true);
        char* end = nullptr;
        long long x = std::strtoll(t.c_str(), &end, 10);
        if (!t.empty() && end && *end == 0) return Value::integer(x);
        double d = std::strtod(t.c_str(), &end);
        if (!t.empty() && end && *end == 0 && std::isfinite(d)) return Value::integer(py_float_to_int(d));
    }
    return def.is_undefined() ? Value::integer(0) : def;
}

Value f_float(const Value& v, Args& a, Evaluator&) {
    if (v.is_undefined()) v.throw_undefined();
    Value def = a.get(0, "default");
    if (v.is_number()) return Value::real(v.as_double());
    if (v.is_string()) {
        std::string t = py_strip(v.s, Value::none(), true, true);
        char* end = nullptr;
        double d = std::strtod(t.c_str(), &end);
        if (!t.empty() && end && *end == 0) return Value::real(d);
    }
    return def.is_undefined() ? Value::real(0.0) : def;
}

Value f_round(const Value& v, Args& a, Evaluator&) {
    if (!v.is_number()) throw RuntimeError("round: expected a number, got " + v.type_name());
    int64_t prec = a.get(0, "precision").is_int() ? a.get(0, "precision").as_int() : 0;
    Value m = a.get(1, "method");
    std::string method = m.is_string() ? m.s : "common";
    // jinja2's common rounding is Python's round(value, precision): an int (or bool) stays an int there.
    if (v.kind != Value::Kind::Float && method == "common" && prec >= 0) return Value::integer(v.as_int());
    double scale = std::pow(10.0, static_cast<double>(prec));
    double x = v.as_double() * scale;
    double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::nearbyint(x);
    return Value::real(r / scale);
}

Value f_reverse(const Value& v, Args&, Evaluator&) {
    if (v.is_string()) {
        std::u32string c = utf8_decode(v.s);
        std::reverse(c.begin(), c.end());
        return Value::string(utf8_encode(c));
    }
    List items = v.iterate();
    std::reverse(items.begin(), items.end());
    return Value::make_list(std::move(items));
}

Value f_batch(const Value& v, Args& a, Evaluator&) {
    int64_t n = a.get(0, "linecount").as_int();
    if (n <= 0) throw RuntimeError("batch: linecount must be positive");
    Value fill = a.get(1, "fill_with");
    List out, cur;
    for (const auto& x : v.iterate()) {
        cur.push_back(x);
        if (static_cast<int64_t>(cur.size()) == n) {
            out.push_back(Value::make_list(std::move(cur)));
            cur.clear();
        }
    }
    if (!cur.empty()) {
        if (!fill.is_undefined() && !fill.is_none())
            while (static_cast<int64_t>(cur.size()) < n) cur.push_back(fill);
        out.push_back(Value::make_list(std::move(cur)));
    }
    return Value::make_list(std::move(out));
}

Value f_minmax(const Value& v, Args& a, Evaluator& ev, bool want_max) {
    bool cs = arg_bool(a, 0, "case_sensitive", false);
    Value attr = a.get(1, "attribute");
    List items = v.iterate();
    if (items.empty()) return Value::undefined(want_max ? "No aggregated item, sequence was empty." : "No aggregated item, sequence was empty.");
    size_t best = 0;
    auto key = [&](const Value& x) { return sort_key(attr.is_undefined() ? x : get_path(ev, x, attr), cs); };
    for (size_t k = 1; k < items.size(); ++k) {
        bool better = want_max ? values_less(key(items[best]), key(items[k])) : values_less(key(items[k]), key(items[best]));
        if (better) best = k;
    }
    return items[best];
}

Value f_sum(const Value& v, Args& a, Evaluator& ev) {
    Value attr = a.get(0, "attribute");
    Value total = a.get(1, "start");
    if (total.is_undefined()) total = Value::integer(0);
    for (const auto& x : v.iterate()) {
        Value y = attr.is_undefined() ? x : get_path(ev, x, attr);
        if (!y.is_number() || !total.is_number()) throw RuntimeError("sum: unsupported operand " + y.type_name());
        total = (y.kind == Value::Kind::Float || total.kind == Value::Kind::Float) ? Value::real(total.as_double() + y.as_double())
                                                                                   : Value::integer(total.as_int() + y.as_int());
    }
    return total;
}

Value f_center(const Value& v, Args& a, Evaluator&) {
    int64_t width = a.get(0, "width").is_int() ? std::min<int64_t>(a.get(0, "width").as_int(), 1 << 20) : 80;
    std::string s = v.str();
    int64_t n = static_cast<int64_t>(utf8_decode(s).size());
    if (width <= n) return Value::string(s);
    int64_t total = width - n, left = total / 2 + (total & width & 1);
    return Value::string(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(total - left), ' '));
}

Value f_wordcount(const Value& v, Args&, Evaluator&) {
    int64_t n = 0;
    bool in_word = false;
    for (char c : v.str()) {
        bool w = (c | 32) >= 'a' && (c | 32) <= 'z';
        w = w || (c >= '0' && c <= '9') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
        if (w && !in_word) ++n;
        in_word = w;
    }
    return Value::integer(n);
}

struct FilterEntry {
    const char* name;
    FilterFn fn;
};

const FilterEntry kFilters[] = {
    {"tojson", f_tojson},
    {"default", f_default},
    {"d", f_default},
    {"length", [](const Value& v, Args&, Evaluator&) { return Value::integer(v.length()); }},
    {"count", [](const Value& v, Args&, Evaluator&) { return Value::integer(v.length()); }},
    {"string", [](const Value& v, Args&, Evaluator&) { Value s = Value::string(v.str()); s.safe = v.safe; return s; }},
    {"trim", [](const Value& v, Args& a, Evaluator&) { return Value::string(py_strip(v.str(), a.get(0, "chars"), true, true)); }},
    {"lower", [](const Value& v, Args&, Evaluator&) { return Value::string(py_lower(v.str())); }},
    {"upper", [](const Value& v, Args&, Evaluator&) { return Value::string(py_upper(v.str())); }},
    {"title", [](const Value& v, Args&, Evaluator&) { return Value::string(jinja_title(v.str())); }},
    {"capitalize", [](const Value& v, Args&, Evaluator&) {
         std::string r = py_lower(v.str());
         if (!r.empty() && r[0] >= 'a' && r[0] <= 'z') r[0] = static_cast<char>(r[0] - 32);
         return Value::string(r); }},
    {"replace", [](const Value& v, Args& a, Evaluator&) {
         Value c = a.get(2, "count");
         return Value::string(py_replace(v.str(), a.get(0, "old").str(), a.get(1, "new").str(), c.is_int() ? c.as_int() : -1)); }},
    {"join", f_join},
    {"first", f_first},
    {"last", f_last},
    {"map", f_map},
    {"select", [](const Value& v, Args& a, Evaluator& ev) { return select_impl(v, a, ev, true, false); }},
    {"reject", [](const Value& v, Args& a, Evaluator& ev) { return select_impl(v, a, ev, false, false); }},
    {"selectattr", [](const Value& v, Args& a, Evaluator& ev) { return select_impl(v, a, ev, true, true); }},
    {"rejectattr", [](const Value& v, Args& a, Evaluator& ev) { return select_impl(v, a, ev, false, true); }},
    {"items", f_items},
    {"list", [](const Value& v, Args&, Evaluator&) { return Value::make_list(v.iterate()); }},
    {"int", f_int},
    {"float", f_float},
    {"abs", [](const Value& v, Args&, Evaluator&) {
         if (!v.is_number()) throw RuntimeError("bad operand type for abs(): '" + v.type_name() + "'");
         return v.kind == Value::Kind::Float ? Value::real(std::fabs(v.f)) : Value::integer(std::llabs(v.as_int())); }},
    {"round", f_round},
    {"unique", f_unique},
    {"dictsort", f_dictsort},
    {"sort", f_sort},
    {"reverse", f_reverse},
    {"batch", f_batch},
    {"indent", f_indent},
    {"wordcount", f_wordcount},
    {"center", f_center},
    {"max", [](const Value& v, Args& a, Evaluator& ev) { return f_minmax(v, a, ev, true); }},
    {"min", [](const Value& v, Args& a, Evaluator& ev) { return f_minmax(v, a, ev, false); }},
    {"sum", f_sum},
    {"safe", [](const Value& v, Args&, Evaluator&) { Value s = Value::string(v.str()); s.safe = true; return s; }},
    {"escape", [](const Value& v, Args&, Evaluator&) { Value s = v.safe ? v : Value::string(html_escape(v.str())); s.safe = true; return s; }},
    {"e", [](const Value& v, Args&, Evaluator&) { Value s = v.safe ? v : Value::string(html_escape(v.str())); s.safe = true; return s; }},
    {"forceescape", [](const Value& v, Args&, Evaluator&) { Value s = Value::string(html_escape(v.str())); s.safe = true; return s; }},
    // An attribute, never a dict item (jinja2's getattr on a dict finds only its methods: undefined here).
    {"attr", [](const Value& v, Args& a, Evaluator& ev) {
         return v.is_mapping() ? Value::undefined() : ev.get_attr(v, a.get(0, "name").str()); }},
    {"pprint", [](const Value& v, Args&, Evaluator&) { return Value::string(v.repr()); }},
    {"format", [](const Value& v, Args& a, Evaluator&) {
         return Value::string(percent_format(v.str(), a.pos.size() == 1 ? a.pos[0] : Value::make_tuple(a.pos))); }},
};

bool cmp_test(const Value& v, Args& a, const char* op) {
    Value o = a.get(0, "other");
    std::string s = op;
    if (s == "==") return values_equal(v, o);
    if (s == "!=") return !values_equal(v, o);
    if (s == "<") return values_less(v, o);
    if (s == "<=") return !values_less(o, v);
    if (s == ">") return values_less(o, v);
    return !values_less(v, o);
}

int64_t int_operand(const Value& v, const char* test) {
    if (!v.is_int()) throw RuntimeError(std::string(test) + " test needs an integer, got " + v.type_name());
    return v.as_int();
}

// value % n == r as jinja2's odd / even / divisibleby compute it: Python's modulo, also for floats.
bool mod_equals(const Value& v, const Value& n, int64_t r, const char* test) {
    if (v.kind == Value::Kind::Float || n.kind == Value::Kind::Float) {
        if (!v.is_number() || !n.is_number()) throw RuntimeError(std::string(test) + " test needs numbers");
        const double d = n.as_double();
        if (d == 0.0) throw RuntimeError("float modulo");
        double m = std::fmod(v.as_double(), d);
        if (m != 0.0 && ((m < 0) != (d < 0))) m += d;
        return m == double(r);
    }
    const int64_t d = int_operand(n, test), x = int_operand(v, test);
    if (d == 0) throw RuntimeError("integer division or modulo by zero");
    int64_t m = x % d;
    if (m != 0 && ((m < 0) != (d < 0))) m += d;
    return m == r;
}

struct TestEntry {
    const char* name;
    TestFn fn;
};

const TestEntry kTests[] = {
    {"defined", [](const Value& v, Args&, Evaluator&) { return !v.is_undefined(); }},
    {"undefined", [](const Value& v, Args&, Evaluator&) { return v.is_undefined(); }},
    {"none", [](const Value& v, Args&, Evaluator&) { return v.is_none(); }},
    {"boolean", [](const Value& v, Args&, Evaluator&) { return v.kind == Value::Kind::Bool; }},
    {"true", [](const Value& v, Args&, Evaluator&) { return v.kind == Value::Kind::Bool && v.b; }},
    {"false", [](const Value& v, Args&, Evaluator&) { return v.kind == Value::Kind::Bool && !v.b; }},
    {"integer", [](const Value& v, Args&, Evaluator&) { return v.kind == Value::Kind::Int; }},
    {"float", [](const Value& v, Args&, Evaluator&) { return v.kind == Value::Kind::Float; }},
    {"number", [](const Value& v, Args&, Evaluator&) { return v.is_number(); }},
    {"string", [](const Value& v, Args&, Evaluator&) { return v.is_string(); }},
    {"mapping", [](const Value& v, Args&, Evaluator&) { return v.kind == Value::Kind::Dict; }},
    {"iterable", [](const Value& v, Args&, Evaluator&) {
         return v.is_string() || v.is_sequence() || v.kind == Value::Kind::Dict || v.is_undefined(); }},
    {"sequence", [](const Value& v, Args&, Evaluator&) {
         return v.is_string() || v.is_sequence() || v.kind == Value::Kind::Dict || v.is_undefined(); }},
    {"callable", [](const Value& v, Args&, Evaluator&) {
         return v.kind == Value::Kind::Callable || v.is_undefined(); }},  // jinja2's Undefined defines __call__
    {"escaped", [](const Value& v, Args&, Evaluator&) { return v.safe; }},
    {"sameas", [](const Value& v, Args& a, Evaluator&) {
         Value o = a.get(0, "other");
         if (v.kind != o.kind) return false;
         if (v.is_sequence()) return v.list == o.list;
         if (v.is_mapping()) return v.dict == o.dict;
         return values_equal(v, o); }},
    {"in", [](const Value& v, Args& a, Evaluator&) {
         Value seq = a.get(0, "seq");
         if (seq.is_string()) return v.is_string() && seq.s.find(v.s) != std::string::npos;
         if (seq.is_mapping()) return seq.dict->find(v) != nullptr;
         for (const auto& x : seq.iterate())
             if (values_equal(x, v)) return true;
         return false; }},
    {"eq", [](const Value& v, Args& a, Evaluator&) { return cmp_test(v, a, "=="); }},
    {"equalto", [](const Value& v, Args& a, Evaluator&) { return cmp_test(v, a, "=="); }},
    {"==", [](const Value& v, Args& a, Evaluator&) { return cmp_test(v, a, "=="); }},
    {"ne", [](const Value& v, Args& a, Evaluator&) { return cmp_test(v, a, "!="); }},
    {"!=", [](const Value& v, Args& a, Evaluator&) { return cmp_test(v, a, "!="); }},
    {"lt", [](const Value& v, Args& a, Evaluator&) { return cmp_test(v, a, "<"); }},
    {"lessthan", [](const Value& v, Args& a, Evaluator&) { return cmp_test(v, a, "<"); }},
    {"le", [](const Value& v, Args& a, Evaluator&) { return cmp_test(v, a, "<="); }},
    {"gt", [](const Value& v, Args& a, Evaluator&) { return cmp_test(v, a, ">"); }},
    {"greaterthan", [](const Value& v, Args& a, Evaluator&) { return cmp_test(v, a, ">"); }},
    {"ge", [](const Value& v, Args& a, Evaluator&) { return cmp_test(v, a, ">="); }},
    {"odd", [](const Value& v, Args&, Evaluator&) { return mod_equals(v, Value::integer(2), 1, "odd"); }},
    {"even", [](const Value& v, Args&, Evaluator&) { return mod_equals(v, Value::integer(2), 0, "even"); }},
    {"divisibleby", [](const Value& v, Args& a, Evaluator&) { return mod_equals(v, a.get(0, "num"), 0, "divisibleby"); }},
    {"lower", [](const Value& v, Args&, Evaluator&) { return v.is_string() && py_lower(v.s) == v.s; }},
    {"upper", [](const Value& v, Args&, Evaluator&) { return v.is_string() && py_upper(v.s) == v.s; }},
    {"filter", [](const Value& v, Args&, Evaluator&) { return v.is_string() && find_filter(v.s) != nullptr; }},
    {"test", [](const Value& v, Args&, Evaluator&) { return v.is_string() && find_test(v.s) != nullptr; }},
};

Value g_range(Args& a, Evaluator& ev) {
    for (const auto& x : a.pos)
        if (!x.is_int()) throw RuntimeError("range() expects integers, got " + x.type_name());
    int64_t start = 0, stop = 0, step = 1;
    if (a.pos.size() == 1) stop = a.pos[0].as_int();
    else if (a.pos.size() >= 2) {
        start = a.pos[0].as_int();
        stop = a.pos[1].as_int();
        if (a.pos.size() >= 3) step = a.pos[2].as_int();
    } else {
        throw RuntimeError("range expected at least 1 argument, got 0");
    }
    if (step == 0) throw RuntimeError("range() arg 3 must not be zero");
    long double n_items = step > 0 ? (static_cast<long double>(stop) - start) / step : (static_cast<long double>(start) - stop) / -step;
    if (n_items > static_cast<long double>(ev.options().max_loop_iterations))
        throw RuntimeError("range() of " + std::to_string(static_cast<long long>(std::ceil(n_items))) + " items exceeds the loop limit");
    List out;
    for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) out.push_back(Value::integer(k));
    return Value::make_list(std::move(out));
}

Value g_strftime_now(Args& a, Evaluator& ev) {
    std::string fmt = a.get(0, "format").str();
    std::tm tm{};
    if (ev.options().now) {
        tm = *ev.options().now;
    } else {
        std::time_t t = std::time(nullptr);
        localtime_r(&t, &tm);
    }
    if (fmt.empty()) return Value::string("");
    std::string buf(fmt.size() * 8 + 64, '\0');
    size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
    buf.resize(n);
    return Value::string(buf);
}

}  // namespace

FilterFn find_filter(std::string_view name) {
    for (const auto& f : kFilters)
        if (name == f.name) return f.fn;
    return nullptr;
}

TestFn find_test(std::string_view name) {
    for (const auto& t : kTests)
        if (name == t.name) return t.fn;
    return nullptr;
}

void add_builtin_globals(std::unordered_map<std::string, Value>& globals) {
    globals["range"] = Value::callable("range", g_range);
    globals["strftime_now"] = Value::callable("strftime_now", g_strftime_now);
    globals["raise_exception"] = Value::callable("raise_exception", [](Args& a, Evaluator&) -> Value {
        throw RuntimeError(a.get(0, "message").str());
    });
    globals["dict"] = Value::callable("dict", [](Args& a, Evaluator&) {
        Value d = Value::make_dict();
        if (!a.pos.empty() && a.pos[0].is_mapping()) *d.dict = *a.pos[0].dict;
        for (const auto& [k, v] : a.kw) d.dict->set(Value::string(k), v);
        return d;
    });
    globals["namespace"] = Value::callable("namespace", [](Args& a, Evaluator&) {
        Value ns = Value::make_namespace();
        if (!a.pos.empty() && a.pos[0].is_mapping()) *ns.dict = *a.pos[0].dict;
        for (const auto& [k, v] : a.kw) ns.dict->set(Value::string(k), v);
        return ns;
    });
}

}  // namespace hotrod::text::jinja
