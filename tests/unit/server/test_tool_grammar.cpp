// The tool grammar against the templates in ../shared/templates: a template's call is forced only where the
// grammar writes exactly what the template renders for a call (template_writes_forced_calls), so the model is held
// to what it was trained on. Also build_tool_grammar's decisions: which requests get a grammar, and its 400s.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <fstream>
#include <sstream>

#include "server/api_error.h"
#include "server/tool_grammar.h"
#include "text/chat_template.h"

namespace hotrod::server {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

const ojson kWeather = ojson::parse(R"({"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"]}}})");

std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(ToolGrammar, ForcedOnlyWhereTheTemplateWritesThatForm) {
    const fs::path dir = fs::path(HOTROD_SOURCE_DIR) / ".." / "shared" / "templates";
    if (!fs::exists(dir)) GTEST_SKIP() << "no " << dir;
    // Templates whose rendered call the grammar writes byte for byte (Mistral Nemo's but for its call id), and
    // templates that share a syntax's marker or keys but write calls of another form.
    const std::set<std::string> forced = {
        "Qwen-Qwen2.5-7B-Instruct.jinja", "Qwen-Qwen3-0.6B.jinja", "Qwen-QwQ-32B.jinja",
        "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
        "meta-llama-Llama-3.1-8B-Instruct.jinja", "meta-llama-Llama-3.2-3B-Instruct.jinja",
        "meta-llama-Llama-3.3-70B-Instruct.jinja", "mistralai-Mistral-Nemo-Instruct-2407.jinja",
        "Qwen3-Coder.jinja", "Qwen3.5-4B.jinja", "StepFun3.5-Flash.jinja", "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja"};
    const std::set<std::string> refused = {"GLM-4.6.jinja", "poolside-Laguna-XS.2.jinja", "MiniMax-M3.jinja"};
    std::map<std::string, bool> verdicts;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string source = read(e.path());
        std::string why;
        const bool ok = template_writes_forced_calls(text::ChatTemplate(source), text::detect_tool_syntax(source), &why);
        verdicts[e.path().filename().string()] = ok;
        if (!ok && std::getenv("HOTROD_TOOL_WHY")) std::printf("not forced: %s: %s\n", e.path().filename().c_str(), why.c_str());
        if (ok) std::printf("forced: %s (%s)\n", e.path().filename().c_str(),
                            text::tool_syntax_name(text::detect_tool_syntax(source)));
    }
    for (const auto& name : forced) EXPECT_TRUE(verdicts.count(name) && verdicts[name]) << name;
    for (const auto& name : refused) EXPECT_TRUE(verdicts.count(name) && !verdicts[name]) << name;
    const fs::path generic = fs::path(HOTROD_SOURCE_DIR) / "tests" / "fixtures" / "templates" / "chatml_tools_generic.jinja";
    EXPECT_TRUE(template_writes_forced_calls(text::ChatTemplate(read(generic)), text::ToolSyntax::generic_json));
}

// Two calls with every kind of xml_function value (a raw string holding markup and newlines, an integer, an array,
// a boolean) rendered through the templates that write xml_function calls: the grammar accepts the calls byte for byte,
// and the parser reads back the arguments given.
TEST(ToolGrammar, XmlFunctionTemplatesCallsAreAcceptedByteForByte) {
    const fs::path dir = fs::path(HOTROD_SOURCE_DIR) / ".." / "shared" / "templates";
    if (!fs::exists(dir)) GTEST_SKIP() << "no " << dir;
    const ojson tools = ojson::parse(R"([{"type": "function", "function": {"name": "edit", "parameters": {
        "type": "object", "properties": {"path": {"type": "string"}, "text": {"type": "string"},
        "line": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}},
        "dry": {"type": "boolean"}}, "required": ["path", "text"]}}}])");
    const ojson a1 = {{"path", "a.html"}, {"text", "<div>\n  a < b\n</div>\n"}, {"line", 3}, {"tags", {"x", "y"}}};
    const ojson a2 = {{"path", "b.txt"}, {"text", ""}, {"dry", true}};
    auto tool_call = [](const ojson& args) {
        return ojson{{"type", "function"}, {"function", {{"name", "edit"}, {"arguments", args}}}};
    };
    for (const char* name : {"Qwen3.5-4B.jinja", "Qwen3-Coder.jinja", "StepFun3.5-Flash.jinja",
                             "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja"}) {
        const text::ChatTemplate t(read(dir / name));
        text::ChatInputs in;
        in.tools = tools;
        in.messages = ojson::array({{{"role", "user"}, {"content", "Edit."}},
                                    {{"role", "assistant"}, {"content", ""},
                                     {"tool_calls", ojson::array({tool_call(a1), tool_call(a2)})}}});
        const std::string full = t.render(in);
        const size_t at = full.find("<tool_call>\n<function=edit>");
        const size_t end = full.rfind("</tool_call>");
        ASSERT_NE(at, std::string::npos) << name;
        const std::string calls = full.substr(at, end + 12 - at);
        GenerationRequest r;
        r.tools = tools;
        r.tool_choice.kind = ToolChoice::Kind::required;
        sample::GrammarCache cache;
        auto g = build_tool_grammar(cache, text::ToolSyntax::xml_function, r, "response_format");
        ASSERT_NE(g, nullptr);
        std::vector<std::string> pieces;
        for (int b = 0; b < 256; ++b) pieces.emplace_back(1, static_cast<char>(b));
        sample::Matcher m(g, std::make_shared<sample::TokenIndex>(std::move(pieces), std::vector<int32_t>{}));
        EXPECT_TRUE(m.accept_bytes(calls) && m.is_complete()) << name << ": " << calls;
        const text::ToolCallDelta d = text::parse_tool_calls(text::ToolSyntax::xml_function, calls, &tools);
        ASSERT_EQ(d.calls.size(), 2u) << name;
        EXPECT_EQ(ojson::parse(d.calls[0].arguments), a1) << name;
        EXPECT_EQ(ojson::parse(d.calls[1].arguments), a2) << name;
    }
}

GenerationRequest request(const char* choice, ojson tools = ojson::array({kWeather})) {
    GenerationRequest r;
    r.tools = std::move(tools);
    if (std::string(choice) == "required") r.tool_choice.kind = ToolChoice::Kind::required;
    if (std::string(choice) == "none") r.tool_choice.kind = ToolChoice::Kind::none;
    if (std::string(choice) == "named") {
        r.tool_choice.kind = ToolChoice::Kind::function;
        r.tool_choice.name = "get_weather";
    }
    return r;
}

std::pair<int, std::string> error_of(text::ToolSyntax s, const GenerationRequest& r) {
    sample::GrammarCache cache;
    try {
        build_tool_grammar(cache, s, r, "response_format");
    } catch (const ApiError& e) {
        return {e.status(), e.param()};
    }
    return {0, ""};
}

TEST(ToolGrammar, WhichRequestsAreConstrained) {
    sample::GrammarCache cache;
    const auto hermes = text::ToolSyntax::hermes;
    EXPECT_NE(build_tool_grammar(cache, hermes, request("required"), "response_format"), nullptr);
    EXPECT_NE(build_tool_grammar(cache, hermes, request("named"), "response_format"), nullptr);
    EXPECT_NE(build_tool_grammar(cache, hermes, request("auto"), "response_format"), nullptr);  // lazy
    EXPECT_EQ(build_tool_grammar(cache, hermes, request("none"), "response_format"), nullptr);
    EXPECT_EQ(build_tool_grammar(cache, hermes, request("auto", nullptr), "response_format"), nullptr);
    EXPECT_NE(build_tool_grammar(cache, text::ToolSyntax::xml_function, request("required"), "response_format"), nullptr);
    EXPECT_NE(build_tool_grammar(cache, text::ToolSyntax::xml_function, request("auto"), "response_format"), nullptr);
    // Honest fallback: mistral's auto stays free ([TOOL_CALLS] is a control token a mask never allows).
    EXPECT_NE(build_tool_grammar(cache, text::ToolSyntax::mistral, request("required"), "response_format"), nullptr);
    EXPECT_EQ(build_tool_grammar(cache, text::ToolSyntax::mistral, request("auto"), "response_format"), nullptr);
    // With auto, response_format wins.
    GenerationRequest with_format = request("auto");
    with_format.response_format.kind = ResponseFormat::Kind::json_object;
    EXPECT_EQ(build_tool_grammar(cache, hermes, with_format, "response_format"), nullptr);
}

TEST(ToolGrammar, Errors) {
    GenerationRequest r = request("required");
    r.response_format.kind = ResponseFormat::Kind::json_object;
    EXPECT_EQ(error_of(text::ToolSyntax::hermes, r), std::make_pair(400, std::string("response_format")));
    r.tool_choice.kind = ToolChoice::Kind::function;
    EXPECT_EQ(error_of(text::ToolSyntax::generic_json, r), std::make_pair(400, std::string("response_format")));

    ojson bad = kWeather;
    bad["function"]["parameters"]["properties"]["city"]["pattern"] = "^[A-Z]";
    bad["function"]["strict"] = true;
    bad["function"]["name"] = "strict_weather";
    const std::pair<int, std::string> strict_400{400, "tools[1].function.parameters"};
    for (const char* choice : {"required", "auto", "named"}) {
        for (auto s : {text::ToolSyntax::hermes, text::ToolSyntax::generic_json, text::ToolSyntax::xml_function,
                       text::ToolSyntax::mistral}) {
            GenerationRequest q = request(choice, ojson::array({kWeather, bad}));
            if (std::string(choice) == "named") q.tool_choice.name = "strict_weather";
            EXPECT_EQ(error_of(s, q), strict_400) << choice << " " << text::tool_syntax_name(s);
        }
    }
    sample::GrammarCache cache;
    try {
        build_tool_grammar(cache, text::ToolSyntax::hermes, request("required", ojson::array({bad})), "response_format");
        FAIL();
    } catch (const ApiError& e) {
        EXPECT_NE(std::string(e.what()).find("tools[0].function.parameters: unsupported schema keyword 'pattern' at "
                                             "#/properties/city"), std::string::npos) << e.what();
    }
    // Not strict: the same schema falls back to any object for that tool.
    bad["function"]["strict"] = false;
    EXPECT_EQ(error_of(text::ToolSyntax::hermes, request("required", ojson::array({bad}))), std::make_pair(0, std::string()));
}

}  // namespace
}  // namespace hotrod::server
