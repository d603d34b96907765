// Inputs the fuzz targets (tests/fuzz) found, as plain tests: each showed undefined behaviour once, and its
// input is also kept in tests/fuzz/corpus/json_schema/crash-*.
#include <gtest/gtest.h>

#include "sample/grammar.h"

namespace hotrod::sample {
namespace {

using ojson = nlohmann::ordered_json;

bool accepts(const ojson& schema, std::string_view text) {
    std::vector<std::string> pieces;
    for (int b = 0; b < 256; ++b) pieces.emplace_back(1, char(b));
    auto index = std::make_shared<TokenIndex>(std::move(pieces), std::vector<int32_t>{});
    Matcher m(compile_json_schema(schema), index);
    return m.accept_bytes(text) && m.is_complete();
}

// A count given as a float beyond uint64 (1e30) was cast to an integer before its range was checked
// (undefined behaviour; on x86 the cast gave 2^63 and the schema was refused). Any count above 2^32 means "no
// bound".
TEST(SchemaFuzzCases, HugeFloatCountIsUnbounded) {
    EXPECT_TRUE(accepts(ojson::parse(R"({"type": "array", "maxItems": 1e30})"), "[1, 2]"));
    EXPECT_TRUE(accepts(ojson::parse(R"({"type": "string", "maxLength": 1e300})"), "\"abc\""));
    EXPECT_TRUE(accepts(ojson::parse(R"({"type": "array", "maxItems": 2.0})"), "[1, 2]"));
    EXPECT_FALSE(accepts(ojson::parse(R"({"type": "array", "maxItems": 2.0})"), "[1, 2, 3]"));
    EXPECT_THROW(compile_json_schema(ojson::parse(R"({"type": "array", "maxItems": 2.5})")), SchemaError);
    EXPECT_THROW(compile_json_schema(ojson::parse(R"({"type": "array", "maxItems": -1e30})")), SchemaError);
}

// An integer-typed enum value given as a float beyond int64 was cast the same way. JSON Schema's integer is
// any number without a fractional part, so 1e300 is one (Python's jsonschema agrees).
TEST(SchemaFuzzCases, HugeFloatIsAnInteger) {
    const ojson schema = ojson::parse(R"({"type": "integer", "enum": [1e300, 2.5, 3]})");
    EXPECT_TRUE(accepts(schema, "1e+300"));
    EXPECT_TRUE(accepts(schema, "3"));
    EXPECT_FALSE(accepts(schema, "2.5"));
}

}  // namespace
}  // namespace hotrod::sample
