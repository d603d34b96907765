// Tool-call syntaxes: detection from the template, and the streaming parser (see tool_calls.h).
#include "text/tool_calls.h"

#include <algorithm>
#include <optional>

namespace hotrod::text {

namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view kToolCallOpen = "<tool_call>";
constexpr std::string_view kToolCallClose = "</tool_call>";
constexpr std::string_view kMistralOpen = "[TOOL_CALLS]";
constexpr std::string_view kPythonTag = "<|python_tag|>";

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
    return s;
}

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// The index just past the JSON object or array starting at s[at] ('{' or '['), or npos when it does not close.
size_t json_value_end(std::string_view s, size_t at) {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = at; i < s.size(); ++i) {
        const char c = s[i];
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) return i + 1;
        }
    }
    return std::string_view::npos;
}

std::optional<json> parse_json(std::string_view s) {
    json j = json::parse(s.begin(), s.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return std::nullopt;
    return j;
}

// {"name": N, "arguments" | "parameters": {...} or a JSON string} -> a call.
std::optional<ToolCall> call_from_object(const json& o) {
    if (!o.is_object()) return std::nullopt;
    auto name = o.find("name");
    if (name == o.end() || !name->is_string() || name->get<std::string>().empty()) return std::nullopt;
    auto args = o.find("arguments");
    if (args == o.end()) args = o.find("parameters");
    ToolCall c;
    c.name = name->get<std::string>();
    if (args == o.end() || args->is_null()) c.arguments = "{}";
    else if (args->is_string()) c.arguments = args->get<std::string>();
    else if (args->is_object()) c.arguments = args->dump();
    else return std::nullopt;
    return c;
}

// One object or an array of them.
std::optional<std::vector<ToolCall>> calls_from_json(const json& j) {
    std::vector<ToolCall> out;
    if (j.is_array()) {
        if (j.empty()) return std::nullopt;
        for (const auto& o : j) {
            auto c = call_from_object(o);
            if (!c) return std::nullopt;
            out.push_back(std::move(*c));
        }
        return out;
    }
    auto c = call_from_object(j);
    if (!c) return std::nullopt;
    out.push_back(std::move(*c));
    return out;
}

std::optional<std::vector<ToolCall>> parse_hermes(std::string_view body) {
    auto j = parse_json(trim(body));
    if (!j) return std::nullopt;
    return calls_from_json(*j);
}

// <function=N> <parameter=K>\nV\n</parameter> ... </function>: a value parses as JSON unless its schema type is
// "string" (or it does not parse): Qwen3.5's template writes strings raw, booleans as True / False and objects and
// arrays as JSON.
std::optional<std::vector<ToolCall>> parse_xml_function(std::string_view body, const json& param_types) {
    std::string_view s = trim(body);
    constexpr std::string_view kFn = "<function=", kFnEnd = "</function>", kP = "<parameter=", kPEnd = "</parameter>";
    if (s.substr(0, kFn.size()) != kFn) return std::nullopt;
    const size_t name_end = s.find('>');
    if (name_end == std::string_view::npos) return std::nullopt;
    ToolCall c;
    c.name = std::string(trim(s.substr(kFn.size(), name_end - kFn.size())));
    if (c.name.empty()) return std::nullopt;
    s.remove_prefix(name_end + 1);
    const json* types = nullptr;
    if (auto t = param_types.find(c.name); t != param_types.end()) types = &*t;
    json args = json::object();
    while (true) {
        s = trim(s);
        if (s.empty() || s.substr(0, kFnEnd.size()) == kFnEnd) break;
        if (s.substr(0, kP.size()) != kP) return std::nullopt;
        const size_t key_end = s.find('>');
        const size_t value_end = s.find(kPEnd);
        if (key_end == std::string_view::npos || value_end == std::string_view::npos || value_end < key_end)
            return std::nullopt;
        const std::string key(trim(s.substr(kP.size(), key_end - kP.size())));
        std::string_view value = s.substr(key_end + 1, value_end - key_end - 1);
        if (!value.empty() && value.front() == '\n') value.remove_prefix(1);
        if (!value.empty() && value.back() == '\n') value.remove_suffix(1);
        const bool as_string = types && types->contains(key) && (*types)[key] == "string";
        std::optional<json> parsed = as_string ? std::nullopt : parse_json(value);
        // The templates write booleans with Jinja's `string` filter, as Python does: True / False.
        const bool python_bool = value == "True" || value == "False";
        if (!parsed && python_bool && types && types->contains(key) && (*types)[key] == "boolean")
            parsed = json(value == "True");
        args[key] = parsed ? *parsed : json(std::string(value));
        s.remove_prefix(value_end + kPEnd.size());
    }
    c.arguments = args.dump();
    return std::vector<ToolCall>{std::move(c)};
}

// After [TOOL_CALLS]: a JSON list of calls, or N[CALL_ID]id[ARGS]{...} repeated with further [TOOL_CALLS] markers.
std::optional<std::vector<ToolCall>> parse_mistral(std::string_view payload) {
    std::string_view s = trim(payload);
    if (!s.empty() && s.front() == '[') {
        auto j = parse_json(s);
        if (!j) return std::nullopt;
        return calls_from_json(*j);
    }
    constexpr std::string_view kId = "[CALL_ID]", kArgs = "[ARGS]";
    std::vector<ToolCall> out;
    while (true) {
        const size_t args_at = s.find(kArgs);
        if (args_at == std::string_view::npos) return std::nullopt;
        std::string_view head = s.substr(0, args_at);
        if (const size_t id_at = head.find(kId); id_at != std::string_view::npos) head = head.substr(0, id_at);
        ToolCall c;
        c.name = std::string(trim(head));
        if (c.name.empty()) return std::nullopt;
        size_t at = args_at + kArgs.size();
        while (at < s.size() && is_ws(s[at])) ++at;
        if (at >= s.size() || s[at] != '{') return std::nullopt;
        const size_t end = json_value_end(s, at);
        if (end == std::string_view::npos) return std::nullopt;
        auto args = parse_json(s.substr(at, end - at));
        if (!args || !args->is_object()) return std::nullopt;
        c.arguments = args->dump();
        out.push_back(std::move(c));
        s = trim(s.substr(end));
        if (s.empty()) return out;
        if (s.substr(0, kMistralOpen.size()) != kMistralOpen) return std::nullopt;
        s.remove_prefix(kMistralOpen.size());
    }
}

std::optional<std::vector<ToolCall>> parse_whole_json(std::string_view text) {
    std::string_view s = trim(text);
    if (s.substr(0, kPythonTag.size()) == kPythonTag) s = trim(s.substr(kPythonTag.size()));
    auto j = parse_json(s);
    if (!j) return std::nullopt;
    return calls_from_json(*j);
}

// The longest suffix of s that is a proper prefix of marker: text that may still become the marker.
size_t partial_marker_suffix(std::string_view s, std::string_view marker) {
    for (size_t n = std::min(s.size(), marker.size() - 1); n > 0; --n)
        if (s.substr(s.size() - n) == marker.substr(0, n)) return n;
    return 0;
}

}  // namespace

ToolSyntax detect_tool_syntax(std::string_view src) {
    if (contains(src, "<function=") && contains(src, kToolCallOpen)) return ToolSyntax::xml_function;
    if (contains(src, kToolCallOpen)) return ToolSyntax::hermes;
    if (contains(src, kMistralOpen)) return ToolSyntax::mistral;
    if (contains(src, kPythonTag) || (contains(src, "\"parameters\"") && contains(src, "tools")))
        return ToolSyntax::llama3_json;
    if (contains(src, "tools") || contains(src, "tool_calls")) return ToolSyntax::generic_json;
    return ToolSyntax::none;
}

const char* tool_syntax_name(ToolSyntax s) {
    switch (s) {
        case ToolSyntax::none: return "none";
        case ToolSyntax::hermes: return "hermes";
        case ToolSyntax::xml_function: return "xml_function";
        case ToolSyntax::mistral: return "mistral";
        case ToolSyntax::llama3_json: return "llama3_json";
        case ToolSyntax::generic_json: return "generic_json";
    }
    return "none";
}

ToolCallParser::ToolCallParser(ToolSyntax syntax, const json* tools) : syntax_(syntax) {
    param_types_ = json::object();
    if (tools && tools->is_array()) {
        for (const auto& t : *tools) {
            if (!t.is_object() || !t.contains("function") || !t["function"].is_object()) continue;
            const json& f = t["function"];
            if (!f.contains("name") || !f["name"].is_string()) continue;
            json types = json::object();
            if (f.contains("parameters") && f["parameters"].is_object() && f["parameters"].contains("properties") &&
                f["parameters"]["properties"].is_object())
                for (const auto& [k, p] : f["parameters"]["properties"].items())
                    if (p.is_object() && p.contains("type") && p["type"].is_string()) types[k] = p["type"];
            param_types_[f["name"].get<std::string>()] = std::move(types);
        }
    }
}

void ToolCallParser::emit_text(ToolCallDelta& out, std::string_view text) {
    size_t keep = text.size();
    while (keep > 0 && is_ws(text[keep - 1])) --keep;
    if (keep == 0) {
        held_ws_.append(text);
        return;
    }
    out.content += held_ws_;
    held_ws_.clear();
    out.content.append(text.substr(0, keep));
    held_ws_.assign(text.substr(keep));
}

void ToolCallParser::end_call(ToolCallDelta& out, std::string_view body, bool closed) {
    std::optional<std::vector<ToolCall>> calls;
    switch (syntax_) {
        case ToolSyntax::hermes: calls = parse_hermes(body); break;
        case ToolSyntax::xml_function: calls = parse_xml_function(body, param_types_); break;
        case ToolSyntax::mistral: calls = parse_mistral(body); break;
        default: break;
    }
    if (calls) {
        held_ws_.clear();  // whitespace before a call is the model's layout, not content
        any_call_ = true;
        for (auto& c : *calls) out.calls.push_back(std::move(c));
        return;
    }
    const std::string_view open = syntax_ == ToolSyntax::mistral ? kMistralOpen : kToolCallOpen;
    std::string raw(open);
    raw += body;
    if (closed) raw += kToolCallClose;
    emit_text(out, raw);
}

void ToolCallParser::step(ToolCallDelta& out, bool final) {
    const bool markers = syntax_ == ToolSyntax::hermes || syntax_ == ToolSyntax::xml_function ||
                         syntax_ == ToolSyntax::mistral;
    while (true) {
        if (state_ == State::Start) {
            if (markers || syntax_ == ToolSyntax::none) {
                state_ = State::Text;
                continue;
            }
            // Whole-reply JSON syntaxes: decided by the first non-blank characters.
            size_t i = 0;
            while (i < pending_.size() && is_ws(pending_[i])) ++i;
            if (i == pending_.size() && !final) return;
            const std::string_view rest = std::string_view(pending_).substr(i);
            const bool tag_possible = syntax_ == ToolSyntax::llama3_json && !rest.empty() &&
                                      kPythonTag.substr(0, std::min(rest.size(), kPythonTag.size())) ==
                                          rest.substr(0, std::min(rest.size(), kPythonTag.size()));
            if (tag_possible && rest.size() < kPythonTag.size() && !final) return;
            const bool json_start = !rest.empty() && (rest.front() == '{' || rest.front() == '[');
            state_ = json_start || (tag_possible && rest.size() >= kPythonTag.size()) ? State::Whole : State::Text;
            continue;
        }
        if (state_ == State::Whole) {
            if (!final) return;
            if (auto calls = parse_whole_json(pending_)) {
                any_call_ = true;
                for (auto& c : *calls) out.calls.push_back(std::move(c));
            } else {
                emit_text(out, pending_);
            }
            pending_.clear();
            return;
        }
        if (state_ == State::Text) {
            if (!markers) {
                emit_text(out, pending_);
                pending_.clear();
                return;
            }
            const std::string_view open = syntax_ == ToolSyntax::mistral ? kMistralOpen : kToolCallOpen;
            const size_t at = pending_.find(open);
            if (at != std::string::npos) {
                emit_text(out, std::string_view(pending_).substr(0, at));
                pending_.erase(0, at + open.size());
                state_ = State::InCall;
                continue;
            }
            const size_t hold = final ? 0 : partial_marker_suffix(pending_, open);
            emit_text(out, std::string_view(pending_).substr(0, pending_.size() - hold));
            pending_.erase(0, pending_.size() - hold);
            return;
        }
        // InCall
        if (syntax_ == ToolSyntax::mistral) {  // no closing marker: the calls run to the end of the reply
            if (!final) return;
            end_call(out, pending_, false);
            pending_.clear();
            return;
        }
        // The closing marker counts only after the call's JSON value (hermes) or its </function> (xml_function):
        // an argument may itself hold the marker's text (code about tool calls).
        size_t search_from = std::string::npos;
        if (syntax_ == ToolSyntax::hermes) {
            size_t i = 0;
            while (i < pending_.size() && is_ws(pending_[i])) ++i;
            search_from = i < pending_.size() && pending_[i] == '{' ? json_value_end(pending_, i) : i;
        } else {
            search_from = pending_.find("</function>");
        }
        const size_t close = search_from == std::string::npos ? std::string::npos : pending_.find(kToolCallClose, search_from);
        if (close != std::string::npos) {
            end_call(out, std::string_view(pending_).substr(0, close), true);
            pending_.erase(0, close + kToolCallClose.size());
            state_ = State::Text;
            continue;
        }
        if (!final) return;
        end_call(out, pending_, false);
        pending_.clear();
        return;
    }
}

ToolCallDelta ToolCallParser::push(std::string_view piece) {
    ToolCallDelta out;
    pending_.append(piece);
    step(out, false);
    return out;
}

ToolCallDelta ToolCallParser::flush() {
    ToolCallDelta out;
    step(out, true);
    if (!any_call_) out.content += held_ws_;  // a reply without calls keeps its text as written
    held_ws_.clear();
    return out;
}

ToolCallDelta parse_tool_calls(ToolSyntax syntax, std::string_view text, const json* tools) {
    ToolCallParser p(syntax, tools);
    ToolCallDelta d = p.push(text);
    ToolCallDelta tail = p.flush();
    d.content += tail.content;
    for (auto& c : tail.calls) d.calls.push_back(std::move(c));
    return d;
}

}  // namespace hotrod::text
