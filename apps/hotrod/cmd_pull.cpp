// `hotrod pull OWNER/REPO[:QUANT] | URL [--offline]`: fetches a model into the models cache (as -hf / -m URL do on
// first use) and prints its path, for scripts and for fetching ahead of a server start.
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "fetch/model_cache.h"

namespace hotrod::app {

int cmd_pull(int argc, char** argv) {
    std::string what;
    bool offline = false, quiet = false;
    CLI::App app{"Downloads a model into the models cache (resumable, SHA-256 checked) and prints its path.",
                 "hotrod pull"};
    app.add_option("model", what, "OWNER/REPO[:QUANT] on the Hugging Face hub (HF_ENDPOINT, HF_TOKEN), or an http(s) URL")
        ->required();
    app.add_flag("--offline", offline, "only look in the cache");
    app.add_flag("-q,--quiet", quiet, "no progress output");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        fetch::FetchOptions opt = fetch::fetch_options_from_env(offline);
        opt.quiet = quiet;
        const std::string path = fetch::is_url(what) ? fetch::fetch_url(what, opt) : fetch::fetch_hf(what, opt);
        std::printf("%s\n", path.c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hotrod pull: %s\n", e.what());
        return 1;
    }
}

}  // namespace hotrod::app
