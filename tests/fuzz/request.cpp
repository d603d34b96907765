// libFuzzer target for what the HTTP thread does with a /v1/chat/completions, /v1/completions or /v1/responses
// body before anything is queued (generation_handler.cpp), without a model: parse the body, read it into a
// GenerationRequest (the validated form of engine::Request), render the chat template on its messages, tools
// and kwargs, tokenize the prompt, compile its response_format. Every refusal must be an ApiError (parsing),
// a template error (rendered as 400 by the handler) or a SchemaError; any other exception is a 500 and fails
// here.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "sample/grammar.h"
#include "server/api_error.h"
#include "server/generation_request.h"
#include "server/json_fields.h"
#include "server/responses_request.h"
#include "text/chat_template.h"
#include "text/jinja_value.h"
#include "text/tokenizer.h"

namespace {

using namespace hotrod;

constexpr int32_t kVocab = 151936;  // qwen2's, so ids in a request are checked against a real size
constexpr int32_t kContext = 4096;

struct Model {
    std::vector<std::unique_ptr<text::ChatTemplate>>
        templates;                         // ChatML, and a tool-calling template if shared
    std::unique_ptr<text::Tokenizer> tok;  // qwen2's vocabulary, if shared
};

const Model& model() {
    static const Model m = [] {
        Model m;
        m.templates.push_back(
            std::make_unique<text::ChatTemplate>(text::builtin_template_chatml(), "chatml"));
        if (auto p = fuzz::shared_file("templates/Qwen-Qwen3-0.6B.jinja"); !p.empty())
            m.templates.push_back(std::make_unique<text::ChatTemplate>(fuzz::read_text(p), "qwen3"));
        if (auto p = fuzz::shared_file("vocab/ggml-vocab-qwen2.gguf"); !p.empty())
            m.tok = std::make_unique<text::Tokenizer>(text::Tokenizer::from_gguf(p));
        return m;
    }();
    return m;
}

void prepare_chat(const server::GenerationRequest& r) {
    const Model& m = model();
    text::ChatInputs in;
    in.messages = r.messages;
    in.tools = r.tools;
    in.extra = r.template_kwargs;
    in.bos_token = "<|endoftext|>";
    in.eos_token = "<|im_end|>";
    in.now = std::tm{};
    for (const auto& t : m.templates) {
        std::string rendered;
        try {
            rendered = t->render(in);
        } catch (const text::jinja::Error&) {
            continue;  // the handler's 400 "the chat template refused the conversation"
        }
        if (m.tok) (void)m.tok->encode_prompt(rendered, /*parse_special=*/true);
    }
}

void compile_format(const server::ResponseFormat& rf) {
    if (rf.kind != server::ResponseFormat::Kind::json_schema) return;
    try {
        (void)sample::compile_json_schema(rf.schema);
    } catch (const sample::SchemaError&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    model();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    nlohmann::ordered_json body;
    try {
        body = server::parse_body(text);
    } catch (const server::ApiError&) {
        return 0;
    }
    try {
        const server::GenerationRequest r = server::parse_chat_request(body, kVocab, kContext);
        prepare_chat(r);
        compile_format(r.response_format);
    } catch (const server::ApiError&) {
    }
    try {
        const server::GenerationRequest r = server::parse_completion_request(body, kVocab, kContext);
        if (model().tok && !r.prompt_is_ids) (void)model().tok->encode_prompt(r.prompt_text, true);
        compile_format(r.response_format);
    } catch (const server::ApiError&) {
    }
    try {
        const server::ResponsesRequest r = server::parse_responses_request(body, kVocab, kContext);
        prepare_chat(r.gen);
        compile_format(r.gen.response_format);
    } catch (const server::ApiError&) {
    }
    return 0;
}
