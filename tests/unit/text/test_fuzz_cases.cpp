// Inputs the fuzz targets (tests/fuzz) found, as plain tests: each crashed or showed undefined behaviour
// once, and its input is also kept in tests/fuzz/corpus/<target>/crash-*. Expected values are Python
// jinja2's.
#include <gtest/gtest.h>

#include "text/jinja_eval.h"

namespace {

using hotrod::text::jinja::Error;
using hotrod::text::jinja::Template;

std::string render(const std::string& src) {
    return Template(src, "t").render(nlohmann::ordered_json::object());
}

// A float beyond int64 was cast to int64 (undefined behaviour, INT64_MIN on x86). Python makes a big integer;
// we cannot hold one, so it is a template error naming the value.
TEST(JinjaFuzzCases, IntFilterOfAHugeFloatIsAnError) {
    EXPECT_THROW(render("{{ 1e300|int }}"), Error);
    EXPECT_THROW(render("{{ '1e300'|int }}"), Error);
    EXPECT_THROW(render("{{ -1e19|int }}"), Error);
    EXPECT_THROW(render("{{ (1e308 * 10)|int }}"), Error);  // infinity: Python's OverflowError
    try {
        render("{{ 1e300|int }}");
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("int(1e+300) does not fit in 64 bits"), std::string::npos)
            << e.what();
    }
}

TEST(JinjaFuzzCases, IntFilterInRangeAndNaN) {
    EXPECT_EQ(render("{{ 2.9|int }}|{{ -2.9|int }}|{{ 9.2e18|int }}|{{ '-7.5'|int }}"),
              "2|-2|9200000000000000000|-7");
    EXPECT_EQ(render("{{ ('nan'|float)|int }}|{{ ('nan'|float)|int(5) }}"), "0|5");  // jinja2: the default
}

// '%d' % float cast the same way; Python prints the float's integer part exactly, however large.
TEST(JinjaFuzzCases, PercentDOfAHugeFloatIsExact) {
    EXPECT_EQ(
        render("{{ '%d' % 1e300 }}"),
        "1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864"
        "0437044438328838781769425232353604305756447921847867069828483872009265758037378302337947880900593689"
        "5323497079994508111903896764088007465274278014249457925878882005684283811566947219638686545940054016"
        "0");
    EXPECT_EQ(render("{{ '%d' % -1e20 }}|{{ '%d' % -0.5 }}|{{ '%d' % 2.75 }}"), "-100000000000000000000|0|2");
    EXPECT_THROW(render("{{ '%d' % (1e308 * 10) }}"), Error);
}

}  // namespace
