// Chat template rendering and selection. The variables match what Hugging Face's apply_chat_template
// passes (tools and documents are None when absent, so `tools is none` works as templates expect).
// The Gemma and ChatML formats below are our own templates reproducing those published turn formats.
#include "text/chat_template.h"

#include <stdexcept>

#include "text/jinja_eval.h"

namespace hotrod::text {

namespace {

// Gemma / Gemma 2 / Gemma 3: bos, then `<start_of_turn>{user|model}\n...<end_of_turn>\n`; a system
// message is folded into the first user turn, followed by a blank line; `<start_of_turn>model\n` as
// the generation prompt. Content may be a string or a list of {type: text, text} parts.
constexpr std::string_view kGemma = R"TMPL({{ bos_token }}
{%- if messages and messages[0]['role'] == 'system' -%}
  {%- if messages[0]['content'] is string -%}
    {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
  {%- else -%}
    {%- set first_user_prefix = (messages[0]['content'] | selectattr('type', 'equalto', 'text') | map(attribute='text') | join('')) + '\n\n' -%}
  {%- endif -%}
  {%- set loop_messages = messages[1:] -%}
{%- else -%}
  {%- set first_user_prefix = '' -%}
  {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
  {%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}
  {{- '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') -}}
  {%- if message['content'] is string -%}
    {{- message['content'] | trim -}}
  {%- elif message['content'] is iterable -%}
    {%- for part in message['content'] if part['type'] == 'text' -%}
      {{- part['text'] | trim -}}
    {%- endfor -%}
  {%- endif -%}
  {{- '<end_of_turn>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {{- '<start_of_turn>model\n' -}}
{%- endif -%})TMPL";

// ChatML: `<|im_start|>role\ncontent<|im_end|>\n` per message, `<|im_start|>assistant\n` to generate.
constexpr std::string_view kChatml = R"TMPL({%- for message in messages -%}
  {{- '<|im_start|>' + message['role'] + '\n' -}}
  {%- if message['content'] is string -%}
    {{- message['content'] -}}
  {%- elif message['content'] is iterable -%}
    {%- for part in message['content'] if part['type'] == 'text' -%}
      {{- part['text'] -}}
    {%- endfor -%}
  {%- endif -%}
  {{- '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {{- '<|im_start|>assistant\n' -}}
{%- endif -%})TMPL";

}  // namespace

std::string_view builtin_template_gemma() { return kGemma; }
std::string_view builtin_template_chatml() { return kChatml; }

ChatTemplate::ChatTemplate(std::string_view source, std::string name)
    : source_(source), tmpl_(std::make_unique<jinja::Template>(source, std::move(name))) {}
ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const ChatInputs& in) const {
    nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
    ctx["messages"] = in.messages;
    ctx["tools"] = in.tools.is_null() ? nlohmann::ordered_json() : in.tools;
    ctx["documents"] = nullptr;
    ctx["add_generation_prompt"] = in.add_generation_prompt;
    ctx["bos_token"] = in.bos_token;
    ctx["eos_token"] = in.eos_token;
    if (in.extra.is_object())
        for (auto it = in.extra.begin(); it != in.extra.end(); ++it) ctx[it.key()] = it.value();
    jinja::RenderOptions opts;
    opts.now = in.now;
    return tmpl_->render(ctx, opts);
}

std::string render_chat_template(std::string_view source, const ChatInputs& in) {
    return ChatTemplate(source).render(in);
}

TemplateChoice choose_chat_template(const std::function<std::optional<std::string>(std::string_view)>& lookup,
                                    std::string_view name) {
    if (!name.empty()) {
        std::string key = "tokenizer.chat_template." + std::string(name);
        if (auto s = lookup(key)) return {*s, "gguf:" + key, ""};
        throw std::invalid_argument("model has no chat template named '" + std::string(name) + "' (" + key + ")");
    }
    if (auto s = lookup("tokenizer.chat_template"); s && !s->empty()) return {*s, "gguf:tokenizer.chat_template", ""};
    std::string arch = lookup("general.architecture").value_or("");
    if (arch == "gemma" || arch == "gemma2" || arch == "gemma3" || arch == "gemma3n")
        return {std::string(kGemma), "builtin:gemma", ""};
    return {std::string(kChatml), "builtin:chatml",
            "no chat template in the model and no built-in format for architecture '" + arch + "': using ChatML"};
}

}  // namespace hotrod::text
