// Validation of one reply. Valid = HTTP 200 and the content parses as exactly one JSON object with exactly
// the workload's keys, each a string, enum keys within their allowed values, free-text keys non-empty and at
// most max_words words. Under --fixed-length, valid = HTTP 200 and exactly max_tokens completion tokens.
#pragma once

#include <string>
#include <string_view>

#include "bench/workload.h"

namespace hotrod::bench {

struct Verdict {
    bool valid = false;
    std::string reason;  // why not valid ("not JSON", "missing key 'scope'", "phase 'coding' not allowed", ...)
    std::string answer;  // the enum key's value when present (compared across targets), else ""
};

Verdict validate_reply(const Workload& w, int http_status, std::string_view content);
Verdict validate_fixed_length(const Workload& w, int http_status, int n_completion_tokens);

}  // namespace hotrod::bench
