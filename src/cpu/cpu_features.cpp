// CPUID / XGETBV feature detection. A feature counts only when the OS also saves its register state
// (XCR0), otherwise the first AVX instruction would fault on a kernel that did not enable it.
#include "cpu/cpu_features.h"

#include <cpuid.h>

#include <cstdint>
#include <cstdlib>

namespace hotrod::cpu {
namespace {

uint64_t read_xcr0() {
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t(hi) << 32) | lo;
}

CpuFeatures detect() {
    CpuFeatures f;
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool osxsave = c & (1u << 27);
    const bool has_avx = c & (1u << 28);
    const bool has_fma = c & (1u << 12);
    const bool has_f16c = c & (1u << 29);
    if (!osxsave || !has_avx) return f;
    const uint64_t xcr0 = read_xcr0();
    const bool ymm_saved = (xcr0 & 0x6) == 0x6;            // SSE + AVX state
    const bool zmm_saved = ymm_saved && (xcr0 & 0xe0) == 0xe0;  // opmask + ZMM_Hi256 + Hi16_ZMM
    if (!ymm_saved) return f;
    if (__get_cpuid_max(0, nullptr) < 7) return f;
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = b & (1u << 5);
    f.fma = has_fma;
    f.f16c = has_f16c;
    if (zmm_saved) {
        f.avx512f = b & (1u << 16);
        f.avx512bw = b & (1u << 30);
        f.avx512vl = b & (1u << 31);
        f.avx512vnni = c & (1u << 11);
        unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
        __cpuid_count(7, 1, a1, b1, c1, d1);
        f.avx512bf16 = a1 & (1u << 5);
    }
    return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = detect();
    return features;
}

Isa best_isa(const CpuFeatures& f) {
    if (f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512vl) return Isa::Avx512;
    if (f.avx2 && f.fma && f.f16c) return Isa::Avx2;
    return Isa::Scalar;
}

Isa detect_isa() {
    Isa isa = best_isa(cpu_features());
    if (const char* env = std::getenv("HOTROD_ISA")) {
        if (auto cap = isa_from_name(env); cap && int(*cap) < int(isa)) isa = *cap;
    }
    return isa;
}

int n_supported_isas() { return int(best_isa(cpu_features())) + 1; }

std::string_view isa_name(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return "scalar";
        case Isa::Avx2: return "avx2";
        case Isa::Avx512: return "avx512";
    }
    return "?";
}

std::optional<Isa> isa_from_name(std::string_view name) {
    for (int i = 0; i < kIsaCount; ++i) {
        if (isa_name(Isa(i)) == name) return Isa(i);
    }
    return std::nullopt;
}

}  // namespace hotrod::cpu
