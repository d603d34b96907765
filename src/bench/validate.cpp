// Reply validation: strict on purpose. Leading/trailing whitespace is allowed; code fences or prose around
// the object are not, since a classifier's caller would have to strip them.
#include "bench/validate.h"

#include <nlohmann/json.hpp>

namespace hotrod::bench {
namespace {

int count_words(std::string_view s) {
    int n = 0;
    bool in_word = false;
    for (char c : s) {
        const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
        if (!space && !in_word) ++n;
        in_word = !space;
    }
    return n;
}

}  // namespace

Verdict validate_reply(const Workload& w, int http_status, std::string_view content) {
    Verdict v;
    if (http_status != 200) {
        v.reason = http_status == 0 ? "no HTTP response" : "HTTP " + std::to_string(http_status);
        return v;
    }
    nlohmann::json j = nlohmann::json::parse(content, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
        v.reason = content.empty() ? "empty content" : "not JSON";
        return v;
    }
    if (!j.is_object()) {
        v.reason = std::string("JSON ") + j.type_name() + ", not an object";
        return v;
    }
    if (!w.enum_key.empty() && j.contains(w.enum_key) && j[w.enum_key].is_string())
        v.answer = j[w.enum_key].get<std::string>();
    for (const auto& key : w.keys) {
        if (!j.contains(key)) {
            v.reason = "missing key '" + key + "'";
            return v;
        }
        if (!j[key].is_string()) {
            v.reason = "key '" + key + "' is " + j[key].type_name() + ", not a string";
            return v;
        }
        const std::string value = j[key].get<std::string>();
        auto it = w.allowed.find(key);
        if (it != w.allowed.end()) {
            bool ok = false;
            for (const auto& a : it->second) ok = ok || a == value;
            if (!ok) {
                v.reason = key + " '" + value + "' not allowed";
                return v;
            }
        } else {
            const int n_words = count_words(value);
            if (n_words == 0 || n_words > w.max_words) {
                v.reason = key + " has " + std::to_string(n_words) + " words, expected 1.." + std::to_string(w.max_words);
                return v;
            }
        }
    }
    if (j.size() != w.keys.size()) {
        v.reason = "extra keys";
        return v;
    }
    v.valid = true;
    return v;
}

Verdict validate_fixed_length(const Workload& w, int http_status, int n_completion_tokens) {
    Verdict v;
    if (http_status != 200) {
        v.reason = http_status == 0 ? "no HTTP response" : "HTTP " + std::to_string(http_status);
        return v;
    }
    if (n_completion_tokens != w.max_tokens) {
        v.reason = n_completion_tokens < 0 ? "no token count"
                                           : std::to_string(n_completion_tokens) + " tokens, expected " +
                                                 std::to_string(w.max_tokens);
        return v;
    }
    v.valid = true;
    return v;
}

}  // namespace hotrod::bench
