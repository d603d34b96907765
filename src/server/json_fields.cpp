// Field readers for request bodies: every failure is a 400 naming the field, what was expected and what came.
#include "server/json_fields.h"

#include <algorithm>
#include <cmath>

#include "server/api_error.h"

namespace hotrod::server {
namespace {

const nlohmann::ordered_json* find(const nlohmann::ordered_json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

[[noreturn]] void wrong_type(const char* key, const char* expected, const nlohmann::ordered_json& v) {
    throw bad_request(std::string("'") + key + "' must be " + expected + ", got " + json_type_name(v), key);
}

// The deepest nesting of arrays and objects in a JSON text, counting brackets outside strings (on invalid JSON,
// some number the parser's own error makes moot).
int json_depth(std::string_view text) {
    int depth = 0, max_depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            max_depth = std::max(max_depth, ++depth);
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return max_depth;
}

}  // namespace

const char* json_type_name(const nlohmann::ordered_json& v) {
    switch (v.type()) {
        case nlohmann::ordered_json::value_t::null: return "null";
        case nlohmann::ordered_json::value_t::boolean: return "boolean";
        case nlohmann::ordered_json::value_t::string: return "string";
        case nlohmann::ordered_json::value_t::array: return "array";
        case nlohmann::ordered_json::value_t::object: return "object";
        case nlohmann::ordered_json::value_t::number_integer:
        case nlohmann::ordered_json::value_t::number_unsigned: return "integer";
        case nlohmann::ordered_json::value_t::number_float: return "number";
        default: return "binary";
    }
}

nlohmann::ordered_json parse_body(std::string_view text) {
    // Checked before parsing: nlohmann parses any depth, but copying, dumping and the template's conversion of a
    // value recurse once per level, and a few MB of '[' overflow the stack of the thread that handles it.
    if (json_depth(text) > kMaxJsonDepth)
        throw bad_request("the request body nests arrays and objects deeper than " + std::to_string(kMaxJsonDepth) +
                          " levels");
    nlohmann::ordered_json body;
    try {
        body = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::ordered_json::exception& e) {
        // nlohmann's message gives the byte position and why (syntax, ill-formed UTF-8, or out_of_range for a
        // number beyond a double, such as 1e400).
        throw bad_request(std::string("the request body is not valid JSON: ") + e.what());
    }
    if (!body.is_object()) throw bad_request(std::string("the request body must be a JSON object, got ") +
                                             json_type_name(body));
    return body;
}

std::optional<bool> get_bool(const nlohmann::ordered_json& obj, const char* key) {
    const nlohmann::ordered_json* v = find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) wrong_type(key, "a boolean", *v);
    return v->get<bool>();
}

std::optional<double> get_number(const nlohmann::ordered_json& obj, const char* key) {
    const nlohmann::ordered_json* v = find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_number()) wrong_type(key, "a number", *v);
    const double d = v->get<double>();
    if (!std::isfinite(d)) throw bad_request(std::string("'") + key + "' must be finite", key);
    return d;
}

std::optional<int64_t> get_int(const nlohmann::ordered_json& obj, const char* key) {
    const nlohmann::ordered_json* v = find(obj, key);
    if (!v) return std::nullopt;
    if (v->is_number_integer()) {
        if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX))
            throw bad_request(std::string("'") + key + "' is too large", key);
        return v->get<int64_t>();
    }
    // 3.0 is an integer to a JSON reader in Python or JavaScript; 3.5 is not.
    if (v->is_number_float()) {
        const double d = v->get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return int64_t(d);
    }
    wrong_type(key, "an integer", *v);
}

std::optional<std::string> get_string(const nlohmann::ordered_json& obj, const char* key) {
    const nlohmann::ordered_json* v = find(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) wrong_type(key, "a string", *v);
    return v->get<std::string>();
}

const nlohmann::ordered_json* get_object(const nlohmann::ordered_json& obj, const char* key) {
    const nlohmann::ordered_json* v = find(obj, key);
    if (!v) return nullptr;
    if (!v->is_object()) wrong_type(key, "an object", *v);
    return v;
}

}  // namespace hotrod::server
