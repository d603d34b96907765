// What the CPU (and the OS, via XGETBV) lets us run, and the best kernel ISA that follows from it.
// Detection is CPUID-based and done once; env HOTROD_ISA=scalar|avx2|avx512 caps the choice so tests and
// benchmarks can exercise every path on one machine.
#pragma once

#include <optional>
#include <string_view>

#include "cpu/dot.h"

namespace hotrod::cpu {

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false;      // with OS-saved YMM state
    bool avx512f = false, avx512bw = false, avx512vl = false;  // with OS-saved ZMM/opmask state
    bool avx512vnni = false, avx512bf16 = false;
};

// The CPU's features, read once (they cannot change while the process runs).
const CpuFeatures& cpu_features();

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
