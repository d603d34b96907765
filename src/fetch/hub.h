// The Hugging Face hub's URL scheme, as far as fetching a GGUF needs it: the repository's file listing
// (GET {endpoint}/api/models/OWNER/REPO/tree/main?recursive=1: path, size and, for LFS files, the SHA-256 as
// lfs.oid) and a file's download (GET {endpoint}/OWNER/REPO/resolve/main/PATH, range requests allowed). The
// endpoint is HF_ENDPOINT when set (a mirror, or the tests' local server), else https://huggingface.co.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hotrod::fetch {

struct HubFile {
    std::string path;    // inside the repository
    uint64_t size = 0;
    std::string sha256;  // lowercase hex; empty when the hub lists none (not an LFS file)
};

std::string hub_endpoint();  // HF_ENDPOINT without a trailing slash, or https://huggingface.co

// The files of a repository (OWNER/REPO). Throws FetchError (404: no such repository, 401: needs a token).
std::vector<HubFile> list_repo_files(const std::string& endpoint, const std::string& repo, const std::string& token);

// Parses the listing's JSON (separate for the tests).
std::vector<HubFile> parse_listing(const std::string& json);

// The GGUF a quant tag names among `files`: names holding the tag (any case) with no letter, digit or '_' right
// after it, so Q4_K picks "x-Q4_K.gguf" but not "x-Q4_K_M.gguf". No tag: Q4_K_M when there is one (llama-server's
// default), else the only GGUF. Split files (-00001-of-0000N.gguf) come back as all their parts in order.
// Projector files (mmproj) are never picked. Throws FetchError listing the GGUFs there are when none or several
// models match.
std::vector<HubFile> pick_gguf(const std::vector<HubFile>& files, const std::string& quant);

std::string resolve_url(const std::string& endpoint, const std::string& repo, const std::string& path);

}  // namespace hotrod::fetch
