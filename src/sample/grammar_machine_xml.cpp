// The xml_function layer of the automaton: one call's `<parameter=KEY>\nVALUE\n</parameter>\n` blocks
// (FrameKind::XmlArgs, on the Call frame), and the raw text of a string VALUE (FrameKind::RawText), which ends at
// `\n</parameter>`. What a block may hold is compiled in tool_call_grammar.cpp (XmlParams); JSON values are
// ordinary frames from grammar_machine.cpp.
#include "sample/grammar_machine.h"

#include <algorithm>

namespace hotrod::sample {

namespace {

// XmlArgs phases. Next: a block or the end may start (ws = 0). Open: inside the opens trie (ws = trie node).
// FreeKey / FreeKeyEnd: a free key's bytes, then its `\n`. After: n bytes into kAfterValue (ws = offset).
enum XmlPhase : uint8_t { kXmlNext, kXmlOpen, kXmlFreeKey, kXmlFreeKeyEnd, kXmlAfter, kXmlValue };

// After a JSON value; a raw value's frame has already matched its first 13 bytes.
constexpr std::string_view kAfterValue = "\n</parameter>\n";
constexpr uint16_t kAfterRaw = 13;

// Texts a raw value may not hold, since the parser (text/tool_calls.cpp) would end the value or the call there:
// `</parameter>` ends the value (only as `\n</parameter>`, the terminator), `</function>` the call.
constexpr std::string_view kEndParam = "</parameter>", kEndFunction = "</function>";

// RawText's ws bits: the match of kEndParam / kEndFunction so far (their '<' is their only '<', so a mismatch
// restarts at 0, or 1 on '<'), whether the last byte was '\n', and whether the '<' of the match followed one.
constexpr uint16_t kMatchLen = 0xF, kMatchFunction = 0x10, kLastNewline = 0x20, kMatchAfterNewline = 0x40;
constexpr uint16_t kContShift = 8;  // and 2 bits above: UTF-8 continuation bytes still due
enum RawPhase : uint8_t { kRawNormal, kRawCont, kRawE0, kRawED, kRawF0, kRawF4 };

const XmlParams& params_of(const Grammar& g, const Frame& f) { return g.calls.xml_args[f.node]; }

bool in_range(const ByteTrie::Node& node, uint32_t lo, uint32_t hi) {
    auto it = std::lower_bound(node.below.begin(), node.below.end(), static_cast<int32_t>(lo));
    return it != node.below.end() && static_cast<uint32_t>(*it) <= hi;
}

// Entries of `opens` allowed next: listed, the properties from n up to the first required one (its size: the
// end); free keys, a key (0) unless closed, and the end (1).
void allowed(const XmlParams& p, const Frame& f, uint32_t& lo, uint32_t& hi) {
    if (p.free_keys) {
        lo = p.closed ? 1 : 0, hi = 1;
    } else {
        lo = f.n, hi = p.next_required[f.n];
    }
}

bool push_value(const Grammar& g, State& s, uint32_t prop) {
    Frame& f = s.frames[s.depth - 1];
    const XmlParams& p = params_of(g, f);
    f.phase = kXmlAfter;
    if (p.free_keys) {
        f.ws = kAfterRaw;
        return push_frame(s, make_frame(FrameKind::RawText, Grammar::kAnyNode));
    }
    const XmlParams::Value& v = p.values[prop];
    const auto id = static_cast<uint32_t>(v.id);
    switch (v.form) {
        case XmlParams::Form::Json:
            f.ws = 0;
            return push_frame(s, make_frame(FrameKind::Value, id));
        case XmlParams::Form::Raw:
            f.ws = kAfterRaw;
            return push_frame(s, make_frame(FrameKind::RawText, id));
        case XmlParams::Form::RawLiteral:
            f.ws = kAfterRaw;
            return push_frame(s, make_frame(FrameKind::Literal, id));
    }
    return false;
}

bool step_open(const Grammar& g, State& s, uint8_t b) {
    Frame& f = s.frames[s.depth - 1];
    const XmlParams& p = params_of(g, f);
    const int32_t c = p.opens.child(f.ws, b);
    if (c < 0) return false;
    const ByteTrie::Node& node = p.opens.nodes[static_cast<size_t>(c)];
    uint32_t lo = 0, hi = 0;
    allowed(p, f, lo, hi);
    if (!in_range(node, lo, hi)) return false;
    if (node.terminal < 0) {
        f.phase = kXmlOpen, f.ws = static_cast<uint16_t>(c);
        return true;
    }
    const auto entry = static_cast<uint32_t>(node.terminal);
    const uint32_t end = p.free_keys ? 1 : static_cast<uint32_t>(p.values.size());
    if (entry == end) {  // `</function>\n`: the call's close follows (the Call frame's)
        pop_done(s);
        return true;
    }
    if (p.free_keys) {
        f.phase = kXmlFreeKey, f.ws = 0;
        return true;
    }
    f.n = entry + 1;
    return push_value(g, s, entry);
}

bool raw_control(uint8_t b) { return (b < 0x20 && b != '\n' && b != '\t' && b != '\r') || b == 0x7f; }

// The bytes at the end of the text that may yet be the terminator `\n</parameter>` (not counted as the value's).
uint32_t pending_terminator(uint16_t w) {
    const uint32_t k = w & kMatchLen;
    if (k == 0) return (w & kLastNewline) ? 1 : 0;
    if (!(w & kMatchAfterNewline) || (k >= 3 && (w & kMatchFunction))) return 0;
    return k + 1;
}

// Advances the end-text match by an ASCII byte. Returns 1 go on, 0 reject, 2 the terminator is complete.
int step_match(uint16_t& w, uint8_t b) {
    uint32_t k = w & kMatchLen;
    const bool last_newline = w & kLastNewline;
    if (k > 0) {
        std::string_view text = (w & kMatchFunction) ? kEndFunction : kEndParam;
        if (k == 2 && b == 'f') text = kEndFunction, w |= kMatchFunction;
        if (k == 2 && b == 'p') w &= static_cast<uint16_t>(~kMatchFunction);
        if (static_cast<uint8_t>(text[k]) == b) {
            ++k;
            w = static_cast<uint16_t>((w & ~kMatchLen) | k);
            if (k < text.size()) return 1;
            return text == kEndParam && (w & kMatchAfterNewline) ? 2 : 0;
        }
    }
    // No match in progress, or a mismatch: '<' starts a new one (its own is the patterns' only '<').
    w &= static_cast<uint16_t>(~(kMatchLen | kMatchFunction | kMatchAfterNewline | kLastNewline));
    if (b == '<') {
        w |= 1;
        if (last_newline && k == 0) w |= kMatchAfterNewline;
    }
    if (b == '\n') w |= kLastNewline;
    return 1;
}

}  // namespace

bool push_xml_args(State& s, uint32_t tool) { return push_frame(s, make_frame(FrameKind::XmlArgs, tool, kXmlNext)); }

bool step_xml_args(const Grammar& g, State& s, uint8_t b) {
    Frame& f = s.frames[s.depth - 1];
    switch (f.phase) {
        case kXmlNext:
            f.ws = 0;
            return step_open(g, s, b);
        case kXmlOpen:
            return step_open(g, s, b);
        case kXmlFreeKey:
            // A key: printable ASCII other than the tag's brackets, then `>`.
            if (b == '>' && f.ws > 0) {
                f.phase = kXmlFreeKeyEnd;
                return true;
            }
            if (b <= 0x20 || b >= 0x7f || b == '<' || b == '>' || b == '=') return false;
            f.ws = 1;
            return true;
        case kXmlFreeKeyEnd:
            return b == '\n' && push_value(g, s, 0);
        case kXmlAfter:
            if (f.ws >= kAfterValue.size() || static_cast<uint8_t>(kAfterValue[f.ws]) != b) return false;
            if (++f.ws == kAfterValue.size()) f.phase = kXmlNext, f.ws = 0;
            return true;
        default:
            return false;
    }
}

bool step_raw_text(const Grammar& g, State& s, uint8_t b) {
    Frame& f = s.frames[s.depth - 1];
    const Node& nd = g.nodes[f.node];
    auto cont_due = [&] { return static_cast<uint32_t>(f.ws >> kContShift) & 3; };
    auto set_cont = [&](uint32_t n) {
        f.ws = static_cast<uint16_t>((f.ws & 0xFF) | (n << kContShift));
        f.phase = n ? kRawCont : kRawNormal;
    };
    switch (f.phase) {
        case kRawCont:
            if (b < 0x80 || b > 0xBF) return false;
            set_cont(cont_due() - 1);
            return true;
        case kRawE0:  // no overlong three-byte forms
        case kRawED:  // no surrogates
        case kRawF0:  // no overlong four-byte forms
        case kRawF4:  // nothing past U+10FFFF
        {
            const uint8_t lo = f.phase == kRawE0 ? 0xA0 : f.phase == kRawF0 ? 0x90 : 0x80;
            const uint8_t hi = f.phase == kRawED ? 0x9F : f.phase == kRawF4 ? 0x8F : 0xBF;
            if (b < lo || b > hi) return false;
            set_cont(f.phase == kRawF0 || f.phase == kRawF4 ? 2 : 1);
            return true;
        }
        default:
            break;
    }
    // A code point starts here. Unbounded values count only up to what minLength needs (13: the terminator's
    // bytes, counted before they are known to be it), so their state repeats (the mask cache).
    const uint32_t terminator = 1 + static_cast<uint32_t>(kEndParam.size());
    if (nd.max_length != kUnbounded || f.n < nd.min_length + terminator) ++f.n;
    if (b < 0x80) {
        if (raw_control(b)) return false;
        const int r = step_match(f.ws, b);
        if (r == 0) return false;
        if (r == 2) {
            if (f.n < nd.min_length + terminator) return false;
            pop_done(s);
            return true;
        }
    } else {
        f.ws &= static_cast<uint16_t>(~(kMatchLen | kMatchFunction | kMatchAfterNewline | kLastNewline));
        if (b >= 0xC2 && b <= 0xDF) set_cont(1);
        else if (b == 0xE0) f.phase = kRawE0;
        else if (b == 0xED) f.phase = kRawED;
        else if (b >= 0xE1 && b <= 0xEF) set_cont(2);
        else if (b == 0xF0) f.phase = kRawF0;
        else if (b >= 0xF1 && b <= 0xF3) set_cont(3);
        else if (b == 0xF4) f.phase = kRawF4;
        else return false;  // continuation byte without a lead, overlong C0/C1, or F5..FF
    }
    return nd.max_length == kUnbounded || f.n - pending_terminator(f.ws) <= nd.max_length;
}

}  // namespace hotrod::sample
