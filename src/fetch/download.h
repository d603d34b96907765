// One file over HTTP(S) into a local path, as a user fetching a multi-GB model needs it: into PATH.part first,
// resumed with a Range request after an interruption (and across runs), retried on connection errors and 5xx,
// checked against the size and SHA-256 the hub lists, renamed into place only when both match. A wrong checksum
// deletes the partial file. Errors say what went wrong with which URL (404, 401 / 403 with or without a token).
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace hotrod::fetch {

class FetchError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Called as bytes arrive: (bytes on disk so far, total bytes or 0 when unknown).
using Progress = std::function<void(uint64_t done, uint64_t total)>;

struct DownloadRequest {
    std::string url;
    std::string dest;             // final path; PATH.part while incomplete
    std::string token;            // sent as "Authorization: Bearer" when not empty (HF_TOKEN)
    uint64_t expected_size = 0;   // 0: not checked
    std::string expected_sha256;  // lowercase hex; empty: not checked
    int max_attempts = 4;         // connection errors and 5xx are retried, resuming where the file stopped
    Progress progress;
};

// Downloads req.url into req.dest (see above). Throws FetchError.
void download(const DownloadRequest& req);

// SHA-256 of a file, lowercase hex. Throws FetchError when it cannot be read.
std::string sha256_file(const std::string& path);

// A GET whose body is small (a listing): the body, or FetchError naming the status.
std::string http_get(const std::string& url, const std::string& token);

}  // namespace hotrod::fetch
