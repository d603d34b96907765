// Pre-tokenizer patterns per `tokenizer.ggml.pre` name and the PCRE2 splitter that applies them. The patterns are
// the published ones of each model family's tokenizer (facts, not code); \s, \p{L}, \p{N}, \p{M} take their
// Unicode meaning (PCRE2_UCP), which is what the reference's category tables implement.
#include "text/pretokenize.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdexcept>
#include <string>

namespace hotrod::text {

namespace {

// GPT-2 (also used as the second stage of several code models).
constexpr const char* kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
// Llama 3: case-insensitive contractions, numbers in groups of up to three, newlines kept with punctuation.
constexpr const char* kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2: as Llama 3 but every digit is its own word.
constexpr const char* kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen3.5: as Qwen2 with combining marks (\p{M}) counted as part of words.
constexpr const char* kQwen35 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// StarCoder family (SmolLM, ...): digits split one by one first, then GPT-2 on what remains.
constexpr const char* kDigit = R"(\p{N})";
// The reference's fallback for a BPE vocabulary without a known pre-tokenizer.
constexpr const char* kDefaultPunct = R"([\p{P}\$\+<=>\^~\|]+)";
constexpr const char* kDigits = R"(\p{N}+)";
constexpr const char* kThreeDigits = R"([0-9][0-9][0-9])";

struct Preset {
    const char* names[8];
    std::vector<const char*> patterns;
};

const std::vector<Preset>& presets() {
    static const std::vector<Preset> kPresets = {
        {{"default"}, {kDefaultPunct, kGpt2, kDigits, kThreeDigits}},
        {{"gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais"}, {kGpt2}},
        {{"llama-bpe", "llama3", "llama-v3", "falcon3", "pixtral"}, {kLlama3}},
        {{"qwen2", "deepseek-r1-qwen", "megrez"}, {kQwen2}},
        {{"qwen35"}, {kQwen35}},
        {{"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva"}, {kDigit, kGpt2}},
    };
    return kPresets;
}

const Preset* find_preset(std::string_view pre) {
    for (const auto& p : presets())
        for (const char* n : p.names)
            if (n && pre == n) return &p;
    return nullptr;
}

struct Regex {
    pcre2_code* code = nullptr;
    bool jit = false;
};

// Per-thread match state: a match data block (no pattern has capture groups) and a JIT stack large enough for
// long runs of one character class.
struct Scratch {
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    pcre2_match_context* mc = pcre2_match_context_create(nullptr);
    pcre2_jit_stack* js = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
    Scratch() { pcre2_jit_stack_assign(mc, nullptr, js); }
    ~Scratch() {
        pcre2_jit_stack_free(js);
        pcre2_match_context_free(mc);
        pcre2_match_data_free(md);
    }
};

Scratch& scratch() {
    thread_local Scratch s;
    return s;
}

}  // namespace

struct PreTokenizer::Impl {
    std::vector<Regex> regexes;
    ~Impl() {
        for (auto& r : regexes) pcre2_code_free(r.code);
    }
};

PreTokenizer::PreTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

bool PreTokenizer::known(std::string_view pre) { return find_preset(pre) != nullptr; }

size_t PreTokenizer::n_patterns() const { return impl_->regexes.size(); }

PreTokenizer PreTokenizer::for_name(std::string_view pre) {
    const Preset* p = find_preset(pre);
    if (!p) throw std::runtime_error("unknown pre-tokenizer \"" + std::string(pre) + "\"");
    auto impl = std::make_unique<Impl>();
    for (const char* pat : p->patterns) {
        int err = 0;
        PCRE2_SIZE err_off = 0;
        Regex r;
        r.code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat), PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err,
                               &err_off, nullptr);
        if (!r.code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            throw std::runtime_error("pre-tokenizer \"" + std::string(pre) + "\": pattern error at " +
                                     std::to_string(err_off) + ": " + reinterpret_cast<const char*>(msg));
        }
        r.jit = pcre2_jit_compile(r.code, PCRE2_JIT_COMPLETE) == 0;
        impl->regexes.push_back(r);
    }
    return PreTokenizer(std::move(impl));
}

void PreTokenizer::split(std::string_view text, std::vector<Piece>& out) const {
    Scratch& s = scratch();
    std::vector<Piece> cur{{0, uint32_t(text.size())}};
    std::vector<Piece> next;
    const auto* base = reinterpret_cast<PCRE2_SPTR>(text.data());
    for (const Regex& r : impl_->regexes) {
        next.clear();
        for (const Piece& p : cur) {
            // Each piece is its own subject: end of piece is end of subject for (?!\S).
            const PCRE2_SPTR subj = base + p.begin;
            const size_t len = p.end - p.begin;
            size_t start = 0;   // where the next search begins
            size_t emitted = 0; // end of the last emitted piece
            while (start < len) {
                const int rc = r.jit ? pcre2_jit_match(r.code, subj, len, start, 0, s.md, s.mc)
                                     : pcre2_match(r.code, subj, len, start, PCRE2_NO_UTF_CHECK, s.md, s.mc);
                if (rc == PCRE2_ERROR_NOMATCH) break;
                if (rc < 0) {
                    PCRE2_UCHAR msg[256];
                    pcre2_get_error_message(rc, msg, sizeof msg);
                    throw std::runtime_error(std::string("pre-tokenizer: match failed: ") +
                                             reinterpret_cast<const char*>(msg));
                }
                const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(s.md);
                const size_t m0 = ov[0], m1 = ov[1];
                if (m0 > emitted) next.push_back({uint32_t(p.begin + emitted), uint32_t(p.begin + m0)});
                if (m1 > m0) {
                    next.push_back({uint32_t(p.begin + m0), uint32_t(p.begin + m1)});
                    emitted = m1;
                    start = m1;
                } else {
                    // An empty match (no pattern here has one, but be safe): step over one character.
                    emitted = m0;
                    start = m0 + 1;
                    while (start < len && (subj[start] & 0xC0) == 0x80) ++start;
                }
            }
            if (emitted < len) next.push_back({uint32_t(p.begin + emitted), p.end});
        }
        cur.swap(next);
    }
    out.insert(out.end(), cur.begin(), cur.end());
}

}  // namespace hotrod::text
