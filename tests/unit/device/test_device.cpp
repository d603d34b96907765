// Device selection from the flags: what each --device / -ngl combination builds, and the errors that name what is
// wrong. On a machine without a GPU (CI) `auto` is the CPU and an explicit GPU request is a DeviceError; with one,
// `auto` is the GPU.
#include <gtest/gtest.h>

#include <string>

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

// A tensor-parallel group: CPU ranks joined into one group of n (each with a share of the threads), one rank is
// make_backend's, and a GPU group (NCCL, not built) or a count below one is a DeviceError naming it.
TEST(Device, BackendGroupOfCpuRanks) {
    DeviceOptions o;
    o.device = "cpu";
    o.n_threads = 4;
    BackendGroup g = make_backend_group(o, 2);
    ASSERT_EQ(g.ranks.size(), 2u);
    EXPECT_NE(g.group, nullptr);
    for (const auto& be : g.ranks) {
        EXPECT_EQ(be->group_size(), 2);
        EXPECT_EQ(be->name().rfind("cpu", 0), 0u);
        EXPECT_NE(be->name().find("(2 threads)"), std::string::npos) << be->name();
    }
    BackendGroup one = make_backend_group(o, 1);
    ASSERT_EQ(one.ranks.size(), 1u);
    EXPECT_EQ(one.ranks[0]->group_size(), 1);
    EXPECT_THROW(make_backend_group(o, 0), DeviceError);
    o.device = "cuda";
    try {
        make_backend_group(o, 2);
        ADD_FAILURE() << "a GPU group was built";
    } catch (const DeviceError& e) {
        EXPECT_NE(std::string(e.what()).find("NCCL"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace hotrod::device
