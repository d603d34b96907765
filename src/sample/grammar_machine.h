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

enum class FrameKind : uint8_t { Value, Object, Array, String, Number, Literal, Key };

struct Frame {
    uint32_t node = 0;    // Value/Object/Array/String/Number: grammar node; Literal: literal trie id
    FrameKind kind = FrameKind::Value;
    uint8_t phase = 0;    // kind-specific position
    uint16_t ws = 0;      // whitespace run length so far (Value/Object/Array); hex/UTF-8 detail (String)
    uint32_t n = 0;       // Object: next property index; Array: items so far; String: code points so far;
                          // Number: digits in the current part; Literal/Key: trie node
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

// The state before the first byte: expecting the root value.
State initial_state(const Grammar& g);
// Advances s by one byte; returns false (s then unspecified: step a copy) when the byte is not allowed.
bool step(const Grammar& g, State& s, uint8_t byte);
// The bytes so far form a complete value (possibly one that could still grow, like a number).
bool is_complete(const Grammar& g, const State& s);

}  // namespace hotrod::sample
