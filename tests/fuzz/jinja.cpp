// libFuzzer target for the Jinja engine (lexer, parser, evaluator, built-ins): the input is a template
// source. It must parse or throw jinja::Error; a template that parses is rendered with a chat-shaped context
// (messages with tool calls, tools, kwargs) and must render or throw jinja::Error. Nothing else may escape,
// and nothing may crash, hang or exceed the render limits.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "text/jinja_eval.h"

namespace {

using namespace hotrod::text;

const nlohmann::ordered_json& context() {
    static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
      "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Paris? Answer in JSON."},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
          "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "{\"temp_c\": 21.5}"},
        {"role": "assistant", "content": "<think>short</think>{\"temp\": 21.5}"},
        {"role": "user", "content": [{"type": "text", "text": "and tomorrow"}, {"type": "text", "text": "?"}]}
      ],
      "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                       "required": ["city"]}}}],
      "documents": null,
      "add_generation_prompt": true,
      "bos_token": "<s>",
      "eos_token": "</s>",
      "enable_thinking": false,
      "reasoning_effort": "low"
    })");
    return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view source(reinterpret_cast<const char*>(data), size);
    jinja::RenderOptions opts;
    // Smaller than the defaults so one input stays fast; the limits are checked by the same code either way.
    opts.max_loop_iterations = 20'000;
    opts.max_output_bytes = 1u << 20;
    opts.now = std::tm{};
    opts.now->tm_year = 125;
    opts.now->tm_mday = 6;
    try {
        const jinja::Template tmpl(source, "fuzz");
        const std::string out = tmpl.render(context(), opts);
        if (out.size() > opts.max_output_bytes) hotrod::fuzz::property_failed("output over max_output_bytes");
    } catch (const jinja::Error&) {
    }
    return 0;
}
