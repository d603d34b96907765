// CPU feature detection: the ISA ladder is consistent with the features, features the OS does not enable are
// refused (made-up CPUID / XCR0 registers), and HOTROD_ISA caps the choice.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

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

// Made-up registers of a modern x86 with AVX-512, VNNI, BF16 and AMX, its OS saving every state.
CpuidView full_view() {
    CpuidView v;
    v.max_leaf = 0x20;
    v.l1_ecx = (1u << 12) | (1u << 27) | (1u << 28) | (1u << 29);  // FMA, OSXSAVE, AVX, F16C
    v.l7_ebx = (1u << 5) | (1u << 16) | (1u << 30) | (1u << 31);  // AVX2, AVX512F, BW, VL
    v.l7_ecx = 1u << 11;                                          // AVX512_VNNI
    v.l7_edx = (1u << 22) | (1u << 24) | (1u << 25);              // AMX-BF16, AMX-TILE, AMX-INT8
    v.l7s1_eax = 1u << 5;                                         // AVX512_BF16
    v.xcr0 = 0x7 | 0xe0 | (3ull << 17);                           // x87/SSE/AVX, opmask/ZMM, tiles
    v.amx_permitted = true;
    return v;
}

TEST(CpuFeatures, EverythingWhenTheOsSavesEveryState) {
    const CpuFeatures f = features_from(full_view());
    EXPECT_TRUE(f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.avx512bf16);
    EXPECT_TRUE(f.amx_int8 && f.amx_bf16 && f.amx_listed);
    EXPECT_EQ(best_isa(f), Isa::Avx512);
}

// A feature the CPU lists but the OS does not enable is refused: the dispatcher must never pick it.
TEST(CpuFeatures, RefusesWhatTheOsDoesNotEnable) {
    CpuidView v = full_view();
    v.xcr0 &= ~0xe0ull;  // no opmask / ZMM state: AVX-512 listed, not usable
    CpuFeatures f = features_from(v);
    EXPECT_TRUE(f.avx2 && f.fma);
    EXPECT_FALSE(f.avx512f || f.avx512bw || f.avx512vl || f.avx512vnni || f.avx512bf16);
    EXPECT_EQ(best_isa(f), Isa::Avx2);

    v = full_view();
    v.xcr0 = 0x3;  // no YMM state: nothing past SSE
    f = features_from(v);
    EXPECT_FALSE(f.avx2 || f.fma || f.avx512f);
    EXPECT_EQ(best_isa(f), Isa::Scalar);

    v = full_view();
    v.l1_ecx &= ~(1u << 27);  // no OSXSAVE: XCR0 cannot even be read
    EXPECT_EQ(best_isa(features_from(v)), Isa::Scalar);

    // AMX listed by CPUID (as in a VM) but the tile state off in XCR0, or the kernel's permission refused.
    v = full_view();
    v.xcr0 &= ~(3ull << 17);
    f = features_from(v);
    EXPECT_TRUE(f.amx_listed);
    EXPECT_FALSE(f.amx_int8 || f.amx_bf16);
    EXPECT_EQ(best_isa(f), Isa::Avx512);
    v = full_view();
    v.amx_permitted = false;
    f = features_from(v);
    EXPECT_FALSE(f.amx_int8 || f.amx_bf16);
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

// The vendor and brand strings against the kernel's own reading of CPUID (/proc/cpuinfo's first processor).
TEST(CpuFeatures, IdentityMatchesProcCpuinfo) {
    std::ifstream in("/proc/cpuinfo");
    if (!in) GTEST_SKIP() << "no /proc/cpuinfo";
    std::string line, vendor, model;
    auto value = [](const std::string& l) {
        std::string v = l.substr(l.find(':') + 1);
        v.erase(0, v.find_first_not_of(' '));
        return v;
    };
    while (std::getline(in, line) && !line.empty()) {
        if (line.rfind("vendor_id", 0) == 0) vendor = value(line);
        if (line.rfind("model name", 0) == 0) model = value(line);
    }
    const CpuIdentity& id = cpu_identity();
    EXPECT_EQ(id.vendor, vendor);
    if (!model.empty()) {
        EXPECT_EQ(id.brand, model);
    }
}

}  // namespace
}  // namespace hotrod::cpu
