// Value semantics of the Jinja subset, following Python: truthiness, str()/repr(), equality and
// ordering, iteration and len(), JSON in (from nlohmann) and out (json.dumps byte for byte, which is
// what Hugging Face's tojson filter produces).
#include "text/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace hotrod::text::jinja {

Value Value::make_list(List items) {
    Value v;
    v.kind = Kind::List;
    v.list = std::make_shared<List>(std::move(items));
    return v;
}

Value Value::make_tuple(List items) {
    Value v = make_list(std::move(items));
    v.kind = Kind::Tuple;
    return v;
}

Value Value::make_dict() {
    Value v;
    v.kind = Kind::Dict;
    v.dict = std::make_shared<Dict>();
    return v;
}

Value Value::make_namespace() {
    Value v = make_dict();
    v.kind = Kind::Namespace;
    return v;
}

Value Value::callable(std::string name, NativeFn fn) {
    Value v;
    v.kind = Kind::Callable;
    v.fn = std::make_shared<Callable>(Callable{std::move(name), std::move(fn)});
    return v;
}

bool Value::truthy() const {
    switch (kind) {
        case Kind::Undefined: case Kind::None: return false;
        case Kind::Bool: return b;
        case Kind::Int: return i != 0;
        case Kind::Float: return f != 0.0;
        case Kind::String: return !s.empty();
        case Kind::List: case Kind::Tuple: return !list->empty();
        case Kind::Dict: return !dict->items.empty();
        case Kind::Namespace: case Kind::Callable: return true;
    }
    return false;
}

std::string float_repr(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    // sci is "-d.ddde+XX": split into sign, digits and decimal exponent.
    bool neg = sci[0] == '-';
    size_t epos = sci.find('e');
    std::string mant = sci.substr(neg ? 1 : 0, epos - (neg ? 1 : 0));
    int exp10 = std::stoi(sci.substr(epos + 1));
    std::string digits;
    for (char c : mant)
        if (c != '.') digits += c;
    std::string out = neg ? "-" : "";
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 >= 0) {
            if (digits.size() <= static_cast<size_t>(exp10) + 1) {
                out += digits + std::string(exp10 + 1 - digits.size(), '0') + ".0";
            } else {
                out += digits.substr(0, exp10 + 1) + "." + digits.substr(exp10 + 1);
            }
        } else {
            out += "0." + std::string(-exp10 - 1, '0') + digits;
        }
        return out;
    }
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    return out + ebuf;
}

static std::string repr_string(const std::string& s) {
    char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
    std::string out(1, q);
    for (size_t k = 0; k < s.size(); ++k) {
        unsigned char c = static_cast<unsigned char>(s[k]);
        if (c == '\\') out += "\\\\";
        else if (c == static_cast<unsigned char>(q)) { out += '\\'; out += q; }
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else out += static_cast<char>(c);
    }
    return out + q;
}

std::string Value::str() const {
    switch (kind) {
        case Kind::Undefined: return "";
        case Kind::None: return "None";
        case Kind::Bool: return b ? "True" : "False";
        case Kind::Int: return std::to_string(i);
        case Kind::Float: return float_repr(f);
        case Kind::String: return s;
        case Kind::List: case Kind::Tuple: case Kind::Dict: return repr();
        case Kind::Namespace: {
            Value d = *this;
            d.kind = Kind::Dict;
            return "<Namespace " + d.repr() + ">";
        }
        case Kind::Callable: return "<function " + fn->name + ">";
    }
    return "";
}

std::string Value::repr() const {
    switch (kind) {
        case Kind::String: return repr_string(s);
        case Kind::Undefined: return "Undefined";
        case Kind::List: {
            std::string out = "[";
            for (size_t k = 0; k < list->size(); ++k) out += (k ? ", " : "") + (*list)[k].repr();
            return out + "]";
        }
        case Kind::Tuple: {
            std::string out = "(";
            for (size_t k = 0; k < list->size(); ++k) out += (k ? ", " : "") + (*list)[k].repr();
            return out + (list->size() == 1 ? ",)" : ")");
        }
        case Kind::Dict: {
            std::string out = "{";
            bool first = true;
            for (const auto& [k, v] : dict->items) {
                out += (first ? "" : ", ") + k.repr() + ": " + v.repr();
                first = false;
            }
            return out + "}";
        }
        default: return str();
    }
}

std::string Value::type_name() const {
    switch (kind) {
        case Kind::Undefined: return "Undefined";
        case Kind::None: return "NoneType";
        case Kind::Bool: return "bool";
        case Kind::Int: return "int";
        case Kind::Float: return "float";
        case Kind::String: return "str";
        case Kind::List: return "list";
        case Kind::Tuple: return "tuple";
        case Kind::Dict: return "dict";
        case Kind::Namespace: return "Namespace";
        case Kind::Callable: return "function";
    }
    return "?";
}

void Value::throw_undefined() const {
    throw RuntimeError(s.empty() ? "value is undefined" : s);
}

List Value::iterate() const {
    switch (kind) {
        case Kind::Undefined: return {};
        case Kind::List: case Kind::Tuple: return *list;
        case Kind::Dict: {
            List keys;
            for (const auto& kv : dict->items) keys.push_back(kv.first);
            return keys;
        }
        case Kind::String: {
            List chars;
            for (char32_t c : utf8_decode(s)) chars.push_back(Value::string(utf8_encode(std::u32string(1, c))));
            return chars;
        }
        default: throw RuntimeError("'" + type_name() + "' object is not iterable");
    }
}

int64_t Value::length() const {
    switch (kind) {
        case Kind::Undefined: return 0;
        case Kind::String: return is_ascii(s) ? static_cast<int64_t>(s.size()) : static_cast<int64_t>(utf8_decode(s).size());
        case Kind::List: case Kind::Tuple: return static_cast<int64_t>(list->size());
        case Kind::Dict: return static_cast<int64_t>(dict->items.size());
        default: throw RuntimeError("object of type '" + type_name() + "' has no len()");
    }
}

Value Value::get_key(const Value& key) const {
    if (is_mapping())
        if (const Value* v = dict->find(key)) return *v;
    return Value::undefined();
}

const Value* Dict::find(std::string_view key) const {
    for (const auto& kv : items)
        if (kv.first.kind == Value::Kind::String && kv.first.s == key) return &kv.second;
    return nullptr;
}

const Value* Dict::find(const Value& key) const {
    if (key.kind == Value::Kind::String) return find(std::string_view(key.s));
    for (const auto& kv : items)
        if (values_equal(kv.first, key)) return &kv.second;
    return nullptr;
}

void Dict::set(const Value& key, Value value) {
    for (auto& kv : items)
        if (values_equal(kv.first, key)) {
            kv.second = std::move(value);
            return;
        }
    items.emplace_back(key, std::move(value));
}

Value Args::get(size_t idx, std::string_view name) const {
    if (idx < pos.size()) return pos[idx];
    for (const auto& [k, v] : kw)
        if (k == name) return v;
    return Value::undefined();
}

bool Args::has(size_t idx, std::string_view name) const {
    if (idx < pos.size()) return true;
    for (const auto& kv : kw)
        if (kv.first == name) return true;
    return false;
}

bool values_equal(const Value& a, const Value& b) {
    using K = Value::Kind;
    if (a.is_number() && b.is_number()) {
        if (a.kind == K::Float || b.kind == K::Float) return a.as_double() == b.as_double();
        return a.as_int() == b.as_int();
    }
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case K::Undefined: case K::None: return true;
        case K::String: return a.s == b.s;
        case K::List: case K::Tuple:
            if (a.list->size() != b.list->size()) return false;
            for (size_t k = 0; k < a.list->size(); ++k)
                if (!values_equal((*a.list)[k], (*b.list)[k])) return false;
            return true;
        case K::Dict: case K::Namespace:
            if (a.dict->items.size() != b.dict->items.size()) return false;
            for (const auto& [k, v] : a.dict->items) {
                const Value* other = b.dict->find(k);
                if (!other || !values_equal(v, *other)) return false;
            }
            return true;
        case K::Callable: return a.fn == b.fn;
        default: return false;
    }
}

bool values_less(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.kind == Value::Kind::Float || b.kind == Value::Kind::Float) return a.as_double() < b.as_double();
        return a.as_int() < b.as_int();
    }
    if (a.is_string() && b.is_string()) return a.s < b.s;  // UTF-8 byte order is code point order
    if (a.is_sequence() && b.kind == a.kind) {
        const List &x = *a.list, &y = *b.list;
        for (size_t k = 0; k < x.size() && k < y.size(); ++k) {
            if (values_less(x[k], y[k])) return true;
            if (values_less(y[k], x[k])) return false;
        }
        return x.size() < y.size();
    }
    throw RuntimeError("'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

Value from_json(const nlohmann::ordered_json& j) {
    switch (j.type()) {
        case nlohmann::ordered_json::value_t::object: {
            Value d = Value::make_dict();
            for (auto it = j.begin(); it != j.end(); ++it) d.dict->items.emplace_back(Value::string(it.key()), from_json(it.value()));
            return d;
        }
        case nlohmann::ordered_json::value_t::array: {
            List items;
            for (const auto& x : j) items.push_back(from_json(x));
            return Value::make_list(std::move(items));
        }
        case nlohmann::ordered_json::value_t::string: return Value::string(j.get<std::string>());
        case nlohmann::ordered_json::value_t::boolean: return Value::boolean(j.get<bool>());
        case nlohmann::ordered_json::value_t::number_integer: return Value::integer(j.get<int64_t>());
        case nlohmann::ordered_json::value_t::number_unsigned: return Value::integer(static_cast<int64_t>(j.get<uint64_t>()));
        case nlohmann::ordered_json::value_t::number_float: return Value::real(j.get<double>());
        default: return Value::none();
    }
}

nlohmann::ordered_json to_json(const Value& v) {
    using K = Value::Kind;
    switch (v.kind) {
        case K::None: return nullptr;
        case K::Bool: return v.b;
        case K::Int: return v.i;
        case K::Float: return v.f;
        case K::String: return v.s;
        case K::List: case K::Tuple: {
            auto arr = nlohmann::ordered_json::array();
            for (const auto& x : *v.list) arr.push_back(to_json(x));
            return arr;
        }
        case K::Dict: {
            auto obj = nlohmann::ordered_json::object();
            for (const auto& [k, x] : v.dict->items) obj[k.is_string() ? k.s : k.str()] = to_json(x);
            return obj;
        }
        default: throw RuntimeError("Object of type " + v.type_name() + " is not JSON serializable");
    }
}

static void json_string(std::string& out, const std::string& s, bool ensure_ascii) {
    out += '"';
    const std::u32string cps = ensure_ascii ? utf8_decode(s) : std::u32string();
    auto put_u = [&](unsigned cp) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "\\u%04x", cp);
        out += buf;
    };
    auto put = [&](char32_t c) {
        switch (c) {
            case '"': out += "\\\""; return;
            case '\\': out += "\\\\"; return;
            case '\n': out += "\\n"; return;
            case '\r': out += "\\r"; return;
            case '\t': out += "\\t"; return;
            case '\b': out += "\\b"; return;
            case '\f': out += "\\f"; return;
            default: break;
        }
        if (c < 0x20) put_u(c);
        else if (!ensure_ascii || c < 0x7f) out += static_cast<char>(c);
        else if (c < 0x10000) put_u(c);
        else {
            char32_t v = c - 0x10000;
            put_u(0xd800 + (v >> 10));
            put_u(0xdc00 + (v & 0x3ff));
        }
    };
    if (ensure_ascii) {
        for (char32_t c : cps) put(c);
    } else {
        for (char c : s) {
            unsigned char u = static_cast<unsigned char>(c);
            if (u < 0x80) put(u);
            else out += c;  // non-ASCII bytes pass through unchanged
        }
    }
    out += '"';
}

static void dump(std::string& out, const Value& v, const DumpOptions& o, int depth) {
    using K = Value::Kind;
    auto newline = [&](int d) {
        if (o.indent < 0) return;
        out += '\n';
        out.append(static_cast<size_t>(o.indent) * d, ' ');
    };
    switch (v.kind) {
        case K::None: out += "null"; return;
        case K::Bool: out += v.b ? "true" : "false"; return;
        case K::Int: out += std::to_string(v.i); return;
        case K::Float:
            out += std::isnan(v.f) ? "NaN" : std::isinf(v.f) ? (v.f < 0 ? "-Infinity" : "Infinity") : float_repr(v.f);
            return;
        case K::String: json_string(out, v.s, o.ensure_ascii); return;
        case K::List: case K::Tuple: {
            if (v.list->empty()) { out += "[]"; return; }
            out += '[';
            for (size_t k = 0; k < v.list->size(); ++k) {
                if (k) out += o.item_sep;
                newline(depth + 1);
                dump(out, (*v.list)[k], o, depth + 1);
            }
            newline(depth);
            out += ']';
            return;
        }
        case K::Dict: {
            if (v.dict->items.empty()) { out += "{}"; return; }
            std::vector<const std::pair<Value, Value>*> items;
            for (const auto& kv : v.dict->items) items.push_back(&kv);
            auto key_text = [](const Value& k) -> std::string {
                switch (k.kind) {
                    case K::String: return k.s;
                    case K::None: return "null";
                    case K::Bool: return k.b ? "true" : "false";
                    case K::Int: return std::to_string(k.i);
                    case K::Float: return float_repr(k.f);
                    default: throw RuntimeError("keys must be str, int, float, bool or None, not " + k.type_name());
                }
            };
            if (o.sort_keys)
                std::stable_sort(items.begin(), items.end(), [&](auto* a, auto* b) { return key_text(a->first) < key_text(b->first); });
            out += '{';
            for (size_t k = 0; k < items.size(); ++k) {
                if (k) out += o.item_sep;
                newline(depth + 1);
                json_string(out, key_text(items[k]->first), o.ensure_ascii);
                out += o.key_sep;
                dump(out, items[k]->second, o, depth + 1);
            }
            newline(depth);
            out += '}';
            return;
        }
        default: throw RuntimeError("Object of type " + v.type_name() + " is not JSON serializable");
    }
}

std::string to_json_text(const Value& v, const DumpOptions& opts) {
    std::string out;
    dump(out, v, opts, 0);
    return out;
}

bool is_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

std::u32string utf8_decode(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    size_t k = 0;
    while (k < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[k]);
        int n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        if (n == 0 || k + n > s.size()) {  // invalid byte: keep it as U+FFFD-free raw code point
            out += static_cast<char32_t>(0xDC00 + c);  // lone surrogate escape, re-encoded as the same byte
            ++k;
            continue;
        }
        char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
        bool ok = true;
        for (int m = 1; m < n; ++m) {
            unsigned char cc = static_cast<unsigned char>(s[k + m]);
            if ((cc >> 6) != 0x2) { ok = false; break; }
            cp = (cp << 6) | (cc & 0x3f);
        }
        if (!ok) {
            out += static_cast<char32_t>(0xDC00 + c);
            ++k;
            continue;
        }
        out += cp;
        k += n;
    }
    return out;
}

std::string utf8_encode(std::u32string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t c : s) {
        if (c >= 0xDC80 && c <= 0xDCFF) out += static_cast<char>(c - 0xDC00);  // raw byte kept by utf8_decode
        else if (c < 0x80) out += static_cast<char>(c);
        else if (c < 0x800) {
            out += static_cast<char>(0xc0 | (c >> 6));
            out += static_cast<char>(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            out += static_cast<char>(0xe0 | (c >> 12));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (c & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (c >> 18));
            out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (c & 0x3f));
        }
    }
    return out;
}

}  // namespace hotrod::text::jinja
