// Inputs the fuzz targets (tests/fuzz) found, as plain tests: each failed once, and its input is also kept in
// tests/fuzz/corpus/request/crash-*.
#include <gtest/gtest.h>

#include "server/api_error.h"
#include "server/json_fields.h"

namespace hotrod::server {
namespace {

int body_status(std::string_view text) {
    try {
        parse_body(text);
    } catch (const ApiError& e) {
        return e.status();
    }
    return 0;
}

// A number beyond a double is nlohmann's out_of_range (406), not a parse_error: it escaped parse_body and the
// route wrapper answered 500 for a malformed body.
TEST(RequestFuzzCases, NumberOverflowIs400) {
    EXPECT_EQ(body_status(R"({"messages": [], "temperature": 1e400})"), 400);
    EXPECT_EQ(body_status(R"({"max_tokens": -981e308})"), 400);
    EXPECT_EQ(body_status(R"({"temperature": 1e308})"), 0);
}

std::string repeat(const std::string& s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
}

// Deep nesting parsed fine (nlohmann parses iteratively) but every later copy of the value (tool_calls into
// the normalised messages), the template's conversion and the schema compiler recurse once per level: 10000
// levels in a 20 KB body overflowed the stack under ASan, and an 8 MB body would without it.
TEST(RequestFuzzCases, NestingDeeperThanTheLimitIs400) {
    const std::string envelope = R"({"messages": [{"role": "assistant", "content": null, "tool_calls": )";
    EXPECT_EQ(body_status(envelope + repeat("[", 100000) + repeat("]", 100000) + "}]}"), 400);
    // The body's own object is level 1.
    const int n = kMaxJsonDepth - 1;
    EXPECT_EQ(body_status(R"({"tools": )" + repeat("[", n + 1) + repeat("]", n + 1) + "}"), 400);
    EXPECT_EQ(body_status(R"({"tools": )" + repeat("[", n) + repeat("]", n) + "}"), 0);
    EXPECT_EQ(body_status(R"({"a": )" + repeat(R"({"k": )", n - 1) + "{}" + repeat("}", n - 1) + "}"), 0);
    EXPECT_EQ(body_status(R"({"a": )" + repeat(R"({"k": )", n) + "{}" + repeat("}", n) + "}"), 400);
    // Brackets inside strings (escaped quotes included) are text, not nesting.
    EXPECT_EQ(body_status(R"({"content": ")" + std::string(10000, '[') + R"(\" [[[[ \\"})"), 0);
}

}  // namespace
}  // namespace hotrod::server
