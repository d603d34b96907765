// `hotrod perplexity -m MODEL -f TEXT [-c 512] [-b 512] [--chunks N]`: the perplexity of a model over a text
// file, measured and printed as llama.cpp's llama-perplexity does (perplexity.h says how), so a quantization
// or a backend change can be checked against the reference: a running estimate after each chunk,
// "[1]12.3456,[2]...", then "Final estimate: PPL = X +/- Y".
#include <algorithm>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "device_flags.h"
#include "model_flags.h"
#include "generation.h"
#include "perplexity.h"

namespace hotrod::app {
namespace {

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open " + path);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace

int cmd_perplexity(int argc, char** argv) {
    std::string model_path, text_path;
    PerplexityOptions opt;
    int n_batch = 512;
    device::DeviceOptions dev;
    CLI::App app{
        "Perplexity of a model over a text, as llama-perplexity measures it (second half of each chunk).",
        "hotrod perplexity"};
    ModelFlags model_flags;
    add_model_flags(app, model_flags);
    app.add_option("-f,--file", text_path, "text file to score")->required();
    app.add_option("-c,--ctx-size", opt.n_ctx, "tokens per chunk")->capture_default_str();
    app.add_option("-b,--batch-size", n_batch, "tokens per forward step (a chunk runs in steps of this)")
        ->capture_default_str();
    app.add_option("--chunks", opt.n_chunks, "chunks to score at most (-1: all)")->capture_default_str();
    add_device_flags(app, dev);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        model_path = resolve_model(model_flags);
        if (opt.n_ctx < 3 || n_batch < 1)
            throw std::invalid_argument("-c must be at least 3 and -b at least 1");
        const std::string text = read_file(text_path);
        const int step_tokens = std::min(n_batch, opt.n_ctx);
        Session s = load_session(model_path, dev, opt.n_ctx, step_tokens,
                                 perplexity_logit_rows(opt.n_ctx, step_tokens));
        // As llama-perplexity: the whole text as one prompt (BOS when the tokenizer adds it), control-token
        // text left as plain text; a tokenizer that appends EOS would put it mid-stream, so such models are
        // refused.
        if (s.tok->vocab().add_eos) throw std::runtime_error("the model's tokenizer appends EOS to a prompt");
        const auto tokens = s.tok->encode(text, /*add_special=*/true, /*parse_special=*/false);
        if (s.tok->vocab().add_bos) opt.bos_id = s.tok->bos_id();
        const int n_chunks = perplexity_n_chunks(tokens.size(), opt);
        std::fprintf(stderr,
                     "perplexity: %zu tokens, %d chunks of %d, steps of %d, backend %s, load %.0f ms\n",
                     tokens.size(), n_chunks, opt.n_ctx, step_tokens, s.be->name().c_str(), s.load_ms);
        const auto t0 = Clock::now();
        const NllSums sums = perplexity(*s.model, *s.kv, tokens, opt, [](int chunk, const NllSums& run) {
            std::printf("[%d]%.4f,", chunk + 1, run.ppl());
            std::fflush(stdout);
        });
        std::printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", sums.ppl(), sums.ppl_stderr());
        std::fflush(stdout);
        std::fprintf(stderr, "perplexity: %lld tokens scored in %.1f s\n", (long long)sums.n,
                     ms_since(t0) / 1000.0);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotrod perplexity: %s\n", e.what());
        return 1;
    }
    return 0;
}

}  // namespace hotrod::app
