// CPUID / XGETBV feature detection. A feature counts only when the OS also saves its register state
// (XCR0), otherwise the first AVX instruction would fault on a kernel that did not enable it; AMX also needs the
// kernel's per-process permission. The rules are features_from(), on registers read once by read_cpuid().
#include "cpu/cpu_features.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace hotrod::cpu {
namespace {

uint64_t read_xcr0() {
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t(hi) << 32) | lo;
}

constexpr uint64_t kXcr0Ymm = 0x6;          // SSE + AVX state
constexpr uint64_t kXcr0Zmm = 0xe0;         // opmask + ZMM_Hi256 + Hi16_ZMM
constexpr uint64_t kXcr0Tile = 3ull << 17;  // XTILECFG + XTILEDATA
constexpr bool bit(uint32_t r, int i) { return (r >> i) & 1u; }

// Linux (5.16+) hands a process the AMX tile state only when asked: ARCH_REQ_XCOMP_PERM (0x1023) for
// XFEATURE_XTILEDATA (18). A kernel without it answers EINVAL and the tiles stay off.
bool request_amx_permission() {
#if defined(__linux__) && defined(SYS_arch_prctl)
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
    return false;
#endif
}

CpuidView read_cpuid() {
    CpuidView v;
    unsigned a = 0, b = 0, c = 0, d = 0;
    v.max_leaf = __get_cpuid_max(0, nullptr);
    if (v.max_leaf < 1 || !__get_cpuid(1, &a, &b, &c, &d)) return v;
    v.l1_ecx = c;
    if (bit(c, 27)) v.xcr0 = read_xcr0();  // OSXSAVE: xgetbv exists
    if (v.max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        v.l7_ebx = b, v.l7_ecx = c, v.l7_edx = d;
        __cpuid_count(7, 1, a, b, c, d);
        v.l7s1_eax = a;
    }
    // Ask for the tiles only when the CPU lists them and the OS enables their state at all.
    if (bit(v.l7_edx, 24) && (v.xcr0 & kXcr0Tile) == kXcr0Tile) v.amx_permitted = request_amx_permission();
    return v;
}

}  // namespace

CpuFeatures features_from(const CpuidView& v) {
    CpuFeatures f;
    f.amx_listed = v.max_leaf >= 7 && bit(v.l7_edx, 24);
    const bool osxsave = bit(v.l1_ecx, 27), has_avx = bit(v.l1_ecx, 28);
    if (!osxsave || !has_avx || v.max_leaf < 7) return f;
    const bool ymm_saved = (v.xcr0 & kXcr0Ymm) == kXcr0Ymm;
    if (!ymm_saved) return f;
    const bool zmm_saved = (v.xcr0 & kXcr0Zmm) == kXcr0Zmm;
    f.avx2 = bit(v.l7_ebx, 5);
    f.fma = bit(v.l1_ecx, 12);
    f.f16c = bit(v.l1_ecx, 29);
    if (zmm_saved) {
        f.avx512f = bit(v.l7_ebx, 16);
        f.avx512bw = bit(v.l7_ebx, 30);
        f.avx512vl = bit(v.l7_ebx, 31);
        f.avx512vnni = bit(v.l7_ecx, 11);
        f.avx512bf16 = bit(v.l7s1_eax, 5);
    }
    const bool tiles = f.amx_listed && (v.xcr0 & kXcr0Tile) == kXcr0Tile && v.amx_permitted;
    f.amx_int8 = tiles && bit(v.l7_edx, 25);
    f.amx_bf16 = tiles && bit(v.l7_edx, 22);
    return f;
}

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = features_from(read_cpuid());
    return features;
}

const CpuIdentity& cpu_identity() {
    static const CpuIdentity id = [] {
        CpuIdentity r;
        unsigned a = 0, b = 0, c = 0, d = 0;
        if (__get_cpuid(0, &a, &b, &c, &d)) {
            char v[13] = {};
            std::memcpy(v, &b, 4), std::memcpy(v + 4, &d, 4), std::memcpy(v + 8, &c, 4);  // EBX, EDX, ECX
            r.vendor = v;
        }
        if (__get_cpuid_max(0x80000000u, nullptr) >= 0x80000004u) {
            char brand[49] = {};
            for (unsigned i = 0; i < 3; ++i) {
                __get_cpuid(0x80000002u + i, &a, &b, &c, &d);
                const unsigned regs[4] = {a, b, c, d};
                std::memcpy(brand + 16 * i, regs, 16);
            }
            r.brand = brand;
            while (!r.brand.empty() && r.brand.back() == ' ') r.brand.pop_back();
            r.brand.erase(0, r.brand.find_first_not_of(' '));
        }
        return r;
    }();
    return id;
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
