// `hotrod perf -m MODEL [-p 512] [-n 128] [-t 2] [-r 3]`: the numbers llama-bench reports, measured the same way,
// so bench/pp_tg_vs_llama.sh can put them side by side: prompt processing (pp: one batch of p random tokens into
// an empty sequence) and text generation (tg: n single-token decode steps from an empty sequence), tokens per
// second as mean and standard deviation over r repetitions after one warm-up pass, plus the load time and the
// load-to-first-token time (load, then a short real prompt, then its first greedy token), in-process.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "device_flags.h"
#include "model_flags.h"
#include "generation.h"

namespace hotrod::app {
namespace {

struct Stats {
    double mean = 0, sd = 0;
};

Stats stats(const std::vector<double>& v) {
    Stats s;
    for (double x : v) s.mean += x / double(v.size());
    for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
    s.sd = v.size() > 1 ? std::sqrt(s.sd / double(v.size() - 1)) : 0.0;
    return s;
}

// A fresh, empty sequence in the session's cache.
void reset_sequence(Session& s) {
    s.kv->remove_sequence(s.seq_id);
    s.seq_id = s.kv->add_sequence();
}

// Forward steps over tokens at positions first.. of the session's sequence, at most ubatch tokens a step (as
// llama-bench's -ub cuts a long prompt), logits for the last token only; `generated`: the tokens continue a
// generation (Batch::n_decode), else they are a prompt's.
void step(Session& s, model::Batch& b, const std::vector<int32_t>& tokens, int32_t first, bool generated,
          size_t ubatch = 512) {
    for (size_t at = 0; at < tokens.size(); at += ubatch) {
        const size_t end = std::min(tokens.size(), at + ubatch);
        b.clear();
        const int si = b.add_sequence(s.seq_id);
        for (size_t i = at; i < end; ++i) b.add(si, tokens[i], first + int32_t(i), i + 1 == tokens.size());
        b.n_decode = generated ? b.n_tokens() : 0;
        s.model->forward(b, *s.kv);
    }
}

}  // namespace

int cmd_perf(int argc, char** argv) {
    std::string model_path;
    int n_prompt = 512, n_gen = 128, reps = 3, ubatch = 512;
    device::DeviceOptions dev;
    CLI::App app{"Measures prompt processing and generation speed as llama-bench does (pp<p>, tg<n>, tokens/s).",
                 "hotrod perf"};
    ModelFlags model_flags;
    add_model_flags(app, model_flags);
    app.add_option("-p,--n-prompt", n_prompt, "prompt tokens (0 = skip)")->capture_default_str();
    app.add_option("-n,--n-gen", n_gen, "tokens generated one at a time (0 = skip)")->capture_default_str();
    app.add_option("--ubatch-size", ubatch, "prompt tokens per forward step: a longer prompt goes in steps of this many")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 16));
    add_device_flags(app, dev);
    app.add_option("-r,--repetitions", reps, "timed repetitions of each test")->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        model_path = resolve_model(model_flags);
        const Clock::time_point t0 = Clock::now();
        Session s = load_session(model_path, dev, std::max(n_prompt, n_gen) + 64, ubatch);
        const double load_ms = ms_since(t0);
        // Load to first token: a short real prompt, then its first greedy token's logits.
        const auto ids = s.tok->encode_prompt("The capital of France is", false);
        prefill(s, ids, 0);
        const auto row = s.model->logits(0);
        const auto first = int32_t(std::max_element(row.begin(), row.end()) - row.begin());
        model::Batch b;
        step(s, b, {first}, int32_t(ids.size()), true);
        const double first_token_ms = ms_since(t0);

        std::mt19937 rng(42);
        std::uniform_int_distribution<int32_t> any_token(0, int32_t(s.model->config().n_vocab) - 1);
        std::vector<int32_t> prompt(size_t(std::max(n_prompt, 1)));
        std::vector<double> pp, tg;
        for (int r = 0; r <= reps; ++r) {  // r == 0: warm-up (page faults, pool start, workspace growth)
            if (n_prompt > 0) {
                for (auto& t : prompt) t = any_token(rng);
                reset_sequence(s);
                const Clock::time_point t1 = Clock::now();
                step(s, b, prompt, 0, false, size_t(ubatch));
                if (r > 0) pp.push_back(double(n_prompt) / (ms_since(t1) / 1000.0));
            }
            if (n_gen > 0) {
                reset_sequence(s);
                const Clock::time_point t1 = Clock::now();
                for (int i = 0; i < n_gen; ++i) step(s, b, {any_token(rng)}, i, true);
                if (r > 0) tg.push_back(double(n_gen) / (ms_since(t1) / 1000.0));
            }
        }
        std::printf("model %s\nbackend %s\nthreads %d\nweight_bytes %zu\nload_ms %.1f\nload_to_first_token_ms %.1f\n",
                    model_path.c_str(), s.be->name().c_str(), dev.n_threads, s.model->weight_bytes(), load_ms, first_token_ms);
        if (!pp.empty()) std::printf("pp%d %.2f +- %.2f t/s\n", n_prompt, stats(pp).mean, stats(pp).sd);
        if (!tg.empty()) std::printf("tg%d %.2f +- %.2f t/s\n", n_gen, stats(tg).mean, stats(tg).sd);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotrod perf: %s\n", e.what());
        return 1;
    }
    return 0;
}

}  // namespace hotrod::app
