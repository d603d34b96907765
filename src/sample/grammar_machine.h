// The grammar automaton: a bounded stack of frames, one per open JSON value, advanced one byte at a time.
// A State is plain bytes (copied by memcpy while the mask walk descends the token trie, and used as a cache
// key), and step() never allocates. Bytes, not characters: UTF-8 is checked byte by byte, so a token piece may
// end inside a character.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "sample/grammar_nodes.h"

namespace hotrod::sample {

// Deeper nesting is rejected: it bounds the state (and a model's recursion).
inline constexpr int kMaxDepth = 24;

// Call is only ever the bottom frame, in a grammar with a CallLayer: the tool-call texts around the arguments.
// XmlArgs (one xml_function call's parameter blocks) sits on it; RawText (a raw string value) on XmlArgs.
enum class FrameKind : uint8_t { Value, Object, Array, String, Number, Literal, Key, Call, XmlArgs, RawText };

struct Frame {
    uint32_t node = 0;    // Value/Object/Array/String/Number: grammar node; Literal: literal trie id;
                          // Call: calls completed so far
    FrameKind kind = FrameKind::Value;
    uint8_t phase = 0;    // kind-specific position
    uint16_t ws = 0;      // whitespace run length so far (Value/Object/Array/Call); hex/UTF-8 detail (String)
    uint32_t n = 0;       // Object: next property index; Array: items so far; String: code points so far;
                          // Number: digits in the current part; Literal/Key: trie node;
                          // Call: trigger match length, byte of the current text, or opens-trie node
};
static_assert(sizeof(Frame) == 12);

struct State {
    uint32_t depth = 0;  // frames in use; 0 once the top-level value is closed
    Frame frames[kMaxDepth];

    // Bytes that identify the state (the used frames): equal keys, equal futures.
    std::string_view key() const {
        return {reinterpret_cast<const char*>(this), sizeof(uint32_t) + depth * sizeof(Frame)};
    }
    void copy_from(const State& other) {
        std::memcpy(static_cast<void*>(this), &other, sizeof(uint32_t) + other.depth * sizeof(Frame));
    }
};

inline bool is_ws(uint8_t b) { return b == ' ' || b == '\n'; }

inline Frame make_frame(FrameKind kind, uint32_t node, uint8_t phase = 0, uint32_t n = 0) {
    Frame f;
    f.node = node;
    f.kind = kind;
    f.phase = phase;
    f.ws = 0;
    f.n = n;
    return f;
}

// False when the stack is full (deeper nesting is rejected).
inline bool push_frame(State& s, const Frame& f) {
    if (s.depth >= static_cast<uint32_t>(kMaxDepth)) return false;
    s.frames[s.depth++] = f;
    return true;
}

// The tool-call layer (grammar_machine_call.cpp), used by the JSON automaton when g.calls.enabled.
Frame call_initial_frame(const Grammar& g);
bool step_call(const Grammar& g, State& s, uint8_t byte);  // the Call frame is on top
bool calls_complete(const Grammar& g, const State& s);
void call_args_done(Frame& call);  // the arguments above it were popped
// The xml_function layer (grammar_machine_xml.cpp).
bool push_xml_args(State& s, uint32_t tool);  // a call's name matched: its parameter blocks begin
bool step_xml_args(const Grammar& g, State& s, uint8_t byte);
bool step_raw_text(const Grammar& g, State& s, uint8_t byte);
// Pops the top frame, whose value is complete, and moves its parent past it (grammar_machine.cpp).
void pop_done(State& s);

// The state before the first byte: expecting the root value.
State initial_state(const Grammar& g);
// Advances s by one byte; returns false (s then unspecified: step a copy) when the byte is not allowed.
bool step(const Grammar& g, State& s, uint8_t byte);
// The bytes so far form a complete value (possibly one that could still grow, like a number).
bool is_complete(const Grammar& g, const State& s);

}  // namespace hotrod::sample
