// Splitting generated text into reasoning_content and content for `<think>…</think>` models (Qwen3,
// Qwen3.5, DeepSeek-R1 style), incrementally while streaming: a tag cut across pieces is held back
// until it is decided. Plus helpers for the server's reasoning switch: does a template know
// `enable_thinking`, and did the rendered prompt already open `<think>` (then start in reasoning).
#pragma once

#include <string>
#include <string_view>

namespace hotrod::text {

struct ReasoningDelta {
    std::string reasoning;  // new reasoning_content text
    std::string content;    // new content text
};

// Rules: the open tag counts only at the start of the output (after optional whitespace); a later
// `<think>` is ordinary content. Whitespace right after the open tag, right before the close tag and
// right after the close tag is dropped (the model's formatting, not its text). Without a close tag
// everything after the open tag is reasoning. Feeding a text in any split gives the same totals.
class ReasoningSplitter {
public:
    // start_in_reasoning: the prompt already ended with the open tag (see prompt_opens_reasoning).
    explicit ReasoningSplitter(bool start_in_reasoning = false, std::string open_tag = "<think>",
                               std::string close_tag = "</think>");

    ReasoningDelta push(std::string_view piece);
    // End of generation: releases anything held back.
    ReasoningDelta flush();

    bool in_reasoning() const { return state_ == State::Reasoning; }

private:
    enum class State { Start, Reasoning, AfterClose, Content };
    State state_;
    std::string open_tag_, close_tag_;
    std::string pending_;        // text received but not yet emitted
    bool reasoning_start_ = true;  // nothing emitted as reasoning yet: leading whitespace is dropped

    void step(ReasoningDelta& out);
};

struct ReasoningSplit {
    std::string reasoning;
    std::string content;
};
// One-shot split of a complete output.
ReasoningSplit split_reasoning(std::string_view text, bool start_in_reasoning = false);

// True when the template reads `enable_thinking`, so rendering with enable_thinking=false turns
// reasoning off (Qwen3, Qwen3.5, SmolLM3, ...).
bool template_supports_enable_thinking(std::string_view template_source);

// True when the rendered prompt ends (ignoring trailing whitespace) with the open tag: the model
// continues inside the reasoning block, so the splitter must start in reasoning mode.
bool prompt_opens_reasoning(std::string_view rendered_prompt, std::string_view open_tag = "<think>");

}  // namespace hotrod::text
