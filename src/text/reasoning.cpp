// The streaming reasoning splitter: a small state machine over a pending buffer. Only what cannot yet
// be decided stays pending: leading whitespace (is an open tag coming?), a suffix that may begin the
// close tag, and whitespace that may turn out to precede the close tag.
#include "text/reasoning.h"

#include <algorithm>

namespace hotrod::text {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t skip_ws(std::string_view s) {
    size_t k = 0;
    while (k < s.size() && is_ws(s[k])) ++k;
    return k;
}

// Length of the longest suffix of s that is a proper prefix of tag.
size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
    for (size_t n = std::min(s.size(), tag.size() - 1); n > 0; --n)
        if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
    return 0;
}

}  // namespace

ReasoningSplitter::ReasoningSplitter(bool start_in_reasoning, std::string open_tag, std::string close_tag)
    : state_(start_in_reasoning ? State::Reasoning : State::Start), open_tag_(std::move(open_tag)), close_tag_(std::move(close_tag)) {}

ReasoningDelta ReasoningSplitter::push(std::string_view piece) {
    pending_.append(piece);
    ReasoningDelta out;
    step(out);
    return out;
}

void ReasoningSplitter::step(ReasoningDelta& out) {
    while (!pending_.empty()) {
        switch (state_) {
            case State::Start: {
                size_t k = skip_ws(pending_);
                std::string_view rest = std::string_view(pending_).substr(k);
                if (rest.empty()) return;  // only whitespace so far: an open tag may still follow
                if (rest.substr(0, open_tag_.size()) == open_tag_) {
                    pending_.erase(0, k + open_tag_.size());
                    state_ = State::Reasoning;
                    continue;
                }
                if (rest.size() < open_tag_.size() && std::string_view(open_tag_).substr(0, rest.size()) == rest) return;
                state_ = State::Content;
                continue;
            }
            case State::Reasoning: {
                if (reasoning_start_) {
                    size_t k = skip_ws(pending_);
                    pending_.erase(0, k);
                    if (pending_.empty()) return;
                }
                size_t close = pending_.find(close_tag_);
                if (close != std::string::npos) {
                    size_t end = close;
                    while (end > 0 && is_ws(pending_[end - 1])) --end;
                    out.reasoning.append(pending_, 0, end);
                    if (end > 0) reasoning_start_ = false;
                    pending_.erase(0, close + close_tag_.size());
                    state_ = State::AfterClose;
                    continue;
                }
                size_t keep = partial_tag_suffix(pending_, close_tag_);
                size_t end = pending_.size() - keep;
                while (end > 0 && is_ws(pending_[end - 1])) --end;  // may precede the close tag
                out.reasoning.append(pending_, 0, end);
                if (end > 0) reasoning_start_ = false;
                pending_.erase(0, end);
                return;
            }
            case State::AfterClose: {
                size_t k = skip_ws(pending_);
                pending_.erase(0, k);
                if (pending_.empty()) return;
                state_ = State::Content;
                continue;
            }
            case State::Content:
                out.content += pending_;
                pending_.clear();
                return;
        }
    }
}

ReasoningDelta ReasoningSplitter::flush() {
    ReasoningDelta out;
    switch (state_) {
        case State::Start: out.content = std::move(pending_); break;
        case State::Reasoning: {
            // No close tag arrived: what was held as a possible tag start or pre-tag whitespace is text.
            std::string_view rest = pending_;
            while (!rest.empty() && is_ws(rest.back())) rest.remove_suffix(1);
            out.reasoning = std::string(rest);
            break;
        }
        case State::AfterClose: case State::Content: break;
    }
    pending_.clear();
    return out;
}

ReasoningSplit split_reasoning(std::string_view text, bool start_in_reasoning) {
    ReasoningSplitter s(start_in_reasoning);
    ReasoningDelta a = s.push(text);
    ReasoningDelta b = s.flush();
    return {a.reasoning + b.reasoning, a.content + b.content};
}

bool template_supports_enable_thinking(std::string_view template_source) {
    return template_source.find("enable_thinking") != std::string_view::npos;
}

bool prompt_opens_reasoning(std::string_view rendered_prompt, std::string_view open_tag) {
    while (!rendered_prompt.empty() && is_ws(rendered_prompt.back())) rendered_prompt.remove_suffix(1);
    return rendered_prompt.size() >= open_tag.size() && rendered_prompt.substr(rendered_prompt.size() - open_tag.size()) == open_tag;
}

}  // namespace hotrod::text
