// `hotrod --version`: the version and git revision, the build type and compiler, the CPU kernels compiled and the
// features this CPU has (and so the kernels that run), the CUDA architectures compiled and the GPUs found.
#include <cstdio>
#include <string>

#include "build_info.h"
#include "commands.h"
#include "cpu/cpu_features.h"
#include "device/device.h"

namespace hotrod::app {

int cmd_version(int /*argc*/, char** /*argv*/) {
    std::printf("hotrod %s (%s)\n", HOTROD_VERSION, HOTROD_GIT_DESCRIBE);
    std::printf("build: %s, %s%s\n", HOTROD_BUILD_TYPE, HOTROD_COMPILER,
                HOTROD_PORTABLE_BUILD ? ", portable (libraries beside the binary, pcre2 static)" : "");
    const cpu::CpuIdentity& id = cpu::cpu_identity();
    std::printf("cpu model: %s (%s)\n", id.brand.empty() ? "unknown" : id.brand.c_str(),
                id.vendor.empty() ? "unknown vendor" : id.vendor.c_str());
    const cpu::CpuFeatures& f = cpu::cpu_features();
    std::string have;
    auto add = [&](bool on, const char* name) {
        if (on) have += std::string(have.empty() ? "" : " ") + name;
    };
    add(f.avx2, "avx2");
    add(f.fma, "fma");
    add(f.f16c, "f16c");
    add(f.avx512f, "avx512f");
    add(f.avx512bw, "avx512bw");
    add(f.avx512vl, "avx512vl");
    add(f.avx512vnni, "avx512vnni");
    add(f.avx512bf16, "avx512bf16");
    add(f.amx_int8, "amx-int8");
    add(f.amx_bf16, "amx-bf16");
    add(f.amx_listed && !f.amx_int8 && !f.amx_bf16, "amx-listed-but-not-enabled-by-the-os");
    // Every ISA's kernels are compiled into every build (per-file target flags, hotrod_simd_flags); the best one
    // the CPU and OS allow runs, capped by HOTROD_ISA.
    std::printf("cpu: kernels compiled for scalar, avx2, avx512; this cpu has %s; running the %s kernels\n",
                have.empty() ? "none of avx2 / avx512" : have.c_str(), std::string(cpu::isa_name(cpu::detect_isa())).c_str());
    if (device::cuda_built()) {
        const std::string gpus = device::gpu_summary();
        std::printf("cuda: built with CUDA %s for %s (runtime linked statically: only the driver is needed)\n",
                    HOTROD_CUDA_VERSION_BUILT, HOTROD_CUDA_ARCHS_BUILT);
        std::printf("gpu: %s\n", gpus.empty() ? "none found" : gpus.c_str());
    } else {
        std::printf("cuda: not built (no nvcc when this build was configured): CPU only\n");
    }
    return 0;
}

}  // namespace hotrod::app
