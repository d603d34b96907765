// CPU feature detection: the ISA ladder is consistent with the features, and HOTROD_ISA caps the choice.
#include <gtest/gtest.h>

#include <cstdlib>

#include "cpu/cpu_features.h"

namespace hotrod::cpu {
namespace {

TEST(CpuFeatures, BestIsaFollowsFeatures) {
    CpuFeatures f;
    EXPECT_EQ(best_isa(f), Isa::Scalar);
    f.avx2 = f.fma = f.f16c = true;
    EXPECT_EQ(best_isa(f), Isa::Avx2);
    f.avx512f = f.avx512bw = true;
    EXPECT_EQ(best_isa(f), Isa::Avx2);  // no VL yet
    f.avx512vl = true;
    EXPECT_EQ(best_isa(f), Isa::Avx512);
    f.fma = false;
    EXPECT_EQ(best_isa(f), Isa::Scalar);
}

TEST(CpuFeatures, NamesRoundTrip) {
    for (int i = 0; i < kIsaCount; ++i) EXPECT_EQ(isa_from_name(isa_name(Isa(i))), Isa(i));
    EXPECT_FALSE(isa_from_name("sse9"));
}

TEST(CpuFeatures, EnvCapsTheIsa) {
    const char* old = std::getenv("HOTROD_ISA");
    const std::string saved = old ? old : "";
    const Isa best = best_isa(cpu_features());
    setenv("HOTROD_ISA", "scalar", 1);
    EXPECT_EQ(detect_isa(), Isa::Scalar);
    setenv("HOTROD_ISA", "avx512", 1);
    EXPECT_EQ(detect_isa(), best);  // a cap above the hardware is clamped
    setenv("HOTROD_ISA", "bogus", 1);
    EXPECT_EQ(detect_isa(), best);
    if (old) setenv("HOTROD_ISA", saved.c_str(), 1); else unsetenv("HOTROD_ISA");
    EXPECT_EQ(n_supported_isas(), int(best) + 1);
}

}  // namespace
}  // namespace hotrod::cpu
