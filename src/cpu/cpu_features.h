// What the CPU (and the OS, via XGETBV) lets us run, and the best kernel ISA that follows from it.
// Detection is CPUID-based and done once; env HOTROD_ISA=scalar|avx2|avx512 caps the choice so tests and
// benchmarks can exercise every path on one machine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cpu/dot.h"

namespace hotrod::cpu {

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false;      // with OS-saved YMM state
    bool avx512f = false, avx512bw = false, avx512vl = false;  // with OS-saved ZMM/opmask state
    bool avx512vnni = false, avx512bf16 = false;
    // AMX tiles: listed by CPUID, enabled in XCR0 (XTILECFG + XTILEDATA) and granted to this process by the
    // kernel (arch_prctl ARCH_REQ_XCOMP_PERM). No kernel of ours uses AMX; it is reported (hotrod --version) so a
    // VM that lists AMX without enabling it is seen as such, never trusted from CPUID alone (issue 18: llama.cpp's
    // AMX kernels die with SIGILL there).
    bool amx_int8 = false, amx_bf16 = false;
    bool amx_listed = false;  // CPUID says AMX-TILE, whatever the OS allows
};

// What detection reads: CPUID leaf 1 ECX, leaf 7 subleaf 0 EBX / ECX / EDX, leaf 7 subleaf 1 EAX, the maximum
// basic leaf, XCR0 (when leaf 1 says OSXSAVE), and whether the kernel granted the AMX tile state.
struct CpuidView {
    uint32_t max_leaf = 0;
    uint32_t l1_ecx = 0;
    uint32_t l7_ebx = 0, l7_ecx = 0, l7_edx = 0, l7s1_eax = 0;
    uint64_t xcr0 = 0;
    bool amx_permitted = false;
};

// The features a CPU with these registers may use: each needs its CPUID bit and the OS-saved register state
// (XCR0) it runs on; AMX also the kernel's permission. Pure, so the rules are tested on made-up registers.
CpuFeatures features_from(const CpuidView& v);

// The CPU's features, read once (they cannot change while the process runs).
const CpuFeatures& cpu_features();

// Who made the CPU and what it calls itself: CPUID leaf 0's vendor string ("AuthenticAMD", "GenuineIntel") and
// the brand string of leaves 0x80000002-4 ("AMD EPYC 9R14 ..."), spaces trimmed. Printed by `hotrod --version`
// and the CPU benchmarks, since kernel speed differs by vendor (docs/model_speed.md, issue 18).
struct CpuIdentity {
    std::string vendor, brand;
};
const CpuIdentity& cpu_identity();

// The best ISA the features allow: Avx512 needs F+BW+VL, Avx2 needs AVX2+FMA+F16C.
Isa best_isa(const CpuFeatures& f);

// best_isa(cpu_features()) capped by env HOTROD_ISA (an unknown value is ignored; a cap above the
// hardware is clamped to it).
Isa detect_isa();

// Every ISA this machine can run, lowest first (scalar always); tests loop over it.
int n_supported_isas();

std::string_view isa_name(Isa isa);
std::optional<Isa> isa_from_name(std::string_view name);

}  // namespace hotrod::cpu
