// The HOTROD_CUDA_* switches' parsing (switches.cpp): host code, run everywhere the CUDA backend builds.
#include <gtest/gtest.h>

#include <cstdlib>

#include "cuda/switches.h"

namespace hotrod::cuda::test {
namespace {

TEST(CudaSwitches, IntInRangeElseFallback) {
    const char* name = "HOTROD_TEST_SWITCH_INT";
    unsetenv(name);
    EXPECT_EQ(switch_int(name, 1, 16, 16), 16);
    setenv(name, "4", 1);
    EXPECT_EQ(switch_int(name, 1, 16, 16), 4);
    for (const char* bad : {"0", "17", "-3", "4x", "", " 4", "abc"}) {
        setenv(name, bad, 1);
        EXPECT_EQ(switch_int(name, 1, 16, 16), 16) << "'" << bad << "'";
    }
    setenv(name, "16", 1);
    EXPECT_EQ(switch_int(name, 1, 16, 9), 16);
    unsetenv(name);
}

TEST(CudaSwitches, OffAndIs) {
    const char* name = "HOTROD_TEST_SWITCH";
    setenv(name, "0", 1);
    EXPECT_TRUE(switch_off(name));
    EXPECT_TRUE(switch_is(name, "0"));
    setenv(name, "1", 1);
    EXPECT_FALSE(switch_off(name));
    EXPECT_TRUE(switch_is(name, "1"));
    unsetenv(name);
    EXPECT_FALSE(switch_off(name));
    EXPECT_FALSE(switch_is(name, "1"));
}

}  // namespace
}  // namespace hotrod::cuda::test
