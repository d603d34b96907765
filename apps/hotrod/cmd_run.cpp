// `hotrod run -m MODEL -p PROMPT [-n N] [--temp T] [--top-k K] [--top-p P] [--seed S] [--chat] [-t THREADS]
// [-c CTX]`: one prompt, one completion streamed to stdout (whole UTF-8 characters only), then a timing line on
// stderr. The loop is the engine's step loop for a single sequence: prefill in chunks, then one token per step.
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "device_flags.h"
#include "model_flags.h"
#include "generation.h"

namespace hotrod::app {
namespace {

std::string render_chat(const Session& s, const std::string& prompt) {
    text::ChatInputs in = chat_inputs(*s.tok);
    in.messages.push_back({{"role", "user"}, {"content", prompt}});
    return text::render_chat_template(chat_template_source(s.model->file(), "hotrod run"), in);
}

}  // namespace

int cmd_run(int argc, char** argv) {
    std::string model_path, prompt;
    int n_predict = 128, n_ctx = 4096, top_k = 0;
    float temp = 0.8f, top_p = 1.0f;
    std::optional<uint64_t> seed;
    bool chat = false;
    device::DeviceOptions dev;
    CLI::App app{"Runs one prompt through a model and streams the completion.", "hotrod run"};
    ModelFlags model_flags;
    add_model_flags(app, model_flags);
    app.add_option("-p,--prompt", prompt, "prompt text")->required();
    app.add_option("-n,--n-predict", n_predict, "tokens to generate")->capture_default_str();
    app.add_option("--temp", temp, "temperature (0 = greedy)")->capture_default_str();
    app.add_option("--top-k", top_k, "top-k (0 = off)")->capture_default_str();
    app.add_option("--top-p", top_p, "top-p (1 = off)")->capture_default_str();
    app.add_option("--seed", seed, "random seed");
    app.add_flag("--chat", chat, "render the prompt as one user turn with the model's chat template");
    add_device_flags(app, dev);
    app.add_option("-c,--ctx-size", n_ctx, "KV cache size in tokens")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    try {
        model_path = resolve_model(model_flags);
        Session s = load_session(model_path, dev, n_ctx);
        const text::Tokenizer& tok = *s.tok;

        const std::string text = chat ? render_chat(s, prompt) : prompt;
        const std::vector<text::TokenId> ids = tok.encode_prompt(text, /*parse_special=*/chat);
        if (ids.empty()) throw std::invalid_argument("the prompt has no tokens");
        if (int(ids.size()) + n_predict > s.n_ctx())
            throw std::invalid_argument("prompt of " + std::to_string(ids.size()) + " tokens + " +
                                        std::to_string(n_predict) + " to generate does not fit in a context of " +
                                        std::to_string(s.n_ctx()) + " (raise -c)");

        sample::SamplingParams sp;
        sp.temperature = temp;
        sp.top_k = top_k;
        sp.top_p = top_p;
        sp.seed = seed;
        const int32_t n_vocab = s.model->config().n_vocab;
        if (auto err = sample::validate(sp, n_vocab); !err.empty()) throw std::invalid_argument(err);
        sample::Sampler sampler(n_vocab, sp);
        sampler.accept_prompt(ids);

        const auto t_prompt = Clock::now();
        prefill(s, ids, 0);
        const double prompt_ms = ms_since(t_prompt);

        GenerateOptions go;
        go.n_max = n_predict;
        const GenerateResult g = generate(s, sampler, int32_t(ids.size()), go, stdout);
        std::printf("\n");
        std::fflush(stdout);
        const int n_gen = int(g.tokens.size());
        std::fprintf(stderr, "load %.0f ms | prompt %zu tokens, %.1f tok/s | generation %d tokens, %.1f tok/s\n",
                     s.load_ms, ids.size(), double(ids.size()) * 1000.0 / prompt_ms, n_gen,
                     g.ms > 0 ? double(n_gen) * 1000.0 / g.ms : 0.0);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotrod run: %s\n", e.what());
        return 1;
    }
    return 0;
}

}  // namespace hotrod::app
