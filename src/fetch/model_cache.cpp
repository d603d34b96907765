#include "fetch/model_cache.h"

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <vector>

#include "fetch/hub.h"

namespace hotrod::fetch {
namespace fs = std::filesystem;
namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

std::string human_bytes(double b) {
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (b >= 1000 && u < 4) b /= 1000, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
    return buf;
}

// OWNER/REPO: two non-empty names of letters, digits, '-', '_', '.', no "..".
bool valid_repo(const std::string& repo) {
    const size_t slash = repo.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == repo.size() || repo.find('/', slash + 1) != std::string::npos)
        return false;
    if (repo.find("..") != std::string::npos) return false;
    for (char c : repo)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/')) return false;
    return true;
}

// A cached file counts when it is there with the listed size (it was checked when it was downloaded).
bool cached(const std::string& path, uint64_t size) {
    std::error_code ec;
    return fs::is_regular_file(path, ec) && (size == 0 || uint64_t(fs::file_size(path, ec)) == size);
}

}  // namespace

FetchOptions fetch_options_from_env(bool offline) {
    FetchOptions o;
    o.offline = offline;
    o.token = env("HF_TOKEN");
    return o;
}

std::string models_dir() {
    if (const std::string m = env("HOTROD_MODELS"); !m.empty()) return m;
    if (const std::string x = env("XDG_CACHE_HOME"); !x.empty()) return x + "/hotrod/models";
    return env("HOME") + "/.cache/hotrod/models";
}

bool is_url(const std::string& s) { return s.starts_with("https://") || s.starts_with("http://"); }

Progress stderr_progress(const std::string& label) {
    struct State {
        std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now(), last{};
        uint64_t first = UINT64_MAX;
        int decile = -1;
    };
    auto st = std::make_shared<State>();
    const bool tty = isatty(STDERR_FILENO) != 0;
    return [st, tty, label](uint64_t done, uint64_t total) {
        const auto now = std::chrono::steady_clock::now();
        if (st->first == UINT64_MAX) st->first = done;
        if (!tty) {
            if (total == 0) return;
            const int decile = int(double(done) * 10 / double(total));
            if (decile > st->decile) {
                st->decile = decile;
                std::fprintf(stderr, "hotrod: downloading %s %3d%% (%s of %s)\n", label.c_str(), decile * 10,
                             human_bytes(double(done)).c_str(), human_bytes(double(total)).c_str());
            }
            return;
        }
        if (now - st->last < std::chrono::milliseconds(100) && done != total) return;
        st->last = now;
        const double secs = std::chrono::duration<double>(now - st->start).count();
        const double rate = secs > 0 ? double(done - st->first) / secs : 0;
        std::string line = "\r" + label + " " + human_bytes(double(done));
        if (total > 0) {
            constexpr int kWidth = 24;
            const int filled = int(double(done) * kWidth / double(total));
            line += " / " + human_bytes(double(total)) + " [" + std::string(size_t(filled), '#') +
                    std::string(size_t(kWidth - filled), ' ') + "]";
            if (rate > 0) {
                const double left = double(total - done) / rate;
                char buf[64];
                std::snprintf(buf, sizeof buf, " %s/s, %.0f s left", human_bytes(rate).c_str(), left);
                line += buf;
            }
        }
        std::fprintf(stderr, "%s   ", line.c_str());
        if (total > 0 && done >= total) std::fprintf(stderr, "\n");
        std::fflush(stderr);
    };
}

std::string fetch_hf(const std::string& spec, const FetchOptions& opt) {
    const size_t colon = spec.find(':');
    const std::string repo = spec.substr(0, colon);
    const std::string quant = colon == std::string::npos ? "" : spec.substr(colon + 1);
    if (!valid_repo(repo)) throw FetchError("-hf " + spec + ": expected OWNER/REPO[:QUANT]");
    const std::string dir = models_dir() + "/" + repo;
    if (opt.offline) {
        // The listing is remote: offline, pick among the GGUFs already in the cache by the same rule.
        std::vector<HubFile> local;
        std::error_code ec;
        for (const auto& e : fs::recursive_directory_iterator(dir, ec))
            if (e.is_regular_file()) local.push_back({fs::relative(e.path(), dir).string(), 0, ""});
        if (ec || local.empty()) throw FetchError("-hf " + spec + ": not in the models cache (" + dir + ") and --offline is set");
        return dir + "/" + pick_gguf(local, quant).front().path;
    }
    const std::string endpoint = hub_endpoint();
    const std::vector<HubFile> parts = pick_gguf(list_repo_files(endpoint, repo, opt.token), quant);
    for (const HubFile& f : parts) {
        const std::string dest = dir + "/" + f.path;
        if (cached(dest, f.size)) continue;
        DownloadRequest req;
        req.url = resolve_url(endpoint, repo, f.path);
        req.dest = dest;
        req.token = opt.token;
        req.expected_size = f.size;
        req.expected_sha256 = f.sha256;
        if (!opt.quiet) req.progress = stderr_progress(f.path);
        download(req);
    }
    return dir + "/" + parts.front().path;
}

std::string fetch_default_model(const FetchOptions& opt) {
    const std::string local = models_dir() + "/" + kDefaultModelFile;
    if (cached(local, 0)) return local;
    return fetch_hf(kDefaultModelRepo, opt);
}

std::string fetch_url(const std::string& url, const FetchOptions& opt) {
    const size_t scheme = url.find("://");
    std::string rest = url.substr(scheme + 3);
    if (const size_t q = rest.find_first_of("?#"); q != std::string::npos) rest = rest.substr(0, q);
    if (rest.find("..") != std::string::npos || rest.empty() || rest.back() == '/')
        throw FetchError(url + ": not a file URL");
    const std::string dest = models_dir() + "/url/" + rest;
    if (cached(dest, 0)) return dest;
    if (opt.offline) throw FetchError(url + ": not in the models cache (" + dest + ") and --offline is set");
    DownloadRequest req;
    req.url = url;
    req.dest = dest;
    req.token = is_url(url) && url.find(hub_endpoint()) == 0 ? opt.token : "";
    if (!opt.quiet) req.progress = stderr_progress(fs::path(dest).filename().string());
    download(req);
    return dest;
}

}  // namespace hotrod::fetch
