// Chat templates: render a model's Jinja chat template with the variables Hugging Face passes
// (messages, tools, documents, add_generation_prompt, bos_token, eos_token, extra kwargs), and pick
// the template for a model: the GGUF string tokenizer.chat_template (or a named variant), else a
// built-in turn format by architecture (Gemma), else ChatML with a warning. Knows no GGUF reader:
// the caller hands in a metadata lookup.
#pragma once

#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hotrod::text {

namespace jinja {
class Template;
}

struct ChatInputs {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();  // [{role, content, tool_calls?...}]
    nlohmann::ordered_json tools;                                       // array of tool schemas, or null
    bool add_generation_prompt = true;
    std::string bos_token;
    std::string eos_token;
    nlohmann::ordered_json extra = nlohmann::ordered_json::object();    // enable_thinking, reasoning_effort, ...
    std::optional<std::tm> now;                                         // strftime_now(); the clock when empty
};

class ChatTemplate {
public:
    // Parses once; throws jinja::Error ("name:line:col: message") on a syntax error.
    ChatTemplate(std::string_view source, std::string name = "chat_template");
    ~ChatTemplate();
    ChatTemplate(ChatTemplate&&) noexcept;
    ChatTemplate& operator=(ChatTemplate&&) noexcept;

    // Throws jinja::Error on a runtime error, including the template's own raise_exception().
    std::string render(const ChatInputs& in) const;

    const std::string& source() const { return source_; }

private:
    std::string source_;
    std::unique_ptr<jinja::Template> tmpl_;
};

// One-shot convenience: parse and render.
std::string render_chat_template(std::string_view source, const ChatInputs& in);

struct TemplateChoice {
    std::string source;
    std::string origin;   // "gguf:tokenizer.chat_template[.name]", "builtin:gemma", "builtin:chatml"
    std::string warning;  // non-empty when falling back to ChatML for an unknown family
};

// `lookup(key)` returns a GGUF metadata string (tokenizer.chat_template, tokenizer.chat_template.<name>,
// general.architecture) or nullopt. `name` selects a named variant ("tool_use"); empty means the default.
// Throws std::invalid_argument when a named variant is requested and absent.
TemplateChoice choose_chat_template(const std::function<std::optional<std::string>(std::string_view)>& lookup,
                                    std::string_view name = {});

// Built-in turn formats (our own Jinja), for models whose file carries no template.
std::string_view builtin_template_gemma();
std::string_view builtin_template_chatml();

}  // namespace hotrod::text
