// SSE line splitting (WHATWG "event stream interpretation", data field only).
#include "bench/sse.h"

namespace hotrod::bench {

void SseParser::line(std::string_view l, const std::function<void(std::string_view)>& on_data) {
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty()) {  // end of event
        if (has_data_) on_data(data_);
        data_.clear();
        has_data_ = false;
        return;
    }
    if (l.front() == ':') return;
    const size_t colon = l.find(':');
    const std::string_view field = l.substr(0, colon);
    if (field != "data") return;
    std::string_view value = colon == std::string_view::npos ? std::string_view{} : l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
}

void SseParser::feed(std::string_view bytes, const std::function<void(std::string_view)>& on_data) {
    size_t start = 0;
    for (size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] != '\n') continue;
        if (pending_.empty()) {
            line(bytes.substr(start, i - start), on_data);
        } else {
            pending_.append(bytes.substr(start, i - start));
            line(pending_, on_data);
            pending_.clear();
        }
        start = i + 1;
    }
    pending_.append(bytes.substr(start));
}

void SseParser::finish(const std::function<void(std::string_view)>& on_data) {
    if (!pending_.empty()) {
        std::string last = std::move(pending_);
        pending_.clear();
        line(last, on_data);
    }
    line("", on_data);
}

}  // namespace hotrod::bench
