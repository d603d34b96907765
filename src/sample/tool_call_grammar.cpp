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
        const int32_t index = static_cast<int32_t>(c.args_node.size());
        c.args_node.push_back(node);
        c.opens.insert(syntax.head + nlohmann::json(t.name).dump() + syntax.mid, index);
    }
    return g;
}

}  // namespace hotrod::sample
