// Parsing of one GGUF file (one part of a possibly split model) out of its mapping, with every check the
// format allows: header, metadata, tensor infos, alignment, tensor data bounds and overlap. Internal to
// src/gguf.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/mapping.h"
#include "gguf/reader.h"

namespace hotrod::gguf {

struct ParsedPart {
    uint32_t version = 0;
    uint32_t alignment = kDefaultAlignment;
    uint64_t data_offset = 0;
    std::vector<KeyValue> kv;
    std::vector<TensorInfo> tensors;  // data pointers into the mapping, split_no set to the given part number
};

ParsedPart parse_part(const Mapping& map, uint32_t split_no);

// "path: offset 0x1a2b: context: what" (context omitted when empty). Used by every reader error.
std::string error_text(const std::string& path, uint64_t offset, std::string_view context,
                       std::string_view what);
std::string hex(uint64_t x);

}  // namespace hotrod::gguf
