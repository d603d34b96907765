// `hotrod template (-m MODEL | --template FILE) --messages FILE.json [--kwargs JSON] [--no-generation-prompt]`:
// prints the prompt a chat template renders for a conversation. With -m the template comes from the GGUF
// (tokenizer.chat_template, a named variant with --name, or the architecture's built-in format) and
// bos/eos are the model's tokens; with --template the file is used as is and bos/eos come from flags.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "commands.h"
#include "gguf/reader.h"
#include "text/chat_template.h"
#include "text/jinja_value.h"

namespace hotrod::app {
namespace {

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: hotrod template (-m MODEL.gguf | --template FILE.jinja) --messages FILE.json\n"
                 "                       [--kwargs JSON] [--no-generation-prompt] [--name VARIANT]\n"
                 "                       [--bos TEXT] [--eos TEXT]\n"
                 "  --messages  a JSON array of messages, or an object {\"messages\": [...], \"tools\": [...]}\n"
                 "  --kwargs    extra template variables as a JSON object, e.g. '{\"enable_thinking\": false}'\n"
                 "  --name      a named template of the model (tokenizer.chat_template.<name>)\n");
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    std::stringstream ss;
    ss << f.rdbuf();
    out = ss.str();
    return true;
}

// The text of token `key` (tokenizer.ggml.bos_token_id / eos_token_id) in the model's vocabulary.
std::string token_text(const gguf::File& model, const char* key) {
    auto id = model.find<uint32_t>(key);
    const gguf::Value* tokens = model.find_value("tokenizer.ggml.tokens");
    if (!id || !tokens || !tokens->is_array() || *id >= tokens->array_strings().size()) return "";
    return std::string(tokens->array_strings()[*id]);
}

}  // namespace

int cmd_template(int argc, char** argv) {
    std::string model_path, template_path, messages_path, kwargs_text, name, bos, eos;
    bool have_bos = false, have_eos = false, add_generation_prompt = true;
    for (int k = 1; k < argc; ++k) {
        std::string a = argv[k];
        auto value = [&](std::string& dst) {
            if (k + 1 >= argc) {
                std::fprintf(stderr, "hotrod template: %s needs a value\n", a.c_str());
                return false;
            }
            dst = argv[++k];
            return true;
        };
        bool ok = true;
        if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else if (a == "-m" || a == "--model") ok = value(model_path);
        else if (a == "--template") ok = value(template_path);
        else if (a == "--messages") ok = value(messages_path);
        else if (a == "--kwargs") ok = value(kwargs_text);
        else if (a == "--name") ok = value(name);
        else if (a == "--bos") ok = have_bos = value(bos);
        else if (a == "--eos") ok = have_eos = value(eos);
        else if (a == "--no-generation-prompt") add_generation_prompt = false;
        else {
            std::fprintf(stderr, "hotrod template: unknown option '%s'\n", a.c_str());
            ok = false;
        }
        if (!ok) {
            usage(stderr);
            return 2;
        }
    }
    if ((model_path.empty() == template_path.empty()) || messages_path.empty()) {
        usage(stderr);
        return 2;
    }

    try {
        text::ChatInputs in;
        in.add_generation_prompt = add_generation_prompt;
        std::string messages_text;
        if (!read_file(messages_path, messages_text)) {
            std::fprintf(stderr, "hotrod template: cannot read %s\n", messages_path.c_str());
            return 1;
        }
        auto msgs = nlohmann::ordered_json::parse(messages_text);
        if (msgs.is_object()) {
            in.tools = msgs.value("tools", nlohmann::ordered_json());
            msgs = msgs.value("messages", nlohmann::ordered_json::array());
        }
        if (!msgs.is_array()) throw std::invalid_argument(messages_path + ": expected a JSON array of messages");
        in.messages = msgs;
        if (!kwargs_text.empty()) {
            in.extra = nlohmann::ordered_json::parse(kwargs_text);
            if (!in.extra.is_object()) throw std::invalid_argument("--kwargs: expected a JSON object");
        }

        std::string source, origin;
        if (!model_path.empty()) {
            gguf::File model = gguf::File::open(model_path);
            auto lookup = [&](std::string_view key) -> std::optional<std::string> {
                auto v = model.find<std::string_view>(key);
                return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
            };
            text::TemplateChoice choice = text::choose_chat_template(lookup, name);
            if (!choice.warning.empty()) std::fprintf(stderr, "hotrod template: warning: %s\n", choice.warning.c_str());
            source = choice.source;
            origin = model_path + " (" + choice.origin + ")";
            in.bos_token = token_text(model, "tokenizer.ggml.bos_token_id");
            in.eos_token = token_text(model, "tokenizer.ggml.eos_token_id");
        } else {
            if (!read_file(template_path, source)) {
                std::fprintf(stderr, "hotrod template: cannot read %s\n", template_path.c_str());
                return 1;
            }
            origin = template_path;
        }
        if (have_bos) in.bos_token = bos;
        if (have_eos) in.eos_token = eos;
        std::string out = text::ChatTemplate(source, origin).render(in);
        std::fwrite(out.data(), 1, out.size(), stdout);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotrod template: %s\n", e.what());
        return 1;
    }
}

}  // namespace hotrod::app
