// The byte-level JSON automaton over a compiled Grammar. Each frame is one open value; a frame that completes
// is popped and its parent moves on. A value with no closing byte (a number, a literal such as 12 that 123
// could extend) ends when a byte it cannot take arrives: the frame is popped and the byte is offered to the
// parent. Grammar rules that are ours rather than JSON's: bounded whitespace runs, bounded digits, no exponent,
// no \u escapes of UTF-16 surrogates (so each escape is one code point and the output is valid UTF-8).
#include "sample/grammar_machine.h"

#include <algorithm>

namespace hotrod::sample {

namespace {

enum ObjectPhase : uint8_t { kObjOpen, kObjKey, kObjColon, kObjValue, kObjAfter, kObjComma, kObjColonSpace };
enum ArrayPhase : uint8_t { kArrOpen, kArrItem, kArrAfter, kArrCommaSpace };
// kStrAfterLt: after a '<' in an xml_function grammar, where "</" is refused (see step_string).
enum StringPhase : uint8_t {
    kStrNormal, kStrEscape, kStrHex, kStrHexD, kStrCont, kStrE0, kStrED, kStrF0, kStrF4, kStrAfterLt
};
enum NumberPhase : uint8_t { kNumMinus, kNumZero, kNumInt, kNumDot, kNumFrac };

bool is_digit(uint8_t b) { return b >= '0' && b <= '9'; }
bool is_hex(uint8_t b) { return is_digit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F'); }

}  // namespace

void pop_done(State& s) {
    --s.depth;
    if (s.depth == 0) return;
    Frame& parent = s.frames[s.depth - 1];
    if (parent.kind == FrameKind::Call) {
        call_args_done(parent);
        return;
    }
    if (parent.kind == FrameKind::XmlArgs) return;  // it set its next phase when it pushed the value
    parent.ws = 0;
    if (parent.kind == FrameKind::Object) {
        parent.phase = parent.phase == kObjKey ? kObjColon : kObjAfter;
    } else if (parent.kind == FrameKind::Array) {
        parent.phase = kArrAfter;
    }
}

namespace {

// Properties a listed object may name next: [lo, hi], from the next index up to the first required one.
bool key_in_range(const ByteTrie::Node& node, uint32_t lo, uint32_t hi) {
    auto it = std::lower_bound(node.below.begin(), node.below.end(), static_cast<int32_t>(lo));
    return it != node.below.end() && static_cast<uint32_t>(*it) <= hi;
}

uint32_t key_hi(const ObjectShape& shape, uint32_t lo) {
    uint32_t r = shape.next_required[lo];
    return r < shape.props.size() ? r : static_cast<uint32_t>(shape.props.size()) - 1;
}

bool can_close(const Grammar& g, const Frame& f) {
    const Node& nd = g.nodes[f.node];
    if (nd.shape < 0) return true;
    const ObjectShape& shape = g.shapes[static_cast<size_t>(nd.shape)];
    return shape.next_required[f.n] == shape.props.size();
}

bool more_keys(const Grammar& g, const Frame& f) {
    const Node& nd = g.nodes[f.node];
    if (nd.shape < 0) return !nd.closed;
    return f.n < g.shapes[static_cast<size_t>(nd.shape)].props.size();
}

// On the opening quote of a key.
bool start_key(const Grammar& g, State& s) {
    Frame& f = s.frames[s.depth - 1];
    const Node& nd = g.nodes[f.node];
    if (nd.shape < 0) {
        if (nd.closed) return false;
        f.phase = kObjKey;
        return push_frame(s, make_frame(FrameKind::String, Grammar::kAnyNode));
    }
    const ObjectShape& shape = g.shapes[static_cast<size_t>(nd.shape)];
    if (f.n >= shape.props.size()) return false;
    int32_t c = shape.keys.child(0, '"');
    if (c < 0 || !key_in_range(shape.keys.nodes[static_cast<size_t>(c)], f.n, key_hi(shape, f.n))) return false;
    f.phase = kObjKey;
    return push_frame(s, make_frame(FrameKind::Key, f.node, 0, static_cast<uint32_t>(c)));
}

bool step_value(const Grammar& g, State& s, uint8_t b, bool& refeed) {
    Frame& f = s.frames[s.depth - 1];
    if (is_ws(b)) {
        if (s.depth > 1 && f.ws < g.max_ws) {
            ++f.ws;
            return true;
        }
        return false;
    }
    const Node& nd = g.nodes[f.node];
    if (nd.alt_table >= 0) {
        int32_t alt = g.alt_tables[static_cast<size_t>(nd.alt_table)][b];
        if (alt < 0) return false;
        f.node = static_cast<uint32_t>(alt);
        refeed = true;
        return true;
    }
    if (nd.literal >= 0) {
        f = make_frame(FrameKind::Literal, static_cast<uint32_t>(nd.literal));
        refeed = true;
        return true;
    }
    const uint32_t node = f.node;
    switch (b) {
        case '{':
            if (!(nd.types & kTypeObject)) return false;
            f = make_frame(FrameKind::Object, node, kObjOpen);
            return true;
        case '[':
            if (!(nd.types & kTypeArray)) return false;
            f = make_frame(FrameKind::Array, node, kArrOpen);
            return true;
        case '"':
            if (!(nd.types & kTypeString)) return false;
            f = make_frame(FrameKind::String, node, kStrNormal);
            return true;
        case 't':
        case 'f':
            if (!(nd.types & kTypeBool)) return false;
            f = make_frame(FrameKind::Literal, Grammar::kBoolLiteral);
            refeed = true;
            return true;
        case 'n':
            if (!(nd.types & kTypeNull)) return false;
            f = make_frame(FrameKind::Literal, Grammar::kNullLiteral);
            refeed = true;
            return true;
        default:
            break;
    }
    if (!(nd.types & (kTypeInteger | kTypeNumber))) return false;
    if (b == '-') {
        f = make_frame(FrameKind::Number, node, kNumMinus);
    } else if (b == '0') {
        f = make_frame(FrameKind::Number, node, kNumZero, 1);
    } else if (is_digit(b)) {
        f = make_frame(FrameKind::Number, node, kNumInt, 1);
    } else {
        return false;
    }
    return true;
}

bool step_string(const Grammar& g, State& s, uint8_t b) {
    Frame& f = s.frames[s.depth - 1];
    const Node& nd = g.nodes[f.node];
    if (f.phase == kStrAfterLt) {
        if (b == '/') return false;
        f.phase = kStrNormal;
    }
    switch (f.phase) {
        case kStrNormal: {
            if (b == '"') {
                if (f.n < nd.min_length) return false;
                pop_done(s);
                return true;
            }
            if (b < 0x20 || b == 0x7f) return false;  // raw control characters never (DEL is legal but useless)
            // A code point starts here. Unbounded strings do not count, so their state repeats (mask cache).
            if (nd.max_length != kUnbounded) {
                if (f.n >= nd.max_length) return false;
                ++f.n;
            } else if (f.n < nd.min_length) {
                ++f.n;
            }
            if (b == '\\') {
                f.phase = kStrEscape;
            } else if (b == '<' && g.calls.xml) {
                // xml_function: the parser ends a value at `</parameter>` and a call at `</function>` wherever
                // they are, so a JSON string there writes `<\/` (JSON's own escape) instead of `</`.
                f.phase = kStrAfterLt;
            } else if (b < 0x80) {
            } else if (b >= 0xC2 && b <= 0xDF) {
                f.phase = kStrCont, f.ws = 1;
            } else if (b == 0xE0) {
                f.phase = kStrE0;
            } else if (b == 0xED) {
                f.phase = kStrED;
            } else if (b >= 0xE1 && b <= 0xEF) {
                f.phase = kStrCont, f.ws = 2;
            } else if (b == 0xF0) {
                f.phase = kStrF0;
            } else if (b >= 0xF1 && b <= 0xF3) {
                f.phase = kStrCont, f.ws = 3;
            } else if (b == 0xF4) {
                f.phase = kStrF4;
            } else {
                return false;  // continuation byte without a lead, overlong C0/C1, or F5..FF
            }
            return true;
        }
        case kStrEscape:
            if (b == 'u') {
                f.phase = kStrHex, f.ws = 4;
                return true;
            }
            if (b == '"' || b == '\\' || b == '/' || b == 'b' || b == 'f' || b == 'n' || b == 'r' || b == 't') {
                f.phase = kStrNormal;
                return true;
            }
            return false;
        case kStrHex:
            if (!is_hex(b)) return false;
            if (f.ws == 4 && (b == 'd' || b == 'D')) {
                f.phase = kStrHexD;  // D800..DFFF are surrogates: the next digit must be 0..7
                return true;
            }
            if (--f.ws == 0) f.phase = kStrNormal;
            return true;
        case kStrHexD:
            if (b < '0' || b > '7') return false;
            f.phase = kStrHex, f.ws = 2;
            return true;
        case kStrCont:
            if (b < 0x80 || b > 0xBF) return false;
            if (--f.ws == 0) f.phase = kStrNormal;
            return true;
        case kStrE0:  // A0..BF: no overlong three-byte forms
            if (b < 0xA0 || b > 0xBF) return false;
            f.phase = kStrCont, f.ws = 1;
            return true;
        case kStrED:  // 80..9F: no surrogates
            if (b < 0x80 || b > 0x9F) return false;
            f.phase = kStrCont, f.ws = 1;
            return true;
        case kStrF0:  // 90..BF: no overlong four-byte forms
            if (b < 0x90 || b > 0xBF) return false;
            f.phase = kStrCont, f.ws = 2;
            return true;
        case kStrF4:  // 80..8F: nothing past U+10FFFF
            if (b < 0x80 || b > 0x8F) return false;
            f.phase = kStrCont, f.ws = 2;
            return true;
        default:
            return false;
    }
}

// Returns 1 accepted, 0 rejected, -1 the number ended before b (popped; offer b to the parent).
int step_number(const Grammar& g, State& s, uint8_t b) {
    Frame& f = s.frames[s.depth - 1];
    const bool fraction_ok = g.nodes[f.node].types & kTypeNumber;
    switch (f.phase) {
        case kNumMinus:
            if (!is_digit(b)) return 0;
            f.phase = b == '0' ? kNumZero : kNumInt;
            f.n = 1;
            return 1;
        case kNumZero:
        case kNumInt:
            if (is_digit(b)) {
                if (f.phase == kNumZero || f.n >= kMaxIntDigits) return 0;
                ++f.n;
                return 1;
            }
            if (b == '.' && fraction_ok) {
                f.phase = kNumDot, f.n = 0;
                return 1;
            }
            pop_done(s);
            return -1;
        case kNumDot:
            if (!is_digit(b)) return 0;
            f.phase = kNumFrac, f.n = 1;
            return 1;
        case kNumFrac:
            if (is_digit(b)) {
                if (f.n >= kMaxFracDigits) return 0;
                ++f.n;
                return 1;
            }
            pop_done(s);
            return -1;
        default:
            return 0;
    }
}

int step_literal(const Grammar& g, State& s, uint8_t b) {
    Frame& f = s.frames[s.depth - 1];
    const ByteTrie& trie = g.literals[f.node];
    int32_t c = trie.child(static_cast<int32_t>(f.n), b);
    if (c >= 0) {
        f.n = static_cast<uint32_t>(c);
        const ByteTrie::Node& node = trie.nodes[static_cast<size_t>(c)];
        if (node.terminal >= 0 && node.edges.empty()) pop_done(s);
        return 1;
    }
    if (trie.nodes[f.n].terminal >= 0) {
        pop_done(s);
        return -1;
    }
    return 0;
}

bool step_key(const Grammar& g, State& s, uint8_t b) {
    Frame& f = s.frames[s.depth - 1];
    Frame& parent = s.frames[s.depth - 2];
    const ObjectShape& shape = g.shapes[static_cast<size_t>(g.nodes[f.node].shape)];
    int32_t c = shape.keys.child(static_cast<int32_t>(f.n), b);
    if (c < 0) return false;
    const ByteTrie::Node& node = shape.keys.nodes[static_cast<size_t>(c)];
    if (!key_in_range(node, parent.n, key_hi(shape, parent.n))) return false;
    f.n = static_cast<uint32_t>(c);
    if (node.terminal >= 0) {  // the closing quote: no key continues past it
        parent.n = static_cast<uint32_t>(node.terminal) + 1;
        pop_done(s);
    }
    return true;
}

// After a key's colon: opens the frame of that property's value.
bool push_value(const Grammar& g, State& s, Frame& f) {
    const Node& nd = g.nodes[f.node];
    int32_t value_node = nd.shape >= 0 ? g.shapes[static_cast<size_t>(nd.shape)].props[f.n - 1].node : nd.additional;
    f.phase = kObjValue;
    return push_frame(s, make_frame(FrameKind::Value, static_cast<uint32_t>(value_node)));
}

bool step_object(const Grammar& g, State& s, uint8_t b) {
    Frame& f = s.frames[s.depth - 1];
    // Spaced output: exactly one space after ':' and ','.
    if (g.spaced && f.phase == kObjComma && f.ws == 0) {
        if (b != ' ') return false;
        f.ws = 1;
        return true;
    }
    if (f.phase == kObjOpen || f.phase == kObjAfter || f.phase == kObjComma) {
        if (is_ws(b)) {
            if (f.ws >= g.max_ws) return false;
            ++f.ws;
            return true;
        }
    }
    switch (f.phase) {
        case kObjOpen:
            if (b == '}') {
                if (!can_close(g, f)) return false;
                pop_done(s);
                return true;
            }
            return b == '"' && start_key(g, s);
        case kObjComma:
            return b == '"' && start_key(g, s);
        case kObjAfter:
            if (b == ',') {
                if (!more_keys(g, f)) return false;
                f.phase = kObjComma, f.ws = 0;
                return true;
            }
            if (b == '}') {
                if (!can_close(g, f)) return false;
                pop_done(s);
                return true;
            }
            return false;
        case kObjColon:
            if (b != ':') return false;
            if (g.spaced) {
                f.phase = kObjColonSpace;
                return true;
            }
            return push_value(g, s, f);
        case kObjColonSpace:
            return b == ' ' && push_value(g, s, f);
        default:
            return false;  // a child frame is open: it gets the bytes
    }
}

// Returns 1 accepted, 0 rejected, -1 re-offer b to the (new) top frame.
int step_array(const Grammar& g, State& s, uint8_t b) {
    Frame& f = s.frames[s.depth - 1];
    const Node& nd = g.nodes[f.node];
    switch (f.phase) {
        case kArrOpen:
            if (b == ']' && nd.min_items == 0) {
                pop_done(s);
                return 1;
            }
            if (nd.max_items == 0) return 0;
            f.phase = kArrItem, f.n = 1;
            return push_frame(s, make_frame(FrameKind::Value, static_cast<uint32_t>(nd.items))) ? -1 : 0;
        case kArrAfter:
            if (is_ws(b)) {
                if (f.ws >= g.max_ws) return 0;
                ++f.ws;
                return 1;
            }
            if (b == ',') {
                if (f.n >= nd.max_items) return 0;
                if (g.spaced) {
                    f.phase = kArrCommaSpace;
                    return 1;
                }
                f.phase = kArrItem, f.ws = 0, ++f.n;
                return push_frame(s, make_frame(FrameKind::Value, static_cast<uint32_t>(nd.items))) ? 1 : 0;
            }
            if (b == ']') {
                if (f.n < nd.min_items) return 0;
                pop_done(s);
                return 1;
            }
            return 0;
        case kArrCommaSpace:
            if (b != ' ') return 0;
            f.phase = kArrItem, f.ws = 0, ++f.n;
            return push_frame(s, make_frame(FrameKind::Value, static_cast<uint32_t>(nd.items))) ? 1 : 0;
        default:
            return 0;
    }
}

}  // namespace

State initial_state(const Grammar& g) {
    State s;
    s.depth = 1;
    if (g.calls.enabled) {
        s.frames[0] = call_initial_frame(g);
        return s;
    }
    s.frames[0] = make_frame(FrameKind::Value, static_cast<uint32_t>(g.root));
    return s;
}

bool step(const Grammar& g, State& s, uint8_t b) {
    for (;;) {
        if (s.depth == 0) return false;
        int r = 0;
        switch (s.frames[s.depth - 1].kind) {
            case FrameKind::Value: {
                bool refeed = false;
                if (!step_value(g, s, b, refeed)) return false;
                if (!refeed) return true;
                continue;
            }
            case FrameKind::String:
                return step_string(g, s, b);
            case FrameKind::Key:
                return step_key(g, s, b);
            case FrameKind::Object:
                return step_object(g, s, b);
            case FrameKind::Number:
                r = step_number(g, s, b);
                break;
            case FrameKind::Literal:
                r = step_literal(g, s, b);
                break;
            case FrameKind::Array:
                r = step_array(g, s, b);
                break;
            case FrameKind::Call:
                return step_call(g, s, b);
            case FrameKind::XmlArgs:
                return step_xml_args(g, s, b);
            case FrameKind::RawText:
                return step_raw_text(g, s, b);
        }
        if (r >= 0) return r == 1;
    }
}

bool is_complete(const Grammar& g, const State& s) {
    if (s.depth == 0) return true;
    if (g.calls.enabled) return calls_complete(g, s);
    if (s.depth > 1) return false;
    const Frame& f = s.frames[0];
    if (f.kind == FrameKind::Number) return f.phase == kNumZero || f.phase == kNumInt || f.phase == kNumFrac;
    if (f.kind == FrameKind::Literal) return g.literals[f.node].nodes[f.n].terminal >= 0;
    return false;
}

}  // namespace hotrod::sample
