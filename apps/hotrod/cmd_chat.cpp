// `hotrod chat -m MODEL [-t THREADS] [-c CTX] [--temp T] [--top-p P] [--seed S] [--system TEXT] [-n N]`: an
// interactive terminal chat. Each turn renders the whole conversation with the model's chat template, keeps the
// KV cache for the tokens it shares with the previous turn and prefills only the rest, then streams the reply.
// Lines from stdin: `/reset` clears the conversation, `/quit` or end of input exits. Ctrl-C stops a reply; at the
// prompt it exits.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
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

// Set by SIGINT. A global because a signal handler can reach nothing else; lock-free, so safe to store there.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_sigint(int) { g_interrupted.store(true); }

// Without SA_RESTART, so a Ctrl-C at the prompt interrupts the blocking read and getline returns -1.
void install_sigint_handler() {
    struct sigaction sa{};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, nullptr);
}

// One line of stdin without its line ending; nullopt at end of input or when a signal interrupted the read.
std::optional<std::string> read_line() {
    char* buf = nullptr;
    size_t cap = 0;
    const ssize_t n = ::getline(&buf, &cap, stdin);
    std::optional<std::string> line;
    if (n >= 0) {
        line.emplace(buf, size_t(n));
        while (!line->empty() && (line->back() == '\n' || line->back() == '\r')) line->pop_back();
    }
    std::free(buf);
    return line;
}

size_t common_prefix(const std::vector<text::TokenId>& a, const std::vector<text::TokenId>& b) {
    size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
    return n;
}

struct Conversation {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    std::vector<text::TokenId> cached;  // the tokens whose K and V are in the cache, at positions 0..size-1

    void reset(const std::string& system, Session& s) {
        messages = nlohmann::ordered_json::array();
        if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
        cached.clear();
        s.kv->truncate(s.seq_id, 0);
    }
};

}  // namespace

int cmd_chat(int argc, char** argv) {
    std::string model_path, system;
    int n_reply = 1024, n_ctx = 4096;
    float temp = 0.8f, top_p = 1.0f;
    std::optional<uint64_t> seed;
    device::DeviceOptions dev;
    CLI::App app{"Interactive chat with a model, using its chat template. /reset clears, /quit exits, Ctrl-C stops "
                 "a reply.",
                 "hotrod chat"};
    ModelFlags model_flags;
    add_model_flags(app, model_flags);
    app.add_option("-n,--n-predict", n_reply, "tokens per reply at most")->capture_default_str();
    app.add_option("--temp", temp, "temperature (0 = greedy)")->capture_default_str();
    app.add_option("--top-p", top_p, "top-p (1 = off)")->capture_default_str();
    app.add_option("--seed", seed, "random seed");
    app.add_option("--system", system, "system message");
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
        const text::ChatTemplate tmpl(chat_template_source(s.model->file(), "hotrod chat"));
        text::ChatInputs in = chat_inputs(tok);

        sample::SamplingParams sp;
        sp.temperature = temp;
        sp.top_p = top_p;
        sp.seed = seed;
        const int32_t n_vocab = s.model->config().n_vocab;
        if (auto err = sample::validate(sp, n_vocab); !err.empty()) throw std::invalid_argument(err);
        sample::Sampler sampler(n_vocab, sp);

        const bool interactive = isatty(STDIN_FILENO);
        std::fprintf(stderr, "hotrod chat: loaded in %.0f ms, context %d tokens. /reset clears, /quit exits, "
                             "Ctrl-C stops a reply.\n", s.load_ms, s.n_ctx());
        install_sigint_handler();

        Conversation conv;
        conv.reset(system, s);
        for (;;) {
            g_interrupted.store(false);
            if (interactive) {
                std::printf("> ");
                std::fflush(stdout);
            }
            const std::optional<std::string> line = read_line();
            if (!line) {
                if (interactive) std::printf("\n");
                break;
            }
            if (line->empty()) continue;
            if (*line == "/quit" || *line == "/exit") break;
            if (*line == "/reset") {
                conv.reset(system, s);
                sampler.reset(sp);  // a seeded chat replays the same after /reset
                std::fprintf(stderr, "(conversation cleared)\n");
                continue;
            }

            conv.messages.push_back({{"role", "user"}, {"content", *line}});
            try {
                in.messages = conv.messages;
                const std::vector<text::TokenId> ids = tok.encode_prompt(tmpl.render(in), /*parse_special=*/true);
                if (int(ids.size()) >= s.n_ctx())
                    throw std::invalid_argument("the conversation is " + std::to_string(ids.size()) +
                                                " tokens, the context holds " + std::to_string(s.n_ctx()) +
                                                " (/reset, or raise -c)");
                // Reuse the cached prefix; at least one token is run again, for the logits of the next one.
                // (A hybrid model's recurrent state keeps only an exact continuation: truncate says what it kept.)
                const size_t n_keep =
                    size_t(s.kv->truncate(s.seq_id, int(std::min(common_prefix(conv.cached, ids), ids.size() - 1))));
                conv.cached = ids;
                const auto t_prompt = Clock::now();
                prefill(s, ids, n_keep);
                const double prompt_ms = ms_since(t_prompt);

                GenerateOptions go;
                go.n_max = std::min(n_reply, s.n_ctx() - int(ids.size()));
                go.reply = true;
                go.stop = &g_interrupted;
                const GenerateResult g = generate(s, sampler, int32_t(ids.size()), go, stdout);
                std::printf("\n");
                std::fflush(stdout);
                conv.cached.insert(conv.cached.end(), g.tokens.begin(), g.tokens.begin() + ptrdiff_t(g.n_fed));

                // What was shown is what the model said, also when Ctrl-C cut it short.
                if (g.tokens.empty() && g.stopped) conv.messages.erase(conv.messages.size() - 1);
                else conv.messages.push_back({{"role", "assistant"}, {"content", tok.decode(g.tokens)}});

                const size_t n_new = ids.size() - n_keep;
                const int n_gen = int(g.tokens.size());
                std::fprintf(stderr, "[prompt %zu tokens (%zu cached), %zu new at %.1f tok/s | reply %d tokens, %.1f "
                                     "tok/s%s]\n",
                             ids.size(), n_keep, n_new, prompt_ms > 0 ? double(n_new) * 1000.0 / prompt_ms : 0.0,
                             n_gen, g.ms > 0 ? double(n_gen) * 1000.0 / g.ms : 0.0,
                             g.stopped ? ", stopped" : g.hit_eog ? "" : ", length limit");
            } catch (const std::exception& e) {
                // The cache may hold part of a failed step: start the next turn from an empty one.
                std::fprintf(stderr, "hotrod chat: %s\n", e.what());
                conv.messages.erase(conv.messages.size() - 1);
                conv.cached.clear();
                s.kv->truncate(s.seq_id, 0);
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotrod chat: %s\n", e.what());
        return 1;
    }
    return 0;
}

}  // namespace hotrod::app
