// The value model of the Jinja subset: what a template expression evaluates to. Mirrors the Python
// objects jinja2 sees when Hugging Face renders a chat template (str, int, float, bool, None, list,
// tuple, dict with insertion order, Undefined, namespace, callables), with Python's printing rules
// (str/repr) and JSON conversion both ways. Evaluation lives in jinja_eval.cpp, built-ins in jinja_builtins.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace hotrod::text::jinja {

// A template error: `name:line:col: message`. line/col are 1-based; 0 when unknown.
class Error : public std::runtime_error {
public:
    Error(const std::string& where, int line, int col, const std::string& message)
        : std::runtime_error(where + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + message),
          line_(line), col_(col), message_(message) {}
    int line() const { return line_; }
    int col() const { return col_; }
    const std::string& message() const { return message_; }

private:
    int line_, col_;
    std::string message_;
};

// An error raised while evaluating, before the position is known; the evaluator adds line and column.
class RuntimeError : public std::runtime_error {
public:
    explicit RuntimeError(const std::string& message) : std::runtime_error(message) {}
};

struct Value;
struct Dict;
struct Args;
class Evaluator;
using List = std::vector<Value>;
// A built-in or a macro: receives evaluated arguments and the evaluator (for calling back into filters).
using NativeFn = std::function<Value(Args&, Evaluator&)>;

struct Callable {
    std::string name;
    NativeFn fn;
};

struct Value {
    enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, List, Tuple, Dict, Namespace, Callable };

    Kind kind = Kind::Undefined;
    bool b = false;
    int64_t i = 0;
    double f = 0.0;
    std::string s;                     // String; for Undefined: the hint used in error messages
    std::shared_ptr<List> list;        // List, Tuple (shared: `append` is seen by every holder, as in Python)
    std::shared_ptr<Dict> dict;        // Dict, Namespace
    std::shared_ptr<Callable> fn;      // Callable
    bool safe = false;                 // output of |safe (kept only for `is escaped`)

    Value() = default;
    static Value undefined(std::string hint = "") { Value v; v.s = std::move(hint); return v; }
    static Value none() { Value v; v.kind = Kind::None; return v; }
    static Value boolean(bool x) { Value v; v.kind = Kind::Bool; v.b = x; return v; }
    static Value integer(int64_t x) { Value v; v.kind = Kind::Int; v.i = x; return v; }
    static Value real(double x) { Value v; v.kind = Kind::Float; v.f = x; return v; }
    static Value string(std::string x) { Value v; v.kind = Kind::String; v.s = std::move(x); return v; }
    static Value make_list(List items = {});
    static Value make_tuple(List items);
    static Value make_dict();
    static Value make_namespace();
    static Value callable(std::string name, NativeFn fn);

    bool is_undefined() const { return kind == Kind::Undefined; }
    bool is_none() const { return kind == Kind::None; }
    bool is_string() const { return kind == Kind::String; }
    bool is_int() const { return kind == Kind::Int || kind == Kind::Bool; }  // bool is an int in Python
    bool is_number() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool; }
    bool is_sequence() const { return kind == Kind::List || kind == Kind::Tuple; }
    bool is_mapping() const { return kind == Kind::Dict || kind == Kind::Namespace; }

    double as_double() const { return kind == Kind::Float ? f : kind == Kind::Bool ? (b ? 1 : 0) : static_cast<double>(i); }
    int64_t as_int() const { return kind == Kind::Bool ? (b ? 1 : 0) : i; }

    // Python truthiness (Undefined is false).
    bool truthy() const;
    // Python str(): what `{{ x }}` prints. Undefined prints "".
    std::string str() const;
    // Python repr(): how an item prints inside a list or dict.
    std::string repr() const;
    // Python's type name, for error messages ("str", "dict", "NoneType").
    std::string type_name() const;
    // Items when iterated in a for loop or passed to list(): list items, dict keys, string code points.
    List iterate() const;
    // len(); throws RuntimeError for values without a length.
    int64_t length() const;
    // Attribute or item lookup on a dict; Undefined when missing.
    Value get_key(const Value& key) const;
    // Raise the UndefinedError this value stands for.
    [[noreturn]] void throw_undefined() const;
};

// A dict keeps insertion order (Python 3.7+). Small in practice (a message, a tool schema): linear lookup.
struct Dict {
    std::vector<std::pair<Value, Value>> items;
    const Value* find(const Value& key) const;
    const Value* find(std::string_view key) const;
    void set(const Value& key, Value value);
};

struct Args {
    std::vector<Value> pos;
    std::vector<std::pair<std::string, Value>> kw;
    // Argument `idx` by position or by keyword `name`; Undefined when absent.
    Value get(size_t idx, std::string_view name) const;
    bool has(size_t idx, std::string_view name) const;
};

bool values_equal(const Value& a, const Value& b);
// Python ordering (<); throws RuntimeError for unorderable types.
bool values_less(const Value& a, const Value& b);
// Python float repr: shortest round-trip, "1.0", "1e+20", "inf", "nan".
std::string float_repr(double x);

Value from_json(const nlohmann::ordered_json& j);
// json.dumps(x, ensure_ascii=..., indent=..., separators=..., sort_keys=...), as Python writes it.
struct DumpOptions {
    bool ensure_ascii = false;
    int indent = -1;  // -1: None (one line)
    std::string item_sep = ", ";
    std::string key_sep = ": ";
    bool sort_keys = false;
};
std::string to_json_text(const Value& v, const DumpOptions& opts);
nlohmann::ordered_json to_json(const Value& v);

// UTF-8 helpers: strings index by code point, as Python str does.
std::u32string utf8_decode(std::string_view s);
std::string utf8_encode(std::u32string_view s);
bool is_ascii(std::string_view s);

}  // namespace hotrod::text::jinja
