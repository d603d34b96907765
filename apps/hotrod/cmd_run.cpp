// `hotrod run -m MODEL -p PROMPT [-n N] [--temp T] [--top-k K] [--top-p P] [--seed S] [--chat] [-t THREADS]
// [-c CTX]`: one prompt, one completion streamed to stdout (whole UTF-8 characters only), then a timing line on
// stderr. The loop is the engine's step loop for a single sequence: prefill in chunks, then one token per step.
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "cpu/cpu_backend.h"
#include "model/model.h"
#include "sample/sampler.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace hotrod::app {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Length of the longest prefix of s that does not end inside a UTF-8 character (a token may hold part of one).
size_t utf8_complete_prefix(std::string_view s) {
    const size_t n = s.size();
    for (size_t back = 1; back <= 4 && back <= n; ++back) {
        const auto c = static_cast<unsigned char>(s[n - back]);
        if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
        const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > back ? n - back : n;
    }
    return n;  // no lead byte in the last 4: invalid anyway, let it through
}

std::string render_chat(const gguf::File& f, const text::Tokenizer& tok, const std::string& prompt) {
    auto lookup = [&](std::string_view key) -> std::optional<std::string> { return f.find<std::string>(key); };
    const text::TemplateChoice choice = text::choose_chat_template(lookup);
    if (!choice.warning.empty()) std::fprintf(stderr, "hotrod run: %s\n", choice.warning.c_str());
    text::ChatInputs in;
    in.messages.push_back({{"role", "user"}, {"content", prompt}});
    in.add_generation_prompt = true;
    if (tok.bos_id() != text::kNoToken) in.bos_token = std::string(tok.piece(tok.bos_id(), true));
    if (tok.eos_id() != text::kNoToken) in.eos_token = std::string(tok.piece(tok.eos_id(), true));
    return text::render_chat_template(choice.source, in);
}

}  // namespace

int cmd_run(int argc, char** argv) {
    std::string model_path, prompt;
    int n_predict = 128, n_threads = 0, n_ctx = 4096, top_k = 0;
    float temp = 0.8f, top_p = 1.0f;
    std::optional<uint64_t> seed;
    bool chat = false;
    CLI::App app{"Runs one prompt through a model and streams the completion.", "hotrod run"};
    app.add_option("-m,--model", model_path, "GGUF model")->required();
    app.add_option("-p,--prompt", prompt, "prompt text")->required();
    app.add_option("-n,--n-predict", n_predict, "tokens to generate")->capture_default_str();
    app.add_option("--temp", temp, "temperature (0 = greedy)")->capture_default_str();
    app.add_option("--top-k", top_k, "top-k (0 = off)")->capture_default_str();
    app.add_option("--top-p", top_p, "top-p (1 = off)")->capture_default_str();
    app.add_option("--seed", seed, "random seed");
    app.add_flag("--chat", chat, "render the prompt as one user turn with the model's chat template");
    app.add_option("-t,--threads", n_threads, "threads (0 = all cores)")->capture_default_str();
    app.add_option("-c,--ctx-size", n_ctx, "KV cache size in tokens")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    try {
        const auto t_load = Clock::now();
        cpu::CpuBackend be(n_threads);
        model::LoadOptions lo;
        lo.max_batch_tokens = 512;
        lo.max_logit_rows = 1;
        lo.max_seqs = 1;
        auto m = model::Model::load(model_path, be, lo);
        const text::Tokenizer tok(text::load_vocab(m->file()));
        model::KvOptions ko;
        ko.n_ctx = n_ctx;
        model::KvCache kv(be, m->config(), ko);
        const double load_ms = ms_since(t_load);

        const std::string text = chat ? render_chat(m->file(), tok, prompt) : prompt;
        // A template that writes BOS itself must not get a second one from the tokenizer.
        const bool bos_in_text = tok.bos_id() != text::kNoToken && text.starts_with(tok.piece(tok.bos_id(), true));
        const std::vector<text::TokenId> ids = tok.encode(text, /*add_special=*/!bos_in_text, /*parse_special=*/chat);
        if (ids.empty()) throw std::invalid_argument("the prompt has no tokens");
        if (int(ids.size()) + n_predict > kv.n_positions_total())
            throw std::invalid_argument("prompt of " + std::to_string(ids.size()) + " tokens + " +
                                        std::to_string(n_predict) + " to generate does not fit in a context of " +
                                        std::to_string(kv.n_positions_total()) + " (raise -c)");

        sample::SamplingParams sp;
        sp.temperature = temp;
        sp.top_k = top_k;
        sp.top_p = top_p;
        sp.seed = seed;
        if (auto err = sample::validate(sp, m->config().n_vocab); !err.empty()) throw std::invalid_argument(err);
        sample::Sampler sampler(m->config().n_vocab, sp);
        sampler.accept_prompt(ids);

        const int32_t seq = kv.add_sequence();
        model::Batch batch;
        const auto t_prompt = Clock::now();
        for (size_t first = 0; first < ids.size(); first += size_t(lo.max_batch_tokens)) {
            const size_t last = std::min(ids.size(), first + size_t(lo.max_batch_tokens));
            batch.clear();
            const int s = batch.add_sequence(seq);
            for (size_t i = first; i < last; ++i) batch.add(s, ids[i], int32_t(i), i + 1 == ids.size());
            m->forward(batch, kv);
        }
        const double prompt_ms = ms_since(t_prompt);

        const auto t_gen = Clock::now();
        std::string pending;
        int n_gen = 0;
        int32_t pos = int32_t(ids.size());
        for (; n_gen < n_predict; ++n_gen) {
            const sample::SampleResult r = sampler.sample(m->logits(0));
            if (!r.ok()) throw std::runtime_error(std::string("sampling: ") + sample::to_string(r.status));
            if (tok.is_eog(r.token_id)) break;
            sampler.accept(r.token_id);
            pending += tok.piece(r.token_id);
            const size_t n_out = utf8_complete_prefix(pending);
            std::fwrite(pending.data(), 1, n_out, stdout);
            std::fflush(stdout);
            pending.erase(0, n_out);
            if (n_gen + 1 == n_predict) {
                ++n_gen;
                break;
            }
            batch.clear();
            batch.add(batch.add_sequence(seq), r.token_id, pos++, true);
            m->forward(batch, kv);
        }
        std::fwrite(pending.data(), 1, pending.size(), stdout);
        std::printf("\n");
        std::fflush(stdout);
        const double gen_ms = ms_since(t_gen);
        std::fprintf(stderr, "load %.0f ms | prompt %zu tokens, %.1f tok/s | generation %d tokens, %.1f tok/s\n", load_ms,
                     ids.size(), double(ids.size()) * 1000.0 / prompt_ms, n_gen,
                     gen_ms > 0 ? double(n_gen) * 1000.0 / gen_ms : 0.0);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotrod run: %s\n", e.what());
        return 1;
    }
    return 0;
}

}  // namespace hotrod::app
