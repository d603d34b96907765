// StopStrings: stop strings found across any split of the text, never shown even in part, earliest one wins.
#include <gtest/gtest.h>

#include "engine/stop_strings.h"

namespace hotrod::engine {
namespace {

// Feeds text in pieces of n bytes; returns what was shown and whether it stopped.
std::pair<std::string, bool> feed(const std::vector<std::string>& stops, const std::string& text, size_t n) {
    StopStrings s(stops);
    std::string shown;
    for (size_t i = 0; i < text.size() && !s.stopped(); i += n) shown += s.push(text.substr(i, n));
    shown += s.flush();
    return {shown, s.stopped()};
}

TEST(StopStrings, FindsTheFirstStopInAnySplit) {
    for (size_t n = 1; n <= 12; ++n) {
        auto [shown, stopped] = feed({"END", "\n\n"}, "hello wor\n\nld END tail", n);
        EXPECT_TRUE(stopped) << n;
        EXPECT_EQ(shown, "hello wor") << n;
        std::tie(shown, stopped) = feed({"END", "ld E"}, "hello world END", n);
        EXPECT_EQ(shown, "hello wor") << n;  // "ld E" starts before "END"
    }
}

TEST(StopStrings, HeldBackPrefixIsReleasedWhenItDoesNotComplete) {
    StopStrings s({"</stop>"});
    EXPECT_EQ(s.push("a </s"), "a ");
    EXPECT_EQ(s.push("tart"), "</start");
    EXPECT_EQ(s.push("</st"), "");
    EXPECT_EQ(s.flush(), "</st");
    EXPECT_FALSE(s.stopped());
}

TEST(StopStrings, NoStopsPassesThroughAndMultibyteStopsCutOnCharacters) {
    auto [shown, stopped] = feed({}, "abc", 1);
    EXPECT_EQ(shown, "abc");
    EXPECT_FALSE(stopped);
    std::tie(shown, stopped) = feed({"é!"}, "café au lait é!x", 2);
    EXPECT_EQ(shown, "café au lait ");
    EXPECT_TRUE(stopped);
    std::tie(shown, stopped) = feed({"", "zz"}, "a", 1);  // empty stop strings are ignored
    EXPECT_EQ(shown, "a");
}

}  // namespace
}  // namespace hotrod::engine
