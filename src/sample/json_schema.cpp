// JSON schema (and response_format json_object) -> Grammar tables. One pass over the schema, so compile time
// is proportional to its size; $ref targets are compiled once, when first referenced.
//
// Policy (every choice keeps outputs valid against the schema, never looser):
// - Keywords that change validity and are not enforced are a SchemaError naming keyword and JSON pointer;
//   annotations (title, description, examples, default, $schema, $id, $comment, ...) are ignored.
// - Objects with `properties` admit only those properties, in the schema's order (document order for an
//   ordered_json schema, name order for nlohmann::json), required ones always, optional ones may be skipped,
//   whatever additionalProperties says. Without `properties`, keys are free (values: additionalProperties).
// - An integer with both bounds (minimum/maximum, exclusive forms too) and at most 4096 values is the set of those
//   values; other numeric bounds are refused.
// - enum/const admit the canonical (compact) text of each value; anyOf/oneOf need alternatives that begin
//   with different characters (so the first byte picks one, and oneOf's "exactly one" holds).
// - Output is spaced as json.dumps writes it (one space after every `:` and `,`, no other whitespace), so fixed
//   keys are still forced bytes (jump-forward) and small models see the JSON style their prompts show.
#include <bitset>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "sample/grammar_nodes.h"

namespace hotrod::sample {

namespace {

// The text an enum/const value is written as: nlohmann's compact dump with one space after every ':' and ','
// outside strings, the style of the rest of the output.
std::string spaced_dump(const nlohmann::ordered_json& v) {
    const std::string compact = nlohmann::json(v).dump();
    std::string out;
    bool in_string = false, escaped = false;
    for (const char c : compact) {
        out += c;
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == ':' || c == ',') {
            out += ' ';
        }
    }
    return out;
}

using ojson = nlohmann::ordered_json;

const std::set<std::string>& annotation_keywords() {
    static const std::set<std::string> k = {"title",      "description", "examples", "default",  "$schema",
                                            "$id",        "$comment",    "deprecated", "readOnly", "writeOnly"};
    return k;
}

const std::set<std::string>& handled_keywords() {
    static const std::set<std::string> k = {"type",      "enum",      "const",     "properties", "required",
                                            "additionalProperties",   "items",     "minItems",   "maxItems",
                                            "minLength", "maxLength", "anyOf",     "oneOf",      "$ref",
                                            "$defs",     "definitions", "minimum",   "maximum",
                                            "exclusiveMinimum",       "exclusiveMaximum"};
    return k;
}

// Keywords that only matter for one JSON type; used to infer the type when `type` is absent.
uint8_t family_of(const std::string& key) {
    if (key == "properties" || key == "required" || key == "additionalProperties") return kTypeObject;
    if (key == "items" || key == "minItems" || key == "maxItems") return kTypeArray;
    if (key == "minLength" || key == "maxLength") return kTypeString;
    if (key == "minimum" || key == "maximum" || key == "exclusiveMinimum" || key == "exclusiveMaximum")
        return kTypeInteger;  // the only numbers a range is enforced for (see integer_range)
    return 0;
}

std::string pointer_token(const std::string& key) {
    std::string out;
    for (char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

[[noreturn]] void fail(const std::string& what, const std::string& ptr) { throw SchemaError(what + " at " + ptr); }

// A count above uint32 is as good as unbounded. A float is tested as a double: casting one beyond the integer
// range (1e30) is undefined behaviour, so it is clamped before any cast.
uint32_t count_value(const ojson& v, const char* key, const std::string& ptr) {
    if (v.is_number_unsigned()) return static_cast<uint32_t>(std::min<uint64_t>(v.get<uint64_t>(), kUnbounded - 1));
    if (v.is_number_integer() && v.get<int64_t>() >= 0)
        return static_cast<uint32_t>(std::min<int64_t>(v.get<int64_t>(), kUnbounded - 1));
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (d >= 0 && d == std::floor(d)) return static_cast<uint32_t>(std::min<double>(d, kUnbounded - 1));
    }
    fail(std::string("'") + key + "' must be a non-negative integer", ptr);
}

uint8_t type_bit(const ojson& t, const std::string& ptr) {
    if (!t.is_string()) fail("'type' entries must be strings", ptr);
    const std::string& s = t.get_ref<const std::string&>();
    if (s == "null") return kTypeNull;
    if (s == "boolean") return kTypeBool;
    if (s == "integer") return kTypeInteger;
    if (s == "number") return kTypeNumber | kTypeInteger;
    if (s == "string") return kTypeString;
    if (s == "array") return kTypeArray;
    if (s == "object") return kTypeObject;
    fail("unknown type '" + s + "'", ptr);
}

bool value_has_type(const ojson& v, uint8_t types) {
    if (v.is_null()) return types & kTypeNull;
    if (v.is_boolean()) return types & kTypeBool;
    if (v.is_number_integer() || v.is_number_unsigned()) return types & (kTypeInteger | kTypeNumber);
    if (v.is_number_float()) {
        // An integer is a number without a fractional part, of any size (1e300 is one; casting it is undefined).
        const double d = v.get<double>();
        return (types & kTypeNumber) || ((types & kTypeInteger) && std::isfinite(d) && d == std::floor(d));
    }
    if (v.is_string()) return types & kTypeString;
    if (v.is_array()) return types & kTypeArray;
    return types & kTypeObject;
}

class SchemaCompiler {
public:
    SchemaCompiler(const ojson& root, Grammar& g) : root_(root), g_(&g) {}

    // The node that admits the whole schema.
    int32_t run() { return compile(root_, "#"); }

private:
    static constexpr int kMaxNesting = 64;

    const ojson& root_;
    Grammar* g_;
    std::map<std::string, int32_t> ref_nodes_;  // resolved pointer -> node
    std::set<int32_t> in_progress_;
    int nesting_ = 0;

    int32_t new_node() {
        g_->nodes.emplace_back();
        return static_cast<int32_t>(g_->nodes.size()) - 1;
    }

    // A schema -> the node that admits it.
    int32_t compile(const ojson& s, const std::string& ptr) {
        if (s.is_object() && s.contains("$ref")) {
            for (const auto& [key, value] : s.items()) {
                if (key != "$ref" && key != "$defs" && key != "definitions" && !annotation_keywords().count(key)) {
                    fail("'$ref' beside '" + key + "' is unsupported", ptr);
                }
            }
            return ref_node(s["$ref"], ptr + "/$ref");
        }
        int32_t id = new_node();
        compile_into(id, s, ptr);
        return id;
    }

    // Follows a chain of $refs to a schema that is not one, compiling it once.
    int32_t ref_node(const ojson& ref, const std::string& ptr) {
        std::set<std::string> seen;
        const ojson* target = &ref;
        std::string at;
        for (;;) {
            if (!target->is_string()) fail("'$ref' must be a string", ptr);
            at = target->get<std::string>();
            if (!seen.insert(at).second) fail("'$ref' cycle through '" + at + "'", ptr);
            if (at != "#" && at.rfind("#/$defs/", 0) != 0 && at.rfind("#/definitions/", 0) != 0) {
                fail("'$ref' other than to '#', '#/$defs/...' or '#/definitions/...' is unsupported ('" + at + "')",
                     ptr);
            }
            ojson::json_pointer jp(at.substr(1));
            if (!root_.contains(jp)) fail("'$ref' target '" + at + "' does not exist", ptr);
            const ojson& schema = root_.at(jp);
            if (!(schema.is_object() && schema.contains("$ref"))) {
                target = &schema;
                break;
            }
            target = &schema["$ref"];
        }
        if (auto it = ref_nodes_.find(at); it != ref_nodes_.end()) return it->second;
        int32_t id = new_node();
        ref_nodes_[at] = id;
        in_progress_.insert(id);
        compile_into(id, *target, at);
        in_progress_.erase(id);
        return id;
    }

    void compile_into(int32_t id, const ojson& s, const std::string& ptr) {
        if (++nesting_ > kMaxNesting) fail("schema nested deeper than 64 levels", ptr);
        Node node = build(s, ptr);
        g_->nodes[static_cast<size_t>(id)] = node;
        --nesting_;
    }

    Node build(const ojson& s, const std::string& ptr) {
        Node node;
        if (s.is_boolean()) {
            if (!s.get<bool>()) fail("schema 'false' admits nothing", ptr);
            node = g_->nodes[Grammar::kAnyNode];
            return node;
        }
        if (!s.is_object()) fail("a schema must be an object or a boolean", ptr);
        std::vector<std::string> validating;  // handled keywords present, for "beside" checks
        uint8_t inferred = 0;
        for (const auto& [key, value] : s.items()) {
            if (annotation_keywords().count(key)) continue;
            if (!handled_keywords().count(key)) fail("unsupported schema keyword '" + key + "'", ptr);
            if (key == "$defs" || key == "definitions") {
                if (!value.is_object()) fail("'" + key + "' must be an object", ptr);
                continue;
            }
            validating.push_back(key);
            inferred |= family_of(key);
        }
        auto only = [&](const std::set<std::string>& allowed, const char* what) {
            for (const auto& k : validating) {
                if (!allowed.count(k)) fail(std::string("'") + what + "' beside '" + k + "' is unsupported", ptr);
            }
        };

        uint8_t types = inferred ? inferred : static_cast<uint8_t>(kTypeAll);
        if (s.contains("type")) {
            const ojson& t = s["type"];
            types = 0;
            if (t.is_array()) {
                if (t.empty()) fail("'type' must not be empty", ptr + "/type");
                for (const auto& e : t) types |= type_bit(e, ptr + "/type");
            } else {
                types = type_bit(t, ptr + "/type");
            }
        }

        if (s.contains("enum") || s.contains("const")) {
            only({"enum", "const", "type"}, s.contains("enum") ? "enum" : "const");
            node.literal = build_literal(s, types, ptr);
            return node;
        }
        if (s.contains("minimum") || s.contains("maximum") || s.contains("exclusiveMinimum") ||
            s.contains("exclusiveMaximum")) {
            only({"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}, "minimum");
            node.literal = integer_range(s, types, ptr);
            return node;
        }
        if (s.contains("anyOf") || s.contains("oneOf")) {
            const char* key = s.contains("anyOf") ? "anyOf" : "oneOf";
            only({key}, key);
            node.alt_table = build_alternatives(s[key], ptr + "/" + key);
            return node;
        }

        node.types = types;
        if (types & kTypeObject) build_object(s, ptr, node);
        if (types & kTypeArray) {
            node.items = Grammar::kAnyNode;
            if (s.contains("items")) {
                if (s["items"].is_array()) fail("'items' as an array (tuple form) is unsupported", ptr + "/items");
                node.items = compile(s["items"], ptr + "/items");
            }
            if (s.contains("minItems")) node.min_items = count_value(s["minItems"], "minItems", ptr);
            if (s.contains("maxItems")) node.max_items = count_value(s["maxItems"], "maxItems", ptr);
            if (node.min_items > node.max_items) fail("'minItems' above 'maxItems'", ptr);
        }
        if (types & kTypeString) {
            if (s.contains("minLength")) node.min_length = count_value(s["minLength"], "minLength", ptr);
            if (s.contains("maxLength")) node.max_length = count_value(s["maxLength"], "maxLength", ptr);
            if (node.min_length > node.max_length) fail("'minLength' above 'maxLength'", ptr);
        }
        return node;
    }

    // An integer between two bounds, as the set of its values (a literal trie): tool parameters such as "nights: 1 to
    // 14" or "page: 0 to 99" are small ranges, and a set needs no arithmetic in the byte automaton. Wider ranges,
    // one-sided bounds and non-integer numbers are refused (the digit machine cannot compare): fail closed.
    int32_t integer_range(const ojson& s, uint8_t types, const std::string& ptr) {
        constexpr int64_t kMaxRange = 4096;
        if (types != kTypeInteger)
            fail("'minimum'/'maximum' are enforced only for type integer with both bounds", ptr);
        auto bound = [&](const char* key, bool lower) -> std::optional<int64_t> {
            if (!s.contains(key)) return std::nullopt;
            const ojson& v = s[key];
            if (!v.is_number()) fail(std::string("'") + key + "' must be a number", ptr + "/" + key);
            const double d = v.get<double>();
            if (!std::isfinite(d) || std::fabs(d) > 1e15) fail(std::string("'") + key + "' out of range", ptr);
            const bool exclusive = std::string(key).rfind("exclusive", 0) == 0;
            // The smallest (largest) integer the bound admits.
            double r = lower ? std::ceil(d) : std::floor(d);
            if (exclusive && r == d) r += lower ? 1 : -1;
            return static_cast<int64_t>(r);
        };
        std::optional<int64_t> lo = bound("minimum", true), hi = bound("maximum", false);
        if (auto e = bound("exclusiveMinimum", true)) lo = lo ? std::max(*lo, *e) : *e;
        if (auto e = bound("exclusiveMaximum", false)) hi = hi ? std::min(*hi, *e) : *e;
        if (!lo || !hi) fail("an integer range needs both a lower and an upper bound to be enforced", ptr);
        if (*lo > *hi) fail("no integer satisfies the bounds", ptr);
        if (*hi - *lo >= kMaxRange)
            fail("an integer range wider than " + std::to_string(kMaxRange) + " values is unsupported", ptr);
        ByteTrie trie;
        for (int64_t v = *lo; v <= *hi; ++v) trie.insert(std::to_string(v), static_cast<int32_t>(v - *lo));
        g_->literals.push_back(std::move(trie));
        return static_cast<int32_t>(g_->literals.size()) - 1;
    }

    int32_t build_literal(const ojson& s, uint8_t types, const std::string& ptr) {
        std::vector<ojson> values;
        if (s.contains("enum")) {
            const ojson& e = s["enum"];
            if (!e.is_array() || e.empty()) fail("'enum' must be a non-empty array", ptr + "/enum");
            for (const auto& v : e) values.push_back(v);
        }
        if (s.contains("const")) {
            const ojson& c = s["const"];
            if (s.contains("enum")) {
                bool found = false;
                for (const auto& v : values) found = found || nlohmann::json(v) == nlohmann::json(c);
                values.clear();
                if (found) values.push_back(c);
            } else {
                values.push_back(c);
            }
        }
        ByteTrie trie;
        int32_t n = 0;
        for (const auto& v : values) {
            if (!value_has_type(v, types)) continue;
            // nlohmann::json (sorted keys) gives one canonical text per value.
            trie.insert(spaced_dump(v), n++);
        }
        if (n == 0) fail("no 'enum'/'const' value satisfies the schema", ptr);
        g_->literals.push_back(std::move(trie));
        return static_cast<int32_t>(g_->literals.size()) - 1;
    }

    std::bitset<256> first_bytes(int32_t id, const std::string& ptr) {
        if (in_progress_.count(id)) fail("a recursive '$ref' as an anyOf/oneOf alternative is unsupported", ptr);
        const Node& nd = g_->nodes[static_cast<size_t>(id)];
        std::bitset<256> bits;
        if (nd.alt_table >= 0) {
            for (int b = 0; b < 256; ++b) bits[static_cast<size_t>(b)] = g_->alt_tables[static_cast<size_t>(nd.alt_table)][b] >= 0;
            return bits;
        }
        if (nd.literal >= 0) {
            for (const auto& [b, c] : g_->literals[static_cast<size_t>(nd.literal)].nodes[0].edges) bits[b] = true;
            return bits;
        }
        if (nd.types & kTypeObject) bits['{'] = true;
        if (nd.types & kTypeArray) bits['['] = true;
        if (nd.types & kTypeString) bits['"'] = true;
        if (nd.types & kTypeBool) bits['t'] = bits['f'] = true;
        if (nd.types & kTypeNull) bits['n'] = true;
        if (nd.types & (kTypeInteger | kTypeNumber)) {
            bits['-'] = true;
            for (char c = '0'; c <= '9'; ++c) bits[static_cast<uint8_t>(c)] = true;
        }
        return bits;
    }

    int32_t build_alternatives(const ojson& alts, const std::string& ptr) {
        if (!alts.is_array() || alts.empty()) fail("must be a non-empty array", ptr);
        std::array<int32_t, 256> table;
        table.fill(-1);
        for (size_t i = 0; i < alts.size(); ++i) {
            const std::string at = ptr + "/" + std::to_string(i);
            int32_t alt = compile(alts[i], at);
            std::bitset<256> bits = first_bytes(alt, at);
            for (int b = 0; b < 256; ++b) {
                if (!bits[static_cast<size_t>(b)]) continue;
                if (table[static_cast<size_t>(b)] >= 0) {
                    fail("alternatives that can begin with the same character are unsupported", at);
                }
                table[static_cast<size_t>(b)] = alt;
            }
        }
        g_->alt_tables.push_back(table);
        return static_cast<int32_t>(g_->alt_tables.size()) - 1;
    }

    void build_object(const ojson& s, const std::string& ptr, Node& node) {
        const ojson* additional = s.contains("additionalProperties") ? &s["additionalProperties"] : nullptr;
        if (additional && !additional->is_boolean() && !additional->is_object()) {
            fail("'additionalProperties' must be a boolean or a schema", ptr + "/additionalProperties");
        }
        const bool additional_false = additional && additional->is_boolean() && !additional->get<bool>();
        std::set<std::string> required;
        if (s.contains("required")) {
            const ojson& r = s["required"];
            if (!r.is_array()) fail("'required' must be an array", ptr + "/required");
            for (const auto& name : r) {
                if (!name.is_string()) fail("'required' entries must be strings", ptr + "/required");
                if (!required.insert(name.get<std::string>()).second) {
                    fail("'required' names '" + name.get<std::string>() + "' twice", ptr + "/required");
                }
            }
        }
        ObjectShape shape;
        std::set<std::string> listed;
        if (s.contains("properties")) {
            const ojson& props = s["properties"];
            if (!props.is_object()) fail("'properties' must be an object", ptr + "/properties");
            for (const auto& [key, sub] : props.items()) {
                const std::string at = ptr + "/properties/" + pointer_token(key);
                listed.insert(key);
                if (sub.is_boolean() && !sub.get<bool>()) {
                    if (required.count(key)) fail("required property '" + key + "' has schema false", at);
                    continue;  // may never appear
                }
                shape.props.push_back({key, compile(sub, at), required.count(key) > 0});
            }
        }
        for (const auto& name : required) {
            if (listed.count(name)) continue;
            if (additional_false) {
                fail("required '" + name + "' is not in 'properties' and additionalProperties is false",
                     ptr + "/required");
            }
            int32_t value = additional && additional->is_object()
                                ? compile(*additional, ptr + "/additionalProperties")
                                : Grammar::kAnyNode;
            shape.props.push_back({name, value, true});
        }
        if (shape.props.empty()) {
            node.closed = additional_false;
            node.additional = additional && additional->is_object()
                                  ? compile(*additional, ptr + "/additionalProperties")
                                  : Grammar::kAnyNode;
            return;
        }
        for (size_t i = 0; i < shape.props.size(); ++i) {
            shape.keys.insert(nlohmann::json(shape.props[i].key).dump(), static_cast<int32_t>(i));
        }
        shape.next_required.assign(shape.props.size() + 1, static_cast<uint32_t>(shape.props.size()));
        for (size_t i = shape.props.size(); i-- > 0;) {
            shape.next_required[i] = shape.props[i].required ? static_cast<uint32_t>(i) : shape.next_required[i + 1];
        }
        g_->shapes.push_back(std::move(shape));
        node.shape = static_cast<int32_t>(g_->shapes.size()) - 1;
    }
};

}  // namespace

std::shared_ptr<const Grammar> compile_json_object() {
    auto g = std::make_shared<Grammar>();
    Node root;
    root.types = kTypeObject;
    root.additional = Grammar::kAnyNode;
    g->nodes.push_back(root);
    g->root = static_cast<int32_t>(g->nodes.size()) - 1;
    g->max_ws = 2;  // free-form JSON reads naturally with a space after ':' and ','; a run of 2 allows ",\n "
    return g;
}

int32_t add_json_schema(Grammar& g, const nlohmann::ordered_json& schema) {
    try {
        return SchemaCompiler(schema, g).run();
    } catch (const nlohmann::json::exception& e) {
        throw SchemaError(std::string("invalid schema: ") + e.what());
    }
}

std::shared_ptr<const Grammar> compile_json_schema(const nlohmann::ordered_json& schema) {
    auto g = std::make_shared<Grammar>();
    g->max_ws = 0;
    g->spaced = true;
    g->root = add_json_schema(*g, schema);
    return g;
}

std::shared_ptr<const Grammar> compile_json_schema(const nlohmann::json& schema) {
    return compile_json_schema(nlohmann::ordered_json(schema));
}

}  // namespace hotrod::sample
