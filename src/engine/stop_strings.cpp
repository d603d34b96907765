// StopStrings: search only the part of the held text a new stop string could end in; hold back the longest tail
// that is a proper prefix of some stop string.
#include "engine/stop_strings.h"

#include <algorithm>

namespace hotrod::engine {

StopStrings::StopStrings(std::vector<std::string> stops) {
    for (auto& s : stops)
        if (!s.empty()) {
            max_len_ = std::max(max_len_, s.size());
            stops_.push_back(std::move(s));
        }
}

std::string StopStrings::push(std::string_view text) {
    if (stopped_) return {};
    if (stops_.empty()) return std::string(text);
    held_.append(text);
    // Earliest match wins; the held text has no match before this push, so only its tail can hold a new one
    // (the held part is shorter than the longest stop string).
    size_t first = std::string::npos;
    for (const auto& s : stops_) {
        const size_t p = held_.find(s);
        if (p < first) first = p;
    }
    if (first != std::string::npos) {
        stopped_ = true;
        std::string out = held_.substr(0, first);
        held_.clear();
        return out;
    }
    // Hold back the longest suffix that a stop string starts with.
    size_t keep = 0;
    const size_t max_keep = std::min(held_.size(), max_len_ - 1);
    for (size_t k = max_keep; k > 0; --k) {
        const std::string_view tail = std::string_view(held_).substr(held_.size() - k);
        const bool prefix = std::any_of(stops_.begin(), stops_.end(),
                                        [&](const std::string& s) { return s.compare(0, k, tail) == 0; });
        if (prefix) {
            keep = k;
            break;
        }
    }
    std::string out = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return out;
}

std::string StopStrings::flush() {
    std::string out;
    out.swap(held_);
    return stopped_ ? std::string() : out;
}

}  // namespace hotrod::engine
