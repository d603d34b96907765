// Tool-call parsing (src/text/tool_calls.h) on recorded replies of every syntax: the calls and the content, the
// same result whatever the pieces the reply streams in (every split point, and byte by byte), a call's text never
// in content, malformed calls back as content, and the syntax detected from the real templates.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "text/tool_calls.h"

namespace hotrod::text {
namespace {

using json = nlohmann::ordered_json;

struct Expected {
    std::string content;
    std::vector<std::pair<std::string, json>> calls;  // name, arguments as JSON (compared parsed)
};

ToolCallDelta streamed(ToolSyntax s, const std::string& text, const std::vector<size_t>& cuts, const json* tools) {
    ToolCallParser p(s, tools);
    ToolCallDelta all;
    size_t from = 0;
    auto add = [&](ToolCallDelta d) {
        all.content += d.content;
        for (auto& c : d.calls) all.calls.push_back(std::move(c));
    };
    for (size_t cut : cuts) {
        add(p.push(std::string_view(text).substr(from, cut - from)));
        from = cut;
    }
    add(p.push(std::string_view(text).substr(from)));
    add(p.flush());
    return all;
}

void expect_result(const ToolCallDelta& got, const Expected& want, const std::string& where) {
    EXPECT_EQ(got.content, want.content) << where;
    ASSERT_EQ(got.calls.size(), want.calls.size()) << where;
    for (size_t i = 0; i < want.calls.size(); ++i) {
        EXPECT_EQ(got.calls[i].name, want.calls[i].first) << where;
        EXPECT_EQ(json::parse(got.calls[i].arguments), want.calls[i].second) << where << ": " << got.calls[i].arguments;
    }
}

// One-shot, every single split point, and byte by byte.
void check(ToolSyntax s, const std::string& text, const Expected& want, const json* tools = nullptr) {
    expect_result(parse_tool_calls(s, text, tools), want, "one shot");
    for (size_t cut = 1; cut < text.size(); ++cut) expect_result(streamed(s, text, {cut}, tools), want, "cut at " + std::to_string(cut));
    std::vector<size_t> bytes;
    for (size_t i = 1; i < text.size(); ++i) bytes.push_back(i);
    expect_result(streamed(s, text, bytes, tools), want, "byte by byte");
}

const json kWeatherTools = json::parse(R"([{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "code": {"type": "string"}}}}}])");

TEST(ToolCalls, HermesCallAfterText) {
    check(ToolSyntax::hermes,
          "Let me look that up.\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
          {"Let me look that up.", {{"get_weather", {{"city", "Paris"}}}}});
}

TEST(ToolCalls, HermesTwoCallsAndStringArguments) {
    check(ToolSyntax::hermes,
          "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": [1, {\"y\": \"}</tool_call>\"}]}}\n</tool_call>\n"
          "<tool_call>\n{\"name\": \"b\", \"arguments\": \"{\\\"z\\\": true}\"}\n</tool_call>",
          {"", {{"a", {{"x", json::parse(R"([1, {"y": "}</tool_call>"}])")}}}, {"b", {{"z", true}}}}});
}

TEST(ToolCalls, HermesMalformedIsContent) {
    const std::string bad = "Sure.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": }\n</tool_call>";
    check(ToolSyntax::hermes, bad, {bad, {}});
    const std::string open = "Sure <tool_call> {\"name\": ";  // unterminated and not JSON
    check(ToolSyntax::hermes, open, {open, {}});
    const std::string no_name = "<tool_call>{\"arguments\": {}}</tool_call>";
    check(ToolSyntax::hermes, no_name, {no_name, {}});
}

TEST(ToolCalls, HermesUnterminatedButCompleteCall) {
    check(ToolSyntax::hermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n",
          {"", {{"get_weather", json::object()}}});
}

TEST(ToolCalls, TextThatLooksLikeAMarkerStaysContent) {
    const std::string t = "Use <tool> or <tool_cal and [TOOL_CALL] freely.  ";
    check(ToolSyntax::hermes, t, {t, {}});
    check(ToolSyntax::mistral, t, {t, {}});
    check(ToolSyntax::none, "<tool_call>{\"name\": \"x\"}</tool_call>", {"<tool_call>{\"name\": \"x\"}</tool_call>", {}});
}

TEST(ToolCalls, XmlFunctionTypesValuesBySchema) {
    check(ToolSyntax::xml_function,
          "I will check.\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
          "<parameter=days>\n3\n</parameter>\n<parameter=code>\n007\n</parameter>\n<parameter=extra>\n{\"a\": [1]}\n"
          "</parameter>\n<parameter=note>\ntwo\nlines\n</parameter>\n</function>\n</tool_call>",
          {"I will check.",
           {{"get_weather",
             {{"city", "Paris"}, {"days", 3}, {"code", "007"}, {"extra", {{"a", {1}}}}, {"note", "two\nlines"}}}}},
          &kWeatherTools);
}

TEST(ToolCalls, XmlFunctionReadsPythonBooleansForBooleanParameters) {
    const json tools = json::parse(R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "object",
        "properties": {"dry": {"type": "boolean"}, "word": {}}}}}])");
    check(ToolSyntax::xml_function,
          "<tool_call>\n<function=f>\n<parameter=dry>\nFalse\n</parameter>\n<parameter=word>\nTrue\n</parameter>\n"
          "</function>\n</tool_call>",
          {"", {{"f", {{"dry", false}, {"word", "True"}}}}}, &tools);
}

TEST(ToolCalls, XmlFunctionMalformedIsContent) {
    const std::string t = "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</function>\n</tool_call>";
    check(ToolSyntax::xml_function, t, {t, {}});
}

TEST(ToolCalls, MistralJsonList) {
    check(ToolSyntax::mistral,
          "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}, {\"name\": \"get_time\", "
          "\"arguments\": {\"tz\": \"UTC\"}}]",
          {"", {{"get_weather", {{"city", "Paris"}}}, {"get_time", {{"tz", "UTC"}}}}});
}

TEST(ToolCalls, MistralNameArgsForm) {
    check(ToolSyntax::mistral,
          "Checking.[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\", \"q\": \"[ARGS]{\"}[TOOL_CALLS]get_time[CALL_ID]"
          "a1b2c3d4e[ARGS]{\"tz\": \"UTC\"}",
          {"Checking.", {{"get_weather", {{"city", "Paris"}, {"q", "[ARGS]{"}}}, {"get_time", {{"tz", "UTC"}}}}});
    const std::string bad = "[TOOL_CALLS]get_weather[ARGS]{\"city\": ";
    check(ToolSyntax::mistral, bad, {bad, {}});
}

TEST(ToolCalls, Llama3WholeReplyJson) {
    check(ToolSyntax::llama3_json, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
          {"", {{"get_weather", {{"city", "Paris"}}}}});
    check(ToolSyntax::llama3_json, "<|python_tag|>{\"name\": \"get_time\", \"parameters\": {}}",
          {"", {{"get_time", json::object()}}});
    check(ToolSyntax::llama3_json, "The answer is 4.", {"The answer is 4.", {}});
    check(ToolSyntax::llama3_json, "{\"answer\": 4}", {"{\"answer\": 4}", {}});
}

TEST(ToolCalls, GenericJsonListOrPlainText) {
    check(ToolSyntax::generic_json, "  [{\"name\": \"a\", \"arguments\": {\"k\": 1}}, {\"name\": \"b\"}]",
          {"", {{"a", {{"k", 1}}}, {"b", json::object()}}});
    check(ToolSyntax::generic_json, "Hello there!\n", {"Hello there!\n", {}});
}

TEST(ToolCalls, DetectedFromRealTemplates) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(HOTROD_SOURCE_DIR) / ".." / "shared" / "templates";
    if (!fs::exists(dir)) GTEST_SKIP() << "no " << dir;
    auto syntax_of = [&](const char* name) {
        std::ifstream f(dir / name);
        std::stringstream ss;
        ss << f.rdbuf();
        return std::string(tool_syntax_name(detect_tool_syntax(ss.str())));
    };
    EXPECT_EQ(syntax_of("Qwen-Qwen3-0.6B.jinja"), "hermes");
    EXPECT_EQ(syntax_of("Qwen-Qwen2.5-7B-Instruct.jinja"), "hermes");
    EXPECT_EQ(syntax_of("NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja"), "hermes");
    EXPECT_EQ(syntax_of("HuggingFaceTB-SmolLM3-3B.jinja"), "none");  // this revision renders no tools
    EXPECT_EQ(syntax_of("Qwen3.5-4B.jinja"), "xml_function");
    EXPECT_EQ(syntax_of("Qwen3-Coder.jinja"), "xml_function");
    EXPECT_EQ(syntax_of("mistralai-Mistral-Nemo-Instruct-2407.jinja"), "mistral");
    EXPECT_EQ(syntax_of("Mistral-Small-3.2-24B-Instruct-2506.jinja"), "mistral");
    EXPECT_EQ(syntax_of("meta-llama-Llama-3.1-8B-Instruct.jinja"), "llama3_json");
    EXPECT_EQ(syntax_of("google-gemma-2-2b-it.jinja"), "none");
}

}  // namespace
}  // namespace hotrod::text
