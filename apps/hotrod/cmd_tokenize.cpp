// `hotrod tokenize -m MODEL [--ids] [--no-special] [--no-bos] TEXT|-`: the token ids of a text under a model's
// tokenizer, printed as llama.cpp's llama-tokenize prints them ("id -> 'piece'" per line, or a list with --ids).
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>

#include "commands.h"
#include "text/tokenizer.h"

namespace hotrod::app {
namespace {

void print_usage(FILE* out) {
    std::fprintf(out,
                 "usage: hotrod tokenize -m MODEL.gguf [--ids] [--no-special] [--no-bos] [--count] TEXT|-\n\n"
                 "Prints the token ids of TEXT (or of standard input for '-') with their pieces.\n"
                 "  --ids          print only the ids, as a list\n"
                 "  --no-special   control-token text such as <|im_start|> is plain text, not a token\n"
                 "  --no-bos       do not add BOS/EOS even if the model's tokenizer asks for them\n"
                 "  --count        print the number of tokens last\n");
}

}  // namespace

int cmd_tokenize(int argc, char** argv) {
    std::string model, text;
    bool ids_only = false, parse_special = true, add_special = true, count = false, have_text = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            print_usage(stdout);
            return 0;
        } else if ((a == "-m" || a == "--model") && i + 1 < argc) {
            model = argv[++i];
        } else if (a == "--ids") {
            ids_only = true;
        } else if (a == "--no-special" || a == "--no-parse-special") {
            parse_special = false;
        } else if (a == "--no-bos") {
            add_special = false;
        } else if (a == "--count") {
            count = true;
        } else if (a == "-") {
            text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
            have_text = true;
        } else if (!a.empty() && a[0] == '-' && !have_text) {
            std::fprintf(stderr, "hotrod tokenize: unknown option '%s'\n\n", a.c_str());
            print_usage(stderr);
            return 2;
        } else if (!have_text) {
            text = a;
            have_text = true;
        } else {
            std::fprintf(stderr, "hotrod tokenize: one TEXT only (quote it)\n");
            return 2;
        }
    }
    if (model.empty() || !have_text) {
        print_usage(stderr);
        return 2;
    }
    try {
        const auto tok = text::Tokenizer::from_gguf(model);
        const auto ids = tok.encode(text, add_special, parse_special);
        if (ids_only) {
            std::printf("[");
            for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? ", %d" : "%d", ids[i]);
            std::printf("]\n");
        } else {
            for (const auto id : ids) {
                const auto p = tok.piece(id, /*special=*/true);
                std::printf("%6d -> '%.*s'\n", id, int(p.size()), p.data());
            }
        }
        if (count) std::printf("Total number of tokens: %zu\n", ids.size());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotrod tokenize: %s\n", e.what());
        return 1;
    }
    return 0;
}

}  // namespace hotrod::app
