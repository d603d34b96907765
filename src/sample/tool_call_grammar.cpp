// compile_tool_calls: a grammar whose output is tool calls in a chat template's own syntax. Each tool's opening
// text (head + its name as a JSON string + mid) goes into one trie, so the first bytes of the name pick the tool;
// an anyOf of call objects could not do this, since every alternative begins with '{'. Each tool's parameters
// schema is compiled into the same tables (json_schema.cpp); the CallLayer (grammar_nodes.h) strings them together.
#include <set>

#include "sample/grammar_nodes.h"

namespace hotrod::sample {

namespace {

// KMP failure function: fail[i] is the length of the longest proper prefix of text[0..i] that is also its suffix.
std::vector<uint32_t> failure_function(const std::string& text) {
    std::vector<uint32_t> fail(text.size(), 0);
    uint32_t k = 0;
    for (size_t i = 1; i < text.size(); ++i) {
        while (k > 0 && text[i] != text[k]) k = fail[k - 1];
        if (text[i] == text[k]) ++k;
        fail[i] = k;
    }
    return fail;
}

// The node for "any JSON object": a tool whose schema is not enforced still gets an object its parser reads.
int32_t any_object_node(Grammar& g) {
    Node n;
    n.types = kTypeObject;
    n.additional = Grammar::kAnyNode;
    g.nodes.push_back(n);
    return static_cast<int32_t>(g.nodes.size()) - 1;
}


bool holds(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// A raw (xml_function) string value may not hold what would end it or its call in the parser's reading.
bool raw_ok(const std::string& text) { return !holds(text, "</parameter>") && !holds(text, "</function>"); }

// One tool's arguments as xml_function blocks. A property is written raw where the parser reads it as a string
// (its schema says "type": "string"; text/tool_calls.cpp), as JSON otherwise. Throws SchemaError (the caller
// names the tool) where the schema's constraints cannot be kept in that form.
XmlParams xml_params(Grammar& g, const nlohmann::ordered_json& schema, int32_t args_node) {
    XmlParams p;
    const Node& args = g.nodes[static_cast<size_t>(args_node)];
    const std::string end = "</function>\n";
    if (args.alt_table >= 0 || args.literal >= 0 || !(args.types & kTypeObject))
        throw SchemaError("xml_function arguments need an object schema at #");
    if (args.shape < 0) {
        if (args.additional != Grammar::kAnyNode && !args.closed)
            throw SchemaError("xml_function arguments cannot hold 'additionalProperties' schemas at #");
        p.free_keys = true, p.closed = args.closed;
        p.opens.insert("<parameter=", 0);
        p.opens.insert(end, 1);
        return p;
    }
    const ObjectShape shape = g.shapes[static_cast<size_t>(args.shape)];  // a copy: g.literals grows below
    const nlohmann::ordered_json* props = nullptr;
    if (auto it = schema.find("properties"); it != schema.end() && it->is_object()) props = &*it;
    for (size_t i = 0; i < shape.props.size(); ++i) {
        const Property& prop = shape.props[i];
        const std::string where = "#/properties/" + prop.key;
        if (holds(prop.key, ">") || holds(prop.key, "\n"))
            throw SchemaError("xml_function cannot write the key '" + prop.key + "' at " + where);
        p.opens.insert("<parameter=" + prop.key + ">\n", static_cast<int32_t>(i));
        XmlParams::Value v{XmlParams::Form::Json, prop.node};
        const nlohmann::ordered_json* sub = nullptr;
        if (props) {
            if (auto it = props->find(prop.key); it != props->end() && it->is_object()) sub = &*it;
        }
        const bool raw = sub && sub->contains("type") && (*sub)["type"] == "string";
        const Node& nd = g.nodes[static_cast<size_t>(prop.node)];
        if (sub && sub->contains("type") && (*sub)["type"] == "boolean" && nd.types == kTypeBool && nd.literal < 0 &&
            nd.alt_table < 0) {
            // The templates write a boolean with Jinja's `string` filter (True / False); the parser reads both.
            ByteTrie trie;
            int32_t n = 0;
            for (const char* text : {"True", "False", "true", "false"})
                trie.insert(std::string(text) + "\n</parameter>", n++);
            g.literals.push_back(std::move(trie));
            v = {XmlParams::Form::RawLiteral, static_cast<int32_t>(g.literals.size()) - 1};
        } else if (raw && nd.literal >= 0) {
            // enum / const: the raw texts, each with the terminator, as one literal trie
            std::vector<nlohmann::ordered_json> values;
            if (sub->contains("enum")) values.assign((*sub)["enum"].begin(), (*sub)["enum"].end());
            if (sub->contains("const")) values.push_back((*sub)["const"]);
            ByteTrie trie;
            int32_t n = 0;
            for (const auto& value : values) {
                if (!value.is_string()) continue;  // not a string: the type rules it out
                const std::string text = value.get<std::string>();
                if (!raw_ok(text)) throw SchemaError("xml_function cannot write the enum value at " + where);
                trie.insert(text + "\n</parameter>", n++);
            }
            if (n == 0) throw SchemaError("no string value is allowed at " + where);
            g.literals.push_back(std::move(trie));
            v = {XmlParams::Form::RawLiteral, static_cast<int32_t>(g.literals.size()) - 1};
        } else if (raw) {
            if (nd.alt_table >= 0 || nd.types != kTypeString)
                throw SchemaError("xml_function writes strings raw; cannot enforce this string schema at " + where);
            v.form = XmlParams::Form::Raw;
        }
        p.values.push_back(v);
    }
    p.opens.insert(end, static_cast<int32_t>(shape.props.size()));
    p.next_required = shape.next_required;
    return p;
}

}  // namespace

std::shared_ptr<const Grammar> compile_tool_calls(const CallSyntax& syntax, const std::vector<ToolSpec>& tools,
                                                  const ToolCallOptions& options) {
    if (tools.empty()) throw SchemaError("tool calls need at least one tool");
    if (syntax.close.empty()) throw SchemaError("a tool-call syntax needs a closing text");
    auto g = std::make_shared<Grammar>();
    g->max_ws = 0;
    g->spaced = true;  // arguments as the templates' tojson writes them: `{"city": "Paris", "days": 3}`
    CallLayer& c = g->calls;
    c.enabled = true;
    c.lazy = options.lazy;
    c.anchored = options.lazy && syntax.anchored;
    c.prefix = syntax.prefix;
    c.close = syntax.close;
    c.separator = syntax.separator;
    c.suffix = syntax.suffix;
    c.gap_ws = syntax.gap_ws;
    c.max_calls = std::max<uint32_t>(options.max_calls, 1);
    c.xml = syntax.xml_params;
    if (c.lazy) {
        // The trigger is replayed from the calls' start once matched (grammar_machine.cpp), so it must be how
        // every call sequence begins.
        const std::string start = syntax.prefix + syntax.head;
        if (syntax.trigger.empty() || start.compare(0, syntax.trigger.size(), syntax.trigger) != 0)
            throw SchemaError("a lazy tool-call trigger must begin the call text");
        c.trigger = syntax.trigger;
        c.trigger_fail = failure_function(c.trigger);
    }
    int32_t any_object = -1;
    std::set<std::string> names;
    for (const ToolSpec& t : tools) {
        if (!names.insert(t.name).second) continue;  // a repeated name: the first one's schema counts
        int32_t node = -1;
        if (!t.parameters.is_null()) {
            try {
                node = add_json_schema(*g, t.parameters);
            } catch (const SchemaError& e) {
                if (t.strict) throw SchemaError(t.where + ": " + e.what());
            }
        }
        if (node < 0) {
            if (any_object < 0) any_object = any_object_node(*g);
            node = any_object;
        }
        if (syntax.xml_params) {
            if (holds(t.name, ">") || holds(t.name, "\n"))
                throw SchemaError(t.where + ": xml_function cannot write the tool name '" + t.name + "'");
            try {
                c.xml_args.push_back(xml_params(*g, t.parameters, node));
            } catch (const SchemaError& e) {
                if (t.strict) throw SchemaError(t.where + ": " + e.what());
                c.xml_args.push_back(xml_params(*g, nlohmann::ordered_json(), any_object_node(*g)));
            }
        }
        const int32_t index = static_cast<int32_t>(c.args_node.size());
        c.args_node.push_back(node);
        const std::string name = syntax.xml_params ? t.name : nlohmann::json(t.name).dump();
        c.opens.insert(syntax.head + name + syntax.mid, index);
    }
    return g;
}

}  // namespace hotrod::sample
