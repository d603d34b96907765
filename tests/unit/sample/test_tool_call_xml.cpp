// The xml_function tool-call grammar (Qwen3-Coder, Qwen3.5): parameter blocks in schema order, required ones
// present, string values raw up to `\n</parameter>`, others JSON; the texts written out by hand from the
// templates (tests/unit/server/test_tool_grammar.cpp checks them against the templates' own renders).
#include <gtest/gtest.h>

#include "call_fixtures.h"
#include "sample/grammar.h"

namespace hotrod::sample {
namespace {

using test::byte_index;
using test::xml;

using ojson = nlohmann::ordered_json;



std::vector<ToolSpec> tools(bool strict = true) {
    ToolSpec w{"get_weather", ojson::parse(R"({"type": "object", "properties": {"city": {"type": "string",
        "maxLength": 20}, "days": {"type": "integer"}, "units": {"type": "string", "enum": ["C", "F"]}},
        "required": ["city"], "additionalProperties": false})"), strict, "tools[0].function.parameters"};
    ToolSpec e{"edit", ojson::parse(R"({"type": "object", "properties": {"path": {"type": "string"},
        "text": {"type": "string", "minLength": 1}, "lines": {"type": "array", "items": {"type": "integer"}},
        "dry": {"type": "boolean"}},
        "required": ["path", "text"]})"), strict, "tools[1].function.parameters"};
    return {w, e};
}

std::shared_ptr<const Grammar> calls(uint32_t max_calls = 1, bool lazy = false, std::vector<ToolSpec> t = tools()) {
    ToolCallOptions o;
    o.lazy = lazy;
    o.max_calls = max_calls;
    return compile_tool_calls(xml(), t, o);
}

bool matches(const std::shared_ptr<const Grammar>& g, std::string_view text) {
    Matcher m(g, byte_index());
    return m.accept_bytes(text) && m.is_complete();
}

bool matches_pieces(const std::shared_ptr<const Grammar>& g, const std::vector<std::string>& pieces) {
    Matcher m(g, byte_index());
    for (const auto& p : pieces)
        if (!m.accept_bytes(p)) return false;
    return m.is_complete();
}

std::string call(const std::string& name, const std::string& blocks) {
    return "<tool_call>\n<function=" + name + ">\n" + blocks + "</function>\n</tool_call>";
}
std::string param(const std::string& key, const std::string& value) {
    return "<parameter=" + key + ">\n" + value + "\n</parameter>\n";
}

const std::string kParis = call("get_weather", param("city", "Paris") + param("days", "3"));

TEST(ToolCallXml, AcceptsTheTemplatesCall) {
    auto g = calls();
    EXPECT_TRUE(matches(g, kParis));
    EXPECT_TRUE(matches(g, call("get_weather", param("city", "Paris"))));  // optional ones skipped
    EXPECT_TRUE(matches(g, call("get_weather", param("city", "Paris") + param("units", "F"))));
    EXPECT_TRUE(matches(g, call("edit", param("path", "a.html") + param("text", "x") + param("lines", "[1, 2]"))));
    // Booleans as the templates write them (Jinja's string filter: True / False), or as JSON.
    EXPECT_TRUE(matches(g, call("edit", param("path", "a") + param("text", "x") + param("dry", "True"))));
    EXPECT_TRUE(matches(g, call("edit", param("path", "a") + param("text", "x") + param("dry", "false"))));
    EXPECT_FALSE(matches(g, call("edit", param("path", "a") + param("text", "x") + param("dry", "yes"))));
    Matcher m(g, byte_index());
    ASSERT_TRUE(m.accept_bytes(kParis));
    EXPECT_TRUE(m.is_finished());
}

TEST(ToolCallXml, RefusesWrongNamesMissingRequiredAndBadValues) {
    auto g = calls();
    EXPECT_FALSE(matches(g, ""));
    EXPECT_FALSE(matches(g, "Sure. " + kParis));
    EXPECT_FALSE(matches(g, call("get_weathe", param("city", "Paris"))));
    EXPECT_FALSE(matches(g, call("nope", "")));
    EXPECT_FALSE(matches(g, call("get_weather", "")));                           // city is required
    EXPECT_FALSE(matches(g, call("get_weather", param("days", "3"))));
    EXPECT_FALSE(matches(g, call("get_weather", param("days", "3") + param("city", "Paris"))));  // schema order
    EXPECT_FALSE(matches(g, call("get_weather", param("city", "Paris") + param("days", "three"))));
    EXPECT_FALSE(matches(g, call("get_weather", param("city", "Paris") + param("days", "3.5"))));
    EXPECT_FALSE(matches(g, call("get_weather", param("city", "Paris") + param("units", "K"))));
    EXPECT_FALSE(matches(g, call("get_weather", param("city", "Paris") + param("town", "x"))));
    EXPECT_FALSE(matches(g, call("get_weather", param("city", "A city name longer than twenty"))));
    EXPECT_FALSE(matches(g, call("edit", param("path", "a") + param("text", ""))));  // minLength 1
    EXPECT_FALSE(matches(g, call("edit", param("path", "a") + param("text", "x") + param("lines", "[1, \"2\"]"))));
    EXPECT_FALSE(matches(g, kParis.substr(0, kParis.size() - 1)));
    EXPECT_FALSE(matches(g, kParis + "\n" + kParis));  // one call at most here
}

TEST(ToolCallXml, RawStringsHoldMarkupAndNewlinesButNotTheirTerminator) {
    auto g = calls();
    const std::string code = "<div>\n  <p>a < b && c > d</p>\n</div>\n\n\"quoted\" {not: json}\n";
    EXPECT_TRUE(matches(g, call("edit", param("path", "index.html") + param("text", code))));
    EXPECT_TRUE(matches(g, call("edit", param("path", "") + param("text", "é ✓ 🙂"))));  // empty and UTF-8
    EXPECT_TRUE(matches(g, call("edit", param("path", "x</parameter") + param("text", "</tool_call></func"))));
    // What the parser would end the value or the call at.
    EXPECT_FALSE(matches(g, call("edit", param("path", "a</parameter>b") + param("text", "x"))));
    EXPECT_FALSE(matches(g, call("edit", param("path", "a") + param("text", "x</function>y"))));
    EXPECT_FALSE(matches(g, call("edit", param("path", "\xC3") + param("text", "x"))));  // broken UTF-8
    EXPECT_FALSE(matches(g, call("edit", param("path", "a\x01") + param("text", "x"))));
    // maxLength counts the value, not the terminator: exactly 20 code points pass.
    EXPECT_TRUE(matches(g, call("get_weather", param("city", "ABCDEFGHIJKLMNOPQRS\xC3\xA9"))));
    EXPECT_FALSE(matches(g, call("get_weather", param("city", "ABCDEFGHIJKLMNOPQRST\n"))));
}

TEST(ToolCallXml, JsonStringsWriteTheirClosingTagsEscaped) {
    // The parser would end the value at a `</parameter>` inside a JSON string too: there `</` is written `<\/`.
    auto g = compile_tool_calls(xml(), {ToolSpec{"tag", ojson::parse(R"({"type": "object", "properties": {"names":
        {"type": "array", "items": {"type": "string", "maxLength": 20}}}})"), true, "t"}}, {});
    EXPECT_TRUE(matches(g, call("tag", param("names", R"(["<b>", "<\/b>", "a<"])"))));
    EXPECT_FALSE(matches(g, call("tag", param("names", R"(["</b>"])"))));
    EXPECT_FALSE(matches(g, call("tag", param("names", R"(["x</parameter>"])"))));
}

TEST(ToolCallXml, TerminatorCutAcrossTokens) {
    auto g = calls();
    EXPECT_TRUE(matches_pieces(g, {"<tool_call>\n<function=edit>\n<parameter=path>\na.txt\n</", "param",
                                   "eter>\n<parameter=text>\nline one\n", "</parameter>\n</function>",
                                   "\n</tool_call>"}));
    EXPECT_TRUE(matches_pieces(g, {"<tool_call>\n<function=get_", "weather>\n<parameter=city>\nRo", "me\n</parameter",
                                   ">\n<parameter=days>\n1", "2\n</parameter>\n</function>\n</tool_call>"}));
    // After the terminator the next block (or the end) is forced up to its choice.
    Matcher m(g, byte_index());
    ASSERT_TRUE(m.accept_bytes("<tool_call>\n<function=edit>\n<parameter=path>\na\n</parameter>"));
    EXPECT_EQ(m.forced_bytes(), "\n<parameter=text>\n");
}

TEST(ToolCallXml, ForcedBytesUpToTheFirstChoice) {
    ToolCallOptions o;
    auto g = compile_tool_calls(xml(), {tools()[0]}, o);
    Matcher m(g, byte_index());
    EXPECT_EQ(m.forced_bytes(), "<tool_call>\n<function=get_weather>\n<parameter=city>\n");
    ASSERT_TRUE(m.accept_bytes("<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</parameter>\n"));
    EXPECT_EQ(m.forced_bytes(), "<");  // a block or </function>
}

TEST(ToolCallXml, ParallelAndLazy) {
    auto two = calls(2);
    const std::string edit = call("edit", param("path", "a") + param("text", "b"));
    EXPECT_TRUE(matches(two, kParis + "\n" + edit));
    EXPECT_FALSE(matches(two, kParis + "\n" + edit + "\n" + edit));
    auto lazy = calls(2, true);
    EXPECT_TRUE(matches(lazy, "No call: <function=x> is just text."));
    EXPECT_TRUE(matches(lazy, "Let me look.\n\n" + kParis + "\n" + edit));
    EXPECT_TRUE(matches_pieces(lazy, {"ok <tool_", "call>\n<function=get_weather>", "\n<parameter=city>\nX\n</param",
                                      "eter>\n</function>\n</tool_call>"}));
    EXPECT_FALSE(matches(lazy, "ok <tool_call>\n<function=get_weather>\n</function>\n</tool_call>"));
}

TEST(ToolCallXml, SchemasWithoutListedPropertiesAndStrictErrors) {
    // Free keys: any key, raw values, then the end; additionalProperties false: no block at all.
    auto free = compile_tool_calls(xml(), {ToolSpec{"ping", ojson::parse(R"({"type": "object"})"), true, "t"}}, {});
    EXPECT_TRUE(matches(free, call("ping", "")));
    EXPECT_TRUE(matches(free, call("ping", param("host", "a.b") + param("n", "3"))));
    EXPECT_FALSE(matches(free, call("ping", param("a b", "x"))));
    auto closed = compile_tool_calls(
        xml(), {ToolSpec{"ping", ojson::parse(R"({"type": "object", "additionalProperties": false})"), true, "t"}}, {});
    EXPECT_TRUE(matches(closed, call("ping", "")));
    EXPECT_FALSE(matches(closed, call("ping", param("host", "a"))));
    // A raw string cannot hold an anyOf of strings; strict: the error names the tool and path.
    std::vector<ToolSpec> t = tools();
    t[1].parameters = ojson::parse(R"({"type": "object", "properties": {"path": {"type": "string",
        "anyOf": [{"maxLength": 3}, {"minLength": 9}]}}})");
    try {
        calls(1, false, t);
        FAIL() << "no SchemaError";
    } catch (const SchemaError& e) {
        EXPECT_NE(std::string(e.what()).find("tools[1].function.parameters: "), std::string::npos) << e.what();
    }
    // Not strict: free keys for that tool; the other keeps its schema.
    t[1].strict = false;
    auto loose = calls(1, false, t);
    EXPECT_TRUE(matches(loose, call("edit", param("anything", "goes"))));
    EXPECT_FALSE(matches(loose, call("get_weather", param("town", "x"))));
    // A tool name the syntax cannot write.
    EXPECT_THROW(compile_tool_calls(xml(), {ToolSpec{"a>b", nullptr, false, "t"}}, {}), SchemaError);
}

}  // namespace
}  // namespace hotrod::sample
