// Server-sent events, the framing of a streamed chat completion: bytes arrive in arbitrary pieces; an event
// is the "data:" lines before a blank line. The parser buffers a partial event and hands out whole ones.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace hotrod::bench {

class SseParser {
public:
    // Calls on_data(payload) for each complete event that has data (multi-line data joined by '\n').
    // Comment lines (":...") and other fields (event:, id:, retry:) are ignored; "\r\n" is accepted.
    void feed(std::string_view bytes, const std::function<void(std::string_view)>& on_data);
    // Flushes an event left unterminated at the end of the stream.
    void finish(const std::function<void(std::string_view)>& on_data);

private:
    void line(std::string_view l, const std::function<void(std::string_view)>& on_data);
    std::string pending_;  // bytes of an incomplete line
    std::string data_;     // data of the event being read
    bool has_data_ = false;
};

}  // namespace hotrod::bench
