#include "fetch/hub.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fetch/download.h"

namespace hotrod::fetch {
namespace {

std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool is_gguf(const std::string& path) {
    const std::string l = lower(path);
    return l.size() > 5 && l.ends_with(".gguf") && l.find("mmproj") == std::string::npos;
}

// The file name (after the last '/').
std::string base_name(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool has_tag(const std::string& path, const std::string& tag) {
    const std::string name = lower(base_name(path)), t = lower(tag);
    for (size_t at = name.find(t); at != std::string::npos; at = name.find(t, at + 1)) {
        const size_t end = at + t.size();
        const bool before_ok = at == 0 || !std::isalnum(static_cast<unsigned char>(name[at - 1]));
        const bool after_ok = end >= name.size() || !(std::isalnum(static_cast<unsigned char>(name[end])) || name[end] == '_');
        if (before_ok && after_ok) return true;
    }
    return false;
}

// "name-00002-of-00003.gguf" -> ("name", 2, 3); a single file -> (path, 1, 1).
struct SplitName {
    std::string stem;
    int index = 1, count = 1;
};
SplitName split_name(const std::string& path) {
    // By hand, not std::regex (GCC 12's regex trips -Wmaybe-uninitialized in the sanitizer build).
    constexpr std::string_view kOf = "-of-", kExt = ".gguf";
    const auto digits = [](std::string_view s) {
        return s.size() == 5 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    const std::string l = lower(path);
    // NAME-XXXXX-of-YYYYY.gguf: 1 + 5 + 4 + 5 + 5 characters after NAME.
    if (l.size() > 20 && l.ends_with(kExt)) {
        const size_t at = l.size() - kExt.size() - 5 - kOf.size() - 5 - 1;
        const std::string_view tail = std::string_view(l).substr(at);
        if (tail[0] == '-' && digits(tail.substr(1, 5)) && tail.substr(6, 4) == kOf && digits(tail.substr(10, 5)))
            return {path.substr(0, at), std::stoi(std::string(tail.substr(1, 5))), std::stoi(std::string(tail.substr(10, 5)))};
    }
    return {path, 1, 1};
}

std::string list_names(const std::vector<HubFile>& files) {
    std::string out;
    for (const HubFile& f : files)
        if (is_gguf(f.path)) out += (out.empty() ? "" : ", ") + f.path;
    return out.empty() ? "none" : out;
}

}  // namespace

std::string hub_endpoint() {
    const char* e = std::getenv("HF_ENDPOINT");
    std::string s = e && *e ? e : "https://huggingface.co";
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

std::string resolve_url(const std::string& endpoint, const std::string& repo, const std::string& path) {
    return endpoint + "/" + repo + "/resolve/main/" + path;
}

std::vector<HubFile> parse_listing(const std::string& text) {
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_array()) throw FetchError("the hub's file listing is not a JSON array");
    std::vector<HubFile> files;
    for (const auto& e : j) {
        if (!e.is_object() || e.value("type", "file") != "file" || !e.contains("path") || !e["path"].is_string()) continue;
        HubFile f;
        f.path = e["path"].get<std::string>();
        if (e.contains("size") && e["size"].is_number_unsigned()) f.size = e["size"].get<uint64_t>();
        if (e.contains("lfs") && e["lfs"].is_object()) {
            const auto& lfs = e["lfs"];
            if (lfs.contains("oid") && lfs["oid"].is_string()) f.sha256 = lower(lfs["oid"].get<std::string>());
            if (lfs.contains("size") && lfs["size"].is_number_unsigned()) f.size = lfs["size"].get<uint64_t>();
        }
        files.push_back(std::move(f));
    }
    return files;
}

std::vector<HubFile> list_repo_files(const std::string& endpoint, const std::string& repo, const std::string& token) {
    return parse_listing(http_get(endpoint + "/api/models/" + repo + "/tree/main?recursive=1", token));
}

std::vector<HubFile> pick_gguf(const std::vector<HubFile>& files, const std::string& quant) {
    std::vector<HubFile> hits;
    for (const HubFile& f : files)
        if (is_gguf(f.path) && (quant.empty() ? has_tag(f.path, "Q4_K_M") : has_tag(f.path, quant))) hits.push_back(f);
    if (hits.empty() && quant.empty())
        for (const HubFile& f : files)
            if (is_gguf(f.path)) hits.push_back(f);
    // Group by model (split parts share a stem); exactly one model must remain.
    std::map<std::string, std::vector<std::pair<SplitName, HubFile>>> models;
    for (const HubFile& f : hits) {
        const SplitName s = split_name(f.path);
        models[s.stem].push_back({s, f});
    }
    const std::string which = quant.empty() ? "no quant given and no single Q4_K_M" : "quant " + quant;
    if (models.empty()) throw FetchError("no GGUF file matches " + which + "; the repository has: " + list_names(files));
    if (models.size() > 1) {
        std::string names;
        for (const auto& [stem, parts] : models) names += (names.empty() ? "" : ", ") + parts.front().second.path;
        throw FetchError(which + " matches several models (" + names + "): name the quant, e.g. OWNER/REPO:Q4_K_M");
    }
    auto parts = models.begin()->second;
    std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.first.index < b.first.index; });
    const int count = parts.front().first.count;
    if (int(parts.size()) != count)
        throw FetchError(parts.front().second.path + ": " + std::to_string(parts.size()) + " of " +
                         std::to_string(count) + " split parts are listed");
    std::vector<HubFile> out;
    for (auto& p : parts) out.push_back(std::move(p.second));
    return out;
}

}  // namespace hotrod::fetch
