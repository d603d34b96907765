// `hotrod <command> ...`: dispatches to one sub-command; each command parses its own flags.
#include <cstdio>
#include <cstring>
#include <string_view>

#include "commands.h"

namespace {

struct Command {
    const char* name;
    int (*run)(int, char**);
    const char* summary;
};

constexpr Command kCommands[] = {
    {"serve", hotrod::app::cmd_serve, "OpenAI-compatible HTTP server (chat, completions, streaming, metrics)"},
    {"inspect", hotrod::app::cmd_inspect, "print a GGUF file's metadata and tensor table"},
    {"run", hotrod::app::cmd_run, "run one prompt and stream the completion"},
    {"perf", hotrod::app::cmd_perf, "pp/tg tokens/s as llama-bench measures them, load and load-to-first-token"},
    {"perplexity", hotrod::app::cmd_perplexity, "perplexity over a text file, as llama-perplexity measures it"},
    {"chat", hotrod::app::cmd_chat, "interactive chat in the terminal, with the model's chat template"},
    {"synth", hotrod::app::cmd_synth, "write a synthetic model (random weights, real shape and tokenizer)"},
    {"tokenize", hotrod::app::cmd_tokenize, "print the token ids of a text under a model's tokenizer"},
    {"template", hotrod::app::cmd_template, "render a chat template for a conversation"},
    {"bench", hotrod::app::cmd_bench, "head-to-head benchmark of OpenAI-compatible servers on a workload"},
    {"pull", hotrod::app::cmd_pull, "download a model into the models cache (OWNER/REPO[:QUANT] or a URL)"},
    {"version", hotrod::app::cmd_version, "version, build, CPU kernels and features, CUDA architectures and GPUs"},
};

void print_usage(FILE* out) {
    std::fprintf(out, "usage: hotrod <command> [options]\n\ncommands:\n");
    for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
    std::fprintf(out, "\n'hotrod <command> --help' for a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
    // llama-server's "-ngl N" and "-hf REPO", vLLM's "-tp N": multi-letter flags after one dash, which CLI11 refuses; spelled long
    // for it here.
    static char n_gpu_layers[] = "--n-gpu-layers";
    static char hf_repo[] = "--hf-repo";
    static char tensor_parallel[] = "--tensor-parallel";
    for (int i = 2; i < argc; ++i) {
        if (std::strcmp(argv[i], "-ngl") == 0) argv[i] = n_gpu_layers;
        if (std::strcmp(argv[i], "-hf") == 0) argv[i] = hf_repo;
        if (std::strcmp(argv[i], "-tp") == 0) argv[i] = tensor_parallel;  // vLLM's spelling
    }
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const std::string_view name = argv[1];
    if (name == "--version" || name == "-V") return hotrod::app::cmd_version(argc - 1, argv + 1);
    if (name == "help" || name == "--help" || name == "-h") {
        print_usage(stdout);
        return 0;
    }
    for (const auto& c : kCommands)
        if (name == c.name) return c.run(argc - 1, argv + 1);
    std::fprintf(stderr, "hotrod: unknown command '%s'\n\n", argv[1]);
    print_usage(stderr);
    return 2;
}
