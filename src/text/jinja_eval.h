// The public face of the Jinja subset: Template (parse once, render many times) and the Evaluator
// that walks the tree. Scoping follows jinja2: a for-loop body gets a fresh scope per iteration (so
// `set` inside a loop does not leak; use namespace()), if-blocks share their scope, macros see the
// template's top-level names at call time. Built-in filters/tests/methods are in jinja_builtins.cpp.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "text/jinja_ast.h"
#include "text/jinja_value.h"

namespace hotrod::text::jinja {

struct RenderOptions {
    int max_call_depth = 64;                  // nested macro calls (recursion guard)
    int64_t max_loop_iterations = 1'000'000;  // all loops together, and the largest range()
    size_t max_output_bytes = 64u << 20;      // rendered text and any one string built on the way
    std::optional<std::tm> now;               // strftime_now() time; the local clock when empty
};

class Evaluator {
public:
    struct Scope {
        std::unordered_map<std::string, Value> vars;
        Scope* parent = nullptr;
        Value* find(const std::string& name);
    };

    Evaluator(const std::string& name, const RenderOptions& opts);

    // Renders body with `context` (a dict of top-level names) over the built-in globals.
    std::string render(const Body& body, const Value& context);

    Value eval(const Expr& e);
    Value call(const Value& callee, Args& args);
    Value apply_filter(const std::string& name, const Value& operand, Args& args);
    bool apply_test(const std::string& name, const Value& operand, Args& args);
    // Attribute access as jinja2's getattr: methods of str/dict/list first, then dict items.
    Value get_attr(const Value& obj, const std::string& attr);
    // Subscript as jinja2's getitem: items first, then attributes.
    Value get_item(const Value& obj, const Value& key);

    const RenderOptions& options() const { return opts_; }
    void count_iterations(int64_t n);
    void check_size(size_t n_bytes) const;

private:
    enum class Flow { Normal, Break, Continue };

    std::string name_;
    RenderOptions opts_;
    Scope globals_;
    Scope* top_ = nullptr;    // the template's own scope (context + top-level set)
    Scope* scope_ = nullptr;  // innermost scope
    std::string* out_ = nullptr;
    int call_depth_ = 0;
    int64_t n_iterations_ = 0;

    Flow exec_body(const Body& body);
    Flow exec(const Node& n);
    Flow exec_for(const Node& n);
    void exec_set(const Node& n, Value v);
    void assign(const Target& t, const Value& v, int line, int col);
    std::string capture(const Body& body, Scope* parent);
    Value make_macro(const Node& n, Scope* defining, const Node* call_body);
    Value eval_binary(const Expr& e);
    Value eval_slice(const Value& obj, const Expr& e);
    Args eval_args(const Expr& e, size_t first);
    [[noreturn]] void fail(int line, int col, const std::string& msg) const;
};

class Template {
public:
    // Parses the source; throws jinja::Error("name:line:col: ...") on a syntax error.
    explicit Template(std::string_view source, std::string name = "template");

    // Renders with the top-level names of `context` (a JSON object); throws jinja::Error on a runtime
    // error (raise_exception, an undefined attribute, an unknown filter) naming line and column.
    std::string render(const nlohmann::ordered_json& context, const RenderOptions& opts = {}) const;
    std::string render(const Value& context, const RenderOptions& opts = {}) const;

    const std::string& name() const { return name_; }

private:
    std::string name_;
    Body body_;
};

// Built-ins (jinja_builtins.cpp).
void add_builtin_globals(std::unordered_map<std::string, Value>& globals);
using FilterFn = Value (*)(const Value& operand, Args& args, Evaluator& ev);
using TestFn = bool (*)(const Value& operand, Args& args, Evaluator& ev);
FilterFn find_filter(std::string_view name);
TestFn find_test(std::string_view name);
// A bound method of a str, dict or list value (`s.strip`, `d.items`); Undefined if there is none.
Value find_method(const Value& obj, const std::string& name);

// Python str behaviour shared by methods and filters (jinja_methods.cpp). Case mapping is ASCII-only.
std::string py_strip(const std::string& s, const Value& chars, bool left, bool right);
List py_split(const std::string& s, const Value& sep, int64_t maxsplit, bool from_right);
std::string py_title(const std::string& s);
std::string py_lower(std::string s);
std::string py_upper(std::string s);
// Python's `fmt % args` for %s %r %d %i %f %% (the `%` operator on strings and the format filter).
std::string percent_format(const std::string& fmt, const Value& args);
std::string py_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count);
// Python's int(x) for a float (toward zero). RuntimeError for infinity, NaN and values beyond int64, where Python
// makes a big integer (and a C++ cast is undefined behaviour).
int64_t py_float_to_int(double d);

}  // namespace hotrod::text::jinja
