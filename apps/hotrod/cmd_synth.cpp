// `hotrod synth --arch qwen3|qwen35|gemma3 --shape tiny|0.6b|0.8b|4b|270m --quant q4_k_m|q8_0|f16 --vocab VOCAB.gguf
//  [--chat-template FILE] --seed S -o FILE`:
// writes a synthetic model (random weights, real shape, real quant mix, real tokenizer) for tests and benchmarks.
#include <chrono>
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "model/synth.h"

namespace hotrod::app {

int cmd_synth(int argc, char** argv) {
    model::SynthOptions opt;
    std::string out;
    CLI::App app{"Writes a synthetic model: random weights in a real architecture's shape and quant mix.", "hotrod synth"};
    app.add_option("--arch", opt.arch, "architecture (qwen3 | qwen35 | gemma3)")->capture_default_str();
    app.add_option("--shape", opt.shape, "tiny | 0.6b | 4b (qwen3); tiny | 0.8b | 4b (qwen35); tiny | 270m (gemma3)")->capture_default_str();
    app.add_option("--quant", opt.quant, "q4_k_m | q8_0 | f16")->capture_default_str();
    app.add_option("--vocab", opt.vocab_path, "GGUF file whose tokenizer.* metadata is copied")->required();
    app.add_option("--chat-template", opt.chat_template_path, "Jinja file written as tokenizer.chat_template");
    app.add_option("--seed", opt.seed, "random seed")->capture_default_str();
    app.add_flag("--quick-quant", opt.quick_quant,
                 "K formats without the scale search: other bytes, same shapes, much faster (benchmark files)");
    app.add_option("-o,--output", out, "output GGUF path")->required();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        const auto t0 = std::chrono::steady_clock::now();
        model::write_synthetic_model(opt, out);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::fprintf(stderr, "hotrod synth: wrote %s (%s %s %s, seed %llu) in %.1f s\n", out.c_str(), opt.arch.c_str(),
                     opt.shape.c_str(), opt.quant.c_str(), (unsigned long long)opt.seed, s);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotrod synth: %s\n", e.what());
        return 1;
    }
    return 0;
}

}  // namespace hotrod::app
