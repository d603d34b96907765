// Grammar accept/reject on byte strings, schema errors, forced bytes, completion and the cache. The expected
// verdicts are JSON Schema's (each "valid" case also passes Python jsonschema; see test_grammar_vocab.cpp for
// the outputs checked by jsonschema itself), restricted by our documented policy (schema output spaced as json.dumps writes it,
// listed properties in order, canonical enum text).
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "call_fixtures.h"
#include "sample/grammar.h"

namespace hotrod::sample {
namespace {

using test::byte_index;

// Schema grammars write one space after every ':' and ',' outside strings; the cases below are written compact
// and spaced here, so each reads as the JSON value it tests.
std::string spaced(std::string_view compact) {
    std::string out;
    bool in_string = false, escaped = false;
    for (const char c : compact) {
        out += c;
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == ':' || c == ',') {
            out += ' ';
        }
    }
    return out;
}

std::set<const Grammar*>& schema_grammars() {
    static std::set<const Grammar*> s;
    return s;
}

bool matches_exactly(const std::shared_ptr<const Grammar>& g, std::string_view text) {
    Matcher m(g, byte_index());
    return m.accept_bytes(text) && m.is_complete();
}

// Whole text accepted byte by byte and complete at the end (spaced first for schema grammars).
bool matches(const std::shared_ptr<const Grammar>& g, std::string_view text) {
    return matches_exactly(g, schema_grammars().count(g.get()) ? spaced(text) : std::string(text));
}

std::shared_ptr<const Grammar> schema_of(const nlohmann::ordered_json& j) {
    auto g = compile_json_schema(j);
    schema_grammars().insert(g.get());
    return g;
}

std::shared_ptr<const Grammar> schema(const char* text) { return schema_of(nlohmann::ordered_json::parse(text)); }

TEST(GrammarAccept, JsonObject) {
    auto g = compile_json_object();
    for (const char* ok : {"{}", "{\"a\":1}", "{\"a\": [1, 2.5, -0, true, null, \"x\"], \"b\": {\"c\": {}}}",
                           "{\n \"k\": \"\\u00e9\\n\\\"\"}", "{\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\":\"\"}"}) {
        EXPECT_TRUE(matches(g, ok)) << ok;
    }
    for (const char* bad : {"", "[]", "1", "{", "{\"a\"}", "{\"a\":}", "{\"a\":01}", "{\"a\":1,}", "{,}",
                            "{\"a\":\"\\x\"}", "{\"a\":\"\t\"}", "{\"a\":\"\xc3\"}", "{\"a\":\"\xc0\xaf\"}",
                            "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\\ud800\"}", "{\"a\":tru}", "{\"a\":1.}",
                            "{   \"a\":1}", "{\"a\":1e5}", " {}", "{\"a\":1234567890123456}"}) {
        EXPECT_FALSE(matches(g, bad)) << bad;
    }
}

TEST(GrammarAccept, HalfUtf8IsNotComplete) {
    Matcher m(compile_json_object(), byte_index());
    EXPECT_TRUE(m.accept_bytes("{\"a\":\"\xe2\x82"));
    EXPECT_FALSE(m.is_complete());
    EXPECT_FALSE(m.accept_bytes("\""));  // the character must finish first
    EXPECT_TRUE(m.accept_bytes("\xac\"}"));
    EXPECT_TRUE(m.is_finished());
}

TEST(GrammarAccept, RequiredEnumAndOrder) {
    auto g = schema(R"({"type":"object","properties":{"phase":{"enum":["planning","testing"]},
        "scope":{"type":"string","maxLength":5}},"required":["phase","scope"],"additionalProperties":false})");
    EXPECT_TRUE(matches(g, R"({"phase":"testing","scope":"jwt"})"));
    EXPECT_FALSE(matches(g, R"({"phase":"testing"})"));                 // missing required
    EXPECT_FALSE(matches(g, R"({"phase":"test","scope":"jwt"})"));      // not an enum value
    EXPECT_FALSE(matches(g, R"({"scope":"jwt","phase":"testing"})"));   // out of order
    EXPECT_FALSE(matches(g, R"({"phase":"testing","scope":"jwt","x":1})"));
    EXPECT_FALSE(matches(g, R"({"phase":"testing","scope":"toolong"})"));
    EXPECT_FALSE(matches_exactly(g, R"({"phase":"testing","scope":"jwt"})"));     // compact is not our style
    EXPECT_FALSE(matches_exactly(g, R"({"phase": "testing",  "scope": "jwt"})"));  // one space exactly
}

// The schema `hotrod bench` sends (src/bench/request.cpp): enum beside "type", a bounded scope string.
TEST(GrammarAccept, BenchRequestSchema) {
    auto g = schema(R"({"type":"object","properties":{"phase":{"type":"string","enum":["testing","idle"]},
        "scope":{"type":"string","minLength":1,"maxLength":96}},"required":["phase","scope"],
        "additionalProperties":false})");
    EXPECT_TRUE(matches(g, R"({"phase":"idle","scope":"x"})"));
    EXPECT_FALSE(matches(g, R"({"phase":"idle","scope":""})"));
    Matcher m(g, byte_index());
    EXPECT_EQ(m.forced_bytes(), "{\"phase\": \"");
}

// A required name missing from "properties" may appear with any value unless additionalProperties is false.
TEST(GrammarAccept, RequiredOutsideProperties) {
    auto g = schema(R"({"properties":{"a":{"type":"null"}},"required":["z"]})");
    EXPECT_TRUE(matches(g, R"({"a":null,"z":[1,{"q":"r"}]})"));
    EXPECT_FALSE(matches(g, R"({"a":null})"));
}

TEST(GrammarAccept, OptionalPropertiesMaySkip) {
    auto g = schema(R"({"properties":{"a":{"type":"integer"},"b":{"type":"boolean"},"c":{"type":"null"}},
        "required":["b"]})");
    EXPECT_TRUE(matches(g, R"({"b":true})"));
    EXPECT_TRUE(matches(g, R"({"a":-3,"b":false,"c":null})"));
    EXPECT_TRUE(matches(g, R"({"b":true,"c":null})"));
    EXPECT_FALSE(matches(g, R"({"a":1})"));
    EXPECT_FALSE(matches(g, R"({"a":1.5,"b":true})"));
    EXPECT_FALSE(matches(g, R"({"c":null,"b":true})"));
    EXPECT_FALSE(matches(g, R"({"b":true,"b":true})"));
}

TEST(GrammarAccept, ArraysTypesAnyOfRefs) {
    auto arr = schema(R"({"type":"array","items":{"type":["string","null"]},"minItems":1,"maxItems":2})");
    EXPECT_TRUE(matches(arr, R"(["a",null])"));
    EXPECT_FALSE(matches(arr, "[]"));
    EXPECT_FALSE(matches(arr, R"(["a","b","c"])"));
    EXPECT_FALSE(matches(arr, "[1]"));
    auto any = schema(R"({"anyOf":[{"type":"number"},{"$ref":"#/$defs/p"}],
        "$defs":{"p":{"type":"object","properties":{"x":{"const":"y"}},"required":["x"]}}})");
    EXPECT_TRUE(matches(any, "12.5"));
    EXPECT_TRUE(matches(any, R"({"x":"y"})"));
    EXPECT_FALSE(matches(any, R"({"x":"z"})"));
    EXPECT_FALSE(matches(any, R"("s")"));
    auto lit = schema(R"({"enum":[1,12,"a",[1,2],{"b":null}]})");
    for (const char* ok : {"1", "12", "\"a\"", "[1,2]", "{\"b\":null}"}) EXPECT_TRUE(matches(lit, ok)) << ok;
    for (const char* bad : {"2", "123", "\"b\"", "[1]"}) EXPECT_FALSE(matches(lit, bad)) << bad;
    auto str = schema(R"({"type":"string","minLength":2,"maxLength":3})");
    EXPECT_TRUE(matches(str, "\"\xc3\xa9\\n\""));  // two code points: é and an escape
    EXPECT_FALSE(matches(str, "\"a\""));
    EXPECT_FALSE(matches(str, "\"abcd\""));
}

TEST(GrammarAccept, ForcedBytesAndFinish) {
    auto g = schema(R"({"type":"object","properties":{"phase":{"enum":["planning","deploying"]},
        "scope":{"type":"string"}},"required":["phase","scope"]})");
    Matcher m(g, byte_index());
    EXPECT_EQ(m.forced_bytes(), "{\"phase\": \"");
    ASSERT_TRUE(m.accept_bytes(m.forced_bytes()));
    ASSERT_TRUE(m.accept_bytes("d"));
    EXPECT_EQ(m.forced_bytes(), "eploying\", \"scope\": \"");
    ASSERT_TRUE(m.accept_bytes(m.forced_bytes() + "x"));
    EXPECT_EQ(m.forced_bytes(), "");
    EXPECT_FALSE(m.accept(256));  // EOG only when complete
    ASSERT_TRUE(m.accept_bytes("\"}"));
    EXPECT_TRUE(m.is_finished());
    EXPECT_TRUE(m.accept(256));

    Matcher num(schema(R"({"type":"integer"})"), byte_index());
    ASSERT_TRUE(num.accept_bytes("42"));
    EXPECT_TRUE(num.is_complete());
    EXPECT_FALSE(num.is_finished());  // more digits could follow
}

TEST(GrammarAccept, TwelveOptionalPropertiesStaySmall) {
    nlohmann::ordered_json s = {{"type", "object"}, {"properties", nlohmann::ordered_json::object()}};
    const char* types[] = {"string", "integer", "number", "boolean"};
    for (int i = 0; i < 12; ++i) {
        std::string name = "p";
        name += std::to_string(i);  // (gcc 12 -Wrestrict false positive on "p" + std::to_string(i))
        s["properties"][name] = {{"type", types[i % 4]}};
    }
    auto g = schema_of(s);
    EXPECT_TRUE(matches(g, "{}"));
    EXPECT_TRUE(matches(g, R"({"p0":"a","p5":3,"p11":true})"));
    EXPECT_FALSE(matches(g, R"({"p5":3,"p0":"a"})"));
}

void expect_schema_error(const char* text, const char* needle) {
    try {
        schema(text);
        ADD_FAILURE() << "no SchemaError for " << text;
    } catch (const SchemaError& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

TEST(GrammarSchemaErrors, UnsupportedKeywordsNamed) {
    expect_schema_error(R"({"properties":{"x":{"type":"string","pattern":"a+"}}})", "'pattern' at #/properties/x");
    expect_schema_error(R"({"type":"string","format":"date"})", "'format' at #");
    expect_schema_error(R"({"type":"number","minimum":0})", "'minimum'");
    expect_schema_error(R"({"type":"number","multipleOf":2})", "'multipleOf'");
    expect_schema_error(R"({"patternProperties":{"a":{}}})", "'patternProperties'");
    expect_schema_error(R"({"if":{},"then":{}})", "'if'");
    expect_schema_error(R"({"not":{}})", "'not'");
    expect_schema_error(R"({"items":{"uniqueItems":true}})", "'uniqueItems' at #/items");
    expect_schema_error(R"({"dependentRequired":{}})", "'dependentRequired'");
    expect_schema_error(R"({"allOf":[{}]})", "'allOf'");
}

// An integer between two bounds is its set of values: every one accepted (a prefix of a longer one, such as 1 of
// 14, completes too), every neighbour outside refused; exclusive bounds move inward; no type means integer.
TEST(GrammarAccept, IntegerRanges) {
    auto g = schema(R"({"type":"object","properties":{"n":{"type":"integer","minimum":1,"maximum":14}},"required":["n"]})");
    for (int v = 1; v <= 14; ++v) EXPECT_TRUE(matches(g, "{\"n\":" + std::to_string(v) + "}")) << v;
    for (const char* bad : {"{\"n\":0}", "{\"n\":15}", "{\"n\":-1}", "{\"n\":1.5}", "{\"n\":01}", "{\"n\":140}"})
        EXPECT_FALSE(matches(g, bad)) << bad;
    auto e = schema(R"({"exclusiveMinimum":-3,"exclusiveMaximum":2.5})");
    for (const char* ok : {"-2", "-1", "0", "1", "2"}) EXPECT_TRUE(matches(e, ok)) << ok;
    for (const char* bad : {"-3", "3", "\"1\""}) EXPECT_FALSE(matches(e, bad)) << bad;
    expect_schema_error(R"({"type":"integer","minimum":0})", "both a lower and an upper bound");
    expect_schema_error(R"({"type":"integer","minimum":0,"maximum":100000})", "wider than 4096");
    expect_schema_error(R"({"type":"integer","minimum":5,"maximum":4})", "no integer");
    expect_schema_error(R"({"type":"integer","minimum":0,"maximum":9,"enum":[1]})", "beside");
}

TEST(GrammarSchemaErrors, InvalidSchemas) {
    expect_schema_error(R"({"type":3})", "'type'");
    expect_schema_error(R"({"type":"strin"})", "unknown type");
    expect_schema_error(R"({"enum":"a"})", "'enum'");
    expect_schema_error(R"({"enum":[]})", "'enum'");
    expect_schema_error(R"({"required":[1]})", "'required'");
    expect_schema_error(R"({"required":"a"})", "'required'");
    expect_schema_error(R"({"properties":{},"required":["a"],"additionalProperties":false})", "required 'a'");
    expect_schema_error(R"({"type":"string","minLength":-1})", "'minLength'");
    expect_schema_error(R"({"minItems":3,"maxItems":2})", "'minItems'");
    expect_schema_error(R"({"$ref":"#/$defs/missing"})", "does not exist");
    expect_schema_error(R"({"$ref":"http://x/y"})", "'$ref'");
    expect_schema_error(R"({"anyOf":[{"type":"integer"},{"type":"number"}]})", "same character");
    expect_schema_error(R"({"enum":["a"],"type":"integer"})", "enum");
    expect_schema_error(R"(false)", "admits nothing");
    expect_schema_error(R"([1])", "must be an object");
}

TEST(GrammarSchemaErrors, AnnotationsIgnored) {
    auto g = schema(R"({"$schema":"https://json-schema.org/draft/2020-12/schema","title":"t","description":"d",
        "type":"object","properties":{"a":{"type":"string","examples":["x"],"default":"y","$comment":"c"}}})");
    EXPECT_TRUE(matches(g, R"({"a":"z"})"));
}

TEST(GrammarCacheTest, SameSchemaSamePointerAcrossThreads) {
    GrammarCache cache;
    auto s = nlohmann::json::parse(R"({"type":"object","properties":{"a":{"type":"string"}}})");
    std::vector<std::shared_ptr<const Grammar>> got(4);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < got.size(); ++i) threads.emplace_back([&, i] { got[i] = cache.json_schema(s); });
    for (auto& t : threads) t.join();
    for (const auto& g : got) EXPECT_EQ(g.get(), got[0].get());
    EXPECT_EQ(cache.json_object().get(), cache.json_object().get());
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_THROW(cache.json_schema(nlohmann::json::parse(R"({"pattern":"x"})")), SchemaError);
    EXPECT_EQ(cache.size(), 2u);
}

}  // namespace
}  // namespace hotrod::sample
