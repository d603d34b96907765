// Request bodies (same for every target; schema and fixed-length options) and reply validation.
#include <gtest/gtest.h>

#include "bench/request.h"
#include "bench/validate.h"

using namespace hotrod::bench;

namespace {

Workload phase_workload() {
    return parse_workload(R"({"name": "pc", "system": "classify", "max_tokens": 80, "temperature": 0,
        "phases": ["planning", "testing", "idle"], "expected_phase": "testing",
        "payloads": {"small": "s", "medium": "m", "large": "l"}})",
                          "w.json");
}

}  // namespace

TEST(BenchRequest, Body) {
    const Workload w = phase_workload();
    const auto b = chat_request(w, w.payloads[1], RequestOptions{});
    EXPECT_EQ(b["messages"][0]["role"], "system");
    EXPECT_EQ(b["messages"][0]["content"], "classify");
    EXPECT_EQ(b["messages"][1]["role"], "user");
    EXPECT_EQ(b["messages"][1]["content"], "m");
    EXPECT_EQ(b["max_tokens"], 80);
    EXPECT_EQ(b["temperature"], 0.0);
    EXPECT_EQ(b["chat_template_kwargs"]["enable_thinking"], false);
    EXPECT_EQ(b["stream"], true);
    EXPECT_EQ(b["stream_options"]["include_usage"], true);
    EXPECT_FALSE(b.contains("response_format"));
    EXPECT_FALSE(b.contains("ignore_eos"));
    EXPECT_FALSE(b.contains("model"));
}

TEST(BenchRequest, SchemaAndFixedLength) {
    const Workload w = phase_workload();
    RequestOptions o;
    o.schema = true;
    o.fixed_length = true;
    o.stream = false;
    o.model = "m1";
    const auto b = chat_request(w, w.payloads[0], o);
    EXPECT_EQ(b["ignore_eos"], true);
    EXPECT_EQ(b["model"], "m1");
    EXPECT_FALSE(b.contains("stream"));
    const auto& rf = b["response_format"];
    EXPECT_EQ(rf["type"], "json_schema");
    const auto& s = rf["json_schema"]["schema"];
    EXPECT_EQ(s["type"], "object");
    EXPECT_EQ(s["required"], (nlohmann::json{"phase", "scope"}));
    EXPECT_EQ(s["additionalProperties"], false);
    EXPECT_EQ(s["properties"]["phase"]["enum"], (nlohmann::json{"planning", "testing", "idle"}));
    EXPECT_EQ(s["properties"]["scope"]["type"], "string");
    EXPECT_EQ(s["properties"]["scope"]["maxLength"], 96);
}

TEST(BenchValidate, Replies) {
    const Workload w = phase_workload();
    auto v = validate_reply(w, 200, R"({"phase": "testing", "scope": "Refactor auth middleware to JWT"})");
    EXPECT_TRUE(v.valid) << v.reason;
    EXPECT_EQ(v.answer, "testing");
    EXPECT_TRUE(validate_reply(w, 200, "\n  {\"scope\": \"x\", \"phase\": \"idle\"}  \n").valid);

    auto bad = [&](int status, const std::string& content) { return validate_reply(w, status, content).reason; };
    EXPECT_EQ(bad(500, "{}"), "HTTP 500");
    EXPECT_EQ(bad(0, ""), "no HTTP response");
    EXPECT_EQ(bad(200, ""), "empty content");
    EXPECT_EQ(bad(200, "```json\n{\"phase\": \"testing\", \"scope\": \"x\"}\n```"), "not JSON");
    EXPECT_EQ(bad(200, R"({"phase": "testing"} {"phase": "testing"})"), "not JSON");
    EXPECT_EQ(bad(200, "[1]"), "JSON array, not an object");
    EXPECT_EQ(bad(200, R"({"phase": "testing"})"), "missing key 'scope'");
    EXPECT_EQ(bad(200, R"({"phase": "coding", "scope": "x"})"), "phase 'coding' not allowed");
    EXPECT_EQ(bad(200, R"({"phase": 3, "scope": "x"})"), "key 'phase' is number, not a string");
    EXPECT_EQ(bad(200, R"({"phase": "idle", "scope": ""})"), "scope has 0 words, expected 1..8");
    EXPECT_EQ(bad(200, R"({"phase": "idle", "scope": "one two three four five six seven eight nine"})"),
              "scope has 9 words, expected 1..8");
    EXPECT_EQ(bad(200, R"({"phase": "idle", "scope": "x", "why": "y"})"), "extra keys");
    // The answer is reported even when another key makes the reply invalid, for the agreement count.
    EXPECT_EQ(validate_reply(w, 200, R"({"phase": "idle"})").answer, "idle");
}

TEST(BenchValidate, FixedLength) {
    const Workload w = phase_workload();
    EXPECT_TRUE(validate_fixed_length(w, 200, 80).valid);
    EXPECT_EQ(validate_fixed_length(w, 200, 79).reason, "79 tokens, expected 80");
    EXPECT_EQ(validate_fixed_length(w, 200, -1).reason, "no token count");
    EXPECT_EQ(validate_fixed_length(w, 503, 80).reason, "HTTP 503");
}
