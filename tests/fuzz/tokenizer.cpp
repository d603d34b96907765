// libFuzzer target for the tokenizers: byte-level BPE with each pre-tokenizer and SentencePiece-style, on the
// shared reference vocabularies (../shared/vocab), when fetched the default models' own ($HOTROD_MODELS), and
// always the two tiny vocabularies of the GGUF seeds (corpus/gguf/vocab-*.gguf).
// Input: byte 0 picks the vocabulary, byte 1 the mode, the rest is the text. Properties (tokenizer.h):
// - every id is in the vocabulary;
// - without special-token parsing, decode(encode(s)) is s with invalid UTF-8 replaced by U+FFFD, when every
// byte
//   of it has a token (SmolLM2's vocabulary has none for byte 0x04: the reference drops it, and so do we)
//   and, for SentencePiece, it holds no U+2581 (its visible space, which decodes to a space there as in the
//   reference);
// - the stream decoder's chunks are valid UTF-8 and add up to decode();
// - decoding arbitrary ids (mode bit 2: the text read as 24-bit ids) never reads out of bounds.
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "text/bpe.h"
#include "text/detokenize.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

namespace {

using namespace hotrod;

struct Entry {
    std::unique_ptr<text::Tokenizer> tok;
    std::bitset<256>
        missing;  // bytes with no token of their own (byte-level BPE) or no byte-fallback token (SPM)
};

std::bitset<256> missing_bytes(const text::Tokenizer& tok) {
    std::bitset<256> missing;
    for (int b = 0; b < 256; ++b) {
        std::string t;
        if (tok.vocab().kind == text::VocabKind::Bpe) {
            text::utf8_append(t, text::byte_to_codepoint()[b]);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "<0x%02X>", b);
            t = buf;
        }
        missing[b] = tok.find_token(t) == text::kNoToken;
    }
    return missing;
}

std::vector<Entry> load_all() {
    std::vector<std::string> paths = {HOTROD_FUZZ_DIR "/corpus/gguf/vocab-bpe.gguf",
                                      HOTROD_FUZZ_DIR "/corpus/gguf/vocab-spm.gguf"};
    for (const char* name : {"gpt-2", "llama-bpe", "qwen2", "qwen35", "llama-spm", "phi-3"})
        if (auto p = fuzz::shared_file(std::string("vocab/ggml-vocab-") + name + ".gguf"); !p.empty())
            paths.push_back(p);
    const char* models = std::getenv("HOTROD_MODELS");
    const std::string dir =
        models ? models
               : std::string(std::getenv("HOME") ? std::getenv("HOME") : "") + "/.cache/hotrod/models";
    for (const char* name : {"SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"})
        if (std::filesystem::exists(dir + "/" + name)) paths.push_back(dir + "/" + name);
    std::vector<Entry> toks;
    for (const auto& p : paths) {
        Entry e{std::make_unique<text::Tokenizer>(text::Tokenizer::from_gguf(p)), {}};
        e.missing = missing_bytes(*e.tok);
        std::fprintf(stderr, "tokenizer fuzz: vocabulary %s (%zu bytes without a token)\n", p.c_str(),
                     e.missing.count());
        toks.push_back(std::move(e));
    }
    return toks;
}

const std::vector<Entry>& tokenizers() {
    static const auto toks = load_all();
    return toks;
}

void check_stream(const text::Tokenizer& tok, const std::vector<text::TokenId>& ids, bool special) {
    text::StreamDecoder dec(tok, special);
    std::string streamed;
    for (const text::TokenId id : ids) {
        const std::string chunk = dec.push(id);
        if (!text::utf8_valid(chunk) && text::utf8_valid(tok.decode(ids, special)))
            fuzz::property_failed("stream chunk is not valid UTF-8");
        streamed += chunk;
    }
    streamed += dec.finish();
    if (streamed != tok.decode(ids, special)) fuzz::property_failed("streamed text differs from decode()");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    tokenizers();  // load once, before the first input is timed
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const auto& toks = tokenizers();
    const Entry& entry = toks[data[0] % toks.size()];
    const text::Tokenizer& tok = *entry.tok;
    const uint8_t mode = data[1];
    const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

    if (mode & 4) {
        std::vector<text::TokenId> ids;
        for (size_t i = 0; i + 3 <= text.size(); i += 3)
            ids.push_back(
                text::TokenId(uint8_t(text[i]) | uint8_t(text[i + 1]) << 8 | uint8_t(text[i + 2]) << 16) -
                (mode & 8 ? 1 << 23 : 0));
        check_stream(tok, ids, mode & 1);
        return 0;
    }
    const bool add_special = mode & 1, parse_special = mode & 2;
    const std::vector<text::TokenId> ids = tok.encode(text, add_special, parse_special);
    for (const text::TokenId id : ids)
        if (id < 0 || size_t(id) >= tok.n_tokens()) fuzz::property_failed("token id out of range");
    const std::string clean = text::utf8_sanitize(text);
    bool lossless = true;
    for (const char c : clean) lossless = lossless && !entry.missing[uint8_t(c)];
    if (tok.vocab().kind == text::VocabKind::Spm && clean.find("\xE2\x96\x81") != std::string::npos)
        lossless = false;
    if (!parse_special && lossless) {
        // Control tokens (BOS/EOS) decode to nothing without special.
        const std::string back = tok.decode(ids, false);
        if (back != clean)
            fuzz::property_failed("decode(encode(s)) != s", "vocab " + tok.vocab().pre + ": '" +
                                                                fuzz::escaped(text) + "' -> '" +
                                                                fuzz::escaped(back) + "'");
    }
    check_stream(tok, ids, mode & 1);
    return 0;
}
