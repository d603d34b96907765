// Device selection from the flags: what each --device / -ngl combination builds, and the errors that name what is
// wrong. On a machine without a GPU (CI) `auto` is the CPU and an explicit GPU request is a DeviceError; with one,
// `auto` is the GPU.
#include <gtest/gtest.h>

#include "device/device.h"

namespace hotrod::device {
namespace {

std::string error_of(const DeviceOptions& o) {
    try {
        make_backend(o);
    } catch (const DeviceError& e) {
        return e.what();
    }
    return "";
}

TEST(Device, CpuAndNglZeroBuildTheCpuBackend) {
    DeviceOptions o;
    o.device = "cpu";
    o.n_threads = 1;
    EXPECT_EQ(make_backend(o)->name().rfind("cpu", 0), 0u);
    o.device = "auto";
    o.n_gpu_layers = 0;
    EXPECT_EQ(make_backend(o)->name().rfind("cpu", 0), 0u);
}

TEST(Device, AutoTakesTheGpuWhenPresent) {
    DeviceOptions o;
    o.n_threads = 1;
    const bool gpu = cuda_built() && !gpu_summary().empty();
    EXPECT_EQ(make_backend(o)->name().rfind(gpu ? "cuda" : "cpu", 0), 0u);
}

TEST(Device, BadValuesAreNamed) {
    DeviceOptions o;
    o.device = "gpu9";
    EXPECT_NE(error_of(o).find("--device gpu9: expected auto, cpu, cuda or cuda:N"), std::string::npos);
    o.device = "cuda:x";
    EXPECT_NE(error_of(o).find("cuda:N"), std::string::npos);
    o.device = "cuda";
    o.n_gpu_layers = 0;
    EXPECT_NE(error_of(o).find("contradicts -ngl 0"), std::string::npos);
    o = DeviceOptions{};
    o.device = "cuda";
    o.gpu_mem_fraction = 1.5;
    EXPECT_NE(error_of(o).find("--gpu-mem-fraction"), std::string::npos);
}

TEST(Device, ExplicitGpuWithoutOneIsAnError) {
    if (cuda_built() && !gpu_summary().empty()) GTEST_SKIP() << "skipped: this machine has a GPU";
    for (const char* d : {"cuda", "cuda:0"}) {
        DeviceOptions o;
        o.device = d;
        const std::string e = error_of(o);
        EXPECT_NE(e.find(std::string("--device ") + d + ": "), std::string::npos) << e;
        EXPECT_TRUE(e.find("no ") != std::string::npos || e.find("without the CUDA backend") != std::string::npos) << e;
    }
    DeviceOptions o;
    o.n_gpu_layers = 99;  // -ngl 99 asks for the GPU as plainly as --device cuda
    EXPECT_FALSE(error_of(o).empty());
}

}  // namespace
}  // namespace hotrod::device
