// gguf::File: opening (single files and split models), the key and tensor indexes, and typed look-ups.
// Parsing and validation of one file live in parse.cpp; this file joins parts and answers questions.
#include "gguf/reader.h"

#include <cstdio>

#include "gguf/mapping.h"
#include "gguf/parse.h"

namespace hotrod::gguf {

namespace {

// NAME-00001-of-00003.gguf -> {NAME, 1, 3}; nullopt if the file name does not follow that pattern.
struct SplitName {
    std::string prefix;
    uint32_t no = 0;
    uint32_t count = 0;
};

bool all_digits(std::string_view s) {
    for (char ch : s)
        if (ch < '0' || ch > '9') return false;
    return !s.empty();
}

std::optional<SplitName> parse_split_name(const std::string& path) {
    constexpr std::string_view kTail = ".gguf";
    constexpr size_t kLen = 1 + 5 + 4 + 5 + 5;  // "-00001-of-00003.gguf"
    if (path.size() < kLen) return std::nullopt;
    const std::string_view tail = std::string_view(path).substr(path.size() - kLen);
    if (tail[0] != '-' || tail.substr(6, 4) != "-of-" || tail.substr(15) != kTail) return std::nullopt;
    if (!all_digits(tail.substr(1, 5)) || !all_digits(tail.substr(10, 5))) return std::nullopt;
    SplitName s;
    s.prefix = path.substr(0, path.size() - kLen);
    s.no = uint32_t(std::stoul(std::string(tail.substr(1, 5))));
    s.count = uint32_t(std::stoul(std::string(tail.substr(10, 5))));
    return s;
}

std::string split_path(const std::string& prefix, uint32_t no, uint32_t count) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "-%05u-of-%05u.gguf", no, count);
    return prefix + buf;
}

// split.no / split.count as stored (u16 in llama.cpp's files); any integer type that fits is accepted.
std::optional<uint32_t> split_key(const ParsedPart& p, std::string_view key, const std::string& path) {
    for (const auto& kv : p.kv) {
        if (kv.key != key) continue;
        auto x = kv.value.as<uint32_t>();
        if (!x)
            throw Error(path + ": key " + std::string(key) + ": expected an unsigned integer, found " +
                        std::string(value_type_name(kv.value.type())));
        return x;
    }
    return std::nullopt;
}

}  // namespace

File::File() = default;
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

size_t File::n_parts() const {
    return maps_.size();
}

uint64_t File::file_size() const {
    uint64_t n = 0;
    for (const auto& m : maps_) n += m->size();
    return n;
}

File open_parts(std::unique_ptr<Mapping> first_map, bool follow_split) {
    File f;
    const std::string path = first_map->path();
    ParsedPart first = parse_part(*first_map, 0);
    const auto count = split_key(first, "split.count", path);
    std::vector<std::string> paths{path};
    if (follow_split && count && *count > 1) {
        const auto name = parse_split_name(path);
        if (!name)
            throw Error(path + ": split.count is " + std::to_string(*count) +
                        " but the file name does not follow NAME-00001-of-" +
                        split_path("", *count, *count).substr(10));
        if (name->count != *count)
            throw Error(path + ": key split.count: the file name says " + std::to_string(name->count) +
                        " parts, the metadata says " + std::to_string(*count));
        for (uint32_t k = 1; k <= *count; ++k) paths.push_back(split_path(name->prefix, k, *count));
        paths.erase(paths.begin());
        if (name->no != 1) {  // opened from a later part: start again from the first
            first_map = std::make_unique<Mapping>(paths[0]);
            first = parse_part(*first_map, 0);
        }
    }

    if (paths.size() > 1) {
        const auto no = split_key(first, "split.no", paths[0]);
        if (!no || *no != 0)
            throw Error(paths[0] + ": key split.no: expected 0, found " +
                        (no ? std::to_string(*no) : std::string("no such key")));
    }
    f.path_ = paths[0];
    f.version_ = first.version;
    f.alignment_ = first.alignment;
    f.data_offset_ = first.data_offset;
    f.kv_ = std::move(first.kv);
    f.tensors_ = std::move(first.tensors);
    f.maps_.push_back(std::move(first_map));
    for (uint32_t k = 1; k < paths.size(); ++k) {
        auto map = std::make_unique<Mapping>(paths[k]);
        ParsedPart part = parse_part(*map, k);
        const auto no = split_key(part, "split.no", paths[k]);
        const auto n = split_key(part, "split.count", paths[k]);
        if (!no || *no != k)
            throw Error(paths[k] + ": key split.no: expected " + std::to_string(k) + ", found " +
                        (no ? std::to_string(*no) : std::string("no such key")));
        if (!n || *n != paths.size())
            throw Error(paths[k] + ": key split.count: expected " + std::to_string(paths.size()) +
                        ", found " + (n ? std::to_string(*n) : std::string("no such key")));
        for (auto& t : part.tensors) f.tensors_.push_back(t);
        f.maps_.push_back(std::move(map));
    }

    for (size_t k = 0; k < f.kv_.size(); ++k) f.kv_index_.emplace(f.kv_[k].key, k);
    if (const Value* a = f.find_value("general.architecture")) {
        auto s = a->as<std::string_view>();
        if (!s)
            throw Error(f.path_ + ": key general.architecture: expected a string, found " +
                        std::string(value_type_name(a->type())));
        f.arch_ = *s;
    }
    for (size_t k = 0; k < f.tensors_.size(); ++k) {
        const TensorInfo& t = f.tensors_[k];
        if (!f.tensor_index_.emplace(t.name, k).second)
            throw Error(paths[t.split_no] + ": tensor " + std::string(t.name) +
                        ": duplicate tensor name (also in " +
                        paths[f.tensors_[f.tensor_index_[t.name]].split_no] + ")");
    }
    if (paths.size() > 1) {
        if (const Value* n = f.find_value("split.tensors.count")) {
            const auto total = n->as<uint64_t>();
            if (!total || *total != f.tensors_.size())
                throw Error(f.path_ + ": key split.tensors.count: expected " +
                            std::to_string(f.tensors_.size()) + " tensors over " +
                            std::to_string(paths.size()) + " parts, found " + n->to_string());
        }
    }
    return f;
}

File File::open(const std::string& path) {
    return open_parts(std::make_unique<Mapping>(path), true);
}
File File::open_single(const std::string& path) {
    return open_parts(std::make_unique<Mapping>(path), false);
}
File File::open_bytes(std::string name, std::span<const std::byte> bytes) {
    return open_parts(std::make_unique<Mapping>(std::move(name), bytes), false);
}

std::string File::expand(std::string_view key) const {
    std::string out(key);
    constexpr std::string_view kArch = "{arch}";
    for (size_t at = out.find(kArch); at != std::string::npos; at = out.find(kArch, at + arch_.size()))
        out.replace(at, kArch.size(), arch_);
    return out;
}

const Value* File::find_value(std::string_view key) const {
    auto it = key.find('{') == std::string_view::npos ? kv_index_.find(key) : kv_index_.find(expand(key));
    return it == kv_index_.end() ? nullptr : &kv_[it->second].value;
}

const Value& File::value(std::string_view key) const {
    if (const Value* v = find_value(key)) return *v;
    std::string what = path_ + ": key " + expand(key) + " not found";
    if (key.find("{arch}") != std::string_view::npos && arch_.empty())
        what += " (general.architecture is missing)";
    throw Error(what);
}

void File::fail_type(std::string_view key, const Value& v, std::string_view expected) const {
    std::string found(value_type_name(v.type()));
    if (v.is_array()) found = "array of " + std::string(value_type_name(v.array_type()));
    throw Error(path_ + ": key " + expand(key) + ": expected " + std::string(expected) + ", found " + found +
                " " + v.to_string(4));
}

const TensorInfo* File::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& File::tensor(std::string_view name) const {
    if (const TensorInfo* t = find_tensor(name)) return *t;
    throw Error(path_ + ": tensor " + std::string(name) + " not found");
}

}  // namespace hotrod::gguf
