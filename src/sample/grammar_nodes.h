// The compiled form of a Grammar: a table of value nodes (what JSON value may appear at a place) with their
// object shapes, key tries and literal tries. json_schema.cpp builds it; grammar_machine.cpp walks it byte by
// byte. Plain data, immutable after compile, so one Grammar serves every request on any thread.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "sample/grammar.h"

namespace hotrod::sample {

// Bounds that keep the automaton finite per value (a model cannot loop on digits or spaces).
inline constexpr uint32_t kMaxIntDigits = 15;
inline constexpr uint32_t kMaxFracDigits = 10;
inline constexpr uint32_t kUnbounded = std::numeric_limits<uint32_t>::max();

// JSON types a node admits, as bits.
enum TypeBit : uint8_t {
    kTypeNull = 1,
    kTypeBool = 2,
    kTypeInteger = 4,
    kTypeNumber = 8,  // any number (implies integers)
    kTypeString = 16,
    kTypeArray = 32,
    kTypeObject = 64,
    kTypeAll = 127,
};

// A set of byte strings as a trie; edges sorted by byte. Used for enum/const texts and for object keys.
struct ByteTrie {
    struct Node {
        std::vector<std::pair<uint8_t, int32_t>> edges;  // (byte, child node)
        int32_t terminal = -1;       // >= 0: a string ends here (its index among the inserted strings)
        std::vector<int32_t> below;  // sorted indices of the strings ending at or under this node
    };
    std::vector<Node> nodes{Node{}};  // node 0 is the root

    void insert(const std::string& bytes, int32_t index);
    int32_t child(int32_t node, uint8_t byte) const {
        for (const auto& [b, c] : nodes[static_cast<size_t>(node)].edges) {
            if (b == byte) return c;
        }
        return -1;
    }
};

struct Property {
    std::string key;  // as written in the schema (unescaped)
    int32_t node = 0;
    bool required = false;
};

// An object whose keys are listed: they appear in list order, required ones always, optional ones may be skipped.
// The matcher state is just "next list index", so n optional properties cost n states, not 2^n.
struct ObjectShape {
    std::vector<Property> props;
    ByteTrie keys;                      // each key's JSON text with both quotes; terminal = property index
    std::vector<uint32_t> next_required;  // [i]: smallest required index >= i, or props.size()
};

struct Node {
    uint8_t types = 0;        // admitted JSON types (ignored when literal >= 0 or alt_table >= 0)
    int32_t literal = -1;     // enum/const: index into Grammar::literals; only those exact texts
    int32_t alt_table = -1;   // anyOf/oneOf: index into Grammar::alt_tables (first byte -> alternative node)
    // string
    uint32_t min_length = 0, max_length = kUnbounded;  // in code points, as JSON Schema counts
    // array
    int32_t items = 0;  // node of every item
    uint32_t min_items = 0, max_items = kUnbounded;
    // object: listed properties (shape >= 0) or any keys, each value of node `additional` (shape < 0)
    int32_t shape = -1;
    int32_t additional = 0;
    bool closed = false;  // shape < 0 and no key allowed at all (additionalProperties false, no properties)
};

// One tool's arguments as xml_function blocks (FrameKind::XmlArgs, grammar_machine_xml.cpp). `opens` holds each
// listed property's `<parameter=KEY>\n` (terminal: its index) and `</function>\n` (terminal: props.size()), so
// the "next index" rule of ObjectShape applies: indices [n, next_required[n]] may come next. Free keys (a schema
// without properties, or a non-strict one not enforced): opens holds `<parameter=` (0) and `</function>\n` (1).
struct XmlParams {
    enum class Form : uint8_t { Json, Raw, RawLiteral };
    struct Value {
        Form form = Form::Json;  // Json: a Value frame, then `\n</parameter>\n`; Raw: a RawText frame on a string
        int32_t id = 0;          // node; RawLiteral: a literal trie of enum texts + `\n</parameter>`; then `\n`
    };
    ByteTrie opens;
    std::vector<Value> values;            // [property]
    std::vector<uint32_t> next_required;  // [i]: smallest required index >= i, or values.size()
    bool free_keys = false, closed = false;  // free keys; closed: none at all (additionalProperties false)
};

// Tool calls around the JSON values (compile_tool_calls): the output is a run of calls in the model's own syntax,
// each `open(tool) arguments close`, with `prefix` before the first, `separator` (or up to gap_ws whitespace bytes)
// between them and `suffix` after the last. The automaton's bottom frame (FrameKind::Call) walks these texts;
// each call's arguments are an ordinary Value frame on that tool's parameters node.
struct CallLayer {
    bool enabled = false;
    // Lazy (tool_choice auto): free text until `trigger`, then the calls. The trigger is matched KMP-style
    // (trigger_fail[i]: the longest proper border of trigger[0..i]), so the state is just the match length.
    // Anchored: the trigger counts only at the start of the output (after whitespace); a reply that begins
    // otherwise stays free text (whole-reply JSON syntaxes, where `{"name": ` starts a call).
    bool lazy = false, anchored = false;
    std::string trigger;
    std::vector<uint32_t> trigger_fail;
    std::string prefix, close, separator, suffix;
    uint32_t gap_ws = 0;     // whitespace bytes allowed between calls that have no separator, and before the end
    uint32_t max_calls = 1;
    ByteTrie opens;          // each tool's opening text (head + JSON name + mid); terminal = tool index
    std::vector<int32_t> args_node;  // [tool]: node of its arguments
    bool xml = false;                // arguments as xml_function parameter blocks: xml_args[tool]
    std::vector<XmlParams> xml_args;
};

// Compiles a JSON schema into g's tables (for tool arguments: one grammar holds every tool's schema) and returns
// the node that admits it; $refs resolve against this schema. Throws SchemaError. (json_schema.cpp)
int32_t add_json_schema(Grammar& g, const nlohmann::ordered_json& schema);

}  // namespace hotrod::sample

namespace hotrod::sample {

class Grammar {
public:
    std::vector<Node> nodes;  // node 0 admits any JSON value
    int32_t root = 0;         // the node of the whole output
    std::vector<ObjectShape> shapes;
    std::vector<ByteTrie> literals;  // [0]: true / false, [1]: null, then one per enum/const
    std::vector<std::array<int32_t, 256>> alt_tables;
    uint32_t max_ws = 0;  // longest whitespace run allowed between tokens (0: no free whitespace)
    // Exactly one space after every ':' and ',' (schema output: `{"phase": "testing", "scope": "..."}`, the way
    // prompts and json.dumps write JSON, so small models stay in familiar text), nothing else; still forced.
    bool spaced = false;
    CallLayer calls;  // enabled: the output is tool calls around the values (root unused)

    static constexpr int32_t kAnyNode = 0;
    static constexpr int32_t kBoolLiteral = 0;
    static constexpr int32_t kNullLiteral = 1;

    Grammar();  // nodes 0 (any value) and the true/false/null literals
};

}  // namespace hotrod::sample
