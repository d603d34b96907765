// text::Tokenizer: text <-> token ids for one model's vocabulary. encode() finds special tokens, then runs the
// vocabulary's algorithm (byte-level BPE with its pre-tokenizer, or SentencePiece-style) on the text between them;
// the pieces are what each token decodes to. Output matches the reference tokenizer id for id.
// Thread-safe after construction (encode and decode are const and keep no shared state).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "text/vocab.h"

namespace hotrod::text {

class BpeModel;
class SpmModel;
class PreTokenizer;
class SpecialMatcher;

class Tokenizer {
public:
    explicit Tokenizer(Vocab vocab);  // throws std::runtime_error for an unknown pre-tokenizer
    static Tokenizer from_gguf(const std::string& path);
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;
    Tokenizer(const Tokenizer&) = delete;
    Tokenizer& operator=(const Tokenizer&) = delete;
    ~Tokenizer();

    // add_special: BOS/EOS as the file's add_bos/add_eos flags say. parse_special: control tokens written in the
    // text (`<|im_start|>`) become their ids; when false they are tokenized as plain text (user-defined tokens,
    // such as Gemma's whitespace runs, are always recognised, as in the reference). Invalid UTF-8 in text is
    // replaced by U+FFFD first.
    std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special) const;
    // A whole prompt: special tokens as the file asks (add_bos/add_eos), except that a text which already starts
    // with the BOS text (a chat template that writes it) gets no second one.
    std::vector<TokenId> encode_prompt(std::string_view text, bool parse_special) const;

    // The bytes a token stands for. Control and unknown tokens give their text only when special is true.
    // Bytes, not always UTF-8: a byte-fallback token or a byte-level token may hold part of a character.
    std::string_view piece(TokenId id, bool special = false) const;

    // Concatenated pieces. With the space-prefix rule (Spm add_space_prefix), the one space that encode()
    // put before the text is dropped from the first piece, so decode(encode(s)) == s.
    std::string decode(std::span<const TokenId> ids, bool special = false) const;

    const Vocab& vocab() const { return *vocab_; }
    size_t n_tokens() const { return vocab_->n_tokens(); }
    TokenId bos_id() const { return vocab_->bos_id; }
    TokenId eos_id() const { return vocab_->eos_id; }
    TokenId eot_id() const { return eot_id_; }
    bool is_eog(TokenId id) const;
    bool is_control(TokenId id) const;  // control or unknown: hidden from decoded text unless asked for
    bool strips_leading_space() const { return vocab_->kind == VocabKind::Spm && vocab_->add_space_prefix; }
    // Looks a token up by its stored text (exact), kNoToken if absent.
    TokenId find_token(std::string_view text) const;

private:
    std::unique_ptr<Vocab> vocab_;  // on the heap: the models keep pointers into it, and a Tokenizer may move
    std::vector<uint8_t> attrs_;
    std::vector<std::string> pieces_;  // decoded bytes per token (control tokens: their text)
    std::vector<TokenId> eog_;
    TokenId eot_id_ = kNoToken;
    std::unique_ptr<SpecialMatcher> special_;
    std::unique_ptr<PreTokenizer> pre_;
    std::unique_ptr<BpeModel> bpe_;
    std::unique_ptr<SpmModel> spm_;
};

}  // namespace hotrod::text
