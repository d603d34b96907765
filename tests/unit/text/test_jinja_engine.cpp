// Unit tests of the Jinja engine: every construct against Python jinja2's output for the same snippet
// (tests/fixtures/templates/snippets.jsonl, made by gen_templates.py), then what Python cannot tell us:
// error messages with line and column, and no crash or runaway on malformed or hostile templates.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "text/jinja_eval.h"

namespace {

using hotrod::text::jinja::Error;
using hotrod::text::jinja::RenderOptions;
using hotrod::text::jinja::Template;
using json = nlohmann::ordered_json;

std::tm fixed_now() {
    std::tm now{};
    now.tm_year = 125;
    now.tm_mday = 15;
    now.tm_hour = 10;
    now.tm_min = 30;
    now.tm_wday = 3;
    now.tm_yday = 14;
    return now;
}

std::string render(const std::string& src, const json& ctx = json::object(), RenderOptions opts = {}) {
    if (!opts.now) opts.now = fixed_now();
    return Template(src, "t").render(ctx, opts);
}

// Message of the Error thrown by parsing or rendering `src`; "" when nothing is thrown.
std::string error_of(const std::string& src, const json& ctx = json::object(), RenderOptions opts = {}) {
    try {
        render(src, ctx, opts);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(JinjaEngine, SnippetsMatchPythonJinja2) {
    std::ifstream f(std::string(HOTROD_FIXTURES_DIR) + "/templates/snippets.jsonl");
    ASSERT_TRUE(f) << "missing snippets.jsonl";
    std::string line;
    int n = 0;
    while (std::getline(f, line)) {
        const json rec = json::parse(line);
        const std::string src = rec["src"];
        ++n;
        if (rec["ok"].get<bool>()) {
            try {
                EXPECT_EQ(render(src, rec["ctx"]), rec["out"].get<std::string>()) << "template: " << src;
            } catch (const std::exception& e) {
                ADD_FAILURE() << "template: " << src << "\n  threw: " << e.what();
            }
        } else {
            EXPECT_NE(error_of(src, rec["ctx"]), "") << "Python raised " << rec["error"] << " but we rendered: " << src;
        }
    }
    EXPECT_GT(n, 50);
}

// Every filter and test on none, undefined, empty and wrongly typed inputs (gen_jinja_edge_cases.py): the same text
// as jinja2, or an error where jinja2 raised. Reported as one list of the disagreements.
TEST(JinjaEngine, FiltersAndTestsOnOddInputsMatchPythonJinja2) {
    std::ifstream f(std::string(HOTROD_FIXTURES_DIR) + "/templates/edge_cases.jsonl");
    ASSERT_TRUE(f) << "missing edge_cases.jsonl";
    std::string line, report;
    int n = 0, bad = 0;
    while (std::getline(f, line)) {
        const json rec = json::parse(line);
        const std::string src = rec["src"];
        const std::string ctx = rec["ctx"].dump();
        ++n;
        std::string got, err;
        try {
            got = render(src, rec["ctx"]);
        } catch (const std::exception& e) {
            err = e.what();
        }
        std::string why;
        if (rec["ok"].get<bool>()) {
            if (!err.empty()) why = "threw '" + err + "', jinja2 rendered '" + rec["out"].get<std::string>() + "'";
            else if (got != rec["out"].get<std::string>())
                why = "rendered '" + got + "', jinja2 '" + rec["out"].get<std::string>() + "'";
        } else if (err.empty()) {
            why = "rendered '" + got + "', jinja2 raised " + rec["error"].get<std::string>();
        }
        if (!why.empty() && ++bad <= 60) report += "  " + src + " with " + ctx + ": " + why + "\n";
    }
    EXPECT_EQ(bad, 0) << bad << " of " << n << " differ from jinja2:\n" << report;
    EXPECT_GT(n, 800);
}

TEST(JinjaEngine, ErrorsNameLineColumnAndConstruct) {
    EXPECT_EQ(error_of("line one\n{{ x | nosuch }}"), "t:2:8: unknown filter 'nosuch'");
    EXPECT_EQ(error_of("{% if true %}\n  {{ 1 is nosuch }}{% endif %}"), "t:2:8: unknown test 'nosuch'");
    EXPECT_EQ(error_of("a\nb\n{{ raise_exception('bad role') }}"), "t:3:4: bad role");
    EXPECT_EQ(error_of("{% for x in y %}\n{{ x.a.b }}{% endfor %}", {{"y", json::array({json::object()})}}),
              "t:2:7: 'dict object' has no attribute 'a'");
    EXPECT_EQ(error_of("{% frobnicate %}"), "t:1:4: unknown tag 'frobnicate'");
    EXPECT_EQ(error_of("{% include 'x' %}"), "t:1:4: unsupported tag 'include' (templates are rendered without a loader)");
}

TEST(JinjaEngine, MalformedTemplatesFailCleanly) {
    const char* bad[] = {
        "{{ x",                       // unterminated print
        "{% if x %}",                 // missing endif
        "{% for x in y %}{% endif %}",
        "{% endfor %}",
        "{# never closed",
        "{{ 'unterminated }}",
        "{% raw %}abc",
        "{{ (1, }}",
        "{{ [1, 2 }}",
        "{{ {'a': } }}",
        "{{ 1 + }}",
        "{% set %}",
        "{% macro m( %}{% endmacro %}",
        "{{ x[ }}",
        "{{ '\\u12' }}",
        "{{ 99999999999999999999999 }}",
        "{% for %}",
        "{{ @ }}",
        "{{",
        "{%",
    };
    for (const char* src : bad) EXPECT_NE(error_of(src), "") << src;
    EXPECT_EQ(render("{"), "{");
    EXPECT_EQ(render("{ {% if true %}x{% endif %} }"), "{ x }");
}

TEST(JinjaEngine, LimitsStopRunawayTemplates) {
    // Deep nesting in the source: the parser refuses rather than overflowing the stack.
    std::string deep;
    for (int k = 0; k < 5000; ++k) deep += "(";
    EXPECT_NE(error_of("{{ " + deep + " }}"), "");
    std::string nested_ifs;
    for (int k = 0; k < 1000; ++k) nested_ifs += "{% if true %}";
    EXPECT_NE(error_of(nested_ifs), "");
    // Unbounded recursion at run time.
    EXPECT_NE(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("call depth"), std::string::npos);
    // Huge loop bounds fail before allocating.
    EXPECT_NE(error_of("{% for i in range(10**12) %}{% endfor %}").find("loop limit"), std::string::npos);
    RenderOptions small;
    small.max_loop_iterations = 1000;
    EXPECT_NE(error_of("{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}", {}, small)
                  .find("iteration limit"),
              std::string::npos);
    // Output and string growth are bounded.
    RenderOptions tiny;
    tiny.max_output_bytes = 1000;
    EXPECT_NE(error_of("{{ 'x' * 100000 }}", {}, tiny), "");
    EXPECT_NE(error_of("{% for i in range(1000) %}abc{% endfor %}", {}, tiny).find("output larger"), std::string::npos);
    EXPECT_NE(error_of("{{ 2 ** 200 }}"), "");  // Python would use a big int; we refuse instead of wrapping
    EXPECT_NE(error_of("{{ 1 // 0 }}"), "");
    EXPECT_NE(error_of("{{ 1 % 0 }}"), "");
}

TEST(JinjaEngine, ContextValuesAndHuggingFaceSpecifics) {
    json ctx = {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}, {"flag", true}};
    EXPECT_EQ(render("{% for m in messages %}{{ m.role }}:{{ m['content'] }}{% endfor %}{{ flag }}", ctx), "user:hiTrue");
    EXPECT_EQ(render("{{ x | tojson }}", {{"x", "<&>'"}}), "\"<&>'\"");  // HF's tojson does not HTML-escape
    EXPECT_EQ(render("{{ strftime_now('%d %B %Y') }}"), "15 January 2025");
    EXPECT_EQ(render("{% generation %}a{% set x = 1 %}{% endgeneration %}{{ x }}"), "a");
    // Mutating list methods work here although HF's sandbox refuses them (we only turn an error into output).
    EXPECT_EQ(render("{% set l = [] %}{% set _ = l.append(1) %}{{ l }}{{ l.pop() }}{{ l }}"), "[1]1[]");
}

}  // namespace
