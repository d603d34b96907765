// The tool-call grammar (compile_tool_calls): the call texts of each syntax accepted exactly, wrong names, bad
// arguments and missing closes refused, the lazy mode's free text and trigger (cut across tokens, inside a token,
// overlapping itself), strict versus non-strict schemas, and forced bytes. The texts here are written out by hand
// from the templates; tests/unit/server/test_tool_grammar.cpp checks them against the templates' own renders.
#include <gtest/gtest.h>

#include "call_fixtures.h"
#include "sample/grammar.h"

namespace hotrod::sample {
namespace {

using test::byte_index;
using test::hermes;

using ojson = nlohmann::ordered_json;



CallSyntax whole_json(const char* args_key) {
    CallSyntax s;
    s.head = "{\"name\": ";
    s.mid = std::string(", \"") + args_key + "\": ";
    s.close = "}";
    s.trigger = s.head;
    s.anchored = true;
    return s;
}

CallSyntax mistral() {
    CallSyntax s;
    s.prefix = "[TOOL_CALLS][";
    s.head = "{\"name\": ";
    s.mid = ", \"arguments\": ";
    s.close = "}";
    s.separator = ", ";
    s.suffix = "]";
    return s;
}

std::vector<ToolSpec> weather_tools(bool strict = true) {
    ToolSpec w{"get_weather", ojson::parse(R"({"type": "object", "properties": {"city": {"type": "string",
        "maxLength": 20}, "days": {"type": "integer"}}, "required": ["city"], "additionalProperties": false})"),
               strict, "tools[0].function.parameters"};
    ToolSpec t{"get_time", ojson::parse(R"({"type": "object", "properties": {"zone": {"enum": ["UTC", "CET"]}},
        "required": ["zone"]})"), strict, "tools[1].function.parameters"};
    return {w, t};
}

std::shared_ptr<const Grammar> calls(const CallSyntax& s, uint32_t max_calls = 1, bool lazy = false,
                                     std::vector<ToolSpec> tools = weather_tools()) {
    ToolCallOptions o;
    o.lazy = lazy;
    o.max_calls = max_calls;
    return compile_tool_calls(s, tools, o);
}

bool matches(const std::shared_ptr<const Grammar>& g, std::string_view text) {
    Matcher m(g, byte_index());
    return m.accept_bytes(text) && m.is_complete();
}

// Accepted as a run of pieces (each one accept_bytes, as tokens), complete at the end.
bool matches_pieces(const std::shared_ptr<const Grammar>& g, const std::vector<std::string>& pieces) {
    Matcher m(g, byte_index());
    for (const auto& p : pieces)
        if (!m.accept_bytes(p)) return false;
    return m.is_complete();
}

const std::string kParisCall = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", "
                               "\"days\": 3}}\n</tool_call>";
const std::string kTimeCall = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}\n</tool_call>";

TEST(ToolCallGrammar, HermesAcceptsTheTemplatesCall) {
    auto g = calls(hermes());
    EXPECT_TRUE(matches(g, kParisCall));
    EXPECT_TRUE(matches(g, kTimeCall));
    // Hermes-3 renders a newline before the first call; the grammar starts with the call, so that its opening
    // text is forced from the first byte.
    EXPECT_FALSE(matches(g, "\n" + kParisCall));
}

TEST(ToolCallGrammar, HermesRefusesWrongNamesArgumentsAndMissingClose) {
    auto g = calls(hermes());
    EXPECT_FALSE(matches(g, ""));
    EXPECT_FALSE(matches(g, "Sure! " + kParisCall));  // forced: no text before the call
    EXPECT_FALSE(matches(g, "<tool_call>\n{\"name\": \"get_weathe\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"));
    EXPECT_FALSE(matches(g, "<tool_call>\n{\"name\": \"nope\", \"arguments\": {}}\n</tool_call>"));
    EXPECT_FALSE(matches(g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>"));  // city
    EXPECT_FALSE(matches(g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": 3}}\n</tool_call>"));
    EXPECT_FALSE(matches(g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"P\", \"x\": 1}}\n</tool_call>"));
    EXPECT_FALSE(matches(g, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"PST\"}}\n</tool_call>"));
    EXPECT_FALSE(matches(g, kParisCall.substr(0, kParisCall.size() - 1)));  // close cut short
    EXPECT_FALSE(matches(g, kParisCall.substr(0, kParisCall.find("}\n</"))));
    EXPECT_FALSE(matches(g, kParisCall + "\n" + kTimeCall));  // one call at most here
}

TEST(ToolCallGrammar, HermesParallelCallsUpToTheBound) {
    auto g = calls(hermes(), 2);
    EXPECT_TRUE(matches(g, kParisCall + "\n" + kTimeCall));
    EXPECT_TRUE(matches(g, kParisCall + kTimeCall));
    EXPECT_FALSE(matches(g, kParisCall + "\n" + kTimeCall + "\n" + kTimeCall));
    EXPECT_FALSE(matches(g, kParisCall + "\n\n\n" + kTimeCall));  // whitespace between calls is bounded
    // After the last call allowed, nothing may follow: the engine ends without waiting for an EOG token.
    Matcher one(calls(hermes(), 1), byte_index());
    ASSERT_TRUE(one.accept_bytes(kParisCall));
    EXPECT_TRUE(one.is_finished());
    Matcher two(g, byte_index());
    ASSERT_TRUE(two.accept_bytes(kParisCall));
    EXPECT_TRUE(two.is_complete());
    EXPECT_FALSE(two.is_finished());
    EXPECT_TRUE(two.accept(256));  // EOG once a call is complete
}

TEST(ToolCallGrammar, NamedToolIsForcedUpToItsArguments) {
    ToolCallOptions o;
    auto g = compile_tool_calls(hermes(), {weather_tools()[0]}, o);
    Matcher m(g, byte_index());
    EXPECT_EQ(m.forced_bytes(), "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"");
    EXPECT_FALSE(matches(g, kTimeCall));
    EXPECT_TRUE(matches(g, kParisCall));
}

TEST(ToolCallGrammar, LazyIsFreeTextUntilTheMarker) {
    auto g = calls(hermes(), 2, /*lazy=*/true);
    EXPECT_TRUE(matches(g, ""));
    EXPECT_TRUE(matches(g, "No call needed: it is sunny. {\"json\": [1, 2]} <tool and <tool_cal too."));
    EXPECT_TRUE(matches(g, "Let me check.\n" + kParisCall));
    EXPECT_TRUE(matches(g, "<tool_<tool_call" + kParisCall.substr(10)));  // the marker overlapping its own start
    EXPECT_TRUE(matches(g, "<<tool_call>" + kParisCall.substr(11)));
    EXPECT_FALSE(matches(g, "Let me check. <tool_call>\n{\"name\": \"nope\""));
    EXPECT_FALSE(matches(g, "Let me check. <tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": 1"));
    EXPECT_FALSE(matches(g, "Let me check. " + kParisCall.substr(0, 40)));  // a started call must finish
    // The marker cut across tokens, and a token holding text and the marker together.
    EXPECT_TRUE(matches_pieces(g, {"Let me", " check <to", "ol_", "call", ">\n{\"na", kParisCall.substr(16)}));
    EXPECT_TRUE(matches_pieces(g, {"ok <tool_call>", kParisCall.substr(11)}));
    EXPECT_TRUE(matches_pieces(g, {"ok <tool_call>\n{\"name\": \"get_", "time\", \"arguments\": {\"zone\": \"UTC\"}}",
                                   "\n</tool_call>"}));
    Matcher m(g, byte_index());
    EXPECT_EQ(m.forced_bytes(), "");
    ASSERT_TRUE(m.accept_bytes("text <tool_call>"));
    EXPECT_EQ(m.forced_bytes(), "\n{\"name\": \"get_");
    EXPECT_FALSE(m.is_complete());
    EXPECT_FALSE(m.accept(256));  // no end inside a call
}

TEST(ToolCallGrammar, WholeReplyJsonSyntaxes) {
    auto llama = calls(whole_json("parameters"));
    EXPECT_TRUE(matches(llama, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Rome\"}}"));
    EXPECT_FALSE(matches(llama, "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}"));
    EXPECT_FALSE(matches(llama, "Calling: {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Rome\"}}"));
    auto generic = calls(whole_json("arguments"));
    EXPECT_TRUE(matches(generic, "{\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\"}}"));
    // Lazy and anchored: a reply that starts with the call's text is a call; any other reply is free.
    auto lazy = calls(whole_json("arguments"), 1, true);
    EXPECT_TRUE(matches(lazy, "It is 3 pm. {\"name\": \"nope\"}"));
    EXPECT_TRUE(matches(lazy, "{\"answer\": 42}"));
    EXPECT_TRUE(matches(lazy, " {\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\"}}"));
    EXPECT_FALSE(matches(lazy, "{\"name\": \"nope\"}"));
}

TEST(ToolCallGrammar, MistralList) {
    auto g = calls(mistral(), 3);
    const std::string a = "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}";
    const std::string b = "{\"name\": \"get_time\", \"arguments\": {\"zone\": \"CET\"}}";
    EXPECT_TRUE(matches(g, "[TOOL_CALLS][" + a + "]"));
    EXPECT_TRUE(matches(g, "[TOOL_CALLS][" + a + ", " + b + "]"));
    EXPECT_FALSE(matches(g, "[TOOL_CALLS][" + a));  // the list must close
    EXPECT_FALSE(matches(g, "[TOOL_CALLS][]"));
    EXPECT_FALSE(matches(g, "[TOOL_CALLS][" + a + ", " + b + ", " + a + ", " + b + "]"));
    Matcher m(g, byte_index());
    ASSERT_TRUE(m.accept_bytes("[TOOL_CALLS][" + a + "]"));
    EXPECT_TRUE(m.is_finished());
}

TEST(ToolCallGrammar, StrictSchemaErrorsNameTheToolAndPath) {
    std::vector<ToolSpec> tools = weather_tools();
    tools[1].parameters = ojson::parse(R"({"type": "object", "properties": {"zone": {"type": "string",
        "pattern": "^[A-Z]+$"}}})");
    try {
        calls(hermes(), 1, false, tools);
        FAIL() << "no SchemaError";
    } catch (const SchemaError& e) {
        EXPECT_EQ(std::string(e.what()), "tools[1].function.parameters: unsupported schema keyword 'pattern' at "
                                         "#/properties/zone");
    }
    // Not strict: that tool's arguments are any JSON object; the other tool keeps its schema.
    tools[1].strict = false;
    auto g = calls(hermes(), 1, false, tools);
    EXPECT_TRUE(matches(g, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"utc\", \"x\": [1]}}\n</tool_call>"));
    EXPECT_FALSE(matches(g, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": [1]}\n</tool_call>"));
    EXPECT_FALSE(matches(g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"town\": \"x\"}}\n</tool_call>"));
    // A tool without parameters takes any object.
    auto bare = calls(hermes(), 1, false, {ToolSpec{"ping", nullptr, true, "tools[0].function.parameters"}});
    EXPECT_TRUE(matches(bare, "<tool_call>\n{\"name\": \"ping\", \"arguments\": {}}\n</tool_call>"));
}

TEST(ToolCallGrammar, BadSyntaxesAreRefused) {
    CallSyntax s = hermes();
    s.trigger = "<call>";  // not how a call begins: it could never be replayed
    EXPECT_THROW(calls(s, 1, true), SchemaError);
    EXPECT_THROW(compile_tool_calls(hermes(), {}, ToolCallOptions{}), SchemaError);
}

TEST(ToolCallGrammar, CachedByEverythingThatShapesIt) {
    GrammarCache cache;
    ToolCallOptions o;
    auto a = cache.tool_calls(hermes(), weather_tools(), o);
    EXPECT_EQ(a, cache.tool_calls(hermes(), weather_tools(), o));
    o.lazy = true;
    EXPECT_NE(a, cache.tool_calls(hermes(), weather_tools(), o));
    EXPECT_NE(a, cache.tool_calls(mistral(), weather_tools(), ToolCallOptions{}));
}

}  // namespace
}  // namespace hotrod::sample
