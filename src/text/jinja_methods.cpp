// Python methods callable from templates: str (strip, split, startswith, format, ...), dict (items,
// keys, values, get) and list (index, count, and the mutators append/pop/extend/insert, which HF's
// sandbox refuses but llama.cpp-style templates use; allowing them only turns an error into output).
#include <algorithm>

#include "text/jinja_eval.h"

namespace hotrod::text::jinja {
namespace {

bool py_space(char32_t c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0 || c == 0x3000 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f;
}

std::string need_string(const Value& v, const char* what) {
    if (!v.is_string()) throw RuntimeError(std::string(what) + " must be str, not " + v.type_name());
    return v.s;
}

}  // namespace

// strip/lstrip/rstrip with Python's default (whitespace) or an explicit set of characters.
std::string py_strip(const std::string& s, const Value& chars, bool left, bool right) {
    std::u32string cps = utf8_decode(s);
    std::u32string set = chars.is_string() ? utf8_decode(chars.s) : std::u32string();
    auto strip_me = [&](char32_t c) { return chars.is_string() ? set.find(c) != std::u32string::npos : py_space(c); };
    size_t b = 0, e = cps.size();
    if (left)
        while (b < e && strip_me(cps[b])) ++b;
    if (right)
        while (e > b && strip_me(cps[e - 1])) --e;
    return utf8_encode(cps.substr(b, e - b));
}

List py_split(const std::string& s, const Value& sep, int64_t maxsplit, bool from_right) {
    List out;
    if (sep.is_none() || sep.is_undefined()) {
        std::u32string cps = utf8_decode(s);
        std::vector<std::pair<size_t, size_t>> words;
        size_t k = 0;
        while (k < cps.size()) {
            while (k < cps.size() && py_space(cps[k])) ++k;
            if (k >= cps.size()) break;
            size_t start = k;
            while (k < cps.size() && !py_space(cps[k])) ++k;
            words.emplace_back(start, k);
        }
        if (maxsplit >= 0 && static_cast<int64_t>(words.size()) > maxsplit + 1) {
            if (!from_right) {
                size_t tail = words[static_cast<size_t>(maxsplit)].first;
                std::u32string rest = cps.substr(tail);
                size_t e = rest.size();
                while (e > 0 && py_space(rest[e - 1])) --e;
                words.resize(static_cast<size_t>(maxsplit));
                for (auto& [a, b] : words) out.push_back(Value::string(utf8_encode(cps.substr(a, b - a))));
                out.push_back(Value::string(utf8_encode(rest.substr(0, e))));
                return out;
            }
            size_t keep_from = words.size() - static_cast<size_t>(maxsplit);
            size_t b = 0;
            while (b < cps.size() && py_space(cps[b])) ++b;
            out.push_back(Value::string(utf8_encode(cps.substr(b, words[keep_from - 1].second - b))));
            for (size_t w = keep_from; w < words.size(); ++w)
                out.push_back(Value::string(utf8_encode(cps.substr(words[w].first, words[w].second - words[w].first))));
            return out;
        }
        for (auto& [a, b] : words) out.push_back(Value::string(utf8_encode(cps.substr(a, b - a))));
        return out;
    }
    std::string d = need_string(sep, "separator");
    if (d.empty()) throw RuntimeError("empty separator");
    std::vector<std::string> parts;
    if (!from_right) {
        size_t pos = 0;
        while (true) {
            size_t k = s.find(d, pos);
            if (k == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit)) break;
            parts.push_back(s.substr(pos, k - pos));
            pos = k + d.size();
        }
        parts.push_back(s.substr(pos));
    } else {
        size_t end = s.size();
        while (true) {
            if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) break;
            if (end < d.size()) break;
            size_t k = s.rfind(d, end - d.size());
            if (k == std::string::npos) break;
            parts.push_back(s.substr(k + d.size(), end - k - d.size()));
            end = k;
        }
        parts.push_back(s.substr(0, end));
        std::reverse(parts.begin(), parts.end());
    }
    for (auto& p : parts) out.push_back(Value::string(std::move(p)));
    return out;
}

std::string py_title(const std::string& s) {
    std::string out = s;
    bool prev_cased = false;
    for (char& c : out) {
        bool lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
        if (lower || upper) {
            if (!prev_cased && lower) c = static_cast<char>(c - 32);
            if (prev_cased && upper) c = static_cast<char>(c + 32);
            prev_cased = true;
        } else {
            prev_cased = static_cast<unsigned char>(c) >= 0x80 && prev_cased;
        }
    }
    return out;
}

std::string py_lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return s;
}

std::string py_upper(std::string s) {
    for (char& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return s;
}

std::string py_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
    std::string out;
    if (from.empty()) {  // Python inserts `to` between every character
        std::u32string cps = utf8_decode(s);
        int64_t n = 0;
        for (char32_t c : cps) {
            if (count < 0 || n++ < count) out += to;
            out += utf8_encode(std::u32string(1, c));
        }
        if (count < 0 || n < count) out += to;
        return out;
    }
    size_t pos = 0;
    int64_t n = 0;
    while (true) {
        size_t k = s.find(from, pos);
        if (k == std::string::npos || (count >= 0 && n >= count)) break;
        out.append(s, pos, k - pos);
        out += to;
        pos = k + from.size();
        ++n;
    }
    out.append(s, pos, std::string::npos);
    return out;
}

// str.format with `{}`, `{0}`, `{name}`, `{{`/`}}`; a format spec after ':' is not supported.
static std::string py_format(const std::string& fmt, const Args& args) {
    std::string out;
    size_t auto_idx = 0;
    for (size_t k = 0; k < fmt.size(); ++k) {
        char c = fmt[k];
        if (c == '}' ) {
            if (k + 1 < fmt.size() && fmt[k + 1] == '}') ++k;
            out += '}';
            continue;
        }
        if (c != '{') {
            out += c;
            continue;
        }
        if (k + 1 < fmt.size() && fmt[k + 1] == '{') {
            out += '{';
            ++k;
            continue;
        }
        size_t e = fmt.find('}', k);
        if (e == std::string::npos) throw RuntimeError("Single '{' encountered in format string");
        std::string field = fmt.substr(k + 1, e - k - 1);
        if (field.find(':') != std::string::npos || field.find('!') != std::string::npos)
            throw RuntimeError("format spec in '{" + field + "}' is not supported");
        Value v;
        if (field.empty()) {
            if (auto_idx >= args.pos.size()) throw RuntimeError("Replacement index " + std::to_string(auto_idx) + " out of range");
            v = args.pos[auto_idx++];
        } else if (std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
            size_t idx = std::stoul(field);
            if (idx >= args.pos.size()) throw RuntimeError("Replacement index " + field + " out of range");
            v = args.pos[idx];
        } else {
            v = args.get(SIZE_MAX, field);
            if (v.is_undefined()) throw RuntimeError("KeyError: '" + field + "'");
        }
        out += v.str();
        k = e;
    }
    return out;
}

static Value bind(const Value& self, const char* name, Value (*fn)(const Value&, Args&, Evaluator&)) {
    return Value::callable(name, [self, fn](Args& a, Evaluator& ev) { return fn(self, a, ev); });
}

static int64_t int_arg(const Args& a, size_t idx, const char* name, int64_t def) {
    Value v = a.get(idx, name);
    if (v.is_undefined() || v.is_none()) return def;
    if (!v.is_int()) throw RuntimeError(std::string(name) + " must be an integer");
    return v.as_int();
}

static Value string_method(const Value& self, const std::string& name) {
    using F = Value (*)(const Value&, Args&, Evaluator&);
    static const std::pair<const char*, F> kMethods[] = {
        {"strip", [](const Value& s, Args& a, Evaluator&) { return Value::string(py_strip(s.s, a.get(0, "chars"), true, true)); }},
        {"lstrip", [](const Value& s, Args& a, Evaluator&) { return Value::string(py_strip(s.s, a.get(0, "chars"), true, false)); }},
        {"rstrip", [](const Value& s, Args& a, Evaluator&) { return Value::string(py_strip(s.s, a.get(0, "chars"), false, true)); }},
        {"split", [](const Value& s, Args& a, Evaluator&) {
             return Value::make_list(py_split(s.s, a.get(0, "sep"), int_arg(a, 1, "maxsplit", -1), false)); }},
        {"rsplit", [](const Value& s, Args& a, Evaluator&) {
             return Value::make_list(py_split(s.s, a.get(0, "sep"), int_arg(a, 1, "maxsplit", -1), true)); }},
        {"upper", [](const Value& s, Args&, Evaluator&) { return Value::string(py_upper(s.s)); }},
        {"lower", [](const Value& s, Args&, Evaluator&) { return Value::string(py_lower(s.s)); }},
        {"title", [](const Value& s, Args&, Evaluator&) { return Value::string(py_title(s.s)); }},
        {"capitalize", [](const Value& s, Args&, Evaluator&) {
             std::string r = py_lower(s.s);
             if (!r.empty() && r[0] >= 'a' && r[0] <= 'z') r[0] = static_cast<char>(r[0] - 32);
             return Value::string(r); }},
        {"replace", [](const Value& s, Args& a, Evaluator&) {
             return Value::string(py_replace(s.s, need_string(a.get(0, "old"), "old"), need_string(a.get(1, "new"), "new"),
                                             int_arg(a, 2, "count", -1))); }},
        {"startswith", [](const Value& s, Args& a, Evaluator&) {
             Value p = a.get(0, "prefix");
             List opts = p.kind == Value::Kind::Tuple ? *p.list : List{p};
             for (const auto& o : opts)
                 if (need_string(o, "prefix").size() <= s.s.size() && s.s.compare(0, o.s.size(), o.s) == 0) return Value::boolean(true);
             return Value::boolean(false); }},
        {"endswith", [](const Value& s, Args& a, Evaluator&) {
             Value p = a.get(0, "suffix");
             List opts = p.kind == Value::Kind::Tuple ? *p.list : List{p};
             for (const auto& o : opts)
                 if (need_string(o, "suffix").size() <= s.s.size() && s.s.compare(s.s.size() - o.s.size(), o.s.size(), o.s) == 0)
                     return Value::boolean(true);
             return Value::boolean(false); }},
        {"find", [](const Value& s, Args& a, Evaluator&) {
             size_t k = s.s.find(need_string(a.get(0, "sub"), "sub"));
             if (k == std::string::npos) return Value::integer(-1);
             return Value::integer(static_cast<int64_t>(utf8_decode(s.s.substr(0, k)).size())); }},
        {"rfind", [](const Value& s, Args& a, Evaluator&) {
             size_t k = s.s.rfind(need_string(a.get(0, "sub"), "sub"));
             if (k == std::string::npos) return Value::integer(-1);
             return Value::integer(static_cast<int64_t>(utf8_decode(s.s.substr(0, k)).size())); }},
        {"count", [](const Value& s, Args& a, Evaluator&) {
             std::string sub = need_string(a.get(0, "sub"), "sub");
             if (sub.empty()) return Value::integer(static_cast<int64_t>(utf8_decode(s.s).size()) + 1);
             int64_t n = 0;
             for (size_t k = s.s.find(sub); k != std::string::npos; k = s.s.find(sub, k + sub.size())) ++n;
             return Value::integer(n); }},
        {"format", [](const Value& s, Args& a, Evaluator&) { return Value::string(py_format(s.s, a)); }},
        {"join", [](const Value& s, Args& a, Evaluator&) {
             std::string out;
             bool first = true;
             for (const auto& x : a.get(0, "iterable").iterate()) {
                 out += (first ? "" : s.s) + need_string(x, "sequence item");
                 first = false;
             }
             return Value::string(out); }},
        {"isdigit", [](const Value& s, Args&, Evaluator&) {
             return Value::boolean(!s.s.empty() && std::all_of(s.s.begin(), s.s.end(), [](char c) { return c >= '0' && c <= '9'; })); }},
        {"isalpha", [](const Value& s, Args&, Evaluator&) {
             return Value::boolean(!s.s.empty() && std::all_of(s.s.begin(), s.s.end(), [](char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; })); }},
        {"isspace", [](const Value& s, Args&, Evaluator&) {
             std::u32string c = utf8_decode(s.s);
             return Value::boolean(!c.empty() && std::all_of(c.begin(), c.end(), py_space)); }},
        {"splitlines", [](const Value& s, Args&, Evaluator&) {
             List out;
             std::string cur;
             for (size_t k = 0; k < s.s.size(); ++k) {
                 char c = s.s[k];
                 if (c == '\n' || c == '\r') {
                     if (c == '\r' && k + 1 < s.s.size() && s.s[k + 1] == '\n') ++k;
                     out.push_back(Value::string(cur));
                     cur.clear();
                 } else {
                     cur += c;
                 }
             }
             if (!cur.empty()) out.push_back(Value::string(cur));
             return Value::make_list(out); }},
    };
    for (const auto& [n, f] : kMethods)
        if (name == n) return bind(self, n, f);
    return Value::undefined();
}

static Value dict_method(const Value& self, const std::string& name) {
    if (name == "items")
        return bind(self, "items", [](const Value& d, Args&, Evaluator&) {
            List out;
            for (const auto& [k, v] : d.dict->items) out.push_back(Value::make_tuple({k, v}));
            return Value::make_list(out);
        });
    if (name == "keys")
        return bind(self, "keys", [](const Value& d, Args&, Evaluator&) { return Value::make_list(d.iterate()); });
    if (name == "values")
        return bind(self, "values", [](const Value& d, Args&, Evaluator&) {
            List out;
            for (const auto& kv : d.dict->items) out.push_back(kv.second);
            return Value::make_list(out);
        });
    if (name == "get")
        return bind(self, "get", [](const Value& d, Args& a, Evaluator&) {
            const Value* v = d.dict->find(a.get(0, "key"));
            if (v) return *v;
            Value def = a.get(1, "default");
            return def.is_undefined() ? Value::none() : def;
        });
    if (name == "copy")
        return bind(self, "copy", [](const Value& d, Args&, Evaluator&) {
            Value c = Value::make_dict();
            *c.dict = *d.dict;
            return c;
        });
    return Value::undefined();
}

static Value list_method(const Value& self, const std::string& name) {
    if (name == "index")
        return bind(self, "index", [](const Value& l, Args& a, Evaluator&) {
            for (size_t k = 0; k < l.list->size(); ++k)
                if (values_equal((*l.list)[k], a.get(0, "value"))) return Value::integer(static_cast<int64_t>(k));
            throw RuntimeError(a.get(0, "value").repr() + " is not in list");
        });
    if (name == "count")
        return bind(self, "count", [](const Value& l, Args& a, Evaluator&) {
            int64_t n = 0;
            for (const auto& x : *l.list) n += values_equal(x, a.get(0, "value"));
            return Value::integer(n);
        });
    if (self.kind != Value::Kind::List) return Value::undefined();
    if (name == "append")
        return bind(self, "append", [](const Value& l, Args& a, Evaluator& ev) {
            ev.check_size(l.list->size() * sizeof(Value));
            l.list->push_back(a.get(0, "object"));
            return Value::none();
        });
    if (name == "extend")
        return bind(self, "extend", [](const Value& l, Args& a, Evaluator& ev) {
            for (const auto& x : a.get(0, "iterable").iterate()) l.list->push_back(x);
            ev.check_size(l.list->size() * sizeof(Value));
            return Value::none();
        });
    if (name == "insert")
        return bind(self, "insert", [](const Value& l, Args& a, Evaluator&) {
            int64_t n = static_cast<int64_t>(l.list->size());
            int64_t k = int_arg(a, 0, "index", 0);
            if (k < 0) k = std::max<int64_t>(0, k + n);
            k = std::min(k, n);
            l.list->insert(l.list->begin() + k, a.get(1, "object"));
            return Value::none();
        });
    if (name == "pop")
        return bind(self, "pop", [](const Value& l, Args& a, Evaluator&) {
            int64_t n = static_cast<int64_t>(l.list->size());
            int64_t k = int_arg(a, 0, "index", -1);
            if (k < 0) k += n;
            if (k < 0 || k >= n) throw RuntimeError("pop index out of range");
            Value v = (*l.list)[static_cast<size_t>(k)];
            l.list->erase(l.list->begin() + k);
            return v;
        });
    return Value::undefined();
}

Value find_method(const Value& obj, const std::string& name) {
    switch (obj.kind) {
        case Value::Kind::String: return string_method(obj, name);
        case Value::Kind::Dict: return dict_method(obj, name);
        case Value::Kind::List: case Value::Kind::Tuple: return list_method(obj, name);
        default: return Value::undefined();
    }
}

}  // namespace hotrod::text::jinja
