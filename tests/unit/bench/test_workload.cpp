// Workload loading: the shared phase-classification file, and errors that name file, key, expected, found.
#include <gtest/gtest.h>

#include <filesystem>

#include "bench/workload.h"

using namespace hotrod::bench;

namespace {

std::string error_of(const std::string& text) {
    try {
        parse_workload(text, "w.json");
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(BenchWorkload, SharedPhaseClassification) {
    const std::string path = std::string(HOTROD_SOURCE_DIR) + "/../shared/workloads/phase_classification.json";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "no " << path;
    const Workload w = load_workload(path);
    EXPECT_EQ(w.name, "phase_classification");
    ASSERT_EQ(w.payloads.size(), 3u);
    EXPECT_EQ(w.payloads[0].name, "small");  // file order kept, not sorted
    EXPECT_EQ(w.payloads[1].name, "medium");
    EXPECT_EQ(w.payloads[2].name, "large");
    EXPECT_EQ(w.medium().name, "medium");
    EXPECT_EQ(w.max_tokens, 80);
    EXPECT_EQ(w.temperature, 0.0);
    EXPECT_EQ(w.keys, (std::vector<std::string>{"phase", "scope"}));
    ASSERT_EQ(w.allowed.count("phase"), 1u);
    EXPECT_EQ(w.allowed.at("phase").size(), 8u);
    EXPECT_EQ(w.enum_key, "phase");
    EXPECT_EQ(w.expected_value, "testing");
}

TEST(BenchWorkload, Errors) {
    EXPECT_NE(error_of("{").find("w.json: not JSON at byte"), std::string::npos);
    EXPECT_EQ(error_of("[]"), "w.json: key '(root)': expected an object, found array");
    EXPECT_EQ(error_of(R"({"max_tokens": 8, "payloads": {"a": "x"}})"), "w.json: key 'system': expected a string, found nothing");
    EXPECT_EQ(error_of(R"({"system": "s", "max_tokens": 0, "payloads": {"a": "x"}})"),
              "w.json: key 'max_tokens': expected an integer in [1, 1000000], found 0");
    EXPECT_EQ(error_of(R"({"system": "s", "max_tokens": 8, "payloads": {"a": 3}})"),
              "w.json: key 'payloads.a': expected a string, found number");
    EXPECT_EQ(error_of(R"({"system": "s", "max_tokens": 8, "payloads": {}})"),
              "w.json: key 'payloads': expected a non-empty object of name -> text, found object");
    EXPECT_EQ(error_of(R"({"system": "s", "max_tokens": 8, "payloads": {"a": "x"}, "phases": ["a", 1]})"),
              "w.json: key 'phases': expected a string element, found number");
    EXPECT_EQ(error_of(R"({"system": "s", "max_tokens": 8, "payloads": {"a": "x"}, "allowed": {"mood": ["ok"]}})"),
              "w.json: key 'allowed.mood': expected one of the reply keys, found a key not in 'keys'");
    EXPECT_EQ(error_of(R"({"system": "s", "max_tokens": 8, "payloads": {"a": "x"}})"), "");
}

TEST(BenchWorkload, MissingFile) {
    EXPECT_THROW(load_workload("/nonexistent/w.json"), std::runtime_error);
}

TEST(BenchWorkload, GenericKeys) {
    const Workload w = parse_workload(
        R"({"system": "s", "max_tokens": 8, "payloads": {"one": "x", "two": "y"}, "keys": ["mood", "why"],
            "allowed": {"mood": ["ok", "bad"]}, "max_words": 3})",
        "w.json");
    EXPECT_EQ(w.enum_key, "mood");
    EXPECT_EQ(w.max_words, 3);
    EXPECT_EQ(w.medium().name, "two");  // no "medium": the middle payload (index n/2)
}
