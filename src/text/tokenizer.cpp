// Tokenizer: wires the special-token partition to the BPE or SPM model and holds the per-token pieces.
#include "text/tokenizer.h"

#include <algorithm>
#include <unordered_map>

#include "text/bpe.h"
#include "text/pretokenize.h"
#include "text/special_tokens.h"
#include "text/spm.h"
#include "text/utf8.h"

namespace hotrod::text {

namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

std::string spm_unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t pos = 0; pos < s.size();) {
        if (s.substr(pos, 3) == kSpmSpace) {
            out += ' ';
            pos += 3;
        } else {
            out += s[pos++];
        }
    }
    return out;
}

// "<0x41>" -> 0x41
int spm_byte_value(std::string_view s) {
    if (s.size() != 6 || s.substr(0, 3) != "<0x" || s[5] != '>') return -1;
    auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    const int hi = hex(s[3]), lo = hex(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

Tokenizer::Tokenizer(Vocab vocab) : vocab_(std::make_unique<Vocab>(std::move(vocab))) {
    const Vocab& v = *vocab_;
    attrs_ = token_attrs(v);
    eog_ = eog_ids(v);
    special_ = std::make_unique<SpecialMatcher>(v, attrs_);
    if (vocab_->kind == VocabKind::Bpe) {
        pre_ = std::make_unique<PreTokenizer>(PreTokenizer::for_name(vocab_->pre));
        const bool ignore_merges = vocab_->pre == "llama-bpe" || vocab_->pre == "llama3" || vocab_->pre == "llama-v3";
        bpe_ = std::make_unique<BpeModel>(v, ignore_merges);
    } else {
        spm_ = std::make_unique<SpmModel>(v);
    }
    pieces_.resize(vocab_->n_tokens());
    for (size_t i = 0; i < pieces_.size(); ++i) {
        const std::string& t = vocab_->tokens[i];
        const uint8_t a = attrs_[i];
        if (a & (kAttrControl | kAttrUnknown | kAttrUserDefined)) {
            pieces_[i] = t;  // stored as written, not byte-level encoded
        } else if (a & kAttrUnused) {
            pieces_[i].clear();
        } else if (vocab_->kind == VocabKind::Bpe) {
            pieces_[i] = bpe_token_bytes(t);
        } else if (a & kAttrByte) {
            const int b = spm_byte_value(t);
            pieces_[i] = b >= 0 ? std::string(1, char(b)) : t;
        } else {
            pieces_[i] = spm_unescape(t);
        }
    }
    eot_id_ = vocab_->eot_id;
    if (eot_id_ == kNoToken)
        for (std::string_view name : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>"})
            if (const TokenId id = find_token(name); id != kNoToken) {
                eot_id_ = id;
                break;
            }
}

Tokenizer Tokenizer::from_gguf(const std::string& path) { return Tokenizer(load_vocab(path)); }

Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

TokenId Tokenizer::find_token(std::string_view text) const {
    if (spm_) return spm_->find(text);
    const auto it = std::find(vocab_->tokens.begin(), vocab_->tokens.end(), text);
    return it == vocab_->tokens.end() ? kNoToken : TokenId(it - vocab_->tokens.begin());
}

bool Tokenizer::is_eog(TokenId id) const { return std::binary_search(eog_.begin(), eog_.end(), id); }

bool Tokenizer::is_control(TokenId id) const {
    return id >= 0 && size_t(id) < attrs_.size() && (attrs_[id] & (kAttrControl | kAttrUnknown));
}

std::string_view Tokenizer::piece(TokenId id, bool special) const {
    if (id < 0 || size_t(id) >= pieces_.size()) return {};
    if (!special && (attrs_[id] & (kAttrControl | kAttrUnknown))) return {};
    return pieces_[id];
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool special) const {
    std::string out;
    bool strip = strips_leading_space();
    for (const TokenId id : ids) {
        std::string_view p = piece(id, special);
        if (strip && !p.empty()) {
            if (p[0] == ' ') p.remove_prefix(1);
            strip = false;
        }
        out.append(p);
    }
    return out;
}

std::vector<TokenId> Tokenizer::encode_prompt(std::string_view text, bool parse_special) const {
    const bool bos_in_text = bos_id() != kNoToken && text.starts_with(piece(bos_id(), true));
    return encode(text, /*add_special=*/!bos_in_text, parse_special);
}

std::vector<TokenId> Tokenizer::encode(std::string_view raw, bool add_special, bool parse_special) const {
    std::string fixed;
    std::string_view text = raw;
    if (!utf8_valid(raw)) {
        fixed = utf8_sanitize(raw);
        text = fixed;
    }
    std::vector<TokenId> out;
    out.reserve(text.size() / 3 + 4);
    if (add_special && vocab_->add_bos && vocab_->bos_id != kNoToken) out.push_back(vocab_->bos_id);

    std::vector<Fragment> frags;
    special_->partition(text, parse_special, frags);
    if (bpe_) {
        std::vector<Piece> words;
        // Words repeat in real text: on long inputs each distinct word is merged once (encode_word is a pure
        // function of the word's bytes). Keys view into text; values are ranges of cached_ids.
        const bool use_cache = text.size() >= 4096;
        std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;
        std::vector<TokenId> cached_ids;
        for (const Fragment& f : frags) {
            if (f.id != kNoToken) {
                out.push_back(f.id);
                continue;
            }
            words.clear();
            const std::string_view frag = text.substr(f.begin, f.end - f.begin);
            pre_->split(frag, words);
            for (const Piece& w : words) {
                const std::string_view word = frag.substr(w.begin, w.end - w.begin);
                if (!use_cache || word.size() > 64) {
                    bpe_->encode_word(word, out);
                    continue;
                }
                auto [it, fresh] = cache.try_emplace(word);
                if (fresh) {
                    const size_t begin = cached_ids.size();
                    bpe_->encode_word(word, cached_ids);
                    it->second = {uint32_t(begin), uint32_t(cached_ids.size() - begin)};
                }
                out.insert(out.end(), cached_ids.begin() + it->second.first,
                           cached_ids.begin() + it->second.first + it->second.second);
            }
        }
    } else {
        bool prev_special = true;  // the first fragment gets the space prefix, as does any after a special token
        std::string escaped;
        for (const Fragment& f : frags) {
            if (f.id != kNoToken) {
                out.push_back(f.id);
                prev_special = true;
                continue;
            }
            escaped.clear();
            if (vocab_->add_space_prefix && prev_special) escaped += kSpmSpace;
            for (char c : text.substr(f.begin, f.end - f.begin)) {
                if (c == ' ')
                    escaped += kSpmSpace;
                else
                    escaped += c;
            }
            spm_->encode(escaped, out);
            prev_special = false;
        }
    }
    if (add_special && vocab_->add_eos && vocab_->eos_id != kNoToken) out.push_back(vocab_->eos_id);
    return out;
}

}  // namespace hotrod::text
