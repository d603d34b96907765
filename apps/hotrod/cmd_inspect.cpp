// `hotrod inspect MODEL.gguf [--all]`: a GGUF file's header, metadata and tensor table, with byte totals per
// type. Long arrays (the token list) are summarised unless --all; a bad file prints the reader's error and
// exits 1.
#include <cinttypes>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

#include "commands.h"
#include "gguf/reader.h"

namespace hotrod::app {
namespace {

constexpr size_t kShortArray = 8;  // arrays up to this length print whole; longer ones show their first items

std::string shape_text(const gguf::TensorInfo& t) {
    std::string s = "[";
    for (int d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.dims[d]);
    return s + "]";
}

std::string bytes_text(uint64_t n) {
    char buf[48];
    if (n >= (1ull << 30))
        std::snprintf(buf, sizeof buf, "%.2f GiB", double(n) / double(1ull << 30));
    else if (n >= (1ull << 20))
        std::snprintf(buf, sizeof buf, "%.2f MiB", double(n) / double(1ull << 20));
    else if (n >= (1ull << 10))
        std::snprintf(buf, sizeof buf, "%.2f KiB", double(n) / double(1ull << 10));
    else
        std::snprintf(buf, sizeof buf, "%" PRIu64 " B", n);
    return buf;
}

void print_usage(FILE* out) {
    std::fprintf(out,
                 "usage: hotrod inspect MODEL.gguf [--all]\n\n"
                 "Prints the header, metadata and tensor table of a GGUF file (all parts of a split model).\n"
                 "  --all   print long arrays (such as the token list) in full\n");
}

void print_file(const gguf::File& f, bool all) {
    std::printf("file:        %s\n", f.path().c_str());
    std::printf("version:     %u\n", f.version());
    std::printf("parts:       %zu\n", f.n_parts());
    std::printf("size:        %" PRIu64 " bytes (%s)\n", f.file_size(), bytes_text(f.file_size()).c_str());
    std::printf("alignment:   %u\n", f.alignment());
    std::printf("data offset: 0x%" PRIx64 "\n", f.data_offset());
    std::printf("arch:        %.*s\n", int(f.architecture().size()), f.architecture().data());

    std::printf("\nmetadata (%zu keys):\n", f.metadata().size());
    for (const auto& kv : f.metadata()) {
        const auto& v = kv.value;
        std::string type(gguf::value_type_name(v.type()));
        if (v.is_array())
            type = "array of " + std::string(gguf::value_type_name(v.array_type())) + "[" +
                   std::to_string(v.array_size()) + "]";
        std::printf("  %-44.*s %-22s %s\n", int(kv.key.size()), kv.key.data(), type.c_str(),
                    v.to_string(all ? SIZE_MAX : kShortArray).c_str());
    }

    std::printf("\ntensors (%zu):\n", f.tensors().size());
    std::printf("  %-40s %-7s %-24s %12s %14s\n", "name", "type", "shape", "bytes", "offset");
    std::map<std::string_view, std::pair<size_t, uint64_t>> by_type;  // type -> (count, bytes)
    uint64_t total_bytes = 0;
    int64_t total_elements = 0;
    for (const auto& t : f.tensors()) {
        const std::string_view type = quant::type_name(t.type);
        std::printf("  %-40.*s %-7.*s %-24s %12zu %#14" PRIx64 "%s\n", int(t.name.size()), t.name.data(),
                    int(type.size()), type.data(), shape_text(t).c_str(), t.n_bytes, t.file_offset,
                    f.n_parts() > 1 ? (" part " + std::to_string(t.split_no + 1)).c_str() : "");
        auto& [count, bytes] = by_type[type];
        ++count;
        bytes += t.n_bytes;
        total_bytes += t.n_bytes;
        total_elements += t.n_elements;
    }

    std::printf("\ntotals by type:\n");
    for (const auto& [type, cb] : by_type)
        std::printf("  %-7.*s %5zu tensors %14" PRIu64 " bytes (%s)\n", int(type.size()), type.data(),
                    cb.first, cb.second, bytes_text(cb.second).c_str());
    std::printf("  all     %5zu tensors %14" PRIu64 " bytes (%s), %" PRId64
                " parameters, %.3f bits/parameter\n",
                f.tensors().size(), total_bytes, bytes_text(total_bytes).c_str(), total_elements,
                total_elements ? 8.0 * double(total_bytes) / double(total_elements) : 0.0);
}

}  // namespace

int cmd_inspect(int argc, char** argv) {
    std::string path;
    bool all = false;
    for (int k = 1; k < argc; ++k) {
        const std::string_view a = argv[k];
        if (a == "--help" || a == "-h") {
            print_usage(stdout);
            return 0;
        }
        if (a == "--all") {
            all = true;
        } else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "hotrod inspect: unknown option '%s'\n", argv[k]);
            print_usage(stderr);
            return 2;
        } else if (path.empty()) {
            path = a;
        } else {
            std::fprintf(stderr, "hotrod inspect: one model path expected, got '%s' too\n", argv[k]);
            return 2;
        }
    }
    if (path.empty()) {
        print_usage(stderr);
        return 2;
    }
    try {
        const gguf::File f = gguf::File::open(path);
        print_file(f, all);
    } catch (const gguf::Error& e) {
        std::fprintf(stderr, "hotrod inspect: %s\n", e.what());
        return 1;
    }
    return 0;
}

}  // namespace hotrod::app
