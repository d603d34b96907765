// StopStrings: finds the first stop string in generated text as it streams, holding back any tail that could be
// the start of one, so a stop string is never shown, not even in part. Text arrives as whole UTF-8 characters and
// stop strings are whole characters, so every cut falls on a character boundary.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hotrod::engine {

class StopStrings {
public:
    StopStrings() = default;
    explicit StopStrings(std::vector<std::string> stops);  // empty strings are ignored

    // Adds text; returns what is now safe to show. After a stop string is found, returns the text before it and
    // stopped() is true; later pushes return nothing.
    std::string push(std::string_view text);
    // End of generation: whatever is still held back.
    std::string flush();
    bool stopped() const { return stopped_; }

private:
    std::vector<std::string> stops_;
    std::string held_;
    size_t max_len_ = 0;
    bool stopped_ = false;
};

}  // namespace hotrod::engine
