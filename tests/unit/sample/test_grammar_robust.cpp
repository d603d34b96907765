// Bad input never crashes: random schemas built from real keywords and odd values either compile or throw
// SchemaError (nothing else), and random bytes fed to compiled grammars are refused or accepted without harm.
#include <gtest/gtest.h>

#include <random>

#include "sample/grammar.h"

namespace hotrod::sample {
namespace {

using ojson = nlohmann::ordered_json;

ojson random_value(std::mt19937& rng, int depth);

ojson random_schema(std::mt19937& rng, int depth) {
    static const char* keys[] = {"type", "properties", "required", "additionalProperties", "items", "enum",
                                 "const", "minLength", "maxLength", "minItems", "maxItems", "anyOf", "oneOf",
                                 "$ref", "$defs", "pattern", "title", "format", "definitions"};
    static const char* types[] = {"string", "integer", "number", "boolean", "null", "array", "object", "bad"};
    if (depth > 4 || rng() % 8 == 0) return rng() % 2 ? ojson(true) : random_value(rng, depth + 1);
    ojson s = ojson::object();
    const int n = static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) {
        const std::string key = keys[rng() % std::size(keys)];
        switch (rng() % 6) {
            case 0: s[key] = types[rng() % std::size(types)]; break;
            case 1: s[key] = random_schema(rng, depth + 1); break;
            case 2: s[key] = ojson::array({random_schema(rng, depth + 1), random_value(rng, depth + 1)}); break;
            case 3: s[key] = static_cast<int>(rng() % 7) - 2; break;
            case 4: s[key] = {{"a", random_schema(rng, depth + 1)}, {"b", random_schema(rng, depth + 1)}}; break;
            default: s[key] = rng() % 2 ? ojson("#/$defs/a") : ojson("#"); break;
        }
    }
    return s;
}

ojson random_value(std::mt19937& rng, int depth) {
    switch (rng() % (depth > 3 ? 4 : 6)) {
        case 0: return nullptr;
        case 1: return static_cast<double>(rng() % 100) / 8.0;
        case 2: return std::string(1 + rng() % 3, static_cast<char>('a' + rng() % 3));
        case 3: return rng() % 2 == 0;
        case 4: return ojson::array({random_value(rng, depth + 1), random_value(rng, depth + 1)});
        default: return ojson{{"k", random_value(rng, depth + 1)}};
    }
}

TEST(GrammarRobust, RandomSchemasCompileOrThrowSchemaError) {
    std::mt19937 rng(99);
    int compiled = 0;
    std::vector<std::shared_ptr<const Grammar>> grammars = {compile_json_object()};
    for (int i = 0; i < 3000; ++i) {
        const ojson s = random_schema(rng, 0);
        try {
            grammars.push_back(compile_json_schema(s));
            ++compiled;
        } catch (const SchemaError&) {
        } catch (const std::exception& e) {
            FAIL() << "not a SchemaError: " << e.what() << " for " << s.dump();
        }
    }
    EXPECT_GT(compiled, 100);
    // Random bytes, biased to JSON's own characters, through every grammar (any state reached must not break).
    auto index = std::make_shared<TokenIndex>(std::vector<std::string>{"{", "}", "\"", "a", ":", ",", "[", "]", "1", " ", "\xc3",
                                                                       "\xa9", "\\", "u", "null", "true", "-", "."},
                                              std::vector<int32_t>{});
    const char alphabet[] = "{}[]\":,0123456789-.aeflnrstu\\ \n\xc3\xa9\xff";
    std::vector<uint64_t> mask(1);
    for (const auto& g : grammars) {
        Matcher m(g, index);
        for (int step_no = 0; step_no < 200; ++step_no) {
            const char b = alphabet[rng() % (sizeof alphabet - 1)];
            m.accept_bytes(std::string_view(&b, 1));
            if (step_no % 16 == 0) {
                m.fill_mask(mask);
                m.forced_bytes();
                m.is_finished();
            }
        }
    }
}

}  // namespace
}  // namespace hotrod::sample
