// The model flags every model-running command takes: -m FILE or URL, -hf OWNER/REPO[:QUANT] (llama-server's
// names), --offline. One definition so `serve`, `run`, `chat`, `perf` and `perplexity` agree; resolve_model turns
// them into a local path, downloading into the models cache first when needed (src/fetch/).
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include "fetch/model_cache.h"

namespace hotrod::app {

struct ModelFlags {
    std::string path;  // -m: a file or an http(s) URL
    std::string hf;    // -hf / --hf-repo
    bool offline = false;
};

inline void add_model_flags(CLI::App& app, ModelFlags& m) {
    auto* file = app.add_option("-m,--model", m.path,
                                "GGUF model: a file, or an http(s) URL downloaded into the models cache");
    auto* hf = app.add_option("--hf-repo", m.hf,
                              "(also -hf) OWNER/REPO[:QUANT] on the Hugging Face hub, downloaded into the models cache "
                              "(HOTROD_MODELS, else ~/.cache/hotrod/models) on first use; HF_ENDPOINT and HF_TOKEN "
                              "as for the hub's own tools");
    file->excludes(hf);
    app.add_flag("--offline", m.offline, "never touch the network: -hf and URL models must be in the models cache");
}

// The local GGUF the flags name, fetched first when it is remote and not yet cached; with no model flag, the
// default model when `default_model` (serve), else an error. Throws runtime_error.
inline std::string resolve_model(const ModelFlags& m, bool default_model = false) {
    const fetch::FetchOptions opt = fetch::fetch_options_from_env(m.offline);
    if (!m.hf.empty()) return fetch::fetch_hf(m.hf, opt);
    if (m.path.empty() && default_model) return fetch::fetch_default_model(opt);
    if (m.path.empty()) throw std::invalid_argument("a model is needed: -m FILE|URL or -hf OWNER/REPO[:QUANT]");
    if (fetch::is_url(m.path)) return fetch::fetch_url(m.path, opt);
    if (!std::filesystem::is_regular_file(m.path)) throw std::invalid_argument("-m " + m.path + ": no such file");
    return m.path;
}

}  // namespace hotrod::app
