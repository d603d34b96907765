#include "fetch/download.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace hotrod::fetch {
namespace {

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// What a status means to a user, for the error message.
std::string status_words(long status, bool have_token) {
    if (status == 404) return "404 not found (check the repository and file name)";
    if (status == 401 || status == 403)
        return std::to_string(status) + (have_token ? " refused: HF_TOKEN does not give access to this file"
                                                    : " refused: the file needs a token (set HF_TOKEN)");
    if (status == 416) return "416 range not satisfiable (the partial file is larger than the file on the server)";
    return "HTTP " + std::to_string(status);
}

std::unique_ptr<CURL, CurlDeleter> make_handle(const std::string& url, const std::string& token,
                                               std::unique_ptr<curl_slist, SlistDeleter>& headers) {
    global_init();
    std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
    if (!c) throw FetchError("libcurl could not start");
    curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 1L);  // the hub redirects resolve/ to its file store
    curl_easy_setopt(c.get(), CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c.get(), CURLOPT_USERAGENT, "hotrod");
    curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT, 30L);
    // A stalled transfer (under 1 KB/s for 60 s) is an error, retried with a resume; never a hang.
    curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
    if (!token.empty()) {
        headers.reset(curl_slist_append(nullptr, ("Authorization: Bearer " + token).c_str()));
        curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
    }
    return c;
}

size_t append_string(char* data, size_t size, size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
}

struct FileSink {
    std::FILE* f = nullptr;
    uint64_t done = 0;
    uint64_t total = 0;
    long status = 0;  // filled in by the header callback before the first byte of the body
    const Progress* progress = nullptr;
    CURL* curl = nullptr;
};

size_t write_file(char* data, size_t size, size_t n, void* user) {
    auto* s = static_cast<FileSink*>(user);
    long status = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200 && status != 206) return 0;  // an error page is not the model: abort, report the status
    if (std::fwrite(data, size, n, s->f) != n) return 0;
    s->done += size * n;
    if (s->progress && *s->progress) (*s->progress)(s->done, s->total);
    return size * n;
}

}  // namespace

std::string http_get(const std::string& url, const std::string& token) {
    std::unique_ptr<curl_slist, SlistDeleter> headers;
    auto c = make_handle(url, token, headers);
    std::string body;
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, append_string);
    curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c.get(), CURLOPT_TIMEOUT, 120L);
    const CURLcode rc = curl_easy_perform(c.get());
    if (rc != CURLE_OK) throw FetchError(url + ": " + curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) throw FetchError(url + ": " + status_words(status, !token.empty()));
    return body;
}

std::string sha256_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FetchError(path + ": cannot be read");
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) throw FetchError("OpenSSL: no SHA-256");
    std::vector<char> buf(1 << 20);
    while (in) {
        in.read(buf.data(), std::streamsize(buf.size()));
        if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), size_t(in.gcount()));
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &len);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) out += hex[md[i] >> 4], out += hex[md[i] & 15];
    return out;
}

void download(const DownloadRequest& req) {
    namespace fs = std::filesystem;
    const std::string part = req.dest + ".part";
    std::error_code ec;
    fs::create_directories(fs::path(req.dest).parent_path(), ec);
    std::string last_error;
    for (int attempt = 1; attempt <= req.max_attempts; ++attempt) {
        const uint64_t have = fs::exists(part, ec) ? uint64_t(fs::file_size(part, ec)) : 0;
        if (req.expected_size > 0 && have > req.expected_size) fs::remove(part, ec);  // not this file: start over
        const uint64_t from = fs::exists(part, ec) ? uint64_t(fs::file_size(part, ec)) : 0;
        if (req.expected_size > 0 && from == req.expected_size) break;  // complete: only the checks remain

        std::unique_ptr<curl_slist, SlistDeleter> headers;
        auto c = make_handle(req.url, req.token, headers);
        std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(part.c_str(), from > 0 ? "ab" : "wb"),
                                                             std::fclose);
        if (!f) throw FetchError(part + ": cannot be written");
        FileSink sink{f.get(), from, req.expected_size, 0, &req.progress, c.get()};
        curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, write_file);
        curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &sink);
        if (from > 0) curl_easy_setopt(c.get(), CURLOPT_RESUME_FROM_LARGE, curl_off_t(from));
        const CURLcode rc = curl_easy_perform(c.get());
        f.reset();
        long status = 0;
        curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
        if (status == 200 && from > 0) {
            // The server ignored the range and sent the whole file after the bytes we had: start over.
            fs::remove(part, ec);
            last_error = "the server does not resume (no range support)";
            continue;
        }
        if (status >= 400 && status < 500 && status != 408 && status != 429) {
            if (status == 416) fs::remove(part, ec);
            throw FetchError(req.url + ": " + status_words(status, !req.token.empty()));
        }
        if (rc == CURLE_OK && (status == 200 || status == 206)) {
            if (req.expected_size == 0 || uint64_t(fs::file_size(part, ec)) == req.expected_size) break;
            last_error = "the transfer ended early";
        } else {
            last_error = rc != CURLE_OK ? curl_easy_strerror(rc) : status_words(status, !req.token.empty());
        }
        if (attempt == req.max_attempts)
            throw FetchError(req.url + ": " + last_error + " (" + std::to_string(attempt) + " attempts; run again to resume)");
        std::this_thread::sleep_for(std::chrono::milliseconds(500 * attempt));
    }
    const uint64_t size = uint64_t(fs::file_size(part, ec));
    if (ec) throw FetchError(req.url + ": nothing was downloaded" + (last_error.empty() ? "" : " (" + last_error + ")"));
    if (req.expected_size > 0 && size != req.expected_size)
        throw FetchError(req.url + ": got " + std::to_string(size) + " bytes, the hub lists " +
                         std::to_string(req.expected_size));
    if (!req.expected_sha256.empty()) {
        const std::string got = sha256_file(part);
        if (got != req.expected_sha256) {
            fs::remove(part, ec);
            throw FetchError(req.url + ": SHA-256 " + got + " does not match the hub's " + req.expected_sha256 +
                             "; the partial file was deleted, run again to download it anew");
        }
    }
    fs::rename(part, req.dest, ec);
    if (ec) throw FetchError(req.dest + ": cannot be moved into place (" + ec.message() + ")");
}

}  // namespace hotrod::fetch
