// StreamDecoder: hold back only an incomplete trailing UTF-8 sequence; invalid bytes pass through at once (they
// can never complete, and holding them would stall the stream).
#include "text/detokenize.h"

#include "text/utf8.h"

namespace hotrod::text {

std::string StreamDecoder::push(TokenId id) {
    std::string_view p = tok_->piece(id, special_);
    if (strip_ && !p.empty()) {
        if (tok_->strips_leading_space() && p[0] == ' ') p.remove_prefix(1);
        strip_ = false;
    }
    pending_.append(p);
    const size_t n = utf8_complete_prefix(pending_);
    std::string out = pending_.substr(0, n);
    pending_.erase(0, n);
    return out;
}

std::string StreamDecoder::finish() {
    std::string out;
    out.swap(pending_);
    strip_ = true;
    return out;
}

}  // namespace hotrod::text
