// The tool-call layer of the automaton (CallLayer in grammar_nodes.h): the bottom frame of a tool-call grammar,
// walking the texts around each call (trigger, prefix, opening, closing, separator, suffix) while the arguments
// are ordinary JSON frames above it. Kept apart from the JSON frames in grammar_machine.cpp, which only hand it
// the bytes when it is the top frame and tell it when a call's arguments are done.
#include "sample/grammar_machine.h"

namespace hotrod::sample {

namespace {

// Free: lazy, before the trigger. Text: anchored lazy, the reply began otherwise (free to the end). After: between
// calls (also before the first, when there is no prefix). Sep/Prefix/Close/Suffix: n bytes of that text matched.
enum CallPhase : uint8_t {
    kCallFree, kCallText, kCallPrefix, kCallOpen, kCallArgs, kCallClose, kCallAfter, kCallSep, kCallSuffix, kCallDone
};

// The calls begin (at the start of a forced output, or once a lazy trigger has matched).
void start_calls(const CallLayer& c, Frame& f) {
    f = make_frame(FrameKind::Call, 0, c.prefix.empty() ? kCallAfter : kCallPrefix);
}

// Matches byte n of text; at its end moves to phase `then`.
bool step_text(Frame& f, const std::string& text, uint8_t b, uint8_t then) {
    if (f.n >= text.size() || static_cast<uint8_t>(text[f.n]) != b) return false;
    if (++f.n == text.size()) f.phase = then, f.n = 0;
    return true;
}

// Inside the opens trie: the texts are prefix-free (each name is a JSON string, ended by its quote, or xml's raw
// name ended by '>'), so a terminal node is a leaf, and reaching one picks the tool and opens its arguments.
bool step_open(const Grammar& g, State& s, uint8_t b) {
    Frame& f = s.frames[s.depth - 1];
    const ByteTrie& opens = g.calls.opens;
    const int32_t c = opens.child(static_cast<int32_t>(f.n), b);
    if (c < 0) return false;
    const int32_t tool = opens.nodes[static_cast<size_t>(c)].terminal;
    if (tool < 0) {
        f.n = static_cast<uint32_t>(c);
        return true;
    }
    f.phase = kCallArgs, f.n = 0;
    if (g.calls.xml) return push_xml_args(s, static_cast<uint32_t>(tool));
    return push_frame(s, make_frame(FrameKind::Value, static_cast<uint32_t>(g.calls.args_node[static_cast<size_t>(tool)])));
}

}  // namespace

bool step_call(const Grammar& g, State& s, uint8_t b) {
    const CallLayer& c = g.calls;
    Frame& f = s.frames[s.depth - 1];
    switch (f.phase) {
        case kCallFree: {
            if (c.anchored) {
                if (f.n == 0 && is_ws(b)) return true;
                if (static_cast<uint8_t>(c.trigger[f.n]) != b) {
                    f.phase = kCallText;
                    return true;
                }
                ++f.n;
            } else {
                uint32_t k = f.n;
                while (k > 0 && static_cast<uint8_t>(c.trigger[k]) != b) k = c.trigger_fail[k - 1];
                if (static_cast<uint8_t>(c.trigger[k]) == b) ++k;
                f.n = k;
            }
            if (f.n < c.trigger.size()) return true;
            // The trigger is the start of a call's own text (checked at compile): replay it from the calls' start.
            start_calls(c, f);
            for (const char t : c.trigger) {
                if (!step_call(g, s, static_cast<uint8_t>(t))) return false;
            }
            return true;
        }
        case kCallText:
            return true;
        case kCallPrefix:
            return step_text(f, c.prefix, b, kCallOpen);
        case kCallOpen:
            return step_open(g, s, b);
        case kCallClose:
            if (!step_text(f, c.close, b, kCallAfter)) return false;
            if (f.phase == kCallAfter) ++f.node, f.ws = 0;
            return true;
        case kCallSep:
            return step_text(f, c.separator, b, kCallOpen);
        case kCallSuffix:
            return step_text(f, c.suffix, b, kCallDone);
        case kCallAfter: {
            const bool more = f.node < c.max_calls;
            const bool may_end = f.node > 0 && !c.suffix.empty();
            if (is_ws(b)) {
                // None before the first call, so a forced reply's opening text is forced bytes from the start.
                if (f.node == 0 || !(more || may_end) || f.ws >= c.gap_ws) return false;
                ++f.ws;
                return true;
            }
            if (more && f.node > 0 && !c.separator.empty()) {
                if (static_cast<uint8_t>(c.separator[0]) == b) {
                    f.phase = kCallSep, f.n = 0;
                    return step_text(f, c.separator, b, kCallOpen);
                }
            } else if (more && c.opens.child(0, b) >= 0) {
                f.phase = kCallOpen, f.n = 0;
                return step_open(g, s, b);
            }
            if (may_end && static_cast<uint8_t>(c.suffix[0]) == b) {
                f.phase = kCallSuffix, f.n = 0;
                return step_text(f, c.suffix, b, kCallDone);
            }
            return false;
        }
        default:
            return false;  // Args: the arguments' frames get the bytes; Done: nothing follows
    }
}

bool calls_complete(const Grammar& g, const State& s) {
    if (s.depth > 1) return false;
    const Frame& f = s.frames[0];
    switch (f.phase) {
        case kCallFree:
        case kCallText:
        case kCallDone:
            return true;
        case kCallAfter:
            return f.node > 0 && g.calls.suffix.empty();
        default:
            return false;
    }
}


Frame call_initial_frame(const Grammar& g) {
    if (g.calls.lazy) return make_frame(FrameKind::Call, 0, kCallFree);
    Frame f;
    start_calls(g.calls, f);
    return f;
}

void call_args_done(Frame& f) { f.phase = kCallClose, f.n = 0; }

}  // namespace hotrod::sample
