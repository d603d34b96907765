// libFuzzer target for the JSON-schema compiler and the grammar matcher it feeds. The input is a schema as
// JSON text, optionally followed by a NUL byte and a sequence of token choices. The schema must compile or
// throw SchemaError; a compiled grammar is then driven over a small vocabulary, checking the matcher's
// contract:
// - a token is set in fill_mask() exactly when accept() takes it;
// - forced_bytes() are always accepted;
// - is_finished() implies is_complete().
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "sample/grammar.h"

namespace {

using namespace hotrod;

// Token ids 0..255 are the single bytes; then a few multi-byte pieces a JSON vocabulary has; then a control
// token (empty piece: never allowed) and the end-of-generation token.
const std::vector<std::string>& extra_pieces() {
    static const std::vector<std::string> p = {
        "{\"",  "\": ", ", \"", "\"}",     "true",     "false",        "null",
        "12",   "-0.5", "e+9",  "\\u00e9", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
        "\"\"", "[]",   "{}",   "  ",      "\n"};
    return p;
}
constexpr int32_t kFirstExtra = 256;

struct Vocab {
    std::shared_ptr<const sample::TokenIndex> index;
    int32_t control_id, eog_id;
};

const Vocab& vocab() {
    static const Vocab v = [] {
        std::vector<std::string> pieces;
        for (int b = 0; b < 256; ++b) pieces.emplace_back(1, char(b));
        for (const auto& p : extra_pieces()) pieces.push_back(p);
        Vocab out;
        out.control_id = int32_t(pieces.size());
        pieces.emplace_back();
        out.eog_id = int32_t(pieces.size());
        pieces.emplace_back();
        out.index = std::make_shared<sample::TokenIndex>(std::move(pieces), std::vector<int32_t>{out.eog_id});
        return out;
    }();
    return v;
}

bool bit(const std::vector<uint64_t>& mask, int32_t id) {
    return (mask[size_t(id) / 64] >> (id % 64)) & 1;
}

void drive(std::shared_ptr<const sample::Grammar> grammar, std::string_view choices) {
    const Vocab& v = vocab();
    sample::Matcher m(std::move(grammar), v.index);
    std::vector<uint64_t> mask((size_t(v.index->n_vocab()) + 63) / 64);
    for (size_t i = 0; i < choices.size(); ++i) {
        const uint8_t c = uint8_t(choices[i]);
        if (c == 0xFF) {  // take the forced bytes, if any
            const std::string forced = m.forced_bytes();
            if (!forced.empty() && !m.accept_bytes(forced))
                fuzz::property_failed("forced bytes not accepted", forced);
            continue;
        }
        int32_t id = c;
        if (c == 0xFE && i + 1 < choices.size()) {  // a multi-byte piece, the control token or EOG
            const uint8_t n = uint8_t(choices[++i]) % uint8_t(extra_pieces().size() + 2);
            id = n < extra_pieces().size()    ? kFirstExtra + n
                 : n == extra_pieces().size() ? v.control_id
                                              : v.eog_id;
        }
        m.fill_mask(mask);
        const bool allowed = bit(mask, id);
        const bool accepted = m.accept(id);
        if (allowed != accepted)
            fuzz::property_failed("mask and accept disagree", "token " + std::to_string(id) + " mask " +
                                                                  std::to_string(allowed) + " accept " +
                                                                  std::to_string(accepted));
        if (m.is_finished() && !m.is_complete()) fuzz::property_failed("finished but not complete");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const size_t nul = input.find('\0');
    const std::string_view schema_text = input.substr(0, nul);
    const std::string_view choices =
        nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
    // The server parses the body as ordered_json (properties in document order); parse errors are its 400.
    const auto schema = nlohmann::ordered_json::parse(schema_text, nullptr, /*allow_exceptions=*/false);
    if (schema.is_discarded()) return 0;
    std::shared_ptr<const sample::Grammar> grammar;
    try {
        grammar = sample::compile_json_schema(schema);
    } catch (const sample::SchemaError&) {
        return 0;
    }
    drive(std::move(grammar), choices);
    return 0;
}
