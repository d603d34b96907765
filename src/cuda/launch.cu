#include <cuda_runtime_api.h>

#include "cuda/launch.cuh"
#include "cuda/switches.h"

namespace hotrod::cuda {

namespace {

// Whether the current device is compute 9.0+ (Hopper: programmatic dependent launch, thread block clusters). Per
// process: hotrod drives one GPU (the backend sets it before the first launch).
bool hopper_or_newer() {
    static const bool on = [] {
        int device = 0, major = 0;
        if (cudaGetDevice(&device) != cudaSuccess) return false;
        if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess) return false;
        return major >= 9;
    }();
    return on;
}

}  // namespace

bool dependent_launch_enabled() {
    static const bool on = !switch_off("HOTROD_CUDA_PDL") && hopper_or_newer();
    return on;
}

bool clusters_available() { return hopper_or_newer(); }

bool prefetch_before_wait() {
    static const bool on = switch_is("HOTROD_CUDA_PREFETCH", "1");
    return on;
}

int sm_count() {
    static const int n = [] {
        int device = 0, count = 0;
        HOTROD_CUDA_CHECK(cudaGetDevice(&device));
        HOTROD_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
        return count;
    }();
    return n;
}

}  // namespace hotrod::cuda
